"""A paced writer for the follow benchmark: export entries rendered beforehand, stamped and
written at their time, with the write time of every `round finalized` line.

Rendering an entry through the simulator costs some 25 µs of Python; at 5,000 entries/s
that alone would take an eighth of a core from the follower being measured. So every
entry is rendered before the clock starts, split around its two timestamp lines, and the
writer only joins bytes: the entry gets the wall clock at the moment it is written.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from workload import STYLE, Plan, workload_lines

from logwatch.simulate import LogLine, entry_count, to_export
from logwatch.times import US

BATCH_SLEEP_S = 0.002
"""The longest the writer sleeps between batches: the pacing granularity."""
_REALTIME = b"__REALTIME_TIMESTAMP="
_MONOTONIC = b"__MONOTONIC_TIMESTAMP="
_BOOT_AGE_US = 1_000_000 * US
"""Monotonic time is the wall clock minus a boot this long ago (any positive constant
keeps each boot's entries ordered)."""


@dataclass(slots=True)
class Prepared:
    """The entries to write: when (seconds after the first), and their bytes around the
    timestamps; `markers` maps an entry's index to the round it finalizes."""

    due_s: list[float] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)
    tails: list[bytes] = field(default_factory=list)
    markers: dict[int, int] = field(default_factory=dict)

    def add(self, line: LogLine, due_s: float, seq: int) -> None:
        if entry_count(line, STYLE) != 1:
            raise ValueError(f"one entry per line expected: {line.message!r}")
        entry = to_export(line, STYLE, seq)
        first = entry.index(b"\n") + 1
        second = entry.index(b"\n", first) + 1
        third = entry.index(b"\n", second) + 1
        if not (entry.startswith(_REALTIME, first) and entry.startswith(_MONOTONIC, second)):
            raise ValueError("export entry without its timestamps second and third")
        if line.message == "round finalized":
            number = dict(line.fields)["round"]
            assert isinstance(number, int)
            self.markers[len(self.due_s)] = number
        self.due_s.append(due_s)
        self.heads.append(entry[:first])
        self.tails.append(entry[third:])


def prepare(p: Plan) -> Prepared:
    """Render every entry of the workload plan `p`."""
    prepared = Prepared()
    first: int | None = None
    for seq, line in enumerate(workload_lines(p), start=1):
        if first is None:
            first = line.time_us
        prepared.add(line, (line.time_us - first) / US, seq)
    return prepared


@dataclass(slots=True)
class Written:
    """What the writer did: entries written, and each marker's round → write time
    (time.monotonic())."""

    entries: int = 0
    marker_times: dict[int, float] = field(default_factory=dict)


def write_paced(
    prepared: Prepared,
    write: Callable[[bytes], object],
    keep_going: Callable[[], bool],
) -> Written:
    """Write the prepared entries at their times until they run out or `keep_going()`
    says no; each batch is stamped with the wall clock when written."""
    written = Written()
    due = prepared.due_s
    heads, tails = prepared.heads, prepared.tails
    markers = sorted(prepared.markers.items())
    next_marker = 0
    started = time.monotonic()
    i, n = 0, len(due)
    while i < n and keep_going():
        now = time.monotonic() - started
        j = bisect.bisect_right(due, now, i)
        if j == i:
            time.sleep(min(due[i] - now, BATCH_SLEEP_S))
            continue
        wall = time.time_ns() // 1000
        stamp = b"%s%d\n%s%d\n" % (_REALTIME, wall, _MONOTONIC, wall - _BOOT_AGE_US)
        parts: list[bytes] = []
        for k in range(i, j):
            parts += (heads[k], stamp, tails[k])
        at = time.monotonic()
        write(b"".join(parts))
        while next_marker < len(markers) and markers[next_marker][0] < j:
            written.marker_times[markers[next_marker][1]] = at
            next_marker += 1
        written.entries += j - i
        i = j
    return written
