"""The read side every command shares: source items → records → events, all of it counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from logwatch.events import Event
from logwatch.records import Entry, Glance, Passing, Record, Unreadable

Decode = Callable[[Entry | Glance], Record | Unreadable]
Match = Callable[[Record], Event | None]


@dataclass(slots=True)
class Tally:
    """What a run read: every entry is counted exactly once, as matched, unmatched (a
    zipnet line no pattern claims), unreadable, or outside the selection (another
    program's, an instance not selected, or outside the time range)."""

    entries: int = 0
    matched: Counter[str] = field(default_factory=Counter)
    unmatched: int = 0
    unreadable: Counter[str] = field(default_factory=Counter)
    outside: int = 0
    first_us: int | None = None
    last_us: int | None = None

    @property
    def errors(self) -> int:
        return sum(self.unreadable.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "matched": dict(sorted(self.matched.items())),
            "unmatched": self.unmatched,
            "errors": self.errors,
            "unreadable": dict(sorted(self.unreadable.items())),
            "outside": self.outside,
        }


@dataclass(frozen=True, slots=True)
class Selection:
    """Which records a run looks at: instances (None: all zipnet ones) and a time range."""

    instances: frozenset[str] | None = None
    since_us: int | None = None
    until_us: int | None = None

    def in_time(self, record: Record) -> bool:
        if self.since_us is not None and record.time_us < self.since_us:
            return False
        return self.until_us is None or record.time_us <= self.until_us

    def admits(self, record: Record) -> bool:
        """In time, and of a selected instance (a record of no instance is another
        program's, never selected)."""
        instance = record.instance
        return (
            instance is not None
            and self.in_time(record)
            and (self.instances is None or instance in self.instances)
        )


class Step(NamedTuple):
    """One selected record and the event a pattern made of it, if any. The record of a
    line the prefilter rejected (a Glance) says only who wrote it and when."""

    record: Record
    event: Event | None


class Tick(NamedTuple):
    """The clock reached `time_us` through entries that are not looked at (other
    writers, instances not selected): the engine observes it as time passing."""

    time_us: int


def read_steps(
    items: Iterable[Entry | Glance | Unreadable | Passing],
    decode: Decode,
    match: Match,
    selection: Selection,
    tally: Tally,
    aside: Callable[[Record], None] | None = None,
) -> Iterator[Step | Unreadable | Tick]:
    """Decode and match every item, counting into `tally`; yields the selected records
    (matched or not) and what could not be read, in input order, each led by a Tick
    when entries passed over in between moved the time on. aside: called with each record
    of an instance in the time range that the selection leaves out (another instance's).

    The entries passed over become one Tick, the latest time among them: the engine's
    timers fire at their own deadlines whether the clock gets there in one step or many.
    A Glance (a line the prefilter rejected) is decoded to who and when only, and is
    unmatched without asking `match`: no pattern can claim it.
    """
    since, until = selection.since_us, selection.until_us
    tick: int | None = None
    for item in items:
        tally.entries += 1
        if isinstance(item, Passing):
            t = item.time_us
            tally.outside += 1
            if (
                (since is None or t >= since)
                and (until is None or t <= until)
                and (tick is None or t > tick)
            ):
                tick = t
            continue
        record = item if isinstance(item, Unreadable) else decode(item)
        if isinstance(record, Unreadable):
            tally.unreadable[record.reason] += 1
            if tick is not None:
                yield Tick(tick)
                tick = None
            yield record
            continue
        if not selection.admits(record):
            tally.outside += 1
            if selection.in_time(record):
                if tick is None or record.time_us > tick:
                    tick = record.time_us
                if aside is not None and record.instance is not None:
                    aside(record)
            continue
        if tick is not None:
            yield Tick(tick)
            tick = None
        t = record.time_us
        if tally.first_us is None or t < tally.first_us:
            tally.first_us = t
        if tally.last_us is None or t > tally.last_us:
            tally.last_us = t
        event = None if isinstance(item, Glance) else match(record)
        if event is None:
            tally.unmatched += 1
        else:
            tally.matched[event.name] += 1
        yield Step(record, event)
    if tick is not None:
        yield Tick(tick)
