"""Where an entry stands on the one clock: each host's offset against what the hosts agree on.

No single host may drag the engine's clock (docs/clock.md). Each entry's own time is
its host's wall clock, and any host's can be wrong. A `HostTime` places every entry:
at its host's corrected time, and says whether the host is in line (its entries move
the clock) or skewed (they update state at their corrected time, never move the clock,
and raise `clock_skew`). Two references make that possible:

- a capture (`CaptureTime`) is read twice: a first look (`OffsetEstimator`) compares
  the times at which the hosts logged the same round numbers, a logical clock the
  servers share, and finds each host's offset and the capture's agreed end;
- a live follow (`LiveTime`) has logwatch's own wall clock: an entry stamped far from
  "now" comes from a host whose clock is off.
"""

from __future__ import annotations

import itertools
import statistics
from collections import deque
from typing import Final, NamedTuple, Protocol

from logwatch.times import US

TOLERANCE_US: Final = 2 * US
"""A host whose clock is off by more than this is skewed: it moves no clock, clock_skew."""
CORRECTION_US: Final = US // 2
"""An offset over this is corrected (the entry placed at its host's corrected time), so a
stall fires within a second of its deadline even beside a host off by less than the
tolerance; below it, what is measured is the jitter of the rounds, and times stay as
stamped."""
CLIENT_LEAD_US: Final = US
"""Without a reference (StreamTime), the furthest one client entry moves the clock."""
CHAIN_GAP_US: Final = 30 * US
"""Entries of a host that follow one another closer than this continue its run of time
from its last line tied to a round; a larger step is not taken on trust (the capture's
end is where the hosts tied to the rounds agree it is)."""
ROUND_LINES: Final = frozenset(
    {
        "opening_round",
        "submitted_partial",
        "applying_aggregate",
        "round_finalized",
        "forwarded_aggregate",
        "sealed_envelope",
    }
)
"""Events whose `round` field ties a host's clock to the round numbers."""
TRUSTED_ROLES: Final = frozenset({"server", "aggregator"})

# Bounds that keep the first look constant in memory over any capture length.
MAX_ROUNDS: Final = 4096
MAX_SAMPLES: Final = 64
MAX_HOSTS: Final = 100_000
LIVE_SAMPLES: Final = 5


class Placement(NamedTuple):
    """Where an entry stands: its corrected time, and its host's offset when the host is
    skewed, off by more than the tolerance (0: in line; > 0 ahead; < 0 behind)."""

    time_us: int
    skew_us: int


class HostTime(Protocol):
    """Places entries of hosts (None: a writer of unknown host) on the one clock."""

    def place(
        self, host: str | None, role: str | None, raw_us: int, clock_us: int | None
    ) -> Placement: ...


class StreamTime:
    """No reference at all (a stream read once, the engine's own tests): every host is
    taken at its word, except that a client, untrusted, moves the clock by
    CLIENT_LEAD_US at most per entry."""

    __slots__ = ()

    def place(
        self, host: str | None, role: str | None, raw_us: int, clock_us: int | None
    ) -> Placement:
        if role == "client" and clock_us is not None and raw_us > clock_us + CLIENT_LEAD_US:
            return Placement(clock_us + CLIENT_LEAD_US, 0)
        return Placement(raw_us, 0)


class Segment(NamedTuple):
    """A stretch of one host's entries with one offset: raw times first..last."""

    first_us: int
    last_us: int
    offset_us: int


class CaptureOffsets(NamedTuple):
    """What the first look at a capture found: the offsets of the hosts it could tie to
    the round numbers (only hosts with some segment off by more than the tolerance are
    listed), and the time the in-line hosts agree the capture ends at (None: no host
    could be tied to the rounds, so nothing is known)."""

    segments: dict[str, tuple[Segment, ...]]
    end_us: int | None

    def skewed_hosts(self) -> frozenset[str]:
        """Hosts whose entries are placed off their stamps somewhere in the capture."""
        return frozenset(self.segments)

    def offset(self, host: str, raw_us: int) -> int:
        """The offset of `host` at its own time `raw_us`: the segment holding that time,
        else the nearest one; 0 for a host in line or never tied to the rounds."""
        segments = self.segments.get(host)
        if segments is None:
            return 0
        best = segments[0]
        best_distance = -1
        for seg in segments:
            if seg.first_us <= raw_us <= seg.last_us:
                return seg.offset_us
            distance = seg.first_us - raw_us if raw_us < seg.first_us else raw_us - seg.last_us
            if best_distance < 0 or distance < best_distance:
                best, best_distance = seg, distance
        return best.offset_us


class CaptureTime:
    """A capture's entries placed by the offsets its first look found: a skewed host's
    entries at its corrected time, and nothing beyond the end the in-line hosts agree
    on (an entry stamped past it, of a host not tied to the rounds, is a clock ahead)."""

    __slots__ = ("offsets", "tolerance_us")

    def __init__(self, offsets: CaptureOffsets, tolerance_us: int = TOLERANCE_US) -> None:
        self.offsets = offsets
        self.tolerance_us = tolerance_us

    def place(
        self, host: str | None, role: str | None, raw_us: int, clock_us: int | None
    ) -> Placement:
        offset = 0 if host is None else self.offsets.offset(host, raw_us)
        placed = raw_us - offset
        end = self.offsets.end_us
        if end is not None and placed > end:
            if host is not None:
                offset += placed - end
            placed = end
        return Placement(placed, offset if abs(offset) > self.tolerance_us else 0)


