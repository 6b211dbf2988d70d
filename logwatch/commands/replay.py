"""`logwatch replay`: captured logs through the rules, as alert lines, rounds, or a report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logwatch.commands.common import Reading, build_reading, rule_settings
from logwatch.decode import UNKNOWN_INSTANCE
from logwatch.engine import Engine, RoundObservation, RuleSettings
from logwatch.engine.hostclock import CaptureTime
from logwatch.engine.outputs import Output
from logwatch.errors import UsageError
from logwatch.events import Event
from logwatch.pipeline import Step, Tally, Tick
from logwatch.records import Passing, Unreadable
from logwatch.sinks import Sink
from logwatch.sinks.json_output import JsonLinesSink, dumps
from logwatch.sinks.report_history import ReportHistory
from logwatch.sinks.text_output import TextSink
from logwatch.sources import open_inputs
from logwatch.times import format_time, is_relative


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
    end_us = None
    if any(t is not None and is_relative(t) for t in (since, until)):
        # `--since -1h` of a capture is its last hour, not the hour before this moment.
        end_us = capture_end_us(
            build_reading(
                instances=instances, pattern_dirs_opt=pattern_dirs, config_path=config_path
            ),
            inputs,
            fmt,
        )
    reading = build_reading(
        instances=instances,
        pattern_dirs_opt=pattern_dirs,
        config_path=config_path,
        since=since,
        until=until,
        now_us=end_us,
    )
    settings = rule_settings(reading, round_period, round_deadline, expect_clients)
    # A capture can be read ahead: a first look finds each host's clock offset. Piped
    # input is read once, and then hosts are taken at their word (clients 1 s at most).
    tolerance = settings.clock_tolerance_us
    offsets = None if "-" in inputs else reading.first_look(inputs, fmt, tolerance)
    engine = Engine(settings, None if offsets is None else CaptureTime(offsets, tolerance))
    engine.expect(reading.selection.instances or ())
    # The report draws rounds and who led over time: its history takes rounds and events.
    history = ReportHistory(offsets) if report else None
    sink: Sink | None = history
    if not report:
        sink = JsonLinesSink(sys.stdout) if output == "json" else TextSink(sys.stdout)
    want_rounds = report or events in ("rounds", "all")
    want_events = events == "all"

    def emit(outputs: list[Output]) -> None:
        if sink is None:
            return
        for o in outputs:
            if want_rounds or not isinstance(o, RoundObservation):
                sink.emit(o)

    tally = Tally()
    if offsets is None:
        steps = reading.steps(inputs, fmt, tally)
    else:
        steps = reading.steps_in_agreed_order(inputs, fmt, tally, offsets)
    for step in steps:
        if isinstance(step, Tick):
            emit(engine.observe(None, step.time_us))
            continue
        if not isinstance(step, Step):
            continue
        record, event = step
        if event is None:
            emit(engine.observe(record.instance, record.time_us, record.role, record.host))
            continue
        emit(engine.feed(event))  # feeding counts as observing
        if history is not None:
            history.take(event)
        if want_events and sink is not None:
            sink.emit(_EventLine(event))
    emit(engine.release_held())
    if engine.now_us is not None:
        # Timers due exactly at the last entry fire once the clock reaches it.
        emit(engine.advance(engine.now_us))

    _say_what_was_empty(tally, inputs, since, until)
    notes = _notes(engine, settings)
    # A user pattern's regex stopped by the match timeout: per pattern, or nobody learns it.
    timeouts = {n: c.timeouts for n, c in reading.matcher.counts().items() if c.timeouts}
    notes += [
        f"pattern {name}: its regex timed out on {count} line(s), which it did not match "
        "(simplify the pattern)"
        for name, count in timeouts.items()
    ]
    if report:
        window = {
            "since": _at(reading.selection.since_us),
            "until": _at(reading.selection.until_us),
        }
        assert history is not None
        _print_report(engine, tally, notes, output, window, history, reading.config.runbook_base)
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
                f"{view.instance}: too few finalizations to estimate the round period; the "
                f"stall rules used the fallback window of {settings.fallback_window_s:g}s "
                "(set --round-period)"
            )
        if view.instance == UNKNOWN_INSTANCE:
            notes.append(
                "the capture does not name units: its lines were counted as instance "
                f"'{UNKNOWN_INSTANCE}' (give --instance NAME)"
            )
    return notes


def capture_end_us(reading: Reading, inputs: Sequence[str], fmt: str | None) -> int | None:
    """The time of the capture's last entry, as the replay will see it (decoded: a coarse
    capture time gives way to the tracing timestamp): a first pass over the inputs."""
    if "-" in inputs:
        raise UsageError(
            "a relative --since/--until counts back from the capture's end, which stdin "
            "cannot be read twice to find: give an absolute time, or a file"
        )
    last = None
    for item in open_inputs(inputs, fmt, writers=reading.writers):
        if isinstance(item, Passing):
            t = item.time_us
        elif isinstance(item, Unreadable):
            continue
        else:
            record = reading.decoder(item)
            if isinstance(record, Unreadable):
                continue
            t = record.time_us
        if last is None or t > last:
            last = t
    return last


def _say_what_was_empty(
    tally: Tally, inputs: Sequence[str], since: str | None, until: str | None
) -> None:
    """One stderr line when nothing could be looked at: an empty input, or every entry
    outside --since/--until (an empty report would look like a quiet incident)."""
    if tally.entries == 0:
        print(f"logwatch: no entries in {', '.join(inputs)}", file=sys.stderr)
    elif (since or until) and tally.outside == tally.entries:
        print(
            f"logwatch: all {tally.entries} entries are outside --since/--until "
            "(or of other programs and instances)",
            file=sys.stderr,
        )


def _at(us: int | None) -> str | None:
    return None if us is None else format_time(us)


def _print_report(
    engine: Engine,
    tally: Tally,
    notes: list[str],
    output: str,
    window: dict[str, str | None],
    history: ReportHistory,
    runbook_base: str | None,
) -> None:
    from logwatch.report_content import build_report

    content = build_report(engine.instances(), tally, notes, history)
    content["window"] = window
    if output == "json":
        print(dumps(content))
        return
    if output == "html":
        from logwatch.sinks.html_report import render_html

        sys.stdout.write(render_html(content, runbook_base=runbook_base))
        return
    from rich.console import Console

    from logwatch.sinks.report import render_report

    console = Console(highlight=False)
    render_report(content, console, whole=not console.is_terminal, runbook_base=runbook_base)


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
