"""Real captures for tests: simulated lines -> export text -> journal files -> journalctl output.

The `captures` fixture (one per session, journals cached) makes any input logwatch reads:

    path = captures.make(lines, "full-ansi", "short-iso")          # journalctl -o short-iso
    path = captures.make(lines, "journald", "json", compress="gz")  # a .gz of -o json
    directory = captures.journal(lines, "full")                     # a journal-remote dir

Formats: `journal` (a directory, one file per host, as systemd-journal-remote collects
them), `export-sim` (export text written by logwatch.simulate itself) and every
`journalctl -o` output logwatch reads. Text captures are made as an operator would
(`journalctl -D DIR -o FMT --no-pager --utc`): systemd 252 strips ANSI colour from
MESSAGE and prints `[N blob data]` for a message that holds other control characters
or invalid UTF-8; `all_fields=True` adds `--all` (raw bytes, ESC kept).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import logwatch.sinks.json_output
from logwatch.simulate import LogLine, export_bytes
from logwatch.sources import FORMATS

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
SCHEMA_PATH = Path(__file__).parent.parent / "docs" / "logwatch-lines.schema.json"
_LINES = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
_schema_errors: list[str] = []


def check_line(obj: Any) -> Any:
    """`obj` if it is a line of the documented contract (docs/logwatch-lines.schema.json);
    a test failure naming the key otherwise."""
    errors = sorted(_LINES.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(line)"
        pytest.fail(
            f"JSON line breaks docs/logwatch-lines.schema.json at {where}: "
            f"{errors[0].message}\n{json.dumps(obj)[:2000]}"
        )
    return obj


def json_lines(text: str) -> list[Any]:
    """Every line of logwatch's JSON output, parsed and checked against the schema: how
    tests read output that logwatch printed (a subprocess, CliRunner)."""
    return [check_line(json.loads(line)) for line in text.splitlines() if line.strip()]


def _checked_dumps(dumps: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    def checked(obj: dict[str, Any]) -> str:
        for error in _LINES.iter_errors(obj):
            _schema_errors.append(f"{error.message} at {list(error.absolute_path)}")
        return dumps(obj)

    return checked


# Every JSON line logwatch writes in this interpreter passes through dumps(): wrapped here,
# before any test module imports it by name, it is checked however a test reads it (or
# does not). Failures are collected, not raised, so the run under test is not changed;
# the autouse fixture below fails the test.
logwatch.sinks.json_output.dumps = _checked_dumps(logwatch.sinks.json_output.dumps)


@pytest.fixture(autouse=True)
def _json_lines_follow_the_schema() -> Iterator[None]:
    _schema_errors.clear()
    yield
    if _schema_errors:
        found = list(_schema_errors)
        _schema_errors.clear()
        pytest.fail(
            "JSON lines that break docs/logwatch-lines.schema.json: " + "; ".join(found[:5])
        )


JOURNALCTL_FORMATS = tuple(f for f in FORMATS if f != "journal")
"""journalctl's outputs logwatch reads (the `-o` names are logwatch's format names)."""
CAPTURE_FORMATS = ("journal", "export-sim", *JOURNALCTL_FORMATS)


def write_journal(directory: Path, lines: Sequence[LogLine], style: str) -> Path:
    """Real journal files for `lines` in `directory`, one per host (`remote-HOST.journal`),
    made by systemd-journal-remote from simulate's export text."""
    directory.mkdir(parents=True, exist_ok=True)
    by_host: dict[str, list[LogLine]] = {}
    for line in lines:
        by_host.setdefault(line.host, []).append(line)
    for host, own in by_host.items():
        export = directory / f"{host}.export.tmp"
        export.write_bytes(export_bytes(own, style))
        subprocess.run(
            [JOURNAL_REMOTE, f"--output={directory / f'remote-{host}.journal'}", str(export)],
            check=True,
            capture_output=True,
        )
        export.unlink()
    return directory


def journalctl(directory: Path, fmt: str, *, all_fields: bool = False) -> bytes:
    """What `journalctl --directory DIR -o FMT --no-pager --utc` prints."""
    command = ["journalctl", f"--directory={directory}", f"--output={fmt}", "--no-pager", "--utc"]
    if all_fields:
        command.append("--all")
    return subprocess.run(command, check=True, capture_output=True).stdout


def compressed(path: Path, kind: str) -> Path:
    """A `.gz` or `.xz` copy of `path` next to it."""
    target = path.with_name(f"{path.name}.{kind}")
    opener = gzip.open if kind == "gz" else lzma.open
    with path.open("rb") as src, opener(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def as_nobody(action: Callable[[], str]) -> str:
    """What `action` returns when run in a forked child as user and group nobody: the
    unprivileged operator, without starting an interpreter that user may not reach."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, action().encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as f:
            return f.read().decode()
    finally:
        os.waitpid(pid, 0)


class Captures:
    """Makes and caches captures under one directory for the whole session."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _key(self, lines: Sequence[LogLine], style: str) -> str:
        digest = hashlib.sha1(repr((tuple(lines), style)).encode(), usedforsecurity=False)
        return f"{style}-{digest.hexdigest()[:16]}"

    def journal(self, lines: Sequence[LogLine], style: str) -> Path:
        """A journal directory holding `lines` rendered in `style` (made once)."""
        directory = self.root / self._key(lines, style) / "journal"
        if not directory.exists():
            write_journal(directory.with_suffix(".tmp"), lines, style).rename(directory)
        return directory

    def make(
        self,
        lines: Sequence[LogLine],
        style: str,
        fmt: str,
        *,
        compress: str | None = None,
        all_fields: bool = False,
    ) -> Path:
        """A capture of `lines` in `style` as format `fmt` (one of CAPTURE_FORMATS),
        optionally compressed (`gz`, `xz`; for `journal` one host's file is compressed)."""
        base = self.root / self._key(lines, style)
        if fmt == "journal":
            directory = self.journal(lines, style)
            if compress is None:
                return directory
            return compressed(sorted(directory.glob("*.journal"))[0], compress)
        suffix = "-all" if all_fields else ""
        path = base / f"capture{suffix}.{fmt}"
        if not path.exists():
            base.mkdir(parents=True, exist_ok=True)
            if fmt == "export-sim":
                data = export_bytes(lines, style)
            else:
                data = journalctl(self.journal(lines, style), fmt, all_fields=all_fields)
            path.write_bytes(data)
        if compress is None:
            return path
        target = path.with_name(f"{path.name}.{compress}")
        return target if target.exists() else compressed(path, compress)


@pytest.fixture(scope="session")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captures]:
    """Captures of simulated lines in any format, journals made once per session."""
    if shutil.which("journalctl") is None or not Path(JOURNAL_REMOTE).exists():
        # Not a skip: without the real tools these tests would prove nothing.
        pytest.fail("needs journalctl and systemd-journal-remote: run scripts/setup.sh")
    yield Captures(tmp_path_factory.mktemp("captures"))


@pytest.fixture
def make_capture(captures: Captures, tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """make_capture(lines, style, fmt, compress=None, all_fields=False) -> a Path of this
    test's own (a copy of the session's capture, free to modify)."""

    def make(
        lines: Sequence[LogLine],
        style: str,
        fmt: str,
        *,
        compress: str | None = None,
        all_fields: bool = False,
    ) -> Path:
        source = captures.make(lines, style, fmt, compress=compress, all_fields=all_fields)
        target = tmp_path / source.name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
        return target

    yield make
