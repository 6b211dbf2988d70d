"""The first look at a capture: which hosts' clocks are off where, before the replay reads it.

A capture is finite, so a replay can read it ahead (docs/clock.md). This look measures
each host as HostOffsets does as entries come (a kind of line many hosts write against
the median of its round; a line one host writes against the lines of its round before
and after it), but over the whole capture at once, so a host an hour off, whose lines a
journal merged by time puts far from its rounds, is still tied to them. What it finds
orders the replay's read (a skewed host's entries where their corrected time puts them)
and places a host's entries before the measure as they come has its offset.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from logwatch.engine.host_offsets import (
    AGREEING,
    CORRECTION_US,
    PEERS,
    ROUND_LINES,
    TOLERANCE_US,
    around,
)
from logwatch.engine.hostclock import TRUSTED_ROLES, CaptureOffsets, Segment

# Bounds that keep the first look constant in memory over any capture length.
MAX_ROUNDS = 4096
"""Rounds sampled at most: past this, one round in two of those kept is dropped, and one
in twice as many sampled from then on."""
MAX_SAMPLES = 64
"""Lines kept per client host, thinned the same way."""
MAX_TRUSTED_SAMPLES = 512
"""Lines kept per server or aggregator host: few, and the lines the others' are measured
against (the aggregator's against the leader's, each one round)."""
MAX_HOSTS = 100_000

_Key = tuple[str, int]
SpansOf = Callable[[list[str]], Mapping[str, tuple[int, int]] | None]
"""spans_of(hosts): each host's first and last stamps (None, or a host left out: not told)."""


class _Sampled:
    """What the first look keeps of one host: the time of its first line of each kind of
    each sampled round ((instance, round), kind), and the first and last times it
    stamped. The first in the input, not the first of the host's rounds as they come: a
    host behind comes early in a capture merged by time, its rounds ahead of everyone's."""

    __slots__ = ("first_us", "last_us", "samples", "stride")

    def __init__(self, at_us: int) -> None:
        self.samples: dict[tuple[_Key, str], int] = {}
        self.stride = 1
        self.first_us = self.last_us = at_us


