"""`--exec CMD`: run a command, without a shell, for every alert transition, off the pipeline."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from logwatch.engine.outputs import AlertTransition
from logwatch.errors import UsageError
from logwatch.escape import escape_text
from logwatch.sinks import Output
from logwatch.sinks.json_output import dumps

STATES = ("pending", "firing", "resolved")
DEFAULT_STATES = frozenset({"firing", "resolved"})
"""What pages, as Alertmanager's receivers hear it: firing, and the resolution of an alert
the command was told about."""
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_QUEUE_SIZE = 100
STDERR_TAIL = 4096  # bytes of a run's stderr kept for its failure line; the rest is discarded
REASON_LIMIT = 200  # characters of stderr quoted in a failure line
_TICK_S = 0.05  # how often a run checks for its exit and for close(); only while one runs
_DRAIN_READS = 16  # reads of stderr after exit: a grandchild holding the pipe cannot keep us


@dataclass(frozen=True, slots=True)
class ExecCounts:
    """What an exec sink did: runs attempted, of which failed or timed out, and alerts dropped
    unrun (queue full, or still waiting when close() gave up)."""

    run: int = 0
    failed: int = 0
    timed_out: int = 0
    dropped: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "run": self.run,
            "failed": self.failed,
            "timed_out": self.timed_out,
            "dropped": self.dropped,
        }


@dataclass(frozen=True, slots=True)
class _Job:
    stdin: bytes
    env: dict[str, str]


def parse_states(text: str) -> frozenset[str]:
    """`--exec-states pending,firing,resolved` as a set; UsageError naming a wrong one."""
    states = frozenset(s.strip() for s in text.split(",") if s.strip())
    wrong = sorted(states - set(STATES))
    if wrong or not states:
        raise UsageError(
            f"--exec-states: {', '.join(wrong) or 'empty'}: use some of {','.join(STATES)}"
        )
    return states


def _stderr_report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_command(argv: Sequence[str]) -> None:
    """Raise UsageError unless argv[0] is an executable file: a path as given, a bare name on
    PATH, as subprocess will look it up."""
    if not argv or not argv[0]:
        raise UsageError("--exec needs a command")
    cmd = argv[0]
    if os.sep in cmd:
        if not os.path.isfile(cmd):
            raise UsageError(f"--exec: {cmd}: no such file")
        if not os.access(cmd, os.X_OK):
            raise UsageError(f"--exec: {cmd}: not executable")
    elif shutil.which(cmd) is None:
        raise UsageError(f"--exec: {cmd}: command not found on PATH")


def _env_value(text: str) -> str:
    # An environment string cannot hold NUL; log-derived names are untrusted.
    return text.replace("\0", "\\x00")


def _stdin_bytes(obj: dict[str, Any]) -> bytes:
    line = dumps(obj) + "\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from undecodable log bytes: \u-escaped JSON is still valid JSON.
        return (json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n").encode()


def _last_line(tail: bytes) -> str:
    lines = [ln for ln in tail.decode("utf-8", "replace").splitlines() if ln.strip()]
    return escape_text(lines[-1].strip(), limit=REASON_LIMIT) if lines else ""


class ExecSink:
    """Runs `argv` once per alert transition, in order, one at a time, on a worker thread.

    The command gets the alert's JSON line on stdin and LOGWATCH_ALERT, LOGWATCH_STATE,
    LOGWATCH_INSTANCE, LOGWATCH_SEVERITY and LOGWATCH_AT on top of logwatch's environment.
    Rounds and other outputs are ignored. emit() never blocks: when `queue_size` alerts
    are waiting, the oldest waiting one is dropped and counted. A run that outlives
    `timeout_s` is killed with its whole process group. The command's stdout goes to
    /dev/null (logwatch's own stdout may be a JSON stream); of its stderr only the last
    STDERR_TAIL bytes are kept, for the failure line. Failures and the closing counts
    go to `report`, one line each, from the worker thread (stderr by default).

    states: the transitions to run for (default firing and resolved). A `resolved` runs
        only for an alert the command ran for before (its pending or firing), so an
        ordinary leader failover that stayed pending pages nobody.
    drain_timeout_s: how long close() waits for waiting alerts to run (default timeout_s);
        then the running command is killed and the rest are dropped.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        states: frozenset[str] = DEFAULT_STATES,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        drain_timeout_s: float | None = None,
        report: Callable[[str], None] = _stderr_report,
    ) -> None:
        check_command(argv)
        if timeout_s <= 0:
            raise UsageError(f"--exec-timeout must be positive, not {timeout_s:g}s")
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.argv = tuple(argv)
        self.timeout_s = timeout_s
        self.states = states
        # Alerts (by identity) the command heard a pending or firing of: whose resolution
        # it must hear. Bounded by the alerts that can be active at once.
        self._told: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        self.drain_timeout_s = timeout_s if drain_timeout_s is None else drain_timeout_s
        self._report = report
        self._name = escape_text(self.argv[0], limit=REASON_LIMIT)
        self._queue_size = queue_size
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._closed = False
        self._abort = threading.Event()  # set when close() stops waiting: kill, drop the rest
        self._run = self._failed = self._timed_out = self._dropped = 0
        self._dropped_reported = 0
        self._worker = threading.Thread(target=self._work, name="logwatch-exec", daemon=True)
        self._worker.start()

    @property
    def counts(self) -> ExecCounts:
        """A snapshot of the counts so far (final once close() has returned)."""
        with self._cond:
            return ExecCounts(self._run, self._failed, self._timed_out, self._dropped)

    def emit(self, output: Output) -> None:
        """Queue a run for an alert transition and return at once; anything else is ignored."""
        if not isinstance(output, AlertTransition):
            return
        if output.state not in self.states:
            return
        key = (output.alert, output.instance, tuple(sorted(output.labels.items())))
        if output.state == "resolved":
            if key not in self._told:
                return
            self._told.discard(key)
        else:
            self._told.add(key)
        obj = output.to_json()
        env = dict(os.environ)
        env.update(
            LOGWATCH_ALERT=_env_value(output.alert),
            LOGWATCH_STATE=output.state,
            LOGWATCH_INSTANCE=_env_value(output.instance),
            LOGWATCH_SEVERITY=output.severity,
            LOGWATCH_AT=obj["at"],
        )
        job = _Job(_stdin_bytes(obj), env)
        with self._cond:
            if self._closing:
                return
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self._dropped += 1
            self._queue.append(job)
            self._cond.notify()

    def close(self, summary: dict[str, Any] | None) -> None:
        """Let waiting alerts run for up to drain_timeout_s, then kill and drop what is left,
        stop the worker and report the counts."""
        with self._cond:
            if self._closed:
                return
            self._closed = self._closing = True
            self._cond.notify()
        self._worker.join(self.drain_timeout_s)
        if self._worker.is_alive():
            self._abort.set()
            with self._cond:
                self._cond.notify()
            self._worker.join()
        c = self.counts
        if c.run or c.dropped:
            self._report(
                f"logwatch: exec: {self._name}: {c.run} run, {c.failed} failed, "
                f"{c.timed_out} timed out, {c.dropped} dropped"
            )

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._abort.is_set() or not self._queue:
                    self._dropped += len(self._queue)
                    self._queue.clear()
                    return
                job = self._queue.popleft()
                self._run += 1
                newly_dropped = self._dropped - self._dropped_reported
                self._dropped_reported = self._dropped
            if newly_dropped:
                self._say(f"dropped {newly_dropped} waiting alert(s), queue full")
            reason, timed_out = self._execute(job)
            if reason is not None:
                with self._cond:
                    if timed_out:
                        self._timed_out += 1
                    else:
                        self._failed += 1
                self._say(reason)

    def _say(self, reason: str) -> None:
        self._report(f"logwatch: exec: {self._name}: {reason}")

    def _execute(self, job: _Job) -> tuple[str | None, bool]:
        """Run once; (None, False) on success, else (the reason, whether it timed out)."""
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=job.env,
                bufsize=0,
                start_new_session=True,  # its own process group, so a timeout kills it all
            )
        except FileNotFoundError:
            return "command not found", False
        except PermissionError:
            return "permission denied", False
        except (OSError, ValueError) as e:
            return escape_text(f"cannot run: {e}", limit=REASON_LIMIT), False
        deadline = time.monotonic() + self.timeout_s
        tail, finished = b"", False
        try:
            tail, finished = self._communicate(proc, job.stdin, deadline)
        finally:
            if not finished:
                # The leader is not reaped yet, so its group id cannot have been reused.
                _kill_group(proc)
            proc.wait()
        if not finished:
            if self._abort.is_set():
                return f"killed at close, still running after {self.drain_timeout_s:g}s", True
            return f"timed out after {self.timeout_s:g}s", True
        return _exit_reason(proc.returncode, tail), False

    def _communicate(
        self, proc: subprocess.Popen[bytes], data: bytes, deadline: float
    ) -> tuple[bytes, bool]:
        """Feed stdin and keep stderr's tail until the process exits (True) or the deadline
        or close() comes first (False); never waits on a pipe a grandchild still holds."""
        assert proc.stdin is not None and proc.stderr is not None
        tail = bytearray()
        err_fd = proc.stderr.fileno()
        os.set_blocking(err_fd, False)
        os.set_blocking(proc.stdin.fileno(), False)
        pending = memoryview(data)
        with selectors.DefaultSelector() as sel:
            sel.register(err_fd, selectors.EVENT_READ)
            if pending:
                sel.register(proc.stdin, selectors.EVENT_WRITE)
            else:
                proc.stdin.close()
            try:
                while proc.poll() is None:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._abort.is_set():
                        return bytes(tail), False
                    for key, _ in sel.select(min(left, _TICK_S)):
                        if key.fd == err_fd:
                            if _read_into(err_fd, tail) == 0:
                                sel.unregister(err_fd)
                            continue
                        try:
                            pending = pending[os.write(key.fd, pending) :]
                        except BlockingIOError:
                            continue
                        except (BrokenPipeError, ConnectionResetError):
                            pending = pending[:0]  # it does not want its stdin: its choice
                        if not pending:
                            sel.unregister(proc.stdin)
                            proc.stdin.close()
                for _ in range(_DRAIN_READS):
                    if not _read_into(err_fd, tail):
                        break
                return bytes(tail), True
            finally:
                proc.stdin.close()
                proc.stderr.close()


def _read_into(fd: int, tail: bytearray) -> int | None:
    """Read what is there into the bounded tail: the byte count, 0 at end of file, None when
    nothing is there yet."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return None
    tail += chunk
    del tail[:-STDERR_TAIL]
    return len(chunk)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone, group and all
        os.killpg(proc.pid, signal.SIGKILL)


def _exit_reason(code: int, tail: bytes) -> str | None:
    if code == 0:
        return None
    if code < 0:
        try:
            reason = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            reason = f"killed by signal {-code}"
    else:
        reason = f"exit {code}"
    last = _last_line(tail)
    return f"{reason}: {last}" if last else reason
