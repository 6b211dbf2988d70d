"""Fuzz target: arbitrary bytes as any input format through the source parsers and decoders
(and on through match, engine and sinks); nothing may raise but the one-line user errors.

    make fuzz ARGS="--minutes 10"                    # atheris if installed, else hypothesis
    .venv/bin/python fuzz/decoders.py --engine hypothesis --examples 200000
    .venv/bin/python fuzz/decoders.py --engine atheris --minutes 10 -- -jobs=2

The first byte of an input picks the format (`--format` or detection), the rest is the
capture. Seeds are the committed fixtures (tests/fixtures, tests/fixtures/hostile). A
failure is saved under fuzz/out/ (atheris: crash-*, hypothesis: failure-*) and the run
stops with its traceback; replay it with `--replay FILE`.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import lzma
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "out"
FIXTURES = (ROOT / "tests" / "fixtures", ROOT / "tests" / "fixtures" / "hostile")
MAX_LEN = 1 << 14  # larger inputs cost more than they find

try:
    import atheris
except ImportError:  # hypothesis does the work, without coverage guidance
    atheris = None


def _imports() -> contextlib.AbstractContextManager[object]:
    """Instrumented imports under atheris (its coverage guidance), plain ones otherwise."""
    wanted = "hypothesis" not in sys.argv and "--replay" not in sys.argv
    if atheris is not None and wanted:
        return atheris.instrument_imports(include=["logwatch"])  # type: ignore[no-any-return]
    return contextlib.nullcontext()


with _imports():
    from logwatch.decode import Decoder, DecodeSettings, parse_json, parse_text, strip_ansi
    from logwatch.engine import Engine, RuleSettings
    from logwatch.errors import InputError
    from logwatch.escape import escape_text
    from logwatch.match import Matcher
    from logwatch.pattern_files import default_patterns_dir, load_patterns
    from logwatch.records import Entry, Record, Unreadable
    from logwatch.sinks.json_output import dumps
    from logwatch.sinks.text_output import format_line
    from logwatch.sources import FORMATS, open_inputs
    from logwatch.units import UnitTemplate, Writers

CHOICES: tuple[str | None, ...] = (None, *FORMATS)
PATTERNS = load_patterns([default_patterns_dir()])
SETTINGS = RuleSettings(round_period_s=2.0, round_deadline_s=1.0)
WRITERS = Writers(UnitTemplate())


def _texts(record: Record) -> Iterator[str]:
    yield record.message
    yield from (record.target or "", record.level or "", record.instance or "", record.host or "")
    yield from record.fields
    yield from record.fields.values()


def one_input(data: bytes) -> None:
    """Read `data[1:]` as the format `data[0]` picks; raise on anything but a user error."""
    if not data:
        return
    fmt = CHOICES[data[0] % len(CHOICES)]
    body = data[1:]
    # As the commands read (other programs' entries passed on by time), or everything.
    writers = WRITERS if data[0] & 0x40 else None
    try:
        items = list(open_inputs(["-"], fmt, stdin=io.BytesIO(body), writers=writers))
    except InputError:
        # Formats that cannot be told, journals that are not: one line to the user.
        return
    decoder = Decoder(DecodeSettings(instance="fuzz" if data[0] & 0x80 else None))
    matcher = Matcher(PATTERNS)
    engine = Engine(SETTINGS)
    outputs = []
    for item in items:
        if isinstance(item, int):  # another program's entry, passed on by time only
            outputs += engine.observe(None, item)
            continue
        if isinstance(item, Unreadable):
            assert isinstance(item.reason, str) and isinstance(item.sample, str)
            item.sample.encode("utf-8", "surrogatepass")
            continue
        assert isinstance(item, Entry), item
        assert all(isinstance(v, str) for v in item.fields.values()), item
        # The decoder's own catch-all would hide the bug: call what it guards.
        record = decoder._decode(item)
        if isinstance(record, Unreadable):
            continue
        for text in _texts(record):
            text.encode("utf-8")  # a lone surrogate would fail every sink
            escape_text(text, limit=300)
        outputs += engine.observe(record.instance, record.time_us)
        event = matcher(record)
        if event is not None:
            outputs += engine.feed(event)
    if engine.now_us is not None:
        outputs += engine.advance(engine.now_us + 3600 * 1_000_000)
    for output in outputs:
        obj = output.to_json()
        dumps(obj).encode("utf-8")
        format_line(obj).encode("utf-8")
    # The message parsers on the raw text too, whatever the source made of it.
    text = body[:4096].decode("utf-8", "replace")
    for line in text.splitlines()[:50]:
        stripped = strip_ansi(line)
        for parsed in (parse_text(stripped), parse_json(stripped)):
            if parsed is not None:
                assert all(isinstance(v, str) for v in parsed.fields.values())


KNOWN: dict[tuple[str, str, str], str] = {}
"""Bugs already reported, (exception type, file, function where raised) → what it is, as
("ValueError", "logwatch/sources/text.py", "_day_seconds") was for impossible dates until
242ec9b: counted, not stopped at, so a run goes on to find new ones. Drop an entry once
it is fixed."""
seen_known: dict[str, int] = {}


def guarded(data: bytes) -> None:
    """one_input, with the known bugs counted instead of raised."""
    try:
        one_input(data)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = frame.filename.removeprefix(f"{ROOT}/")
        known = KNOWN.get((type(exc).__name__, where, frame.name))
        if known is None:
            raise
        if known not in seen_known:
            # Said at once: libFuzzer ends the process without Python's exit handlers.
            print(f"fuzz: known bug hit (not stopping): {known}", file=sys.stderr, flush=True)
        seen_known[known] = seen_known.get(known, 0) + 1


def _report_known() -> None:
    for what, count in seen_known.items():
        print(f"fuzz: known bug hit {count} times: {what}", file=sys.stderr)


def seeds() -> Iterator[bytes]:
    """The committed fixtures, each with a format byte of 0 (detect it)."""
    for directory in FIXTURES:
        for path in sorted(directory.iterdir()):
            if not path.is_file() or path.suffix in (".md", ".py"):
                continue
            data = path.read_bytes()
            if path.suffix == ".xz" and len(data) < MAX_LEN:
                with contextlib.suppress(lzma.LZMAError):
                    data = lzma.decompress(data)
            elif path.suffix == ".gz":
                with contextlib.suppress(OSError, EOFError):
                    data = gzip.decompress(data)
            yield b"\x00" + data[:MAX_LEN]


def _save(data: bytes, kind: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{kind}-{hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]}"
    path.write_bytes(data)
    return path


# -- atheris: coverage-guided, libFuzzer under the hood ---------------------------------------


def run_atheris(minutes: float | None, examples: int | None, extra: list[str]) -> None:
    assert atheris is not None
    corpus = OUT / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in seeds():
        (corpus / hashlib.sha1(seed, usedforsecurity=False).hexdigest()).write_bytes(seed)
    args = [sys.argv[0], f"-max_len={MAX_LEN}", f"-artifact_prefix={OUT}/", "-timeout=20"]
    if minutes is not None:
        args.append(f"-max_total_time={round(minutes * 60)}")
    if examples is not None:
        args.append(f"-runs={examples}")
    atheris.Setup([*args, *extra, str(corpus)], guarded)
    atheris.Fuzz()


# -- hypothesis: random and mutated seeds, a large budget -------------------------------------


def run_hypothesis(minutes: float | None, examples: int | None) -> int:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pool = list(seeds())

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        buf = bytearray(draw(st.sampled_from(pool)))
        buf[0] = draw(st.integers(0, 255))
        for _ in range(draw(st.integers(0, 16))):
            i = draw(st.integers(0, max(0, len(buf) - 1)))
            op = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
            if op == "flip" and buf:
                buf[i] ^= 1 << draw(st.integers(0, 7))
            elif op == "insert":
                buf[i:i] = draw(st.binary(max_size=16))
            elif op == "delete":
                del buf[i : i + draw(st.integers(1, 256))]
            else:
                del buf[max(1, i) :]
        return bytes(buf)

    inputs = st.one_of(st.binary(max_size=4096), mutated())
    failing: list[bytes] = []

    def check(data: bytes) -> None:
        try:
            guarded(data)
        except Exception:
            failing[:] = [data]  # the last failing input: hypothesis's shrunk one
            raise

    deadline = None if minutes is None else time.monotonic() + minutes * 60
    budget = examples if examples is not None else (None if minutes is not None else 200_000)
    ran, batch = 0, 2000
    while (budget is None or ran < budget) and (deadline is None or time.monotonic() < deadline):
        size = batch if budget is None else min(batch, budget - ran)
        quiet = settings(
            max_examples=size,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        try:
            quiet(given(inputs)(check))()
        except Exception:
            path = _save(failing[0], "failure") if failing else None
            traceback.print_exc()
            print(f"fuzz: failure after {ran} inputs; input saved as {path}", file=sys.stderr)
            _report_known()
            return 1
        ran += size
        print(f"fuzz: {ran} inputs, no new failure", file=sys.stderr, flush=True)
    _report_known()
    return 0


def replay(path: Path) -> int:
    one_input(path.read_bytes())  # known bugs too: this is to see them
    print(f"fuzz: {path} runs clean")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["atheris", "hypothesis"], default=None)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--replay", type=Path, default=None)
    parser.add_argument("libfuzzer", nargs="*", help="after --: arguments for libFuzzer")
    args = parser.parse_args(argv)
    if args.replay is not None:
        return replay(args.replay)
    engine = args.engine or ("atheris" if atheris is not None else "hypothesis")
    if engine == "atheris":
        if atheris is None:
            print("fuzz: atheris is not installed: .venv/bin/pip install atheris", file=sys.stderr)
            return 2
        run_atheris(args.minutes, args.examples, args.libfuzzer)
        return 0
    return run_hypothesis(args.minutes, args.examples)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
