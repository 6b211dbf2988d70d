"""Every fixture replayed with a few commands, outputs kept: the byte-for-byte check of
issue 13 (reading faster must not change a single output byte).

    PYTHONPATH=/tmp/lw-base .venv/bin/python tests/golden.py    # rewrite the golden file

writes `tests/golden-outputs.json.gz` with the outputs of the logwatch that is imported
(the PYTHONPATH above points at a checkout of the commit to record: `git archive 1be519f
| tar -x -C /tmp/lw-base`, main just before issue 13's speed work was merged, with the
clock of issue 10 in it; first recorded at 7d47a88, before the clock changed what some
alerts say; recorded anew at issue 16: one clock_skew for an instance's clients, a
named instance the capture does not hold refused). tests/test_golden.py runs the same
commands with the code under test and compares. Record anew only where a change of output
is meant, and say so.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden-outputs.json.gz"
RULES = ("--round-period", "2s", "--round-deadline", "1s")
# A compressed journal is read from a temporary copy, whose name each run picks anew.
_TEMPORARY = re.compile(r"/tmp/logwatch-[^/ ]*?\.journal")
_SUFFIXES = (".export", ".json", ".cat", ".short", ".journal", ".gz", ".xz", ".bin")
_SUFFIXES_TEXT = (".short-iso", ".short-iso-precise", ".short-unix", ".with-unit", ".json-seq")


def fixtures() -> list[str]:
    """Every capture under tests/fixtures (relative paths), the golden file itself aside."""
    found = []
    for path in sorted(FIXTURES.rglob("*")):
        if path == GOLDEN or not path.is_file():
            continue
        if path.name.endswith(_SUFFIXES + _SUFFIXES_TEXT):
            found.append(str(path.relative_to(FIXTURES)))
    return found


def commands(fixture: str) -> Iterator[tuple[str, ...]]:
    """The command lines run on one fixture: every output kind, with and without an
    instance selected (which changes what the sources pass over unread)."""
    path = str(FIXTURES / fixture)
    yield ("replay", path, "--output", "json", "--events", "all")
    yield ("replay", path, "-o", "json", "--events", "rounds", "-i", "acme-mainnet", *RULES)
    yield ("replay", path, "--report", "--output", "json", *RULES)
    yield ("replay", path, "--output", "text", "-i", "preview-alpha", *RULES)
    yield ("patterns", "test", path, "--show-missed", "--output", "json")
    yield ("patterns", "test", path, "--output", "text", "-i", "acme-mainnet")


def merged_commands() -> Iterator[tuple[str, ...]]:
    """Several inputs in one run (merged by time)."""
    a, b = str(FIXTURES / "healthy.export"), str(FIXTURES / "two-instances.with-unit")
    yield ("replay", a, b, "--output", "json", "--events", "all")


def run(args: tuple[str, ...]) -> dict[str, object]:
    """Exit code and stdout of one command line, run in-process; paths in the output are
    made relative to the fixtures so the file does not depend on the checkout's place."""
    from logwatch.cli import app
    from logwatch.errors import LogwatchError

    env = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None, "NO_COLOR": "1"}
    result = CliRunner().invoke(app, list(args), env=env)
    prefix = str(FIXTURES) + os.sep
    if isinstance(result.exception, LogwatchError):
        # Caught by the console entry point, which prints it as one line: kept as that line.
        return {"error": str(result.exception).replace(prefix, "")}
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    stdout = _TEMPORARY.sub("/tmp/logwatch-TEMP.journal", result.stdout.replace(prefix, ""))
    return {"exit": result.exit_code, "stdout": stdout}


def key(args: tuple[str, ...]) -> str:
    prefix = str(FIXTURES) + os.sep
    return " ".join(a.replace(prefix, "") for a in args)


def every_command() -> list[tuple[str, ...]]:
    return [c for f in fixtures() for c in commands(f)] + list(merged_commands())


def main() -> None:
    import logwatch

    print(f"recording with {logwatch.__file__}", file=sys.stderr)
    golden = {key(args): run(args) for args in every_command()}
    with gzip.open(GOLDEN, "wt", encoding="utf-8") as f:
        json.dump(golden, f, indent=0, sort_keys=True)
    print(f"{len(golden)} outputs -> {GOLDEN}", file=sys.stderr)


if __name__ == "__main__":
    main()
