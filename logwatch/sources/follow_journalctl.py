"""Following journald with short `journalctl --output=json` runs, one file each (`--journalctl`).

For machines without the systemd Python binding. Same interface as JournalFollower
(`LiveSource`); each JSON line becomes an Entry as in a `-o json` capture.

Each journal file is read on its own, as the native follower keeps a Reader per file:
a single `journalctl --follow` over a directory hands out one stream merged by time that
never goes back, so once a host whose clock is ahead has printed, every other host's
entries stamped earlier are skipped for good (systemd issue #359): a collector with one
host 30 s ahead then shows that host alone. journalctl 252 cannot `--follow` one file
(`--file`) nor follow under a match (`_HOSTNAME=`): entries are held back until the
next one comes. So logwatch watches the directories itself (inotify) and, when a file
grows, runs `journalctl --file=F --after-cursor=C` (no --follow), which prints what is
new in that file and exits; a file that keeps growing meanwhile is read again at once.
An idle follow runs no journalctl at all. A run that dies is retried with backoff from
the last entry handed out, so nothing is lost or repeated.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from logwatch.closing import ClosedOnExit
from logwatch.cursor import join_cursors, parse_cursor, split_cursors
from logwatch.errors import InputError
from logwatch.records import RawItem, Unreadable
from logwatch.sources.dirwatch import DirWatch
from logwatch.sources.json_capture import JsonLine, cursor_of, plain_field
from logwatch.sources.live import (
    DEFAULT_LOOKBACK_S,
    DRAIN_EVERY_S,
    LOST,
    MAX_BATCH,
    StartPoint,
    check_journal_access,
    journal_dirs,
    journal_files,
    local_roots,
    lookback_start,
    lost_note,
    seqnum_id,
    time_of,
)
from logwatch.sources.stream import MAX_LINE, sample_text
from logwatch.times import at_epoch
from logwatch.triage import Triage

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
HEALTHY_S = 10.0
"""A journalctl that ran this long before dying starts the backoff over."""
_READ = 1 << 16
_READ_MAX = 4 << 20
_STDERR_TAIL = 300
_UNIT_FIELD = re.compile(rb'"_SYSTEMD_UNIT":("(?:[^"\\]|\\.)*")')


class _FileTail:
    """One journal file: where its reading stands (the cursor of its last entry handed
    out, or the start), and the journalctl run reading on from there, if one runs."""

    def __init__(self, path: Path, command: list[str], origin: str, backoff_s: float) -> None:
        self.path = path
        self.command = command
        self.origin = origin
        self.seqnum_id = seqnum_id(path)
        self.position: list[str] = []
        self.cursor: str | None = None
        self.end_cursor: str | None = None
        # The start asked of a file that held no entry then: see settle().
        self.empty_start: list[str] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.buf = bytearray()
        self.skipping = False
        self.dirty = True
        self.gone = False
        self.restarts = 0
        self.restart_at: float | None = None
        self.ran_at = -DRAIN_EVERY_S
        """When the last run started (time.monotonic())."""
        self.first_backoff = self.backoff = backoff_s
        self.stderr: IO[bytes] | None = None

    def run(self) -> str | None:
        """Start a journalctl reading this file on from where it stands to its end; why it
        could not be started, or None."""
        self.dirty = False
        self.ran_at = time.monotonic()
        self.settle()
        position = [f"--after-cursor={self.cursor}"] if self.cursor else self.position
        args = [*self.command, f"--file={self.path}", *position]
        if self.stderr is not None:
            self.stderr.close()
        # Lives as long as this run (its messages, for the retry notice).
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                # Its own session: a Ctrl-C in the terminal is ours to handle.
                start_new_session=True,
            )
        except OSError as e:
            return f"cannot run {args[0]}: {e.strerror or e}"
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.proc = proc
        self.restart_at = None
        return None

    def settle(self) -> None:
        """As the native reader's Tail.settle: once a file that held no entry at the start
        holds some, it is read from the start if any entry is at or after it (those before
        were written before the start, or seen late), else from its first entry (its
        host's clock is behind)."""
        start = self.empty_start
        if start is None or self.cursor is not None:
            return
        if _last_cursor(self.command, self.path) is None:
            return  # still empty
        self.empty_start = None
        if _last_cursor(self.command, self.path, start) is not None:
            self.position = start

    def read(self, max_backoff_s: float) -> str | None:
        """Takes in what the run printed; when it failed, why (a notice), or None."""
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        got = 0
        while got < _READ_MAX:
            try:
                chunk = os.read(fd, _READ)
            except BlockingIOError:
                return None
            if not chunk:
                return self._ended(max_backoff_s)
            got += len(chunk)
            self.buf += chunk
        return None

    def _ended(self, max_backoff_s: float) -> str | None:
        proc = self.proc
        assert proc is not None
        code = proc.wait()
        self.proc = None
        if proc.stdout is not None:
            proc.stdout.close()
        if code == 0:
            self.backoff = self.first_backoff
            if self.cursor is None and self.end_cursor is not None:
                self.cursor = self.end_cursor
            return None
        # A line cut off by the failure is incomplete; --after-cursor brings it again.
        del self.buf[self.buf.rfind(b"\n") + 1 :]
        self.skipping = False
        if self.gone:
            return None
        self.restarts += 1
        delay = self.backoff
        self.backoff = min(self.backoff * 2, max_backoff_s)
        self.restart_at = time.monotonic() + delay
        return (
            f"journalctl of {self.path} exited ({_status(code)}): {self.stderr_tail()}; "
            f"restarting journalctl in {delay:g} s"
        )

    def take_lines(
        self, out: list[RawItem], units: frozenset[str], limit: int, read: JsonLine
    ) -> None:
        """Append the items of the whole lines read so far (of `units`, when given), each
        as `read` triages it, to `out`, up to `limit` items."""
        buf, start = self.buf, 0
        last = None
        while len(out) < limit:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = bytes(buf[start:nl])
            start = nl + 1
            if self.skipping:
                self.skipping = False
                continue
            if units:
                unit = _unit_of(line)
                if unit is not None:
                    last = line  # a whole object: it has a cursor
                if unit not in units:
                    continue
            item = read(line)
            if item is None:
                continue
            if not isinstance(item, Unreadable):
                last = line
            out.append(item)
        del buf[:start]
        if last is not None:
            # Resumed after the last line read (the cursor of every line is not needed).
            self.cursor = cursor_of(last) or self.cursor
        if self.skipping:
            buf.clear()
        elif len(buf) > MAX_LINE:
            out.append(Unreadable(self.origin, "line longer than 16 MiB", sample_text(bytes(buf))))
            buf.clear()
            self.skipping = True

    def stderr_tail(self) -> str:
        if self.stderr is None:
            return "no message"
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace").strip()
        return " | ".join(text[-_STDERR_TAIL:].splitlines()) or "no message"

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            _end(proc)
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None


class JournalctlFollower(ClosedOnExit):
    """Follows the journal with `journalctl --output=json --all` runs, one file each.

    units, directory, files: as for JournalFollower. journalctl: the program to run.
    """

    def __init__(
        self,
        units: Sequence[str] = (),
        *,
        directory: str | os.PathLike[str] | None = None,
        files: Sequence[str | os.PathLike[str]] | None = None,
        journalctl: str = "journalctl",
        max_batch: int = MAX_BATCH,
        first_backoff_s: float = FIRST_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
    ) -> None:
        binary = shutil.which(journalctl)
        if binary is None:
            raise InputError(f"{journalctl} not found: install systemd, or give its path")
        check_journal_access(directory, files)
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
        # --all: without it a field over 4096 bytes comes as null. No journal matches:
        # under matches, sd-journal 252 can miss an entry it sees counted but not yet
        # linked to its fields, and journalctl then holds it back until the next entry
        # arrives (JournalFollower re-seeks; journalctl cannot). A cheap look at the raw
        # line picks the units instead.
        self._command = [binary, "--output=json", "--all", "--quiet", "--no-pager"]
        self._units = frozenset(units)
        self._max_batch = max_batch
        self._read = JsonLine(self.origin)
        self._first_backoff = first_backoff_s
        self._max_backoff = max_backoff_s
        # By (device, inode): a file renamed as it is archived is the same file.
        self._tails: dict[tuple[int, int], _FileTail] = {}
        self._notices: list[str] = []
        self._start_position: list[str] = []
        self._started = False
        self._saved: dict[str, str] = {}
        self._watch = DirWatch()
        # The finalizer may not hold self; it ends whatever journalctl the tails run.
        self._procs: list[_FileTail] = []
        weakref.finalize(self, _stop_all, self._procs)
        try:
            for root in journal_dirs(self._roots):
                self._watch.watch(root)
        except OSError as e:
            self._watch.close()
            raise InputError(f"cannot watch {self.origin}: {e.strerror or e}") from None

    @property
    def cursor(self) -> str | None:
        """The cursor of each file's last entry handed out (what to save), one a line."""
        cursors = {t.cursor for t in self._tails.values() if t.cursor}
        return join_cursors(cursors) if cursors else None

    @property
    def pid(self) -> int | None:
        """A journalctl running now (the first file's), if one runs."""
        for tail in self._tails.values():
            if tail.proc is not None:
                return tail.proc.pid
        return None

    @property
    def restarts(self) -> int:
        """How many times a journalctl run was retried after it failed."""
        return sum(t.restarts for t in self._tails.values())

    def start(
        self,
        *,
        cursor: str | None = None,
        since_us: int | None = None,
        lookback_s: float = DEFAULT_LOOKBACK_S,
        now_us: int | None = None,
    ) -> StartPoint:
        """Start each file's journalctl right after the saved cursor of its file, else at
        `since_us`, else `lookback_s` before now; a cursor none of whose files the journal
        still has falls back to the lookback."""
        point: StartPoint
        self._started = True
        if cursor is not None:
            saved = {}
            for text in split_cursors(cursor):
                p = parse_cursor(text)
                if p is not None:
                    saved[p.seqnum_id] = (p.realtime_us, p.cursor)
            present = {seqnum_id(path) for path in self._files()}
            kept = {sid: c for sid, (_, c) in saved.items() if sid in present}
            if kept:
                self._saved = kept
                # Files whose writer was never read from: from the oldest saved entry on.
                oldest = min(t for t, _ in saved.values())
                self._start_position = [_since(oldest)]
                point = StartPoint("cursor")
            else:
                why = LOST if saved else "is not a journal cursor"
                at = lookback_start(lookback_s, now_us)
                self._start_position = [_since(at)]
                point = StartPoint("lookback", at, True, lost_note(lookback_s, why))
                self._notices.append(point.note)
        elif since_us is not None:
            self._start_position = [_since(max(0, since_us))]
            point = StartPoint("since", since_us)
        else:
            at = lookback_start(lookback_s, now_us)
            self._start_position = [_since(at)]
            point = StartPoint("lookback", at)
        self._scan()
        if not self._tails:
            raise InputError(f"{self.origin}: no journal files to follow")
        for tail in self._tails.values():
            failed = tail.run()
            if failed:
                raise InputError(failed)
        return point

    def _files(self) -> list[Path]:
        if self._fixed is not None:
            return sorted(p for p in self._fixed if p.exists())
        return journal_files(self._roots)

    def _scan(self) -> None:
        """Take in the directories as they are now: each new file is read from the start;
        a file renamed as it is archived is the same file; a file gone is let go once
        what was read of it is handed out."""
        present: set[tuple[int, int]] = set()
        for path in self._files():
            try:
                st = path.stat()
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            present.add(key)
            tail = self._tails.get(key)
            if tail is not None:
                tail.path = path.absolute()
                continue
            tail = _FileTail(path.absolute(), self._command, self.origin, self._first_backoff)
            saved = self._saved.get(tail.seqnum_id or "")
            tail.position = [f"--after-cursor={saved}"] if saved else list(self._start_position)
            if not saved:
                # Where the file ends now: if nothing in it comes after the start (its
                # host's clock is behind), what it gets later is read from there, whatever
                # its stamps (--since would pass over it for good); an empty file is read
                # from its first entry, or from the start (see _FileTail.settle).
                tail.end_cursor = _last_cursor(self._command, tail.path)
                if tail.end_cursor is None:
                    tail.empty_start, tail.position = tail.position, []
            self._tails[key] = tail
            self._procs.append(tail)
        for key, tail in self._tails.items():
            if key not in present:
                tail.gone = True
                tail.dirty = False

    def poll(self, timeout_s: float, triage: Triage | None = None) -> list[RawItem]:
        """The entries written since the last call, oldest first, each as `triage` says
        (asked from a line's bytes before it is parsed, as a JSON capture's reader asks);
        waits up to `timeout_s` for the first one and returns an empty list when none
        came."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        if triage is not self._read.triage:
            self._read = JsonLine(self.origin, triage)
        while True:
            now = time.monotonic()
            self._run_due(now, deadline)
            batch = self._take(self._read)
            if batch or now >= deadline:
                return batch
            poller = select.poll()
            readers: dict[int, _FileTail] = {}
            for tail in self._tails.values():
                if tail.proc is not None and tail.proc.stdout is not None:
                    fd = tail.proc.stdout.fileno()
                    readers[fd] = tail
                    poller.register(fd, select.POLLIN)
            watch = self._watch.fileno()
            poller.register(watch, select.POLLIN)
            wake = deadline
            for tail in self._tails.values():
                if tail.restart_at is not None:
                    wake = min(wake, tail.restart_at)
                elif tail.dirty and tail.proc is None and not tail.buf and not tail.gone:
                    wake = min(wake, tail.ran_at + DRAIN_EVERY_S)  # held by _run_due
            for fd, _ in poller.poll(max(0, int((wake - now) * 1000) + 1)):
                if fd == watch:
                    self._changed()
                    continue
                notice = readers[fd].read(self._max_backoff)
                if notice:
                    self._notices.append(notice)
            self._forget_gone()

    def _changed(self) -> None:
        changes = self._watch.read()
        if changes.rescan:
            self._scan()
            for tail in self._tails.values():
                tail.dirty = tail.dirty or not tail.gone
        grown = {path.absolute() for path in changes.grown}
        for tail in self._tails.values():
            if tail.path in grown:
                tail.dirty = True

    def _run_due(self, now: float, deadline: float) -> None:
        """A run for each file written to since its last run began (none while one runs:
        the next starts when it ends, and none sooner than DRAIN_EVERY_S after it began,
        unless the caller's `deadline` comes first), and for each failed run whose
        backoff is over."""
        for tail in self._tails.values():
            if tail.proc is not None or tail.gone or tail.buf:
                # Running, or what it printed is still to be handed out: the next run
                # reads on from the last entry handed out.
                continue
            if tail.restart_at is not None:
                if now < tail.restart_at:
                    continue
            elif not tail.dirty:
                continue
            elif now < tail.ran_at + DRAIN_EVERY_S < deadline:
                continue  # a run per write would cost more than the entries it brings
            failed = tail.run()
            if failed:
                tail.restart_at = now + tail.backoff
                self._notices.append(f"{failed}; retrying in {tail.backoff:g} s")

    def _take(self, read: JsonLine) -> list[RawItem]:
        out: list[RawItem] = []
        for tail in self._tails.values():
            if len(out) >= self._max_batch:
                break
            tail.take_lines(out, self._units, self._max_batch, read)
        if len(self._tails) > 1 and out:
            # Files read one after another: merged into time order.
            out.sort(key=time_of)
        return out

    def _forget_gone(self) -> None:
        for key in [k for k, t in self._tails.items() if t.gone and t.proc is None and not t.buf]:
            tail = self._tails.pop(key)
            tail.close()
            if tail in self._procs:
                self._procs.remove(tail)

    def take_notices(self) -> list[str]:
        """Things the operator should hear about since the last call (restarts, ...)."""
        notices, self._notices = self._notices, []
        return notices

    def close(self) -> None:
        """Stop every journalctl."""
        for tail in self._tails.values():
            tail.close()
        self._procs.clear()
        self._watch.close()


def _last_cursor(command: list[str], path: Path, position: Sequence[str] = ()) -> str | None:
    """The cursor of the last entry of the journal file at `path` (from `position` on),
    None if it has none."""
    try:
        done = subprocess.run(
            [*command, f"--file={path}", *position, "--lines=1", "--reverse"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    # --lines=1: one line, or none.
    return next((c for c in map(cursor_of, done.stdout.splitlines()) if c is not None), None)


def _since(at_us: int) -> str:
    return f"--since={at_epoch(at_us)}"


def _unit_of(line: bytes) -> str | None:
    """The _SYSTEMD_UNIT of a JSON line, found without parsing the whole line."""
    plain, unit = plain_field(line, b'"_SYSTEMD_UNIT":')
    if plain:
        return unit
    m = _UNIT_FIELD.search(line)
    if m is None:
        return None
    try:
        unit = json.loads(m.group(1))
    except ValueError:
        return None
    return unit if isinstance(unit, str) else None


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


def _end(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(2.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _stop_all(tails: list[_FileTail]) -> None:
    # Last resort at garbage collection or exit, so no journalctl outlives us.
    for tail in tails:
        proc = tail.proc
        if proc is not None and proc.poll() is None:
            _end(proc)
