"""Following journald through a `journalctl --follow --output=json` subprocess (`--journalctl`).

For machines without the systemd Python binding. Same interface as JournalFollower
(`LiveSource`); each JSON line becomes an Entry as in a `-o json` capture. journalctl
is restarted with backoff when it dies, resuming `--after-cursor` the last entry handed
out, so a restart neither loses nor repeats entries.

Weaker than JournalFollower on a directory of several hosts' files: journalctl's merged
stream never goes back in time, so an entry reaching one host's file after a
later-stamped entry of another host was printed is skipped (systemd issue #359), and a
resume after a cursor is exact for one file only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
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
from typing import IO

from logwatch.closing import ClosedOnExit
from logwatch.cursor import parse_cursor, split_cursors
from logwatch.errors import InputError
from logwatch.records import Entry, Unreadable
from logwatch.sources.json_capture import entry_from_json
from logwatch.sources.live import (
    DEFAULT_LOOKBACK_S,
    MAX_BATCH,
    StartPoint,
    check_journal_access,
    lookback_start,
    lost_note,
)
from logwatch.sources.stream import MAX_LINE, sample_text

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
HEALTHY_S = 10.0
"""A journalctl that ran this long before dying starts the backoff over."""
_READ = 1 << 16
_READ_MAX = 4 << 20
_STDERR_TAIL = 300
_UNIT_FIELD = re.compile(rb'"_SYSTEMD_UNIT":("(?:[^"\\]|\\.)*")')


class JournalctlFollower(ClosedOnExit):
    """Follows the journal by reading `journalctl --follow --output=json --all`.

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
        source: list[str] = []
        if files:
            source = [f"--file={f}" for f in files]
            self.origin = ",".join(str(f) for f in files)
        elif directory is not None:
            source = [f"--directory={directory}"]
            self.origin = str(directory)
        else:
            self.origin = "journal"
        # --all: without it a field over 4096 bytes comes as null. --merge: without it
        # --follow shows only the latest boot, which in a directory of several hosts is
        # one host's.
        common = ["--output=json", "--all", "--merge", "--quiet", "--no-pager"]
        self._common = [binary, *common, *source]
        # No journal matches: under matches, sd-journal 252 can miss an entry it sees
        # counted but not yet linked to its fields, and journalctl then holds it back
        # until the next entry arrives (JournalFollower re-seeks; journalctl cannot). A
        # cheap look at the raw line picks the units instead.
        self._units = frozenset(units)
        self._max_batch = max_batch
        self._first_backoff = first_backoff_s
        self._max_backoff = max_backoff_s
        self._backoff = first_backoff_s
        self._position: list[str] = []
        self._cursor: str | None = None
        self._notices: list[str] = []
        self._buf = bytearray()
        self._skipping = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._restart_at: float | None = None
        self._stderr: IO[bytes] | None = None
        self.restarts = 0
        # The finalizer may not hold self; it ends whatever journalctl the slot holds.
        self._slot: list[subprocess.Popen[bytes] | None] = [None]
        weakref.finalize(self, _stop, self._slot)

    @property
    def cursor(self) -> str | None:
        """The cursor of the last entry handed out (what to save), or of the start."""
        return self._cursor

    @property
    def pid(self) -> int | None:
        """The running journalctl, if one runs."""
        return self._proc.pid if self._proc is not None else None

    def start(
        self,
        *,
        cursor: str | None = None,
        since_us: int | None = None,
        lookback_s: float = DEFAULT_LOOKBACK_S,
        now_us: int | None = None,
    ) -> StartPoint:
        """Start journalctl right after `cursor`, else at `since_us`, else `lookback_s`
        before now; a cursor the journal no longer has falls back to the lookback."""
        point: StartPoint
        if cursor is not None:
            # journalctl resumes after one cursor: of a saved set (JournalFollower's, one
            # per file), the newest.
            points = [p for c in split_cursors(cursor) if (p := parse_cursor(c)) is not None]
            if points:
                cursor = max(points, key=lambda p: p.realtime_us).cursor
        if cursor is not None:
            why = self._cursor_missing(cursor)
            if why is None:
                self._cursor = cursor
                self._position = [f"--after-cursor={cursor}"]
                point = StartPoint("cursor")
            else:
                at = lookback_start(lookback_s, now_us)
                self._position = [_since(at)]
                point = StartPoint("lookback", at, True, lost_note(lookback_s, why))
                self._notices.append(point.note)
        elif since_us is not None:
            self._position = [_since(max(0, since_us))]
            point = StartPoint("since", since_us)
        else:
            at = lookback_start(lookback_s, now_us)
            self._position = [_since(at)]
            point = StartPoint("lookback", at)
        failed = self._spawn()
        if failed:
            raise InputError(failed)
        return point

    def _cursor_missing(self, cursor: str) -> str | None:
        """Why the journal does not have the entry at `cursor`, None when it has it."""
        args = [*self._common, f"--cursor={cursor}"]
        try:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as e:
            raise InputError(f"cannot run {args[0]}: {e.strerror or e}") from None
        assert proc.stdout is not None and proc.stderr is not None
        try:
            # Only the first entry matters: it is the cursor's own when the journal has it.
            first = proc.stdout.readline(MAX_LINE)
        finally:
            _end(proc)
            err = proc.stderr.read().decode("utf-8", "replace")
            proc.stderr.close()
        if not first and "cursor" in err:
            return "is not a journal cursor"
        try:
            found = json.loads(first).get("__CURSOR") if first else None
        except (ValueError, AttributeError):
            found = None
        return None if found == cursor else "is no longer in the journal (vacuumed or rotated away)"

    def _spawn(self) -> str | None:
        """Start journalctl; why it could not be started, or None."""
        position = [f"--after-cursor={self._cursor}"] if self._cursor else self._position
        # --no-tail: --follow alone would start 10 lines before the end, not where we seek.
        args = [*self._common, "--follow", "--no-tail", *position]
        if self._stderr is not None:
            self._stderr.close()
        # Lives as long as this journalctl (its messages, for the restart notice).
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                # Its own session: a Ctrl-C in the terminal is ours to handle, and we
                # end journalctl ourselves.
                start_new_session=True,
            )
        except OSError as e:
            return f"cannot run {args[0]}: {e.strerror or e}"
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        self._proc = proc
        self._slot[0] = proc
        self._started_at = time.monotonic()
        self._restart_at = None
        self._buf.clear()
        self._skipping = False
        return None

    def _schedule_restart(self, why: str) -> None:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self._max_backoff)
        self._restart_at = time.monotonic() + delay
        self._notices.append(f"{why}; restarting journalctl in {delay:g} s")

    def _died(self) -> None:
        proc = self._proc
        assert proc is not None
        code = proc.wait()
        self._proc = None
        self._slot[0] = None
        if proc.stdout is not None:
            proc.stdout.close()
        if time.monotonic() - self._started_at >= HEALTHY_S:
            self._backoff = self._first_backoff
        # A line cut off by the death is incomplete; --after-cursor brings it again. The
        # whole lines before it are handed out before the restart.
        del self._buf[self._buf.rfind(b"\n") + 1 :]
        self._skipping = False
        self.restarts += 1
        self._schedule_restart(f"journalctl exited ({_status(code)}): {self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return "no message"
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return " | ".join(text[-_STDERR_TAIL:].splitlines()) or "no message"

    def poll(self, timeout_s: float) -> list[Entry | Unreadable]:
        """The entries journalctl printed since the last call; waits up to `timeout_s` for
        the first one and returns an empty list when none came."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            batch = self._take_lines()
            if batch:
                return batch
            now = time.monotonic()
            if now >= deadline:
                return batch
            proc = self._proc
            if proc is None:
                assert self._restart_at is not None
                if now >= self._restart_at:
                    failed = self._spawn()
                    if failed:
                        self._schedule_restart(failed)
                else:
                    # Only while journalctl is down and waiting out its backoff.
                    time.sleep(min(deadline, self._restart_at) - now)
                continue
            assert proc.stdout is not None
            fd = proc.stdout.fileno()
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if poller.poll(max(0, math.ceil((deadline - now) * 1000))):
                self._read(fd)

    def _read(self, fd: int) -> None:
        got = 0
        while got < _READ_MAX:
            try:
                chunk = os.read(fd, _READ)
            except BlockingIOError:
                return
            if not chunk:
                self._died()
                return
            got += len(chunk)
            self._buf += chunk

    def _take_lines(self) -> list[Entry | Unreadable]:
        out: list[Entry | Unreadable] = []
        buf, start = self._buf, 0
        origin = self.origin
        while len(out) < self._max_batch:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = bytes(buf[start:nl])
            start = nl + 1
            if self._skipping:
                self._skipping = False
                continue
            if self._units and _unit_of(line) not in self._units:
                continue
            item = _parse(line, origin)
            if item is None:
                continue
            if isinstance(item, Entry) and item.cursor is not None:
                self._cursor = item.cursor
            out.append(item)
        del buf[:start]
        if self._skipping:
            buf.clear()
        elif len(buf) > MAX_LINE:
            out.append(Unreadable(origin, "line longer than 16 MiB", sample_text(bytes(buf))))
            buf.clear()
            self._skipping = True
        return out

    def take_notices(self) -> list[str]:
        """Things the operator should hear about since the last call (restarts, ...)."""
        notices, self._notices = self._notices, []
        return notices

    def close(self) -> None:
        """Stop journalctl."""
        proc, self._proc = self._proc, None
        self._slot[0] = None
        if proc is not None:
            _end(proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _since(at_us: int) -> str:
    secs, frac = divmod(at_us, 1_000_000)
    return f"--since=@{secs}.{frac:06d}"


def _unit_of(line: bytes) -> str | None:
    """The _SYSTEMD_UNIT of a JSON line, found without parsing the whole line."""
    m = _UNIT_FIELD.search(line)
    if m is None:
        return None
    try:
        unit = json.loads(m.group(1))
    except ValueError:
        return None
    return unit if isinstance(unit, str) else None


def _parse(line: bytes, origin: str) -> Entry | Unreadable | None:
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return Unreadable(origin, "malformed json", sample_text(line))
    if obj.__class__ is not dict:
        return Unreadable(origin, "json line is not an object", sample_text(line))
    return entry_from_json(obj, origin)


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


def _stop(slot: list[subprocess.Popen[bytes] | None]) -> None:
    # Last resort at garbage collection or exit, so no journalctl outlives us.
    proc = slot[0]
    if proc is not None and proc.poll() is None:
        _end(proc)
