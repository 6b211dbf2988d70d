# On-demand jobs outside CI's time budget; CI runs scripts/test.sh.
.PHONY: demo test bench fuzz

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench:
	bash scripts/setup.sh
	.venv/bin/python bench/run.py $(ARGS)

fuzz:
	bash scripts/setup.sh
	.venv/bin/pip install -q -e '.[fuzz]'
	.venv/bin/python fuzz/decoders.py $(ARGS)
