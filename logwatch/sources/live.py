"""What a live journal source is: where it starts, the journal files it reads, access checks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from logwatch.errors import InputError
from logwatch.records import UNIT, RawItem, Unreadable
from logwatch.times import wall_clock_us
from logwatch.triage import Triage

DEFAULT_LOOKBACK_S = 60.0
"""Where a follow without cursor or --since starts: this far before now."""
MAX_BATCH = 5000
"""At most this many entries per poll, so a large backlog still returns to the caller's
clock and keeps memory bounded; the next poll goes on without waiting."""

DRAIN_EVERY_S = 0.05
"""While entries trickle in, a follow of journal files drains them at most this often (and
`--journalctl` runs journalctl on a file at most this often): a wake-up costs more (file
headers checked, the engine stepped; a process started) than the few entries one write
brings, and a journal written thousands of times a second would wake a follow for each.
An entry waits at most this much longer; after a quiet spell, none waits at all."""

PERMISSION_HINT = "run as root or add your user to the systemd-journal group"
_LOCAL_DIRS = (Path("/run/log/journal"), Path("/var/log/journal"))
_ID128 = re.compile(r"[0-9a-f]{32}")
JOURNAL_SUFFIXES = (".journal", ".journal~")
_SIGNATURE = b"LPKSHHRH"
_SEQNUM_ID = slice(72, 88)  # in the file header, after signature, flags, state, ids
LOST = "is no longer in the journal (vacuumed or rotated away)"
"""Why a saved cursor did not position a follow, when it is a cursor."""


@dataclass(frozen=True, slots=True)
class StartPoint:
    """Where a follow began reading, and why there.

    how: `cursor` (right after a saved cursor), `since` (at --since), or `lookback`
        (the given lookback before now).
    at_us: the time seeked to, for `since` and `lookback`.
    cursor_lost: a cursor was given but the journal no longer has its entry (vacuumed,
        rotated away, another journal), so the follow fell back to the lookback: entries
        between the cursor and that start may be missed.
    note: one line for the operator when there is something to say, else empty.
    """

    how: str
    at_us: int | None = None
    cursor_lost: bool = False
    note: str = ""


class LiveSource(Protocol):
    """What the follow command needs of a live source."""

    def start(
        self,
        *,
        cursor: str | None = None,
        since_us: int | None = None,
        lookback_s: float = DEFAULT_LOOKBACK_S,
        now_us: int | None = None,
    ) -> StartPoint: ...

    def poll(self, timeout_s: float, triage: Triage | None = None) -> list[RawItem]:
        """What came since the last call, each entry as `triage` says (whole when None);
        waits up to `timeout_s` for something."""
        ...

    @property
    def cursor(self) -> str | None: ...

    def take_notices(self) -> list[str]: ...

    def close(self) -> None: ...


class Pace:
    """When a live source may drain again: DRAIN_EVERY_S after a drain that brought
    entries, at once after a full batch (a backlog) or a quiet spell. Times are the
    caller's monotonic clock, passed in."""

    __slots__ = ("_due",)

    def __init__(self) -> None:
        self._due = 0.0

    def pause(self, now: float, deadline: float) -> float:
        """How long to wait at `now` before the next drain: until it is due, or until
        `deadline` comes first; 0 for at once."""
        return max(0.0, min(self._due, deadline) - now)

    def drained(self, count: int, limit: int, now: float) -> None:
        """A drain at `now` brought `count` entries, at most `limit` of them."""
        if count >= limit:
            self._due = 0.0
        elif count:
            self._due = now + DRAIN_EVERY_S


def time_of(item: RawItem) -> int:
    """The time an item is sorted by when a batch from several files is merged (what
    could not be read has none: it goes first)."""
    return 0 if isinstance(item, Unreadable) else (item.time_us or 0)


def triaged(items: Sequence[RawItem], triage: Triage | None) -> list[RawItem]:
    """`items` (a source's whole entries) as `triage` says: for the live sources that
    cannot ask it before reading an entry (a pipe: `follow -`)."""
    return list(items) if triage is None else triage.batch(items)


def unit_matches(units: Iterable[str]) -> list[str]:
    """Journal matches for entries of these units (matches on one field are ORed)."""
    return [f"{UNIT}={unit}" for unit in units]


