"""Following journald live: the local journal, a journal-remote directory or files, from a cursor.

Two ways in, with the same interface (`LiveSource`): `JournalFollower` reads through the
systemd binding, `JournalctlFollower` (follow_journalctl.py) runs `journalctl --follow`
for machines without it. `start()` once to position (after a saved cursor, at a time, or
a lookback before now), then `poll(timeout_s)` again and again: it blocks in the kernel
until entries come or the timeout passes (an idle follow costs no CPU) and always returns
by the timeout, so the caller's clock can move with the wall clock.

JournalFollower reads every journal file with a Reader of its own, in that file's order,
and learns of appends and new files through inotify on their directories. One Reader
over the whole directory would be simpler but loses entries: sd-journal hands out a
merged stream that never goes back in time, so an entry that reaches one host's file
after a later-stamped entry of another host was read is skipped for good (systemd
issues #359 and #14911), and a new file mixing several hosts is positioned by boot and
monotonic time, which can skip its first entries. Hosts upload with delays of their own,
so in a journal-remote collection both happen all the time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from logwatch.closing import ClosedOnExit
from logwatch.cursor import join_cursors, parse_cursor, split_cursors
from logwatch.errors import InputError
from logwatch.records import Entry, Unreadable
from logwatch.sources.dirwatch import DirWatch
from logwatch.sources.live import (
    DEFAULT_LOOKBACK_S,
    JOURNAL_SUFFIXES,
    LOST,
    MAX_BATCH,
    PERMISSION_HINT,
    LiveSource,
    StartPoint,
    check_journal_access,
    journal_dirs,
    journal_files,
    local_roots,
    lookback_start,
    lost_note,
    seqnum_id,
    unit_matches,
)

__all__ = ["DEFAULT_LOOKBACK_S", "JournalFollower", "LiveSource", "StartPoint"]


class _Tail:
    """One journal file, read by a Reader of its own in the file's own order.

    anchor: where the reader stands, to stand there again: the cursor of the last entry
    read from this file, or the time it was first positioned at.
    """

    __slots__ = ("anchor", "gone", "key", "path", "reader", "seqnum_id")

    def __init__(self, path: Path, key: tuple[int, int], reader: Any, sid: str | None) -> None:
        self.path = path
        self.key = key
        self.reader = reader
        self.seqnum_id = sid
        self.gone = False
        self.anchor: str | int = 0

    def seek_time(self, at_us: int) -> None:
        """Position before the first entry at or after `at_us`."""
        self.reader.seek_realtime(at_us)
        self.anchor = at_us

    def seek_after(self, cursor: str) -> None:
        """Position right after `cursor`, which is of this file's writer."""
        r = self.reader
        r.seek_cursor(cursor)
        self.anchor = cursor
        if r._next() and r.test_cursor(cursor):
            return
        # Not in this file (another file of the same writer, or vacuumed): seek_cursor
        # alone leaves the reader before the first entry numbered after the cursor.
        r.seek_cursor(cursor)

    def reseek(self) -> None:
        """Stand where the reader stands, anew. sd-journal (252) counts an entry in the
        file before it links it to its fields, and once it has seen a count at the end
        of a file it does not look again until the count changes: an entry it missed
        that way, under unit matches, would wait for the next one. A fresh seek looks."""
        if isinstance(self.anchor, str):
            self.seek_after(self.anchor)
        else:
            self.seek_time(self.anchor)