class LiveTime:
    """Entries read as they are written, placed against logwatch's own wall clock (its
    host runs NTP): `reference_us`, set by the follow loop. A host whose recent entries
    are stamped, by their median, more than the tolerance from the wall clock is skewed.
    While catching up on a backlog (the warm-up, a piped stream) an entry may be old, so
    only a stamp ahead of the wall clock tells."""

    __slots__ = ("_deltas", "catching_up", "reference_us", "tolerance_us")

    def __init__(self, tolerance_us: int = TOLERANCE_US, *, catching_up: bool = True) -> None:
        self.tolerance_us = tolerance_us
        self.catching_up = catching_up
        self.reference_us: int | None = None
        self._deltas: dict[str, deque[int]] = {}

    def place(
        self, host: str | None, role: str | None, raw_us: int, clock_us: int | None
    ) -> Placement:
        reference = self.reference_us
        if reference is None:
            return Placement(raw_us, 0)
        delta = raw_us - reference
        if self.catching_up or host is None:
            if delta > self.tolerance_us:
                return Placement(reference, 0 if host is None else delta)
            # In line (the reference is the last tick's, up to a tick old): as stamped.
            return Placement(raw_us, 0)
        deltas = self._deltas.get(host)
        if deltas is None:
            if len(self._deltas) >= MAX_HOSTS:
                del self._deltas[next(iter(self._deltas))]
            deltas = self._deltas[host] = deque(maxlen=LIVE_SAMPLES)
        deltas.append(delta)
        typical = round(statistics.median(deltas))
        if abs(typical) <= CORRECTION_US:
            return Placement(min(raw_us, reference + self.tolerance_us), 0)
        skew = typical if abs(typical) > self.tolerance_us else 0
        return Placement(min(raw_us - typical, reference + self.tolerance_us), skew)


class _Host:
    """What the first look keeps of one host."""

    __slots__ = ("chain_ok", "prev_us", "reach_us", "samples", "tops")

    def __init__(self) -> None:
        # Per instance (hosts run several): the highest round seen and the kinds of line
        # of it written so far (None: that round came round again). Rounds below it, or a
        # kind of line of it written twice, are a restart or a fork going back.
        self.tops: dict[str, tuple[int, frozenset[str] | None]] = {}
        # ((instance, round), raw µs, event name), arrival order; one host may run several
        # roles of several instances.
        self.samples: list[tuple[tuple[str, int], int, str]] = []
        self.prev_us: int | None = None
        # The host's latest time reached from its last round sample by small steps.
        self.reach_us: int | None = None
        self.chain_ok = False


