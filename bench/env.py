"""Where the benchmark finds things (the repository, logwatch, the data cache) and its error."""

from __future__ import annotations

import compileall
import functools
import os
import shutil
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / ".data"
INSTANCE = "acme-mainnet"
"""The simulated zipnet instance every mode watches."""


class BenchError(Exception):
    """A mistake or a missing tool the user can fix: printed as one line, exit 2."""


TREE = "LOGWATCH_BENCH_TREE"
"""An environment variable: another checkout's source tree to time instead of this one
(`git archive main | tar -x -C /tmp/before`), run by this venv's Python; the figures
before a change, next to those after it, on the same data."""


def logwatch_command() -> list[str]:
    """How to run logwatch: the venv's command, or the tree $LOGWATCH_BENCH_TREE names."""
    tree = os.environ.get(TREE)
    _compiled(Path(tree) if tree else REPO)
    if not tree:
        return [logwatch_binary()]
    python = REPO / ".venv" / "bin" / "python"
    # -P: the working directory's logwatch must not shadow the tree's.
    return ["env", f"PYTHONPATH={tree}", str(python), "-P", "-m", "logwatch"]


@functools.cache
def _compiled(tree: Path) -> None:
    """The tree's package compiled to bytecode, as pip leaves an installed wheel: without it,
    under PYTHONDONTWRITEBYTECODE every run compiles the package anew (~0.1 s of start-up)."""
    compileall.compile_dir(tree / "logwatch", quiet=1)


def logwatch_binary() -> str:
    """The venv's `logwatch` (the one `make bench` set up), else the one on PATH."""
    venv = REPO / ".venv" / "bin" / "logwatch"
    if os.access(venv, os.X_OK):
        return str(venv)
    found = shutil.which("logwatch")
    if found is None:
        raise BenchError("logwatch not found: run `bash scripts/setup.sh` (or `make bench`)")
    return found


def tool(name: str) -> str:
    """The executable `name` on PATH, or BenchError saying it is needed."""
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"{name} not found on PATH (apt install systemd)")
    return found


def journal_remote_binary() -> str:
    """systemd-journal-remote, found as logwatch finds it, or BenchError saying how to get it."""
    from logwatch.errors import InputError
    from logwatch.livefeed import journal_remote_binary as find

    try:
        return find()
    except InputError as e:
        raise BenchError(str(e)) from None
