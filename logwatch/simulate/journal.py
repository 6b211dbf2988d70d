"""Simulated lines as real journal files (systemd-journal-remote) and as journalctl prints them."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from logwatch.errors import InputError
from logwatch.livefeed import journal_remote_binary
from logwatch.simulate.export import export_bytes
from logwatch.simulate.lines import LogLine

JOURNALCTL_TIMEOUT_S = 300.0


def write_journal(directory: Path, lines: Sequence[LogLine], style: str) -> list[Path]:
    """One journal file per host in `directory` (`remote-HOST.journal`, as
    systemd-journal-remote names what it collects), made by systemd-journal-remote from
    the lines' export text; returns the files. A file that exists is refused: journal-remote
    would append to it."""
    binary = journal_remote_binary()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create {directory}: {e.strerror or e}") from None
    by_host: dict[str, list[LogLine]] = {}
    for line in lines:
        by_host.setdefault(line.host, []).append(line)
    targets = {host: directory / f"remote-{host}.journal" for host in by_host}
    taken = sorted(str(p) for p in targets.values() if p.exists())
    if taken:
        raise InputError(f"{taken[0]} exists: give -D an empty or new directory")
    with tempfile.TemporaryDirectory(prefix="logwatch-simulate-") as work:
        for host, own in by_host.items():
            export = Path(work) / "host.export"
            export.write_bytes(export_bytes(own, style))
            done = subprocess.run(
                [binary, f"--output={targets[host]}", str(export)],
                capture_output=True,
                check=False,
            )
            if done.returncode != 0:
                why = " ".join(done.stderr.decode("utf-8", "replace").split())[-300:]
                raise InputError(f"systemd-journal-remote could not write {targets[host]}: {why}")
    return sorted(targets.values())


def print_as_journalctl(lines: Sequence[LogLine], style: str, fmt: str, out: IO[bytes]) -> None:
    """What `journalctl -o FMT --utc` prints of a journal holding `lines`, written to `out`:
    the journal made by systemd-journal-remote in a scratch directory, printed by the real
    journalctl (its text forms strip colour and show `[N blob data]` as an operator's
    capture does)."""
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        raise InputError("journalctl not found (apt install systemd)")
    with tempfile.TemporaryDirectory(prefix="logwatch-simulate-") as work:
        write_journal(Path(work), lines, style)
        command = [journalctl, f"--directory={work}", f"--output={fmt}", "--no-pager", "--utc"]
        # Through a file: `out` may be no real file (a test's captured stdout).
        with tempfile.TemporaryFile() as printed:
            done = subprocess.run(
                command,
                stdout=printed,
                stderr=subprocess.PIPE,
                check=False,
                timeout=JOURNALCTL_TIMEOUT_S,
            )
            if done.returncode != 0:
                why = " ".join(done.stderr.decode("utf-8", "replace").split())[-300:]
                raise InputError(f"journalctl -o {fmt} failed: {why}")
            printed.seek(0)
            shutil.copyfileobj(printed, out)
