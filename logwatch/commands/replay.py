"""`logwatch replay`: captured logs through the rules, as alert lines, rounds, or a report."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from logwatch.commands.common import build_reading, rule_settings, within
from logwatch.decode import UNKNOWN_INSTANCE
from logwatch.engine import Engine, RuleSettings
from logwatch.engine.alerts import ROUND_REGRESSION, SPLIT_BRAIN
from logwatch.engine.hostclock import Assumed, CaptureOffsets, HostTime
from logwatch.errors import InputError, UsageError
from logwatch.match import Matcher
from logwatch.pipeline import Tally
from logwatch.run.driver import Driver, Shown
from logwatch.run.looking import LookAlong
from logwatch.run.replay_plan import ReplayPlan
from logwatch.sinks import Output, Sink
from logwatch.sinks.json_output import JsonLinesSink, dumps
from logwatch.sinks.report_history import ReportHistory
from logwatch.sinks.text_output import TextSink
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
    reading = build_reading(
        instances=instances, pattern_dirs_opt=pattern_dirs, config_path=config_path
    )
    if since or until:
        end_us = None
        if any(t is not None and is_relative(t) for t in (since, until)):
            if "-" in inputs:
                raise UsageError(
                    "a relative --since/--until counts back from the capture's end, which "
                    "stdin cannot be read twice to find: give an absolute time, or a file"
                )
            # `--since -1h` of a capture is its last hour, not the hour before this moment.
            end_us = ReplayPlan(reading, inputs, fmt).capture_end()
        reading = within(reading, since, until, end_us)
    settings = rule_settings(reading, round_period, round_deadline, expect_clients)
    plan = ReplayPlan(reading, inputs, fmt)
    sink: Sink = JsonLinesSink(sys.stdout) if output == "json" else TextSink(sys.stdout)
    shown = Shown(rounds=True) if report else Shown.parse(events)
    # A capture can be read ahead: a first look finds the hosts whose clocks are off, so
    # their entries are read where their corrected time puts them. Taken along the main
    # read, it costs no read of its own, and where it finds nothing that changes how
    # that read placed the entries, the read stands (docs/clock.md). Piped input is read
    # once, in the order it comes.
    look = None if shown.events else plan.look_along(settings.clock_tolerance_us)
    if look is not None and look.holdings_known:
        _refuse_missing(reading.selection.instances or (), plan.instances_held, inputs)
    run = None if look is None else _read_once(plan, settings, look, shown, report)
    offsets: CaptureOffsets | None
    if run is not None:
        engine, driver, history, offsets = run
        _refuse_missing(reading.selection.instances or (), plan.instances_held, inputs)
        if history is None:
            deferred, driver.sink = driver.sink, sink
            assert isinstance(deferred, _Deferred)
            for held in deferred.outputs:
                sink.emit(held)
    else:
        if look is not None:
            # Read again, knowing what the look found: counted anew.
            reading = replace(reading, matcher=Matcher(reading.patterns))
            plan = ReplayPlan(reading, inputs, fmt)
        offsets = None if plan.piped else plan.first_look(settings.clock_tolerance_us)
        if offsets is not None:
            _refuse_missing(reading.selection.instances or (), plan.instances_held, inputs)
        engine, driver, history = _evaluate(plan, settings, offsets, sink, shown, report)
    mixed = _mixed_notes(plan.mixed)
    if offsets is None:
        # Piped: what it held is known only now.
        seen = {v.instance for v in engine.instances() if v.entries_seen}
        _refuse_missing(reading.selection.instances or (), seen, inputs, told=False)

    tally = driver.tally
    _say_what_was_empty(tally, inputs, since, until)
    notes = mixed + _notes(engine, settings)
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
    sink.close(summary)
    return 0


def _evaluate(
    plan: ReplayPlan,
    settings: RuleSettings,
    offsets: CaptureOffsets | None,
    sink: Sink,
    shown: Shown,
    report: bool,
    look: LookAlong | None = None,
) -> tuple[Engine, Driver, ReportHistory | None]:
    """The main read through the engine into `sink` (or, with `report`, into the report's
    history, which takes rounds and events to draw them over time); with `look` taken
    along, entries are placed by what it assumes (`offsets` is then what it goes by)."""
    assumed = None if look is None else look.assumed
    engine = Engine(settings, HostTime(settings.clock_tolerance_us, offsets, assumed))
    engine.expect(plan.reading.selection.instances or ())
    for note in _mixed_notes(plan.mixed):
        print(f"logwatch: {note}", file=sys.stderr)
    for name in plan.mixed:
        # Round order and who finalizes are meaningless on a mix: those rules are not run.
        engine.mute(name, (ROUND_REGRESSION, SPLIT_BRAIN))
    history = ReportHistory(offsets) if report else None
    driver = Driver(engine, sink if history is None else history, shown=shown)
    if history is not None:
        driver.on_event = history.take
    driver.take(plan.steps(driver.tally, offsets, look=look))
    driver.finish()
    return engine, driver, history


def _read_once(
    plan: ReplayPlan, settings: RuleSettings, look: LookAlong, shown: Shown, report: bool
) -> tuple[Engine, Driver, ReportHistory | None, CaptureOffsets] | None:
    """The replay read once, the first look taken along: the engine, the driver (its
    outputs held back, unless they go to the report's history), the history and the
    offsets found; None when what the look found would have placed entries otherwise
    (given up as soon as the clocks' measure finds a host off), or more outputs came than
    are held back: then the capture is read again."""
    assumed = look.assumed
    assert assumed is not None
    try:
        run = _evaluate(plan, settings, assumed.foresight(), _Deferred(), shown, report, look)
    except (_Deferred.Full, Assumed.Wrong):
        return None
    found = plan.looked(look)
    if not look.held(found):
        return None
    return (*run, found)


class _Deferred:
    """A sink that holds the outputs of a read whose result may not stand, up to HELD."""

    HELD = 10_000

    class Full(Exception):
        """More outputs than are held back."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []

    def emit(self, output: Output) -> None:
        if len(self.outputs) >= self.HELD:
            raise self.Full
        self.outputs.append(output)

    def close(self, summary: dict[str, Any] | None) -> None:
        raise AssertionError("a deferred read is never closed")  # pragma: no cover


def _refuse_missing(
    names: Iterable[str], held: set[str], inputs: Sequence[str], *, told: bool = True
) -> None:
    """InputError when the capture holds none of an instance named, naming the instances
    it holds (`told`: `held` is all of them): a typo must not look like a quiet instance."""
    missing = sorted(set(names) - held)
    if not missing:
        return
    said = f"no entries of instance {', '.join(map(repr, missing))} in {', '.join(inputs)}"
    if told:
        holds = ", ".join(sorted(held)[:20]) + (", ..." if len(held) > 20 else "")
        said += f"; it holds instances {holds}" if held else "; it holds no zipnet instance"
    raise InputError(said)


def _mixed_notes(mixed: dict[str, str]) -> list[str]:
    return [
        f"{name}: the capture names no units, and {why}: several instances "
        "seem mixed under one name (round_regression and split_brain are not judged); "
        "capture one instance at a time (journalctl -u 'zipnet-*@NAME.service') or in a "
        "form that names units (-o with-unit, json, export)"
        for name, why in sorted(mixed.items())
    ]


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
