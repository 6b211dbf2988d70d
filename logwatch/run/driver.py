"""The one driver: decoded steps into the engine, the engine's outputs out to the sink."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from logwatch.engine import AlertTransition, Engine, RoundObservation
from logwatch.engine.outputs import Output
from logwatch.events import Event
from logwatch.pipeline import Step, Tally, Tick
from logwatch.records import Unreadable
from logwatch.sinks import Sink
from logwatch.times import format_time


@dataclass(frozen=True, slots=True)
class Shown:
    """What goes to the sink besides alert transitions (always shown): rounds, events."""

    rounds: bool = False
    events: bool = False

    @classmethod
    def parse(cls, events: str) -> Shown:
        """From `--events alerts|rounds|all`."""
        return cls(rounds=events in ("rounds", "all"), events=events == "all")


class Driver:
    """Takes the steps of a source (records and their events, ticks of passing time) into
    the engine and hands what the engine says to the sink: the same for replay, follow
    and check. It reads no clock of its own: time comes in with the steps, and, live,
    through `tick` from the wall clock the caller was given.

    hush_before_us: what entries stamped before this cause changes state but is not
        shown (a follow's warm-up on the recent past); None: everything is shown.
    on_event: called with every matched event, after what the engine made of it went out
        (the metrics count them; the report's history places them among the alerts).
    """

    def __init__(
        self,
        engine: Engine,
        sink: Sink,
        *,
        shown: Shown = Shown(),
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.engine = engine
        self.sink = sink
        self.shown = shown
        self.on_event = on_event
        self.tally = Tally()
        self.hush_before_us: int | None = None
        # Alert transitions shown while warming up: announce_active must not show them
        # twice. None once it has run.
        self._shown_early: set[tuple[object, ...]] | None = set()

    def take(self, steps: Iterable[Step | Unreadable | Tick]) -> None:
        """Every step into the engine, in order; outputs to the sink as they come."""
        engine = self.engine
        for step in steps:
            if isinstance(step, Tick):
                t = step.time_us
                self._emit(engine.observe(None, t), t)
                continue
            if not isinstance(step, Step):
                continue
            record, event = step
            if event is None:
                outputs = engine.observe(record.instance, record.time_us, record.role, record.host)
                self._emit(outputs, record.time_us)
                continue
            self._emit(engine.feed(event), record.time_us)  # feeding counts as observing
            if self.on_event is not None:
                self.on_event(event)
            if self.shown.events and not self._hushed(record.time_us):
                self.sink.emit(EventLine(event))

    def tick(self, now_us: int) -> None:
        """Time passed with no entry up to `now_us` (the wall clock, live): due timers fire."""
        self._emit(self.engine.advance(now_us), now_us)

    def finish(self, end_us: int | None = None) -> None:
        """The end of the input: entries still held are taken in, and timers due up to the
        clock (or `end_us`, when the run is evaluated up to a given time) fire."""
        self._emit(self.engine.release_held(), None)
        now = self.engine.now_us
        end = now if end_us is None else max(end_us, now or end_us)
        if end is not None:
            self._emit(self.engine.advance(end), None)

    def announce_active(self) -> None:
        """After a silent warm-up: what is pending or firing, and was not shown yet, is
        shown now (its latest transition)."""
        shown, self._shown_early = self._shown_early or set(), None
        for view in self.engine.instances():
            active = {a.alert for a in view.active_alerts}
            latest: dict[str, AlertTransition] = {}
            for t in view.timeline:
                if t.alert in active:
                    latest[t.alert] = t
            for t in latest.values():
                if _key(t) not in shown:
                    self.sink.emit(t)

    def _hushed(self, time_us: int | None) -> bool:
        hush = self.hush_before_us
        return hush is not None and time_us is not None and time_us < hush

    def _emit(self, outputs: list[Output], time_us: int | None) -> None:
        if not outputs or self._hushed(time_us):
            return
        rounds = self.shown.rounds
        for o in outputs:
            if rounds or not isinstance(o, RoundObservation):
                self.sink.emit(o)
                if self._shown_early is not None and isinstance(o, AlertTransition):
                    self._shown_early.add(_key(o))


def _key(t: AlertTransition) -> tuple[object, ...]:
    """An alert transition told apart by what it says, not by the object: one shown
    while warming up may be gone from the timeline's objects since."""
    return (t.alert, t.instance, t.state, t.at_us, tuple(sorted(t.labels.items())))


@dataclass(frozen=True, slots=True)
class EventLine:
    """A matched event as an output line, for `--events all`."""

    event: Event

    def to_json(self) -> dict[str, Any]:
        e = self.event
        return {
            "type": "event",
            "event": e.name,
            "instance": e.instance,
            "at": format_time(e.time_us),
            "role": e.role,
            "host": e.host,
            "fields": dict(e.fields),
        }
