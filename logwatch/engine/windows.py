"""Bounded containers the instance state is built from: recent hosts, rates, series, logs."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from logwatch.engine.views import ParticipantsBucket
from logwatch.times import US

T = TypeVar("T")


class RecentKeys:
    """Keys (hosts, client ids) with the last time each was seen, oldest first, at most `cap`."""

    __slots__ = ("_cap", "_last")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._last: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._last)

    def __contains__(self, key: str) -> bool:
        return key in self._last

    def see(self, key: str, at_us: int) -> None:
        """Records a sighting; the key moves to the young end."""
        last = self._last
        previous = last.pop(key, None)
        last[key] = at_us if previous is None else max(previous, at_us)
        if len(last) > self._cap:
            del last[next(iter(last))]

    def count_after(self, after_us: int) -> int:
        """How many were seen after `after_us` (changes nothing)."""
        return sum(1 for at in self._last.values() if at > after_us)

    def forget_before(self, after_us: int) -> None:
        """Forgets, from the old end, the keys last seen at or before `after_us`."""
        last = self._last
        while last:
            oldest = next(iter(last))
            if last[oldest] > after_us:
                break
            del last[oldest]


class RateCounter:
    """Counts per whole second over the last `span_s` seconds (late ones go to the newest)."""

    __slots__ = ("_buckets", "_span_s")

    def __init__(self, span_s: int) -> None:
        self._span_s = span_s
        self._buckets: deque[list[int]] = deque()

    def __len__(self) -> int:
        return len(self._buckets)

    def add(self, at_us: int) -> None:
        second = at_us // US
        buckets = self._buckets
        if buckets and second <= buckets[-1][0]:
            buckets[-1][1] += 1
            return
        buckets.append([second, 1])
        while buckets[0][0] <= second - self._span_s:
            buckets.popleft()

    def count(self, now_us: int, span_s: int) -> int:
        """Counted in the `span_s` whole seconds up to and including now's."""
        first = now_us // US - span_s
        return sum(n for second, n in self._buckets if second > first)


class _Bucket:
    __slots__ = (
        "end_us",
        "first_round",
        "high",
        "last_round",
        "low",
        "rounds",
        "start_us",
        "total",
    )

    def __init__(self, round_: int, at_us: int, participants: int) -> None:
        self.first_round = self.last_round = round_
        self.start_us = self.end_us = at_us
        self.rounds = 1
        self.total = self.low = self.high = participants

    def absorb(self, other: _Bucket) -> None:
        self.last_round = other.last_round
        self.end_us = max(self.end_us, other.end_us)
        self.rounds += other.rounds
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)


class ParticipantsSeries:
    """Participants per round, downsampled to at most `max_buckets` buckets of equal round
    counts: when full, neighbours merge pairwise and each bucket then spans twice the rounds."""

    __slots__ = ("_buckets", "_max", "_span")

    def __init__(self, max_buckets: int) -> None:
        self._max = max_buckets
        self._span = 1
        self._buckets: list[_Bucket] = []

    def __len__(self) -> int:
        return len(self._buckets)

    @property
    def rounds_per_bucket(self) -> int:
        return self._span

    def add(self, round_: int, at_us: int, participants: int) -> None:
        if self._buckets and (last := self._buckets[-1]).rounds < self._span:
            last.last_round = round_
            last.end_us = max(last.end_us, at_us)
            last.rounds += 1
            last.total += participants
            last.low = min(last.low, participants)
            last.high = max(last.high, participants)
            return
        self._buckets.append(_Bucket(round_, at_us, participants))
        if len(self._buckets) > self._max:
            merged = self._buckets[::2]
            for left, right in zip(merged, self._buckets[1::2], strict=False):
                left.absorb(right)
            self._buckets = merged
            self._span *= 2

    def buckets(self) -> tuple[ParticipantsBucket, ...]:
        return tuple(
            ParticipantsBucket(
                first_round=b.first_round,
                last_round=b.last_round,
                start_us=b.start_us,
                end_us=b.end_us,
                rounds=b.rounds,
                low=b.low,
                high=b.high,
                mean=b.total / b.rounds,
            )
            for b in self._buckets
        )


class BoundedLog(Generic[T]):
    """The last `cap` items appended, and how many older ones were dropped."""

    __slots__ = ("_items", "dropped")

    def __init__(self, cap: int) -> None:
        self._items: deque[T] = deque(maxlen=cap)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def append(self, item: T) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)
