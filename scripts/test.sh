#!/usr/bin/env bash
# Sets everything up, then runs the linters, the type checker and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
ruff format --check .
mypy logwatch
# Two workers on a 2-core machine (at most 4): the tests wait on servers and subprocesses.
pytest -q --numprocesses=auto --maxprocesses=4 "$@"