class FirstLook:
    """Feed it every record of a capture, in input order (`see`), then ask `result()`."""

    def __init__(self, tolerance_us: int = TOLERANCE_US) -> None:
        self.tolerance_us = tolerance_us
        self._stride = 1
        self._rounds: set[_Key] = set()
        self._hosts: dict[str, _Sampled] = {}
        self.thinning = False
        """Whether some rounds are no longer sampled (of some host, or of all): until
        then `wants` says yes to every line."""
        self.hosts_passed_over = False
        """Whether a host was passed over, MAX_HOSTS being kept already."""

    def see(
        self,
        host: str | None,
        instance: str | None,
        role: str | None,
        raw_us: int,
        kind: str | None,
        number: object,
    ) -> None:
        """One record, and the event a pattern made of it, if any (writers of no known host
        are passed over: they can be neither tied to the rounds nor trusted)."""
        if host is None:
            return
        h = self._hosts.get(host)
        if h is None:
            if len(self._hosts) >= MAX_HOSTS:
                self.hosts_passed_over = True
                return
            h = self._hosts[host] = _Sampled(raw_us)
        h.first_us, h.last_us = min(h.first_us, raw_us), max(h.last_us, raw_us)
        if (
            kind not in ROUND_LINES
            or instance is None
            or not isinstance(number, int)
            or isinstance(number, bool)
        ):
            return
        if number % max(self._stride, h.stride):
            return
        key = (instance, number)
        if (key, kind) in h.samples:
            return
        if key not in self._rounds:
            self._rounds.add(key)
            if len(self._rounds) > MAX_ROUNDS:
                self.thinning = True
                self._stride *= 2
                self._rounds = {k for k in self._rounds if k[1] % self._stride == 0}
        h.samples[key, kind] = raw_us
        if len(h.samples) > (MAX_TRUSTED_SAMPLES if role in TRUSTED_ROLES else MAX_SAMPLES):
            self.thinning = True
            h.stride *= 2
            h.samples = {k: t for k, t in h.samples.items() if k[0][1] % h.stride == 0}

    def wants(self, host: str | None, numbers: Iterable[int]) -> bool:
        """Whether a round line of `host` numbered one of `numbers` may be kept: False
        only when `see` would pass over it whatever its kind (its round is not sampled),
        so the reader need not decode it (only note its host's time)."""
        h = None if host is None else self._hosts.get(host)
        if h is None:
            return True
        stride = max(self._stride, h.stride)
        return stride == 1 or any(n % stride == 0 for n in numbers)

    def result(self, spans_of: SpansOf | None = None) -> CaptureOffsets:
        """The offsets found. spans_of(hosts): the first and last stamps of each of the
        `hosts` tied to the rounds, where the look was not shown every entry of theirs
        (an index tells them); each widens what the look saw of that host."""
        stride = self._stride
        lines: dict[tuple[_Key, str], dict[str, int]] = defaultdict(dict)
        for name, h in self._hosts.items():
            for (key, kind), raw in h.samples.items():
                if key[1] % stride == 0:
                    lines[key, kind][name] = raw
        # Hosts that write a kind many hosts write, each line against its round's median.
        measures: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for (_, kind), hosts in lines.items():
            if kind in PEERS and len(hosts) >= AGREEING:
                middle = statistics.median(hosts.values())
                for name, raw in hosts.items():
                    measures[name].append((raw, round(raw - middle)))
        segments = {name: self._segments(sorted(ms)) for name, ms in measures.items()}
        precise = CaptureOffsets(segments)

        # The others, each line against what its round's measured hosts logged around it
        # (corrected by what the first measure found).
        ordered: dict[str, list[tuple[int, int]]] = defaultdict(list)
        by_round: dict[_Key, dict[str, dict[str, int]]] = defaultdict(dict)
        for (key, kind), hosts in lines.items():
            by_round[key][kind] = {
                h: raw - precise.offset(h, raw) for h, raw in hosts.items() if h in segments
            }
        for (key, kind), hosts in lines.items():
            for name, raw in hosts.items():
                if name in segments:
                    continue
                early, late = around(kind, by_round[key], name)
                if late is not None and raw > late:
                    ordered[name].append((raw, raw - late))
                elif early is not None and raw < early:
                    ordered[name].append((raw, raw - early))
                elif late is not None and early is not None:
                    ordered[name].append((raw, 0))
        segments.update((name, self._segments(sorted(ms))) for name, ms in ordered.items())
        found = CaptureOffsets(
            {n: segs for n, segs in segments.items() if any(s.offset_us for s in segs)}
        )
        # Where the hosts tied to the rounds begin and end, at their corrected times.
        told = {} if spans_of is None else spans_of(list(segments)) or {}
        starts, ends = [], []
        for name in segments:
            h = self._hosts[name]
            first, last = told.get(name, (h.first_us, h.last_us))
            first, last = min(first, h.first_us), max(last, h.last_us)
            starts.append(first - found.offset(name, first))
            ends.append(last - found.offset(name, last))
        return found._replace(
            span=(min(starts), max(ends)) if starts else None, tied=frozenset(segments)
        )

    def _segments(self, measures: list[tuple[int, int]]) -> tuple[Segment, ...]:
        """Consecutive measures that agree within the tolerance, as segments; an offset
        within CORRECTION_US is 0 (as stamped)."""
        groups: list[list[tuple[int, int]]] = []
        for raw, offset in measures:
            if groups:
                typical = statistics.median(o for _, o in groups[-1])
                if abs(offset - typical) <= self.tolerance_us:
                    groups[-1].append((raw, offset))
                    continue
            groups.append([(raw, offset)])
        typicals = [round(statistics.median(o for _, o in group)) for group in groups]
        segs = []
        for i, group in enumerate(groups):
            if len(group) == 1 and len(groups) > 1:
                # One round off between others (a step caught mid-round, a round number
                # that came again): its neighbours' offset, not a clock of its own.
                typicals[i] = typicals[i - 1] if i > 0 else typicals[i + 1]
            typical = typicals[i]
            if abs(typical) <= CORRECTION_US:
                typical = 0
            raws = [raw for raw, _ in group]
            segs.append(Segment(min(raws), max(raws), typical))
        return tuple(segs)
