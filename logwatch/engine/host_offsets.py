"""Each host's clock offset, measured as its lines come, against the round numbers it shares.

Round numbers are a logical clock every host of an instance shares (docs/clock.md), and
a round's lines follow one another in a known order. Two measures come of that, the
same in replay, follow and check, so all three give one figure per host:

- a kind of line many hosts write for each round (a server's `submitted partial`, a
  client's `sealed envelope`): the hosts write it within moments of one another, so a
  host's line, minus the median of that round's lines of that kind (once three hosts
  wrote one: a median trusts no single wall clock), is its offset;
- a line only one host writes (the aggregator's `forwarded aggregate`, the leader's
  `opening round`, `applying SubmitAggregate`, `round finalized`), or that fewer than
  three write: it must come after the lines of that round it follows from and before
  those that follow from it (ROUND_ORDER), as measured hosts logged them; a host whose
  line falls outside is off by how far outside.

A host's offset is the median of its last few measures; a host that writes a kind many
hosts write is measured by those alone.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict, deque
from collections.abc import Iterable
from typing import Final, NamedTuple

from logwatch.times import US

TOLERANCE_US: Final = 2 * US
"""A host whose clock is off by more than this is skewed: it moves no clock, clock_skew."""
CORRECTION_US: Final = US // 2
"""An offset over this is corrected (entries placed at their host's corrected time), so a
stall fires within a second of its deadline even beside a host off by less than the
tolerance; below it, what is measured is the jitter of the rounds."""
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
PEERS: Final = frozenset({"submitted_partial", "sealed_envelope"})
"""Lines every server, or every client, writes for each round."""
ROUND_ORDER: Final = (
    "opening_round",
    "sealed_envelope",
    "forwarded_aggregate",
    "applying_aggregate",
    "submitted_partial",
    "round_finalized",
)
"""A round's lines in the order they follow from one another: the leader opens the round,
clients seal for it, the aggregator forwards the envelopes sealed, the leader applies
what is forwarded, the servers submit partials of what is applied, and the leader
finalizes once they have."""


def around(
    kind: str, times: dict[str, dict[str, int]], host: str | None = None
) -> tuple[int | None, int | None]:
    """Of a round's lines by kind (`times`: kind -> host -> time), other hosts' than
    `host`: the median time of the nearest kind before `kind` that has any, and of the
    nearest kind after it (None where there is none)."""
    i = ROUND_ORDER.index(kind)
    return (
        _nearest(reversed(ROUND_ORDER[:i]), times, host),
        _nearest(ROUND_ORDER[i + 1 :], times, host),
    )


def _nearest(
    kinds: Iterable[str], times: dict[str, dict[str, int]], host: str | None
) -> int | None:
    for kind in kinds:
        found = [t for h, t in times.get(kind, {}).items() if h != host]
        if found:
            return round(statistics.median(found))
    return None


AGREEING: Final = 3
"""Hosts that must have written a kind of line for a round before their median is taken:
with three, one wrong clock is outvoted."""
RECENT: Final = 5
"""A host's offset is the median of its last this many measures: one round caught mid-step
(an NTP jump) moves nothing, three in a row do."""

# Bounds that keep the measure constant in memory whatever the input (docs/clock.md).
ROUNDS_KEPT: Final = 64
"""Rounds of each instance kept (lines of older rounds are not measured)."""
LINES_KEPT: Final = 256
"""Lines of one round kept (a round's lines of one kind, lines waiting to be measured)."""
HOSTS_KEPT: Final = 10_000
"""Hosts measured at once; the one least recently seen is forgotten first (clients, and
their host names, are untrusted: a flood of made-up names must not grow memory)."""
INSTANCES_KEPT: Final = 1024


class RoundTops:
    """The round a host last logged, per instance: lines of rounds below it, or a kind of
    line of it written twice, belong to a round come round again (a restart or a fork) and
    are not measured against that round's first time."""

    __slots__ = ("_tops",)

    def __init__(self) -> None:
        self._tops: dict[str, tuple[int, frozenset[str] | None]] = {}

    def fresh(self, instance: str, number: int, kind: str) -> bool:
        """Whether this line is the host's first of `kind` for the highest round it has
        logged of `instance` (and records it)."""
        top, kinds = self._tops.get(instance, (-1, frozenset()))
        if number > top:
            top, kinds = number, frozenset()
        if number != top or kinds is None:
            return False
        if kind in kinds:
            self._tops[instance] = (top, None)
            return False
        if len(self._tops) >= INSTANCES_KEPT and instance not in self._tops:
            self._tops.pop(next(iter(self._tops)))
        self._tops[instance] = (top, kinds | {kind})
        return True


class _Round:
    """One round of one instance: the stamps of each kind of line many hosts write, the
    corrected times of lines of measured hosts, and lines waiting to be measured (by their
    peers once the kind is whole, else by the lines around them)."""

    __slots__ = ("closed", "ordered", "peers", "seen")

    def __init__(self) -> None:
        self.peers: dict[str, dict[str, int]] = {}
        # The median of a kind many hosts write, once a line that follows it came (None:
        # fewer than three wrote it).
        self.closed: dict[str, int | None] = {}
        self.seen: dict[str, dict[str, int]] = {}
        self.ordered: list[tuple[str, int, str]] = []


class _Host:
    """What is kept of one host: its rounds, its last measures, its offset, and whether a
    kind of line many hosts write measures it (then that alone does)."""

    __slots__ = ("offset", "precise", "recent", "role", "tops")

    def __init__(self) -> None:
        self.tops = RoundTops()
        self.recent: deque[int] = deque(maxlen=RECENT)
        self.offset: int | None = None
        self.precise = False
        self.role: str | None = None


class OffsetChange(NamedTuple):
    """A host's offset as newly measured on the rounds of `instance`, and its role."""

    host: str
    instance: str
    offset_us: int
    role: str | None = None


class HostOffsets:
    """Feed it every round-bearing event (`see`), in the order they come; ask any host's
    `offset()`: None until one of its lines has been measured, else its clock offset in µs
    (0 within CORRECTION_US: as stamped; > 0 ahead; < 0 behind). `see` returns the offsets
    it changed."""

    def __init__(self) -> None:
        self._rounds: dict[str, OrderedDict[int, _Round]] = {}
        self._hosts: OrderedDict[str, _Host] = OrderedDict()

    def offset(self, host: str) -> int | None:
        h = self._hosts.get(host)
        return None if h is None else h.offset

    def hosts_kept(self) -> int:
        """Hosts with state kept (for the memory-bound tests)."""
        return len(self._hosts)

    def see(
        self,
        host: str | None,
        instance: str,
        raw_us: int,
        kind: str,
        number: object,
        role: str | None = None,
    ) -> list[OffsetChange]:
        """One event of `host` stamped `raw_us` by its clock: the offsets it changed (of
        this host, or of hosts whose lines waited for this one)."""
        if (
            host is None
            or kind not in ROUND_LINES
            or not isinstance(number, int)
            or isinstance(number, bool)
        ):
            return []
        h = self._host(host)
        h.role = role or h.role
        if not h.tops.fresh(instance, number, kind):
            return []
        rnd = self._round(instance, number)
        changed: list[OffsetChange] = []
        new_kind = False
        if h.offset is not None:
            # What other hosts' lines are measured against: only measured hosts' lines, at
            # their corrected times (an unmeasured clock may be the wrong one).
            new_kind = kind not in rnd.seen
            _keep(rnd.seen, kind, host, raw_us - h.offset)
        line: tuple[str, int, str] | None = (host, raw_us, kind)
        if kind in PEERS:
            middle = rnd.closed.get(kind)
            if middle is not None:
                self._against_peers(host, instance, raw_us - middle, changed)
                line = None
            elif kind not in rnd.closed:
                # Measured against the peers' median once a line that follows from theirs
                # comes (the set is then whole, whatever order its lines came in); where
                # fewer than three write it (two clients), by the lines around it. Past
                # LINES_KEPT peers, against the median of those kept.
                peers = rnd.peers.get(kind, {})
                if len(peers) >= LINES_KEPT:
                    middle = round(statistics.median(peers.values()))
                    self._against_peers(host, instance, raw_us - middle, changed)
                else:
                    _keep(rnd.peers, kind, host, raw_us)
                line = None
        new_kind = self._close_before(kind, instance, rnd, changed) or new_kind
        if line is not None and not self._order_ready(line, rnd):
            if len(rnd.ordered) < LINES_KEPT:
                rnd.ordered.append(line)
        elif line is not None:
            self._against_order(host, instance, rnd, raw_us, kind, changed)
        if new_kind and rnd.ordered:
            # A kind of line newly logged (or made whole) in this round: the lines that
            # waited for what follows them are measured now.
            keep = []
            for waiting in rnd.ordered:
                if self._order_ready(waiting, rnd):
                    self._against_order(waiting[0], instance, rnd, waiting[1], waiting[2], changed)
                else:
                    keep.append(waiting)
            rnd.ordered = keep
        return changed

    def _order_ready(self, line: tuple[str, int, str], rnd: _Round) -> bool:
        """Whether a line can be measured by the lines around it: its kind is not one
        many hosts write still to be made whole, and a measured host logged a line that
        follows from it (or it is the round's last kind)."""
        host, _, kind = line
        if kind in PEERS and kind not in rnd.closed:
            return False
        return kind == ROUND_ORDER[-1] or around(kind, rnd.seen, host)[1] is not None

    def _close_before(
        self, kind: str, instance: str, rnd: _Round, changed: list[OffsetChange]
    ) -> bool:
        """A line of `kind` came: the kinds many hosts write that come before it in the
        round are whole; their lines are measured against their median, those of a kind
        fewer than three wrote wait to be measured by the lines around them. Whether any
        kind was made whole."""
        closed = False
        for earlier in _PEERS_BEFORE[kind]:
            if earlier in rnd.closed:
                continue
            closed = True
            peers = rnd.peers.pop(earlier, {})
            if len(peers) < AGREEING:
                rnd.closed[earlier] = None
                for host, raw in peers.items():
                    if len(rnd.ordered) < LINES_KEPT:
                        rnd.ordered.append((host, raw, earlier))
                continue
            middle = rnd.closed[earlier] = round(statistics.median(peers.values()))
            for host, raw in peers.items():
                self._against_peers(host, instance, raw - middle, changed)
        return closed

    def _round(self, instance: str, number: int) -> _Round:
        rounds = self._rounds.get(instance)
        if rounds is None:
            if len(self._rounds) >= INSTANCES_KEPT:
                self._rounds.pop(next(iter(self._rounds)))
            rounds = self._rounds[instance] = OrderedDict()
        rnd = rounds.get(number)
        if rnd is None:
            rnd = rounds[number] = _Round()
            if len(rounds) > ROUNDS_KEPT:
                rounds.popitem(last=False)
        return rnd

    def _host(self, name: str) -> _Host:
        h = self._hosts.get(name)
        if h is None:
            if len(self._hosts) >= HOSTS_KEPT:
                self._hosts.popitem(last=False)
            h = self._hosts[name] = _Host()
        else:
            self._hosts.move_to_end(name)
        return h

    def _against_peers(
        self, host: str, instance: str, delta: int, changed: list[OffsetChange]
    ) -> None:
        """A line of a kind many hosts write, `delta` from the median of its round's."""
        h = self._hosts.get(host)
        if h is None:
            return  # forgotten while its line waited
        h.precise = True
        self._record(h, host, instance, delta, changed)

    def _against_order(
        self,
        host: str,
        instance: str,
        rnd: _Round,
        raw_us: int,
        kind: str,
        changed: list[OffsetChange],
    ) -> None:
        """A line one host writes, against the lines of its round before and after it."""
        h = self._hosts.get(host)
        if h is None or h.precise:
            return
        early, late = around(kind, rnd.seen, host)
        if late is not None and raw_us > late:
            measure = raw_us - late
        elif early is not None and raw_us < early:
            measure = raw_us - early
        elif late is not None and early is not None:
            measure = 0
        else:
            return  # within one bound only: that says nothing of the other side
        self._record(h, host, instance, measure, changed)

    def _record(
        self, h: _Host, host: str, instance: str, measure: int, changed: list[OffsetChange]
    ) -> None:
        h.recent.append(measure)
        typical = round(_median(h.recent))
        offset = 0 if abs(typical) <= CORRECTION_US else typical
        if offset != h.offset:
            h.offset = offset
            changed.append(OffsetChange(host, instance, offset, h.role))


_PEERS_BEFORE: Final = {
    kind: tuple(k for k in ROUND_ORDER[:i] if k in PEERS) for i, kind in enumerate(ROUND_ORDER)
}
"""Per kind of line, the kinds many hosts write that come before it in a round."""


def _median(values: Iterable[int]) -> float:
    """statistics.median, without its checks: the last few measures, on every line."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _keep(by_kind: dict[str, dict[str, int]], kind: str, host: str, at_us: int) -> dict[str, int]:
    """Records `host`'s line of `kind` at `at_us` (bounded); the lines of that kind."""
    lines = by_kind.get(kind)
    if lines is None:
        lines = by_kind[kind] = {}
    if len(lines) < LINES_KEPT:
        lines[host] = at_us
    return lines
