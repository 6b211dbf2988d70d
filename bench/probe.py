"""Runs one command and measures it: wall time, CPU time, peak RSS and peak RssAnon.

RSS of a reader of journal files counts the mapped file pages it touched (page cache),
so the anonymous part (RssAnon: heap, interpreter, buffers) is the figure that says
whether memory grows with the input. The kernel keeps the RSS high-water mark (VmHWM,
also ru_maxrss at exit) but none for RssAnon, so a thread samples /proc/PID/status.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from env import BenchError

SAMPLE_S = 0.02
_KB = 1024


@dataclass(frozen=True, slots=True)
class Memory:
    """From one /proc/PID/status read, in bytes."""

    hwm: int
    rss: int
    anon: int


def read_status(pid: int) -> Memory | None:
    """VmHWM, VmRSS and RssAnon of `pid`, or None once it is gone (or a zombie)."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                name, _, rest = line.partition(b":")
                if name in (b"VmHWM", b"VmRSS", b"RssAnon"):
                    values[name.decode()] = int(rest.split()[0]) * _KB
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    if "VmHWM" not in values:
        return None
    return Memory(values["VmHWM"], values.get("VmRSS", 0), values.get("RssAnon", 0))


def cpu_seconds(pid: int, children: bool = False) -> float | None:
    """utime + stime of `pid` from /proc/PID/stat, in seconds, with `children` those of
    its children it has waited for too (cutime + cstime: `follow --journalctl`'s
    journalctl runs); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its end.
    fields = stat[stat.rindex(b")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """Samples a process's memory every SAMPLE_S in a thread until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_hwm = 0
        self.peak_anon = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(SAMPLE_S):
                return

    def sample(self) -> None:
        memory = read_status(self.pid)
        if memory is None:
            return
        self.samples += 1
        self.peak_hwm = max(self.peak_hwm, memory.hwm)
        self.peak_anon = max(self.peak_anon, memory.anon)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run of a command."""

    wall_s: float
    cpu_s: float
    peak_rss: int
    peak_anon: int
    exit_code: int
    stderr: str
    samples: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def measure(argv: Sequence[str], stdout: Path | None = None) -> Run:
    """Run `argv` (no shell) with stdout to `stdout` (default /dev/null) and measure it."""
    out_path = stdout or Path(os.devnull)
    with out_path.open("wb") as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        except OSError as e:
            raise BenchError(f"cannot run {argv[0]}: {e.strerror or e}") from None
        sampler = MemorySampler(proc.pid).start()
        try:
            # wait4 rather than Popen.wait: its rusage has the child's own peak RSS and CPU.
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            sampler.stop()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace").strip()
    return Run(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss=max(sampler.peak_hwm, usage.ru_maxrss * _KB),
        peak_anon=sampler.peak_anon,
        exit_code=proc.returncode,
        stderr=stderr,
        samples=sampler.samples,
    )