class JournalFollower(ClosedOnExit):
    """Follows the journal through sd-journal (`systemd.journal.Reader`, low-level calls).

    units: the units to follow (`zipnet-server@acme-mainnet.service`, ...); the journal
        filters by them. Empty: every entry (`--all`; the caller picks zipnet units).
    directory: a directory of journal files, such as systemd-journal-remote collects
        from many hosts; files that appear later are read too, files that go away are
        read to their end first. files: these journal files only. Neither: the local
        system journal.

    Call `start()` once before `poll()`. `cursor` is one journal cursor per
    sequence-number space read so far (a line each), so a resume is exact for every
    host's file, not only for the last one read.
    """

    def __init__(
        self,
        units: Sequence[str] = (),
        *,
        directory: str | os.PathLike[str] | None = None,
        files: Sequence[str | os.PathLike[str]] | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        try:
            # Imported here: without the binding, --journalctl still works.
            from systemd import journal

            from logwatch.sources.journal import entry_fields
        except ImportError:
            raise InputError(
                "the systemd Python binding is missing (pip install systemd-python), "
                "or follow with --journalctl"
            ) from None
        check_journal_access(directory, files)
        _raise_open_files_limit()
        self._open_reader: Callable[[str], Any] = lambda path: journal.Reader(files=[path])
        # The captured-journal reader's own decoding, so live and captured entries agree.
        self._decode: Callable[[dict[str, Any]], tuple[dict[str, str], Any]] = entry_fields
        self._fixed: frozenset[Path] | None = None
        if files:
            self._fixed = frozenset(Path(f).absolute() for f in files)
            self._roots = sorted({p.parent for p in self._fixed})
            self.origin = ",".join(str(f) for f in files)
        elif directory is not None:
            self._roots = [Path(directory).absolute()]
            self.origin = str(directory)
        else:
            self._roots = local_roots()
            self.origin = "journal"
        self._matches = unit_matches(units)
        self._max_batch = max_batch
        self._tails: dict[tuple[int, int], _Tail] = {}
        self._by_path: dict[Path, tuple[int, int]] = {}
        self._dirty: set[tuple[int, int]] = set()
        self._rescan = False
        self._positions: dict[str, tuple[int, str]] = {}
        self._cursor: str | None = None
        self._notices: list[str] = []
        self._refused: dict[Path, str] = {}
        # Where a file that appears during the follow is read from (set by start()).
        self._new_from_us = 0
        self._started = False
        self._watch = DirWatch()
        try:
            self._scan(initial=True)
        except BaseException:
            self.close()
            raise
        if not self._tails:
            self.close()
            why = next(iter(self._refused.values()), "not a journal file, or corrupt")
            raise InputError(f"{self.origin}: no journal file could be opened: {why}")

    @property
    def cursor(self) -> str | None:
        """What to save to resume after the entries handed out so far (see the class)."""
        if self._cursor is None and self._positions:
            self._cursor = join_cursors(c for _, c in self._positions.values())
        return self._cursor

    def fileno(self) -> int:
        """The inotify descriptor `poll` waits on, for callers with a select loop of their own."""
        return self._watch.fileno()

    # --- files ---------------------------------------------------------------------------

    def _scan(self, *, initial: bool = False) -> None:
        """Take in the directories as they are now: open new files, mark vanished ones."""
        if self._fixed is not None:
            dirs, found = self._roots, sorted(p for p in self._fixed if p.exists())
        else:
            dirs, found = journal_dirs(self._roots), journal_files(self._roots)
        for directory in dirs:
            try:
                self._watch.watch(directory)
            except OSError as e:
                if initial:
                    raise InputError(f"cannot watch {directory}: {e.strerror or e}") from None
        present: set[tuple[int, int]] = set()
        for path in found:
            try:
                st = path.stat()
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            present.add(key)
            tail = self._tails.get(key)
            if tail is not None:
                if tail.path != path:  # renamed when archived: the same file, read on
                    self._by_path.pop(tail.path, None)
                    tail.path = path
                    self._by_path[path] = key
                continue
            self._open(path, key)
        for key, tail in self._tails.items():
            if key not in present and not tail.gone:
                # Its descriptor still reads it: drained to its end, then closed.
                tail.gone = True
                self._dirty.add(key)

    def _open(self, path: Path, key: tuple[int, int]) -> None:
        try:
            reader = self._open_reader(str(path))
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE):
                why = "too many open files, raise the limit (ulimit -n)"
            elif not os.access(path, os.R_OK):
                why = f"permission denied ({PERMISSION_HINT})"
            else:
                # A file journal-remote or journald is still creating: the next event
                # for it brings another try.
                return
            if path not in self._refused:
                self._refused[path] = why
                self._notices.append(f"{path}: not followed: {why}")
            return
        for match in self._matches:
            reader.add_match(match)
        tail = _Tail(path, key, reader, seqnum_id(path))
        if self._started:
            tail.seek_time(self._new_from_us)
        self._tails[key] = tail
        self._by_path[path] = key
        self._dirty.add(key)

    # --- positioning ---------------------------------------------------------------------

    def start(
        self,
        *,
        cursor: str | None = None,
        since_us: int | None = None,
        lookback_s: float = DEFAULT_LOOKBACK_S,
        now_us: int | None = None,
    ) -> StartPoint:
        """Position every file: right after `cursor` (its own entry is not read again), else
        at `since_us`, else `lookback_s` before now. A cursor none of whose entries the
        journal still has falls back to the lookback, and the StartPoint says so."""
        self._started = True
        if cursor is not None:
            point = self._start_at_cursor(cursor, lookback_s, now_us)
            if point is not None:
                return point
            why = (
                LOST if any(map(parse_cursor, split_cursors(cursor))) else "is not a journal cursor"
            )
            at = lookback_start(lookback_s, now_us)
            self._seek_all(at)
            note = lost_note(lookback_s, why)
            self._notices.append(note)
            return StartPoint("lookback", at, cursor_lost=True, note=note)
        if since_us is not None:
            self._seek_all(max(0, since_us))
            return StartPoint("since", since_us)
        at = lookback_start(lookback_s, now_us)
        self._seek_all(at)
        return StartPoint("lookback", at)

    def _seek_all(self, at_us: int) -> None:
        self._new_from_us = at_us
        for tail in self._tails.values():
            tail.seek_time(at_us)

    def _start_at_cursor(
        self, cursor: str, lookback_s: float, now_us: int | None
    ) -> StartPoint | None:
        saved: dict[str, tuple[int, str, int]] = {}
        for text in split_cursors(cursor):
            p = parse_cursor(text)
            if p is not None and p.seqnum >= saved.get(p.seqnum_id, (-1, "", 0))[0]:
                saved[p.seqnum_id] = (p.seqnum, p.cursor, p.realtime_us)
        if not saved:
            return None
        known = {t.seqnum_id for t in self._tails.values()}
        if not known & saved.keys():
            return None
        # Files whose writer we never read from hold nothing handed out yet: they are
        # read from the oldest saved entry's time on.
        self._new_from_us = min(t for _, _, t in saved.values())
        for tail in self._tails.values():
            mark = saved.get(tail.seqnum_id or "")
            if mark is None:
                tail.seek_time(self._new_from_us)
                continue
            try:
                tail.seek_after(mark[1])
            except (OSError, ValueError):
                tail.seek_time(mark[2])
        self._positions = {s: (n, c) for s, (n, c, _) in saved.items() if s in known}
        self._cursor = None
        return StartPoint("cursor")

    # --- reading -------------------------------------------------------------------------

    def poll(self, timeout_s: float) -> list[Entry | Unreadable]:
        """The entries written since the last call, oldest first; waits up to `timeout_s`
        for the first one and returns an empty list when none came."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            if self._rescan:
                self._rescan = False
                self._scan()
                # Events may have been dropped (queue overflow): look at every file.
                self._dirty.update(self._tails)
            batch = self._drain()
            if batch:
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return batch
            if self._watch.wait(remaining):
                changes = self._watch.read()
                self._rescan = self._rescan or changes.rescan
                for path in changes.grown:
                    key = self._by_path.get(path)
                    if key is not None:
                        self._dirty.add(key)
                    elif path.name.endswith(JOURNAL_SUFFIXES):
                        self._rescan = True  # one that could not be opened before

    def _drain(self) -> list[Entry | Unreadable]:
        out: list[Entry | Unreadable] = []
        pending, self._dirty = self._dirty, set()
        for key in pending:
            tail = self._tails.get(key)
            if tail is None:
                continue
            if len(out) >= self._max_batch:
                self._dirty.add(key)
                continue
            if not self._read_tail(tail, out):
                self._dirty.add(key)  # stopped by the batch limit: more to come
            elif tail.gone:
                tail.reader.close()
                del self._tails[key]
                self._by_path.pop(tail.path, None)
        if len(pending) > 1:
            # Files read one after another: merge them into time order.
            out.sort(key=_time_of)
        return out

    def _read_tail(self, tail: _Tail, out: list[Entry | Unreadable]) -> bool:
        """Append `tail`'s new entries to `out`; True when it was read to its end."""
        r, origin, decode = tail.reader, self.origin, self._decode
        nxt, get_all, realtime, get_cursor = r._next, r._get_all, r._get_realtime, r._get_cursor
        append, limit = out.append, self._max_batch
        cursor = None
        done = True
        retried = False
        while True:
            if len(out) >= limit:
                done = False
                break
            try:
                if not nxt():
                    if cursor is None and not retried:
                        # Woken for this file yet nothing new: see _Tail.reseek.
                        retried = True
                        tail.reseek()
                        continue
                    break
            except OSError as e:
                # The file itself is damaged past this point: what it had is read.
                append(Unreadable(origin, "unreadable journal file", f"{tail.path}: {e}"))
                break
            try:
                cursor = get_cursor()
                fields, multi = decode(get_all())
                append(Entry(realtime(), True, fields, cursor, origin, multi))
            except (OSError, UnicodeDecodeError) as e:
                # A torn write or damaged object (the binding decodes field names as
                # UTF-8): counted, and reading goes on.
                append(Unreadable(origin, "unreadable journal entry", f"{tail.path}: {e}"))
        if cursor is not None:
            tail.anchor = cursor
            self._remember(cursor)
        return done

    def _remember(self, cursor: str) -> None:
        p = parse_cursor(cursor)
        if p is None:
            return
        seen = self._positions.get(p.seqnum_id)
        if seen is None or p.seqnum > seen[0]:
            self._positions[p.seqnum_id] = (p.seqnum, cursor)
            self._cursor = None

    def take_notices(self) -> list[str]:
        """Things the operator should hear about since the last call (lost cursor, ...)."""
        notices, self._notices = self._notices, []
        return notices

    def close(self) -> None:
        """Release the journal files and the inotify descriptor."""
        for tail in self._tails.values():
            tail.reader.close()
        self._tails.clear()
        self._by_path.clear()
        self._watch.close()


def _raise_open_files_limit() -> None:
    # A Reader per file: a collection of many hosts needs more descriptors than the
    # usual soft limit of 1024, and the hard limit is ours to take.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _time_of(item: Entry | Unreadable) -> int:
    return (item.time_us or 0) if isinstance(item, Entry) else 0
