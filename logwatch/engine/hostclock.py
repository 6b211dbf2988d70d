"""Where an entry stands on the one clock: at its host's corrected time, or at the reference.

No single host may drag the engine's clock (docs/clock.md). Each entry's own time is its
host's wall clock, and any host's can be wrong. `HostTime` places every entry by its
host's offset as measured against the round numbers the hosts share (HostOffsets, the
same in replay, follow and check): at its corrected time, and says whether the host is
in line (its entries move the clock), skewed (they update state at their corrected time,
never move the clock, and raise `clock_skew`), or not measured yet. An entry stamped
ahead of the reference that its host's offset does not explain is placed at the
reference and moves nothing. The reference is the engine's own clock (replay, check, a
backlog), or, live, the wall-clock time the entry arrived.

A capture can also be read ahead: the first look (first_look.py) finds which hosts are
skewed anywhere in it, so a replay can read their entries on their own and merge them
in where their corrected time puts them (a journal merged by time puts a host an hour
ahead after everyone else), and places them before the measure has their offset.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from logwatch.engine.host_offsets import (
    ROUND_LINES,
    TOLERANCE_US,
    HostOffsets,
    OffsetChange,
)
from logwatch.events import Event
from logwatch.times import US

TRUSTED_ROLES: Final = frozenset({"server", "aggregator"})
CLIENT_LEAD_US: Final = US
"""The furthest a client's entry, not explained by a measured offset, may move the clock
ahead at once (clients are untrusted); live, how far ahead of its arrival it may be."""


class Placement(NamedTuple):
    """Where an entry stands: its corrected time (or the reference, for an entry ahead of
    it), and whether it may move the clock (its host is in line, or not known to be off)."""

    time_us: int
    trusted: bool


class HostTime:
    """Places the entries of every host on the one clock (see the module).

    arrival_us: live, the wall-clock time the entries being placed arrived, set by the
        caller before each batch; None (replay, check, a backlog): time moves with the
        entries alone.
    written_after_us: live, when the source was last read to its end: the entries
        being placed were written after it, though they arrive only now (a batch taken
        in slowly); None: as arrival_us.
    foresight: what a first look at a capture found; it places the entries of a host
        whose lines have not been measured yet (a replay knows the whole capture); the
        measure alone raises clock_skew, so a replay raises it when a follow would.
    assumed: set when the foresight is not known yet but assumed (a look taken along the
        read): what the placing took on trust is noted there, to be checked against
        the foresight once it is known (Assumed.holds).
    """

    __slots__ = (
        "arrival_us",
        "assumed",
        "foresight",
        "offsets",
        "tolerance_us",
        "written_after_us",
    )

    def __init__(
        self,
        tolerance_us: int = TOLERANCE_US,
        foresight: CaptureOffsets | None = None,
        assumed: Assumed | None = None,
    ) -> None:
        self.tolerance_us = tolerance_us
        self.foresight = foresight
        self.assumed = assumed
        self.offsets = HostOffsets()
        self.arrival_us: int | None = None
        self.written_after_us: int | None = None

    def note(self, event: Event) -> list[OffsetChange]:
        """An event, before it is placed: a line of a round measures its host's clock (and
        those of hosts whose lines of that round waited); the offsets it changed."""
        if event.name not in ROUND_LINES:
            return []
        changes = self.offsets.see(
            event.host,
            event.instance,
            event.time_us,
            event.name,
            event.fields.get("round"),
            event.role,
        )
        if self.assumed is not None:
            for change in changes:
                if change.offset_us:
                    # A host off: the look will most likely find it too, and the read
                    # not stand.
                    raise Assumed.Wrong(change.host)
        return changes

    def skewed(self, offset_us: int) -> bool:
        """Whether a host off by `offset_us` is skewed (beyond the tolerance)."""
        return abs(offset_us) > self.tolerance_us

    def place(
        self, host: str | None, role: str | None, raw_us: int, clock_us: int | None
    ) -> Placement:
        """Where an entry of `host` in `role`, stamped `raw_us`, stands when the engine's
        clock is `clock_us`."""
        measured = None if host is None else self.offsets.offset(host)
        offset = measured
        foresight = self.foresight
        if foresight is not None:
            if host is None:
                return self._unknown_writer(foresight, raw_us)
            if host in foresight.segments:
                # Read ahead, the whole of its clock's story is known: where it stepped,
                # and back, the measure as entries come follows only after a few lines.
                offset = foresight.offset(host, raw_us)
        arrival = self.arrival_us
        lead = CLIENT_LEAD_US if role == "client" else self.tolerance_us
        if offset:
            placed = raw_us - offset
            if arrival is not None and placed > arrival + lead:
                # Still ahead of its arrival once corrected: the host's clock moved.
                return Placement(arrival, False)
            # A host behind comes early (a capture is ordered by stamps): its entries
            # wait for the clock to reach their corrected time rather than move it there
            # past entries still to come.
            return Placement(placed, offset > 0 and not self.skewed(offset))
        if arrival is not None:
            after = self.written_after_us
            earliest = arrival if after is None else min(after, arrival)
            if raw_us > arrival + lead or (measured is None and raw_us < earliest - lead):
                # Live, nothing comes from the future; and a host not measured yet whose
                # stamp is far from when its entry came is placed at its arrival, which
                # is nearer the truth, until its offset is measured.
                return Placement(arrival, False)
            return Placement(raw_us, True)
        if (
            measured is None
            and (foresight is None or host not in foresight.tied)
            and role == "client"
            and clock_us is not None
            and raw_us > clock_us + CLIENT_LEAD_US
        ):
            if self.assumed is not None and host is not None:
                # Placed as a host the look ties to the rounds would be.
                self.assumed.tie(host)
                return Placement(raw_us, True)
            # Untrusted, and nothing known of its clock: it moves the clock a little only.
            return Placement(clock_us + CLIENT_LEAD_US, True)
        return Placement(raw_us, True)

    def _unknown_writer(self, foresight: CaptureOffsets, raw_us: int) -> Placement:
        """An entry of no known host (another program's, passed over unread) in a capture:
        it moves the clock only within the span the hosts tied to the rounds cover, so a
        skewed host's other programs neither start the clock early nor carry it past
        the end (docs/clock.md)."""
        if self.assumed is not None:
            self.assumed.unknown(raw_us)
        span = foresight.span
        if span is None or span[0] <= raw_us <= span[1]:
            return Placement(raw_us, True)
        if raw_us > span[1]:
            return Placement(span[1], True)
        return Placement(raw_us, False)


class Assumed:
    """What a replay that reads its capture once, taking the first look along (ReplayPlan),
    assumed of the look's result while it placed entries: no host off (no segments), a
    span (or none), and every client it placed before measuring it tied to the rounds.
    `holds(found)` says whether the entries were placed as the result found would place
    them; if not, the replay reads the capture again, knowing it."""

    __slots__ = ("_first_us", "_last_us", "overflowed", "span", "tied")

    TIED_KEPT: Final = 10_000

    class Wrong(Exception):
        """Raised as soon as the clocks' measure finds a host off: the read need not go
        on to learn that it will not stand."""

    def __init__(self, span: tuple[int, int] | None) -> None:
        self.span = span
        self.tied: set[str] = set()
        self.overflowed = False
        self._first_us: int | None = None
        self._last_us: int | None = None

    def foresight(self) -> CaptureOffsets:
        """What the placing goes by meanwhile."""
        return CaptureOffsets({}, self.span)

    def unknown(self, raw_us: int) -> None:
        """An entry of no known host stamped `raw_us` was placed by the assumed span."""
        if self._first_us is None or raw_us < self._first_us:
            self._first_us = raw_us
        if self._last_us is None or raw_us > self._last_us:
            self._last_us = raw_us

    def tie(self, host: str) -> None:
        """A client not measured yet was placed as one tied to the rounds."""
        if len(self.tied) >= self.TIED_KEPT:
            self.overflowed = True
        else:
            self.tied.add(host)

    def holds(self, found: CaptureOffsets) -> bool:
        """Whether every entry was placed where `found` places it: no host off, each entry
        of no known host inside both spans (or the spans the same), every client placed
        as tied tied."""
        if found.segments or self.overflowed or not self.tied <= found.tied:
            return False
        if found.span == self.span or self._first_us is None or self._last_us is None:
            return True
        return all(
            span is None or (span[0] <= self._first_us and self._last_us <= span[1])
            for span in (found.span, self.span)
        )


class Segment(NamedTuple):
    """A stretch of one host's entries with one offset: raw times first..last."""

    first_us: int
    last_us: int
    offset_us: int


class CaptureOffsets(NamedTuple):
    """What the first look at a capture found: the hosts it could tie to the round numbers
    (`tied`), those of them off somewhere with their segments, and the span of corrected
    time the tied hosts' entries cover (None: no host could be tied)."""

    segments: dict[str, tuple[Segment, ...]]
    span: tuple[int, int] | None = None
    tied: frozenset[str] = frozenset()

    def skewed_hosts(self) -> frozenset[str]:
        """Hosts whose entries are placed off their stamps somewhere in the capture."""
        return frozenset(self.segments)

    def spread_us(self) -> int:
        """How far apart the hosts' clocks are at most: the offset of the host furthest
        ahead less that of the host furthest behind (a host in line counts 0)."""
        offsets = [seg.offset_us for segs in self.segments.values() for seg in segs]
        return max([0, *offsets]) - min([0, *offsets])

    def offset(self, host: str, raw_us: int) -> int:
        """The offset of `host` at its own time `raw_us`: the segment holding that time,
        else the nearest one; 0 for a host in line or never tied to the rounds."""
        for low, high, offset in self.ranges(host):
            if (low is None or raw_us >= low) and (high is None or raw_us < high):
                return offset
        return 0

    def ranges(self, host: str) -> list[tuple[int | None, int | None, int]]:
        """The host's own times cut at the midpoints between its segments: (from, to
        (excluded), offset), None for no bound; every time falls in one."""
        segments = sorted(self.segments.get(host, ()))
        out: list[tuple[int | None, int | None, int]] = []
        low: int | None = None
        for i, seg in enumerate(segments):
            nxt = segments[i + 1] if i + 1 < len(segments) else None
            high = None if nxt is None else (seg.last_us + nxt.first_us) // 2
            out.append((low, high, seg.offset_us))
            low = high
        return out