def check_journal_access(
    directory: str | os.PathLike[str] | None = None,
    files: Sequence[str | os.PathLike[str]] | None = None,
) -> None:
    """InputError, one line, when the journal asked for cannot be read: the directory or a
    file is missing, holds no journal files, or may not be read by this user.

    sd-journal itself would open such a journal without complaint and show nothing,
    which looks like a silent instance instead of a mistake.
    """
    try:
        _check_journal_access(directory, files)
    except PermissionError as e:
        # A directory on the way that may not be entered: even looking is refused.
        raise InputError(f"{e.filename}: permission denied: {PERMISSION_HINT}") from None


def _check_journal_access(
    directory: str | os.PathLike[str] | None, files: Sequence[str | os.PathLike[str]] | None
) -> None:
    if files:
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise InputError(f"{path}: no such journal file")
            if not os.access(path, os.R_OK):
                raise InputError(f"{path}: permission denied: {PERMISSION_HINT}")
        return
    if directory is not None:
        root = Path(directory)
        if not root.is_dir():
            raise InputError(f"{root}: no such directory")
        if not os.access(root, os.R_OK | os.X_OK):
            # Not listable: it would look empty, not forbidden.
            raise InputError(f"{root}: permission denied: {PERMISSION_HINT}")
        found = journal_files([root])
        if not found:
            raise InputError(f"{root}: no journal files (*.journal) in it")
        if not any(os.access(f, os.R_OK) for f in found):
            raise InputError(f"{root}: permission denied: {PERMISSION_HINT}")
        return
    found = journal_files(local_roots())
    if not found:
        raise InputError(
            "no journal files in /run/log/journal or /var/log/journal "
            "(is systemd-journald running?)"
        )
    # zipnet runs as system units, whose lines are in system*.journal: a user who can
    # read only their own user-*.journal would follow an empty stream.
    system = [f for f in found if f.name.startswith("system")] or found
    if not any(os.access(f, os.R_OK) for f in system):
        raise InputError(f"no permission to read the system journal: {PERMISSION_HINT}")


def journal_dirs(roots: Iterable[Path]) -> list[Path]:
    """`roots` and their machine-id subdirectories: where sd-journal looks for files."""
    out: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        out.append(root)
        try:
            out.extend(p for p in root.iterdir() if _ID128.fullmatch(p.name) and p.is_dir())
        except OSError:
            continue
    return out


def journal_files(roots: Iterable[Path]) -> list[Path]:
    """The journal files (`*.journal`, `*.journal~`) in `roots` and their machine-id
    subdirectories."""
    out: list[Path] = []
    for directory in journal_dirs(roots):
        try:
            out.extend(p for p in directory.iterdir() if p.name.endswith(JOURNAL_SUFFIXES))
        except OSError:
            continue
    return sorted(out)


def local_roots() -> list[Path]:
    """This machine's journal directories, as sd-journal's LOCAL_ONLY reads them."""
    # As sd-journal's LOCAL_ONLY: this machine's files, not other machines' kept here.
    try:
        machine = Path("/etc/machine-id").read_text().strip()
    except OSError:
        machine = ""
    if _ID128.fullmatch(machine):
        return [d / machine for d in _LOCAL_DIRS]
    return list(_LOCAL_DIRS)


def seqnum_id(path: Path) -> str | None:
    """The sequence-number space of a journal file (the `s=` of its cursors), from its
    header; None if the file is not (yet) a journal file."""
    try:
        with path.open("rb") as f:
            head = f.read(_SEQNUM_ID.stop)
    except OSError:
        return None
    if len(head) < _SEQNUM_ID.stop or not head.startswith(_SIGNATURE):
        return None
    return head[_SEQNUM_ID].hex()


def lookback_start(lookback_s: float, now_us: int | None) -> int:
    """µs of the start `lookback_s` before `now_us` (the wall clock when None)."""
    return (now_us if now_us is not None else wall_clock_us()) - round(lookback_s * 1_000_000)


def lost_note(lookback_s: float, why: str) -> str:
    """The operator's line when a saved cursor could not be used."""
    return (
        f"saved cursor {why}; starting {lookback_s:g} s back, "
        "entries between the cursor and then may be missed"
    )
