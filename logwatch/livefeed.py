"""A journal that grows while logwatch follows it: export entries piped to systemd-journal-remote.

`LiveJournal(dir)` runs `systemd-journal-remote --output=DIR/remote.journal -`, which
reads journal export text on its stdin and appends each entry to the journal file as
soon as the entry's closing blank line arrives: it does not batch, so a Reader following
DIR wakes up within a millisecond or so of `write()` returning (measured in
tests/test_livefeed.py). `play()` feeds it a timeline in real time with the timestamps
moved to the wall clock, which makes simulated logs look live.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from logwatch.closing import ClosedOnExit
from logwatch.errors import InputError
from logwatch.simulate import LogLine, entry_count, to_export
from logwatch.times import US, wall_clock_us

_CANDIDATES = (
    "/lib/systemd/systemd-journal-remote",
    "/usr/lib/systemd/systemd-journal-remote",
)
_REALTIME = b"__REALTIME_TIMESTAMP"
_MONOTONIC = b"__MONOTONIC_TIMESTAMP"
# The file exists as soon as the header is written, but its hash tables (and with them
# the first allocation, far past one page) come a moment later; a Reader that opens it
# in between may skip it.
_READY_SIZE = 4096
_STDERR_TAIL = 500


def journal_remote_binary() -> str:
    """The systemd-journal-remote executable, or InputError saying how to get it."""
    for path in _CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("systemd-journal-remote")
    if found is None:
        raise InputError("systemd-journal-remote not found (apt install systemd-journal-remote)")
    return found


class LiveJournal(ClosedOnExit):
    """A journal file `directory/name` that systemd-journal-remote appends to while
    `write()` hands it export entries.

    Use as a context manager; `close()` (also on error, and at garbage collection as a
    last resort) ends the process, so none is left running. The file stays behind,
    complete, for readers.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        name: str = "remote.journal",
        *,
        ready_timeout_s: float = 5.0,
    ) -> None:
        if not name.endswith(".journal"):
            # journal-remote refuses any other output name.
            raise ValueError(f"journal file name must end in .journal: {name!r}")
        self.directory = Path(directory)
        self.path = self.directory / name
        self.entries = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot create {self.directory}: {e.strerror or e}") from None
        binary = journal_remote_binary()
        # Lives as long as the process (its messages, for errors); close() closes it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                [binary, f"--output={self.path}", "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
            )
        except OSError as e:
            self._stderr.close()
            raise InputError(f"cannot run {binary}: {e.strerror or e}") from None
        self._finalizer = weakref.finalize(self, _finalize, self._proc, self._stderr)
        self._last_words = ""
        assert self._proc.stdin is not None
        self._stdin: IO[bytes] = self._proc.stdin
        try:
            self._wait_ready(ready_timeout_s)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        """The systemd-journal-remote process."""
        return self._proc.pid

    @property
    def running(self) -> bool:
        """Whether systemd-journal-remote still runs."""
        return self._proc.poll() is None

    def _wait_ready(self, timeout_s: float) -> None:
        # Only at start-up, bounded: journal-remote has no readiness signal on a pipe.
        def ready() -> bool:
            try:
                return self.path.stat().st_size >= _READY_SIZE
            except FileNotFoundError:
                return False

        self._wait(ready, timeout_s, f"{self.path} did not appear within {timeout_s:g} s")

    def _wait(self, done: Callable[[], bool], timeout_s: float, late: str) -> None:
        """Polls `done` until it holds; RuntimeError when journal-remote is gone, or saying
        `late` past `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if self._proc.poll() is not None:
                raise RuntimeError(f"systemd-journal-remote failed: {self._stderr_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(late)
            time.sleep(0.002)

    def write(self, export: bytes) -> None:
        """Append one or more complete export entries (each ending in a blank line); they
        are in the journal file when journal-remote has read them, about at once."""
        try:
            self._stdin.write(export)
            # One flush per call: an entry that sits in our buffer is an entry the
            # follower cannot see.
            self._stdin.flush()
        except (BrokenPipeError, ValueError):
            code = self._proc.poll()
            raise RuntimeError(
                f"systemd-journal-remote is gone (exit {code}): {self._stderr_tail()}"
            ) from None
        self.entries += export.count(b"\n\n")

    def wait_written(self, timeout_s: float = 30.0) -> None:
        """Until the journal file counts every entry written so far (journal-remote reads
        its pipe on its own time); RuntimeError past `timeout_s`."""
        from logwatch.sources.tail import read_header

        fd = os.open(self.path, os.O_RDONLY)

        def written() -> bool:
            header = read_header(fd)
            return header is not None and header.n_entries >= self.entries

        try:
            self._wait(written, timeout_s, f"{self.path} did not take {self.entries} entries")
        finally:
            os.close(fd)

    def close(self, timeout_s: float = 5.0) -> int:
        """End of input: journal-remote finishes the file and exits. Returns its exit
        status; stops it by signal if it does not exit within `timeout_s`."""
        if self._finalizer.alive:
            self._finalizer.detach()
            try:
                _reap(self._proc, timeout_s)
            finally:
                self._last_words = self._stderr_tail()
                self._stderr.close()
        return self._proc.returncode if self._proc.returncode is not None else -1

    def _stderr_tail(self) -> str:
        if self._stderr.closed:
            return self._last_words or "no message"
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return " | ".join(text[-_STDERR_TAIL:].splitlines()) or "no message"


def _reap(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> int:
    """Close stdin so journal-remote finishes cleanly; signal it if it will not."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.terminate()
    try:
        return proc.wait(2.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _finalize(proc: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
    # Last resort (garbage collection, interpreter exit) so no journal-remote outlives us.
    try:
        _reap(proc)
    finally:
        stderr.close()


def restamp(export: bytes, realtime_us: int) -> bytes:
    """`export` (one or more entries) with `__REALTIME_TIMESTAMP` set to `realtime_us` and
    `__MONOTONIC_TIMESTAMP` moved by the same amount, so the journal still orders the
    entries of one boot consistently. Binary fields are skipped over by their length, so
    a value cannot fake a timestamp line."""
    out: list[bytes] = []
    pos, size = 0, len(export)
    delta: int | None = None
    while pos < size:
        nl = export.find(b"\n", pos)
        if nl < 0:
            out.append(export[pos:])
            break
        line = export[pos:nl]
        if not line:
            delta = None  # the next entry has its own old time
            out.append(b"\n")
            pos = nl + 1
            continue
        name, eq, value = line.partition(b"=")
        if not eq:
            (length,) = struct.unpack_from("<Q", export, nl + 1)
            end = nl + 1 + 8 + length + 1
            out.append(export[pos:end])
            pos = end
            continue
        if name == _REALTIME and value.isdigit():
            delta = realtime_us - int(value)
            line = b"%s=%d" % (_REALTIME, realtime_us)
        elif name == _MONOTONIC and value.isdigit() and delta is not None:
            line = b"%s=%d" % (_MONOTONIC, max(0, int(value) + delta))
        out.append(line + b"\n")
        pos = nl + 1
    return b"".join(out)


def timeline(
    lines: Iterable[LogLine], style: str, start_seq: int = 1
) -> Iterator[tuple[int, bytes]]:
    """`(time_us, export entries)` for each simulated line in `style`, ready for play()."""
    seq = start_seq
    for line in lines:
        yield line.time_us, to_export(line, style, seq)
        seq += entry_count(line, style)


def play(
    write: Callable[[bytes], object],
    items: Iterable[tuple[int, bytes]],
    *,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    clock: Callable[[], int] = wall_clock_us,
) -> int:
    """Write each `(time_us, export)` when its time comes, keeping the gaps between items
    (divided by `speed`), each stamped with the wall clock at the moment it is written.

    Returns how many items were written; setting `stop` ends the play early.
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    stop = stop or threading.Event()
    first: int | None = None
    started = time.monotonic()
    written = 0
    for time_us, export in items:
        if first is None:
            first = time_us
        due = started + (time_us - first) / US / speed
        delay = due - time.monotonic()
        # Event.wait sleeps without spinning and wakes at once when asked to stop.
        if (delay > 0 and stop.wait(delay)) or stop.is_set():
            break
        write(restamp(export, clock()))
        written += 1
    return written