class OffsetEstimator:
    """The first look at a capture (DESIGN: "a first, cheap look at (host, time, round
    number)"): feed it every record, in input order, then ask `result()`.

    For a round number r of an instance, the servers' and the aggregator's times agree
    within a round (robustly: their median, T(r)). A host's lines of round r, minus T(r), minus what
    is usual for its role (a client seals before the committee finalizes), is its
    offset; consecutive offsets within the tolerance make one segment. Memory is
    bounded: rounds are sampled one in `stride` (doubling as needed), and samples per
    host are thinned. Writers of no known host (other programs' entries passed over
    unparsed) are not looked at: they can be neither tied to the rounds nor trusted.
    """

    def __init__(self, tolerance_us: int = TOLERANCE_US) -> None:
        self.tolerance_us = tolerance_us
        self._stride = 1
        self._trusted: dict[tuple[str, int], dict[str, int]] = {}
        self._hosts: dict[str, _Host] = {}

    def see(
        self,
        host: str | None,
        instance: str | None,
        role: str | None,
        raw_us: int,
        event: str | None,
        round_: object,
    ) -> None:
        """One record (or, with host None, an entry of an unknown writer)."""
        if host is None:
            return
        h = self._hosts.get(host)
        if h is None:
            if len(self._hosts) >= MAX_HOSTS:
                return
            h = self._hosts[host] = _Host()
        number = round_ if isinstance(round_, int) and not isinstance(round_, bool) else None
        key: tuple[str, int] | None = None
        if event in ROUND_LINES and instance is not None and number is not None:
            top, kinds = h.tops.get(instance, (-1, frozenset()))
            if number > top:
                top, kinds = number, frozenset()
            if number == top:
                fresh = kinds is not None and event not in kinds
                # A kind of line of the top round written twice: that round came again.
                h.tops[instance] = (top, kinds | {event} if fresh and kinds is not None else None)
                if fresh:
                    key = (instance, number)
        if key is not None and event is not None and key[1] % self._stride == 0:
            if not h.samples or h.samples[-1][0] != key or h.samples[-1][2] != event:
                h.samples.append((key, raw_us, event))
                if len(h.samples) > MAX_SAMPLES:
                    h.samples = h.samples[::2]
            if role in TRUSTED_ROLES:
                seen = self._trusted.get(key)
                if seen is None:
                    seen = self._trusted[key] = {}
                    if len(self._trusted) > MAX_ROUNDS:
                        self._thin_rounds()
                if raw_us < seen.get(host, raw_us + 1):
                    seen[host] = raw_us
            h.reach_us, h.chain_ok = raw_us, True
        elif h.chain_ok and h.prev_us is not None and 0 <= raw_us - h.prev_us <= CHAIN_GAP_US:
            h.reach_us = raw_us if h.reach_us is None else max(h.reach_us, raw_us)
        else:
            h.chain_ok = False
        h.prev_us = raw_us

    def result(self) -> CaptureOffsets:
        rounds = {
            key: round(statistics.median(times.values()))
            for key, times in self._trusted.items()
            if times and key[1] % self._stride == 0
        }
        allowance = self._allowance_us(rounds)
        # host -> [(raw, delta, kind)]: how far each line of round r is from T(r).
        per_host: dict[str, list[tuple[int, int, str]]] = {}
        usual: dict[str, list[int]] = {}
        for name, h in self._hosts.items():
            deltas = [(raw, raw - rounds[k], kind) for k, raw, kind in h.samples if k in rounds]
            if not deltas:
                continue
            per_host[name] = deltas
            for kind in {kind for _, _, kind in deltas}:
                usual.setdefault(kind, []).append(
                    round(statistics.median(d for _, d, k in deltas if k == kind))
                )
        # What is usual for a kind of line (a client seals before the committee finalizes)
        # is learnt where enough hosts write it to outvote one wrong clock; a line only one
        # or two hosts write (the leader's, the aggregator's) is in line anywhere within
        # the round (P + D either side of T(r)), and off only by what lies beyond.
        bias = {kind: round(statistics.median(ds)) for kind, ds in usual.items() if len(ds) >= 3}

        def beyond(delta: int) -> int:
            if abs(delta) <= allowance:
                return 0
            return delta - allowance if delta > 0 else delta + allowance

        segments: dict[str, tuple[Segment, ...]] = {}
        ends: list[int] = []
        for name, deltas in per_host.items():
            h = self._hosts[name]
            # A host that writes some line many hosts write is measured by those alone.
            precise = [(raw, d - bias[kind]) for raw, d, kind in deltas if kind in bias]
            if not precise:
                # Lines it alone writes: what is usual for it, where it is within the
                # round, measures the rest; else only what lies beyond the round counts.
                own: dict[str, int] = {}
                for kind in {kind for _, _, kind in deltas}:
                    inside = [d for _, d, k in deltas if k == kind and abs(d) <= allowance]
                    if inside:
                        own[kind] = round(statistics.median(inside))
                precise = [
                    (raw, d - own[kind] if kind in own else beyond(d)) for raw, d, kind in deltas
                ]
            segs = self._segments(precise)
            if any(s.offset_us for s in segs):
                segments[name] = segs
            if h.reach_us is not None:
                ends.append(h.reach_us - CaptureOffsets(segments, None).offset(name, h.reach_us))
        return CaptureOffsets(segments, max(ends) if ends else None)

    def _allowance_us(self, rounds: dict[tuple[str, int], int]) -> int:
        """P + D (D taken as P), P from how T(r) moves from one sampled round to the next
        of the same instance."""
        ordered = sorted(rounds.items())
        steps = [
            (t2 - t1) / (r2 - r1)
            for ((i1, r1), t1), ((i2, r2), t2) in itertools.pairwise(ordered)
            if i1 == i2 and r2 > r1 and t2 > t1
        ]
        period = statistics.median(steps) if steps else 2 * US
        return round(min(max(2 * period, US), 120 * US))

    def _segments(self, adjusted: list[tuple[int, int]]) -> tuple[Segment, ...]:
        """Consecutive samples whose offsets agree within the tolerance, as segments; an
        offset within CORRECTION_US is 0 (as stamped)."""
        groups: list[list[tuple[int, int]]] = []
        for raw, offset in adjusted:
            if groups:
                typical = statistics.median(o for _, o in groups[-1])
                if abs(offset - typical) <= self.tolerance_us:
                    groups[-1].append((raw, offset))
                    continue
            groups.append([(raw, offset)])
        segs = []
        for group in groups:
            typical = round(statistics.median(o for _, o in group))
            # One round off between others is a step caught mid-round (NTP), not a clock.
            if abs(typical) <= CORRECTION_US or (len(group) == 1 and len(groups) > 1):
                typical = 0
            raws = [raw for raw, _ in group]
            segs.append(Segment(min(raws), max(raws), typical))
        return tuple(segs)

    def _thin_rounds(self) -> None:
        self._stride *= 2
        stride = self._stride
        self._trusted = {k: t for k, t in self._trusted.items() if k[1] % stride == 0}
        for h in self._hosts.values():
            h.samples = [sample for sample in h.samples if sample[0][1] % stride == 0]
