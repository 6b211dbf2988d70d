"""The timer queue of the event-time clock: one pending deadline per instance, earliest first."""

from __future__ import annotations

import heapq


class TimerQueue:
    """Deadlines (µs) keyed by a small integer (the instance's index), popped in order.

    Rescheduling a key replaces its deadline; stale heap entries are skipped when
    popped and the heap is rebuilt when they outnumber the live ones, so the queue
    stays as small as the number of keys whatever the input length. Ties are
    broken by key, so the order is the same on every run.
    """

    __slots__ = ("_deadlines", "_heap")

    def __init__(self) -> None:
        self._deadlines: dict[int, int] = {}
        self._heap: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self._deadlines)

    def schedule(self, key: int, deadline_us: int | None) -> None:
        """Sets the key's deadline, or cancels it with None."""
        current = self._deadlines.get(key)
        if current == deadline_us:
            return
        if deadline_us is None:
            del self._deadlines[key]
        else:
            self._deadlines[key] = deadline_us
            heapq.heappush(self._heap, (deadline_us, key))
        if len(self._heap) > 2 * len(self._deadlines) + 16:
            self._heap = [(d, k) for k, d in self._deadlines.items()]
            heapq.heapify(self._heap)

    def deadline(self, key: int) -> int | None:
        return self._deadlines.get(key)

    def earliest(self) -> int | None:
        """The earliest live deadline (stale heap entries on top are dropped, which
        changes no deadline)."""
        heap = self._heap
        while heap:
            deadline, key = heap[0]
            if self._deadlines.get(key) == deadline:
                return deadline
            heapq.heappop(heap)
        return None

    def pop_due(self, until_us: int, *, inclusive: bool) -> tuple[int, int] | None:
        """The earliest (deadline, key) before `until_us` (or at it, if inclusive), removed."""
        heap = self._heap
        while heap:
            deadline, key = heap[0]
            if self._deadlines.get(key) != deadline:
                heapq.heappop(heap)
                continue
            if deadline > until_us or (deadline == until_us and not inclusive):
                return None
            heapq.heappop(heap)
            del self._deadlines[key]
            return deadline, key
        return None

    def heap_size(self) -> int:
        """Entries held, stale ones included (for the memory-bound tests)."""
        return len(self._heap)
