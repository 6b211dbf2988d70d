"""`logwatch replay`: captured logs through the rules, as alert lines, rounds, or a report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logwatch.commands.common import build_reading, rule_settings
from logwatch.decode import UNKNOWN_INSTANCE
from logwatch.engine import Engine, RoundObservation, RuleSettings
from logwatch.engine.outputs import Output
from logwatch.events import Event
from logwatch.pipeline import Step, Tally, Tick
from logwatch.sinks import Sink
from logwatch.sinks.jsonlines import JsonLinesSink, dumps
from logwatch.sinks.text import TextSink
from logwatch.times import format_time


def run_replay(
    *,
    inputs: Sequence[str],
    fmt: str | None,
    instances: Sequence[str],
    since: str | None,
    until: str | None,
    round_period: str | None,
    round_deadline: str | None,
    expect_clients: int | None,
    events: str,
    output: str,
    report: bool,
    pattern_dirs: Sequence[Path],
    config_path: Path | None,
) -> int:
    """Replay `inputs`; returns the exit code (0: read and evaluated, alerts or not)."""
    reading = build_reading(
        instances=instances,
        pattern_dirs_opt=pattern_dirs,
        config_path=config_path,
        since=since,
        until=until,
    )
    settings = rule_settings(reading, round_period, round_deadline, expect_clients)
    engine = Engine(settings)
    sink: Sink | None = None
    if not report:
        sink = JsonLinesSink(sys.stdout) if output == "json" else TextSink(sys.stdout)
    want_rounds = events in ("rounds", "all")
    want_events = events == "all"

    def emit(outputs: list[Output]) -> None:
        if sink is None:
            return
        for o in outputs:
            if want_rounds or not isinstance(o, RoundObservation):
                sink.emit(o)

    tally = Tally()
    steps = reading.steps(inputs, fmt, tally)
    for step in steps:
        if isinstance(step, Tick):
            emit(engine.observe(None, step.time_us))
            continue
        if not isinstance(step, Step):
            continue
        record, event = step
        if event is None:
            emit(engine.observe(record.instance, record.time_us, record.role))
            continue
        emit(engine.feed(event))  # feeding counts as observing
        if want_events and sink is not None:
            sink.emit(_EventLine(event))
    if engine.now_us is not None:
        # Timers due exactly at the last entry fire once the clock reaches it.
        emit(engine.advance(engine.now_us))

    notes = _notes(engine, settings)
    # A user pattern's regex stopped by the match timeout: per pattern, or nobody learns it.
    timeouts = {n: c.timeouts for n, c in reading.matcher.counts().items() if c.timeouts}
    notes += [
        f"pattern {name}: its regex timed out on {count} line(s), which it did not match "
        "(simplify the pattern)"
        for name, count in timeouts.items()
    ]
    if report:
        _print_report(engine, tally, notes, output)
        return 0
    summary: dict[str, Any] = engine.summary().to_json()
    summary.update(tally.to_json())
    summary["timeouts"] = timeouts
    summary["notes"] = notes
    assert sink is not None
    sink.close(summary)
    return 0


def _notes(engine: Engine, settings: RuleSettings) -> list[str]:
    notes = []
    for view in engine.instances():
        if view.round_period_estimated and view.round_period_s is not None:
            notes.append(
                f"{view.instance}: round period estimated at {view.round_period_s:g}s from the "
                "finalizations seen (set it with --round-period or ZIPNET_ROUND_PERIOD)"
            )
        elif settings.round_period_s is None and view.round_period_s is None:
            notes.append(
                f"{view.instance}: too few finalizations to estimate the round period; "
                "stall rules were not evaluated (set --round-period)"
            )
        if view.instance == UNKNOWN_INSTANCE:
            notes.append(
                "the capture does not name units: its lines were counted as instance "
                f"'{UNKNOWN_INSTANCE}' (give --instance NAME)"
            )
    return notes


def _print_report(engine: Engine, tally: Tally, notes: list[str], output: str) -> None:
    from logwatch.report import build_report

    content = build_report(engine.instances(), tally, notes)
    if output == "json":
        print(dumps(content))
        return
    from rich.console import Console

    from logwatch.sinks.report import render_report

    render_report(content, Console(highlight=False))


@dataclass(frozen=True, slots=True)
class _EventLine:
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
