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

A collector's files come and go under a follow that runs for months: which are open, and
what happens when one is rotated, vacuumed, replaced or cut short, is follow_files.py's;
what of the journal was gone before it was read (a saved cursor vacuumed away while
logwatch was down), journal_gaps.py's.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path

from logwatch.closing import ClosedOnExit
from logwatch.cursor import join_cursors, parse_cursor, split_cursors
from logwatch.errors import InputError
from logwatch.records import RawItem, Unreadable
from logwatch.sources.follow_files import OpenFiles
from logwatch.sources.journal import TriagedRead
from logwatch.sources.journal_gaps import Gap, Ledger, Resume, plan_resume
from logwatch.sources.live import (
    DEFAULT_LOOKBACK_S,
    MAX_BATCH,
    LiveSource,
    Pace,
    StartPoint,
    check_journal_access,
    local_roots,
    lookback_start,
    lost_note,
    time_of,
    unit_matches,
)
from logwatch.sources.losses import Losses
from logwatch.sources.tail import Tail
from logwatch.triage import Triage

__all__ = ["DEFAULT_LOOKBACK_S", "JournalFollower", "LiveSource", "StartPoint"]


class JournalFollower(ClosedOnExit):
    """Follows the journal through sd-journal (`systemd.journal.Reader`, low-level calls).

    units: the units to follow (`zipnet-server@acme-mainnet.service`, ...); the journal
        filters by them. Empty: every entry (`--all`; the caller picks zipnet units).
    directory: a directory of journal files, such as systemd-journal-remote collects
        from many hosts; files that appear later are read too, files that go away are
        read to their end first, files their writer archived (rotated) are read to their
        end and closed (follow_files.py). files: these journal files only. Neither: the
        local system journal.

    Call `start()` once before `poll()`. `cursor` is one journal cursor per
    sequence-number space read so far (a line each), so a resume is exact for every
    host's file, not only for the last one read. `losses` counts what could not be kept.
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
        except ImportError:
            raise InputError(
                "the systemd Python binding is missing (pip install systemd-python), "
                "or follow with --journalctl"
            ) from None
        check_journal_access(directory, files)
        _raise_open_files_limit()
        fixed: frozenset[Path] | None = None
        if files:
            fixed = frozenset(Path(f).absolute() for f in files)
            roots = sorted({p.parent for p in fixed})
            self.origin = ",".join(str(f) for f in files)
        elif directory is not None:
            roots = [Path(directory).absolute()]
            self.origin = str(directory)
        else:
            roots = local_roots()
            self.origin = "journal"
        self._max_batch = max_batch
        # The captured-journal reader's own, so live and captured entries agree.
        self._read = TriagedRead(self.origin, Triage())
        self._pace = Pace()
        self._positions: dict[str, tuple[int, str]] = {}
        self._cursor: str | None = None
        self._notices: list[str] = []
        self._gaps = Losses()
        self._ledger = Ledger()
        # Where a file of a writer not read yet is read from, once started.
        self._new_from_us = 0
        self._files = OpenFiles(
            roots, fixed, lambda path: journal.Reader(files=[path]), unit_matches(units)
        )
        try:
            self._files.scan(initial=True)
        except BaseException:
            self.close()
            raise
        if not self._files.tails:
            self.close()
            why = next(iter(self._files.refused.values()), "not a journal file, or corrupt")
            raise InputError(f"{self.origin}: no journal file could be opened: {why}")

    @property
    def cursor(self) -> str | None:
        """What to save to resume after the entries handed out so far (see the class)."""
        if self._cursor is None and self._positions:
            self._cursor = join_cursors(c for _, c in self._positions.values())
        return self._cursor

    @property
    def losses(self) -> Losses:
        """What could not be kept so far (safe to read from another thread)."""
        files = self._files
        return Losses(
            self._gaps.gaps, self._gaps.entries, self._gaps.seconds, files.replaced, files.truncated
        )

    def fileno(self) -> int:
        """The inotify descriptor `poll` waits on, for callers with a select loop of their own."""
        return self._files.watch.fileno()

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
        at `since_us`, else `lookback_s` before now.

        Where the journal no longer holds what came after the cursor (vacuumed), each
        writer's files resume at the oldest entry left after it, one notice says how much
        is gone, and `losses` counts it. Only a text that holds no cursor falls back to
        the lookback."""
        self._files.place = self._place
        if cursor is not None:
            points = [p for c in split_cursors(cursor) if (p := parse_cursor(c)) is not None]
            headers = [h for t in self._files.tails.values() if (h := t.header()) is not None]
            plan = plan_resume(points, headers)
            if plan is not None:
                return self._resume(plan)
            at = lookback_start(lookback_s, now_us)
            self._seek_all(at)
            note = lost_note(lookback_s, "is not a journal cursor")
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
        for tail in self._files.tails.values():
            tail.seek_time(at_us)

    def _resume(self, plan: Resume) -> StartPoint:
        # Files of writers we never read from hold nothing handed out yet: they are read
        # from the oldest saved entry's time on.
        self._new_from_us = plan.from_us
        for tail in self._files.tails.values():
            mark = plan.after.get(tail.seqnum_id)
            if mark is None:
                tail.seek_time(plan.from_us)
                continue
            try:
                tail.seek_after(mark.cursor)
            except (OSError, ValueError):
                tail.seek_time(mark.realtime_us)
        self._positions = {s: (p.seqnum, p.cursor) for s, p in plan.after.items()}
        self._cursor = None
        for sid, p in plan.after.items():
            self._ledger.start_at(sid, p.seqnum, p.realtime_us)
        for gap in plan.gaps:
            self._gaps = self._gaps.with_gap(gap.entries, gap.seconds)
            if gap.entries is not None and gap.seqnum_id in plan.after:
                # Counted here: not again when the writer's next file is read.
                p = plan.after[gap.seqnum_id]
                self._ledger.start_at(gap.seqnum_id, p.seqnum + gap.entries, p.realtime_us)
        note = plan.note()
        if note:
            self._notices.append(note)
        resumed = [g.until_us for g in plan.gaps if g.until_us is not None]
        return StartPoint("cursor", min(resumed) if resumed else None, note=note)

    def _place(self, tail: Tail) -> None:
        """A file that appeared during the follow: after the last entry handed out of its
        writer (a rotated file's successor, a copy put back), else from the start."""
        mark = self._positions.get(tail.seqnum_id)
        if mark is None:
            tail.seek_time(self._new_from_us)
            return
        try:
            tail.seek_after(mark[1])
        except (OSError, ValueError):
            tail.seek_time(self._new_from_us)

    # --- reading -------------------------------------------------------------------------

    def poll(self, timeout_s: float, triage: Triage | None = None) -> list[RawItem]:
        """The entries written since the last call, oldest first, each as `triage` says
        (asked before it is read in full, as a replay of journal files asks); waits up
        to `timeout_s` for the first one and returns an empty list when none came."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        files = self._files
        if triage is not None and triage is not self._read.triage:
            self._read = TriagedRead(self.origin, triage)
        while True:
            # Taken in even while a backlog is read: a file made now is opened before a
            # vacuum can take it.
            if files.watch.wait(0):
                files.take_changes()
            if files.rescan:
                files.rescan = False
                files.scan()
                self._forget_writers()
                # Events may have been dropped (queue overflow): look at every file.
                files.dirty.update(files.tails)
            pause = self._pace.pause(time.monotonic(), deadline)
            if pause:
                time.sleep(pause)
            batch = self._drain()
            self._pace.drained(len(batch), self._max_batch, time.monotonic())
            if batch:
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return batch
            if files.watch.wait(remaining):
                files.take_changes()

    def _forget_writers(self) -> None:
        """A writer with no file left has no line in the saved cursor."""
        writers = self._files.writers()
        for sid in [s for s in self._positions if s not in writers]:
            del self._positions[sid]
            self._cursor = None
        self._ledger.keep_only(writers)

    def _drain(self) -> list[RawItem]:
        files = self._files
        out: list[RawItem] = []
        pending = [files.tails[k] for k in files.dirty if k in files.tails]
        files.dirty = set()
        for tail in pending:
            problem = tail.changed()
            if problem is None:
                files.whole(tail)
                continue
            if tail.gone:
                # Vacuumed: journalctl frees a file's blocks as it deletes it, so what it
                # held is gone for its readers too (the next file read tells how much).
                files.close_tail(tail)
            else:
                files.set_aside(tail, problem)
        # A writer's files in the order it wrote them, and none read past one cut short
        # by the batch limit: the cursor then never skips an entry not handed out.
        pending = [t for t in pending if files.tails.get(t.key) is t]
        pending.sort(key=lambda t: (t.seqnum_id, t.head_seqnum or _LAST))
        cut: set[str] = set()
        for tail in pending:
            if len(out) >= self._max_batch or tail.seqnum_id in cut:
                files.dirty.add(tail.key)
                continue
            # Asked before reading: whatever was appended before the writer let go of
            # the file is read now.
            finishing = tail.gone or tail.finished()
            done = self._read_tail(tail, out)
            if done and finishing:
                tail.reseek()  # see Tail.reseek: the very last entry must not wait
                done = self._read_tail(tail, out)
            if not done:
                cut.add(tail.seqnum_id)
                files.dirty.add(tail.key)
                continue
            header = tail.header()
            if header is not None:
                self._count_gap(self._ledger.examine(header), tail.path)
            if finishing:
                files.finish(tail)
        if len(pending) > 1:
            # Files read one after another: merge them into time order.
            out.sort(key=time_of)
        return out

    def _count_gap(self, gap: Gap | None, path: Path) -> None:
        if gap is None:
            return
        self._gaps = self._gaps.with_gap(gap.entries, gap.seconds)
        self._notices.append(
            f"{gap.entries:,} journal entries ({gap.seconds:.1f} s) before {path.name} were "
            "deleted before logwatch read them (vacuumed while it was behind)"
        )

    def _read_tail(self, tail: Tail, out: list[RawItem]) -> bool:
        """Append `tail`'s new entries to `out`; True when it was read to its end."""
        tail.settle()
        r, origin, read = tail.reader, self.origin, self._read
        nxt, realtime = r._next, r._get_realtime
        append, limit = out.append, self._max_batch
        moved = False
        done = True
        retried = False
        while True:
            if len(out) >= limit:
                done = False
                break
            try:
                if not nxt():
                    if not moved and not retried:
                        # Woken for this file yet nothing new: see Tail.reseek.
                        retried = True
                        tail.reseek()
                        continue
                    break
            except OSError as e:
                # The file itself is damaged past this point: what it had is read.
                append(Unreadable(origin, "unreadable journal file", f"{tail.path}: {e}"))
                break
            moved = True
            try:
                item = read.told(r, realtime())
            except OSError as e:
                item = Unreadable(origin, "unreadable journal entry", str(e))
            if isinstance(item, Unreadable):
                # A torn write or damaged object (the binding decodes field names as
                # UTF-8): counted, with the file it is in, and reading goes on.
                item = Unreadable(origin, item.reason, f"{tail.path}: {item.sample}")
            append(item)
        if moved:
            # The reader stands at the last entry read (sd-journal stays there at the end).
            try:
                cursor = r._get_cursor()
            except OSError:
                return done  # the next read starts after the last good position
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
        """Things the operator should hear about since the last call (a gap after the
        saved cursor, a file cut short, ...), each once."""
        notices = [*self._notices, *self._files.notices]
        self._notices, self._files.notices = [], []
        return notices

    def close(self) -> None:
        """Release the journal files and the inotify descriptor."""
        self._files.close()


_LAST = 1 << 64
"""Sorts a file that holds no entry yet after its writer's others."""


def _raise_open_files_limit() -> None:
    # A Reader per file: a collection of many hosts needs more descriptors than the
    # usual soft limit of 1024, and the hard limit is ours to take.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
