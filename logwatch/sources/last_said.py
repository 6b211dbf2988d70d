"""What the journal last said of each instance before a time: its last entry and last round.

A follow starts by reading a few W of the recent past; a check reads from --since. An
instance that was already silent, or stalled, before that holds nothing there to show
it, and would look like a name with no entries at all (no_data) or be left out (--all).
So the journal is asked, reading back from that start, for each instance's last entry
and its last `round finalized` (bounded: LOOKBACK_MAX_S, LOOKBACK_MAX_ENTRIES), which
the run then takes in first: an instance stalled 35 s before the start fires at once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from logwatch.journal_units import open_journal
from logwatch.records import Entry
from logwatch.sources.json_capture import entry_from_json
from logwatch.times import at_epoch
from logwatch.units import UnitTemplate

LOOKBACK_MAX_S = 3600.0
"""How far back the journal is asked (an instance silent for longer is said to be so)."""
LOOKBACK_MAX_ENTRIES = 20_000
"""Entries of one instance read back at most looking for its last round."""

IsRound = Callable[[Entry], bool]


def last_said(
    instances: Sequence[str],
    template: UnitTemplate,
    before_us: int,
    is_round: IsRound,
    *,
    directory: str | None = None,
    files: Sequence[str] = (),
    journalctl: bool = False,
) -> dict[str, list[Entry]]:
    """Per instance, its last entry and last round-finalized entry stamped before
    `before_us` (within LOOKBACK_MAX_S), oldest first; an instance with neither is left
    out. Asked of the native journal, or of journalctl."""
    since = before_us - round(LOOKBACK_MAX_S * 1_000_000)
    read = _journalctl if journalctl or not _has_binding() else _native
    out: dict[str, list[Entry]] = {}
    for name in instances:
        units = template.glob_for(name)
        found: list[Entry] = []
        for entry in read(units, since, before_us, directory, files):
            if not found:
                found.append(entry)  # the last entry of any of its units
                if is_round(entry):
                    break
            elif is_round(entry):
                found.append(entry)
                break
        if found:
            out[name] = sorted(found, key=lambda e: e.time_us or 0)
    return out


def _has_binding() -> bool:
    try:
        import systemd.journal  # noqa: F401
    except ImportError:
        return False
    return True


def _native(
    units: Sequence[str], since_us: int, before_us: int, directory: str | None, files: Sequence[str]
) -> Iterator[Entry]:
    """The instance's entries from `before_us` back to `since_us`, newest first."""
    from logwatch.sources.journal import entry_fields

    try:
        reader = open_journal(directory, files)
    except OSError:
        return
    try:
        for unit in units:
            reader.add_match(_SYSTEMD_UNIT=unit)
        reader.seek_realtime(before_us)
        for _ in range(LOOKBACK_MAX_ENTRIES):
            try:
                if not reader._previous():
                    return
                t = reader._get_realtime()
                if t >= before_us:
                    continue
                if t < since_us:
                    return
                fields, multi = entry_fields(reader._get_all())
                yield Entry(t, True, fields, reader._get_cursor(), "journal", multi)
            except (OSError, UnicodeDecodeError):
                continue
    finally:
        reader.close()


def _journalctl(
    units: Sequence[str], since_us: int, before_us: int, directory: str | None, files: Sequence[str]
) -> Iterator[Entry]:
    binary = shutil.which("journalctl")
    if binary is None:
        return
    where = [f"--directory={directory}"] if directory else [f"--file={f}" for f in files]
    args = [
        binary, "--output=json", "--all", "--merge", "--reverse", "--no-pager", "--quiet",
        f"--lines={LOOKBACK_MAX_ENTRIES}", f"--since={at_epoch(since_us)}",
        f"--until={at_epoch(before_us - 1)}", *where, *(f"--unit={u}" for u in units),
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            try:
                obj: Any = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                entry = entry_from_json(obj, "journal")
                if isinstance(entry, Entry):
                    yield entry
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
