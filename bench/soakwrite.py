"""The soak's writer: zipnet's noise and a round a second into systemd-journal-remote at a
steady rate, for as long as asked, with the journal rotated and vacuumed as a collector's.

An hour at 20,000 entries/s is 72 million entries: far too many to render beforehand as
the follow benchmark does. So the noise (zipnet's own units at `RUST_LOG=info,mosaik=debug`,
workload.zipnet_noise) is a pool rendered once and written over and over, each time with
the wall clock's timestamps; the instance's lines, a few hundred a second, are rendered as
they come due. Every `rotate_every_s` the writer makes journal-remote rotate its file
(logwatch.simulate.rotation); journal-remote also rotates by itself when a file is full.
After every rotation, of either kind, a thread runs `journalctl --vacuum-files=N` on the
directory, as a collector's timer would.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from env import tool
from livewrite import BATCH_SLEEP_S, Prepared
from workload import MIXES, Shape, hosts, instance_lines, lines_per_round, zipnet_noise

from logwatch.simulate import DEFAULT_START_US, LogLine, noise
from logwatch.simulate.rotation import rotation_export
from logwatch.times import US

POOL_S = 5.0
"""Seconds of noise rendered once and written again and again."""
BATCH_S = 0.05
"""The most written at once, in seconds of the rate: a writer that fell behind (its
journal-remote slower than the rate) catches up in steps, not in one write that blocks
for seconds, so it stops when told and its entries' stamps stay fresh."""
_REALTIME = b"__REALTIME_TIMESTAMP="
_MONOTONIC = b"__MONOTONIC_TIMESTAMP="
_BOOT_AGE_US = 1_000_000 * US


def shape(mix: str) -> Shape:
    """One instance with 3 servers, an aggregator, 200 clients and a round a second; the
    noise of `mix`: `zipnet` (mosaik at debug, from zipnet's own units: every entry
    passes the unit matches) or `others` (other programs on the same hosts)."""
    if mix not in MIXES:
        raise ValueError(f"mix is one of {MIXES}: {mix!r}")
    return Shape(0, servers=3, period_s=1.0, mix=mix)


def noise_lines(s: Shape, count: int, per_second: float) -> Iterator[LogLine]:
    """`count` noise lines of the shape's mix at about `per_second`."""
    if s.mix == "zipnet":
        return zipnet_noise(s, count, per_second)
    return noise(DEFAULT_START_US, count, per_second=per_second, hosts=hosts(s), seed=s.seed)


@dataclass(slots=True)
class Written:
    """What the writer did. Times are time.monotonic() unless named wall."""

    entries: int = 0
    marker_times: dict[int, float] = field(default_factory=dict)
    """Round number → when its `round finalized` line was written."""
    rotations_asked: int = 0
    started: float = 0.0
    stopped: float = 0.0
    cpu_s: float = 0.0
    """CPU the writing thread used."""


class Writer:
    """Writes `rate` entries/s into `write` until `keep_going()` says no (see the module)."""

    def __init__(
        self, rate: float, seconds: float, rotate_every_s: float, mix: str = "zipnet"
    ) -> None:
        self.shape = shape(mix)
        _, per_round = lines_per_round(self.shape)
        instance_rate = per_round / self.shape.period_s
        self.noise_rate = max(0.0, rate - instance_rate)
        self.rotate_every_s = rotate_every_s
        rounds = int(seconds / self.shape.period_s) + 10
        self._instance: Iterator[LogLine] = instance_lines(self.shape, rounds)
        size = max(1, round(self.noise_rate * POOL_S))
        self.pool = Prepared()
        for seq, line in enumerate(noise_lines(self.shape, size, self.noise_rate or 1.0)):
            self.pool.add(line, 0.0, seq + 1)
        self.written = Written()

    def run(self, write: Callable[[bytes], object], keep_going: Callable[[], bool]) -> Written:
        """Write until told to stop; the instance's first line is due at once."""
        w = self.written
        pool, pool_n = self.pool, len(self.pool.heads)
        noise_done = 0
        seq = 1
        first_us: int | None = None
        pending: LogLine | None = next(self._instance, None)
        w.started = started = time.monotonic()
        cpu0 = time.thread_time()
        next_rotation = self.rotate_every_s
        most = max(1, round(self.noise_rate * BATCH_S))
        while keep_going():
            now = time.monotonic() - started
            parts: list[bytes] = []
            wall = time.time_ns() // 1000
            stamp = b"%s%d\n%s%d\n" % (_REALTIME, wall, _MONOTONIC, wall - _BOOT_AGE_US)
            markers: list[int] = []
            while pending is not None:
                if first_us is None:
                    first_us = pending.time_us
                if (pending.time_us - first_us) / US > now:
                    break
                one = Prepared()
                one.add(pending, 0.0, seq)
                seq += 1
                parts += (one.heads[0], stamp, one.tails[0])
                if one.markers:
                    markers.append(one.markers[0])
                pending = next(self._instance, None)
            due = min(int(now * self.noise_rate) - noise_done, most)
            for k in range(noise_done, noise_done + due):
                i = k % pool_n
                parts += (pool.heads[i], stamp, pool.tails[i])
            noise_done += due
            entries = len(parts) // 3
            if self.rotate_every_s and now >= next_rotation:
                parts.append(rotation_export(wall))
                next_rotation += self.rotate_every_s
                w.rotations_asked += 1
            w.cpu_s = time.thread_time() - cpu0
            if parts:
                at = time.monotonic()
                write(b"".join(parts))
                for number in markers:
                    w.marker_times[number] = at
                w.entries += entries
            else:
                time.sleep(BATCH_SLEEP_S)
        w.stopped = time.monotonic()
        w.cpu_s = time.thread_time() - cpu0
        return w


class Vacuum:
    """After every rotation in `directory` (a new archived file), `journalctl
    --vacuum-files=keep` on it, in a thread of its own.

    journalctl counts the active file (the name without `@`) among the files it keeps, and
    journal-remote renames the full file before it creates the next one: a vacuum run in
    between keeps one archived file more. So a rotation is vacuumed once the new active
    file is there, and every run deletes as many files as a collector's timer would."""

    def __init__(self, directory: Path, keep: int, check_s: float = 0.1) -> None:
        self.directory = directory
        self.keep = keep
        self.looks = 0
        self.rotations = 0
        self.runs = 0
        self.deleted = 0
        self.errors: list[str] = []
        self._check_s = check_s
        self._journalctl = tool("journalctl")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vacuum", daemon=True)

    def start(self) -> Vacuum:
        self._thread.start()
        return self

    def _archived(self) -> set[str]:
        return {p.name for p in self.directory.glob("*@*.journal")}

    def _has_active(self) -> bool:
        return any("@" not in p.name for p in self.directory.glob("*.journal"))

    def _run(self) -> None:
        seen = self._archived()
        while not self._stop.wait(self._check_s):
            self.looks += 1
            now = self._archived()
            fresh = now - seen
            if not fresh:
                seen = now
                continue
            if not self._has_active():
                continue  # mid-rotation: the next file is not created yet
            self.rotations += len(fresh)
            done = subprocess.run(
                [self._journalctl, f"--directory={self.directory}", f"--vacuum-files={self.keep}"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            self.runs += 1
            if done.returncode != 0:
                self.errors.append(done.stderr.strip()[-300:])
            self.deleted += done.stderr.count("Deleted archived journal")
            seen = self._archived()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10.0)
