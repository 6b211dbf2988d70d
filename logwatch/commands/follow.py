"""`logwatch follow`: journald live through the rules, to a dashboard, JSON lines or text."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from logwatch.commands.common import Reading, build_reading, instance_names, rule_settings
from logwatch.commands.fleet import start_fleet
from logwatch.commands.source_options import SourceOptions, open_live, units_for
from logwatch.engine import AlertTransition, Engine, RoundObservation, RuleSettings
from logwatch.engine.hostclock import LiveTime
from logwatch.engine.outputs import Output
from logwatch.errors import LogwatchError, UsageError
from logwatch.events import Event
from logwatch.pipeline import Step, Tally, Tick, read_steps
from logwatch.records import Entry, Unreadable
from logwatch.sinks import Sink
from logwatch.sources.live import DEFAULT_LOOKBACK_S, LiveSource
from logwatch.sources.stdin import StdinFollower
from logwatch.times import US, format_time, parse_time, wall_clock_us
from logwatch.units import UnitTemplate

if TYPE_CHECKING:
    from logwatch.sinks.dashboard import Dashboard

TICK_S = 0.25
"""The longest the loop waits for entries before moving the clock with the wall clock:
timers fire within this of their deadline, and an idle follow wakes 4 times a second."""
CURSOR_SAVE_S = 1.0
WARMUP_WINDOWS = 4
"""Without a saved cursor, the follow first reads this many W (or the default lookback
when P is unknown) of the recent past, silently, so state is warm at start-up."""


@dataclass(slots=True)
class Stop:
    """Set by SIGINT/SIGTERM; SIGHUP asks for a reload."""

    stop: bool = False
    reload: bool = False
    handlers: dict[int, Any] = field(default_factory=dict)

    def install(self) -> None:
        def on_stop(signum: int, frame: FrameType | None) -> None:
            self.stop = True

        def on_hup(signum: int, frame: FrameType | None) -> None:
            self.reload = True

        for sig, handler in ((signal.SIGINT, on_stop), (signal.SIGTERM, on_stop)):
            self.handlers[sig] = signal.signal(sig, handler)
        self.handlers[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)

    def restore(self) -> None:
        for sig, handler in self.handlers.items():
            signal.signal(sig, handler)


def warmup_seconds(settings: RuleSettings) -> float:
    """How far back to read at start-up: a few W when P is known."""
    period_us = settings.period_us
    if period_us is None:
        return DEFAULT_LOOKBACK_S
    return max(WARMUP_WINDOWS * settings.window_us(period_us) / US, 10.0)


@dataclass(slots=True)
class Follow:
    """One running follow: source → decode → match → engine → sink, with the clock."""

    source: LiveSource
    reading: Reading
    engine: Engine
    sink: Sink
    instances: Sequence[str]
    want_rounds: bool
    on_tick: Callable[[Engine, int], None] | None = None
    on_event: Callable[[Event], None] | None = None  # every matched event (--metrics)
    tally: Tally = field(default_factory=Tally)
    live_from_us: int = 0
    # Alert transitions shown while warming up (entries stamped after the start are
    # shown then): announce_active must not show them twice. None once it has run.
    shown: set[tuple[object, ...]] | None = field(default_factory=set)
    clock: LiveTime = field(default_factory=LiveTime)

    def feed(self, items: list[Entry | Unreadable], *, quiet: bool = False) -> None:
        """Push entries through; outputs of entries before `live_from_us` (the warm-up)
        change state but are not shown."""
        r = self.reading
        for step in read_steps(items, r.decoder, r.matcher, r.selection, self.tally):
            if isinstance(step, Tick):
                t = step.time_us
                self._emit(self.engine.observe(None, t), quiet or t < self.live_from_us)
                continue
            if not isinstance(step, Step):
                continue
            record, event = step
            hush = quiet or record.time_us < self.live_from_us
            if event is None:
                self._emit(
                    self.engine.observe(record.instance, record.time_us, record.role, record.host),
                    hush,
                )
            else:
                if self.on_event is not None:
                    self.on_event(event)
                self._emit(self.engine.feed(event), hush)  # feeding counts as observing

    def _emit(self, outputs: list[Output], hush: bool) -> None:
        if hush:
            return
        for o in outputs:
            if self.want_rounds or not isinstance(o, RoundObservation):
                self.sink.emit(o)
                if self.shown is not None and isinstance(o, AlertTransition):
                    self.shown.add(_key(o))

    def tick(self, now_us: int) -> None:
        """The wall clock moved: fire due timers; entries are placed against it."""
        self.clock.reference_us = now_us
        self._emit(self.engine.advance(now_us), False)
        if self.on_tick is not None:
            self.on_tick(self.engine, now_us)

    def announce_active(self) -> None:
        """After the silent warm-up: what is already pending or firing, and was not
        shown yet, is reported now."""
        shown, self.shown = self.shown or set(), None
        for view in self.engine.instances():
            active = {a.alert for a in view.active_alerts}
            latest: dict[str, AlertTransition] = {}
            for t in view.timeline:
                if t.alert in active:
                    latest[t.alert] = t
            for t in latest.values():
                if _key(t) not in shown:
                    self.sink.emit(t)


def _key(t: AlertTransition) -> tuple[object, ...]:
    """An alert transition told apart by what it says, not by the object: one shown
    while warming up may be gone from the timeline's objects since."""
    return (t.alert, t.instance, t.state, t.at_us, tuple(sorted(t.labels.items())))


def make_sink(
    output: str,
    exec_argv: Sequence[str],
    exec_timeout_s: float,
    settings: RuleSettings,
    exec_states: frozenset[str] | None = None,
) -> tuple[Sink, Dashboard | None]:
    """The sink for --output (tui/json/text), with --exec alongside when given; and the
    dashboard, when it is one of them."""
    sinks: list[Sink] = []
    dashboard = None
    if output == "tui":
        from rich.console import Console

        from logwatch.sinks.dashboard import Dashboard

        dashboard = Dashboard(Console(), fallback_window_s=settings.fallback_window_s)
        sinks.append(dashboard)
    elif output == "json":
        from logwatch.sinks.json_output import JsonLinesSink

        sinks.append(JsonLinesSink(sys.stdout, flush_each=True))
    else:
        from logwatch.sinks.text_output import TextSink

        sinks.append(TextSink(sys.stdout, flush_each=True))
    if exec_argv:
        from logwatch.sinks.exec import DEFAULT_STATES, ExecSink

        states = DEFAULT_STATES if exec_states is None else exec_states
        sinks.append(ExecSink(list(exec_argv), timeout_s=exec_timeout_s, states=states))
    return (sinks[0] if len(sinks) == 1 else FanOut(sinks)), dashboard


@dataclass(frozen=True, slots=True)
class FanOut:
    """Several sinks fed the same outputs."""

    sinks: Sequence[Sink]

    def emit(self, output: Any) -> None:
        for s in self.sinks:
            s.emit(output)

    def close(self, summary: dict[str, Any]) -> None:
        for s in self.sinks:
            s.close(summary)


def run_follow(
    *,
    instances: Sequence[str],
    all_instances: bool,
    source: SourceOptions,
    fmt: str | None,
    since: str | None,
    state_dir: Path | None,
    round_period: str | None,
    round_deadline: str | None,
    expect_clients: int | None,
    events: str,
    output: str | None,
    exec_argv: Sequence[str],
    exec_timeout_s: float,
    pattern_dirs: Sequence[Path],
    config_path: Path | None,
    done: threading.Event | None = None,
    exec_states: frozenset[str] | None = None,
    metrics: str | None = None,
    alertmanagers: Sequence[str] = (),
    alertmanager_resend_s: float = 60.0,
) -> int:
    """Follow until SIGINT/SIGTERM, the end of piped input, or `done` (the demo) is set;
    returns the exit code."""
    if not instances and not all_instances:
        raise UsageError("name at least one instance, or --all")
    reading = build_reading(
        instances=() if all_instances else instances,
        pattern_dirs_opt=pattern_dirs,
        config_path=config_path,
    )
    names = instance_names(instances, reading.config)
    settings = rule_settings(reading, round_period, round_deadline, expect_clients)
    # The wall clock is the reference (docs/clock.md); while the backlog is read, and for
    # piped entries, a stamp can be old, so only one ahead of it tells.
    clock = LiveTime(settings.clock_tolerance_us, catching_up=True)
    engine = Engine(settings, clock)
    units = [] if all_instances else units_for(names, reading.config.unit_template)
    # --metrics/--alertmanager first: a port in use is a usage error before anything opens.
    fleet = start_fleet(metrics, alertmanagers, alertmanager_resend_s, names, settings)
    try:
        live = open_live(source, units, fmt)
    except BaseException:
        if fleet is not None:
            fleet.abort()
        raise
    store = None
    if state_dir is not None:
        from logwatch.cursor import CursorStore, state_key

        store = CursorStore(state_dir, state_key(names or ["all"], source.key()))
    # --- issue 19 glue (to port into the metrics rewrite): what the follow could not keep.
    if fleet is not None and fleet.server is not None:
        from logwatch.sinks.keeping_metrics import keeping_collector

        fleet.server.registry.register(keeping_collector(live, store))
    # --- end of glue
    resolved_output = output or ("tui" if sys.stdout.isatty() else "json")
    sink, dashboard = make_sink(resolved_output, exec_argv, exec_timeout_s, settings, exec_states)
    if fleet is not None and fleet.alertmanager is not None:
        sink = FanOut([sink, fleet.alertmanager])
    notes: list[str] = []
    tally = Tally()
    stop = Stop()
    stop.install()
    try:
        now = wall_clock_us()
        cursor = store.load() if store is not None else None
        start = live.start(
            cursor=cursor,
            since_us=parse_time(since, now) if since else None,
            lookback_s=warmup_seconds(settings),
            now_us=now,
        )
        # issue 19 glue: said now, and once (the source's notices carry start.note too).
        for notice in live.take_notices():
            notes.append(notice)
            _note(notice, resolved_output)
        if not all_instances and not source.stdin:
            # Said at start, not after W: a typo must not look like a quiet instance.
            for line in _missing(names, source, reading.config.unit_template):
                notes.append(line)
                print(f"logwatch: {line}", file=sys.stderr, flush=True)
        follow = Follow(
            live,
            reading,
            engine,
            sink,
            names,
            want_rounds=events in ("rounds", "all"),
            tally=tally,
            clock=clock,
            on_tick=_dashboard_tick(dashboard, notes),
            # With a cursor everything after it is new; otherwise the lookback is warm-up.
            live_from_us=0 if (cursor and not start.cursor_lost) or since else now,
        )
        if fleet is not None:
            fleet.attach(follow)
        _start_dashboard(dashboard)
        clock.reference_us = now
        _warm_up(follow, stop)
        for name in names:
            engine.start_watch(name, max(now, engine.now_us or now))
        follow.announce_active()
        piped = isinstance(live, StdinFollower)
        if not piped:
            # From here on everything read from the journal is new, whatever its stamp (a
            # host behind stamps its new entries in the past). Piped entries keep the
            # stamp rule: how much of a pipe the warm-up got is a matter of timing.
            follow.live_from_us = 0
        clock.catching_up = piped
        # Said once the backlog is read: from here on an entry is shown as it comes (and
        # a script or test waiting for follow to be ready waits for this line).
        _note(f"live from {format_time(wall_clock_us())}", resolved_output)
        last_save = time.monotonic()
        while not stop.stop:
            items = live.poll(TICK_S)
            if items:
                follow.feed(items)
            # issue 19 glue: the cursor store's lines (saving failed, works again) too.
            for notice in [*live.take_notices(), *(store.take_notices() if store else [])]:
                notes.append(notice)
                _note(notice, resolved_output)
            follow.tick(wall_clock_us())
            if dashboard is not None and dashboard.take_keys():
                break  # q
            if store is not None and time.monotonic() - last_save >= CURSOR_SAVE_S:
                if live.cursor:
                    store.save(live.cursor)
                last_save = time.monotonic()
            if stop.reload:
                stop.reload = False
                follow.reading = _reload(follow.reading, instances, pattern_dirs, config_path)
            if isinstance(live, StdinFollower) and live.finished:
                break
            if done is not None and done.is_set():
                break
    finally:
        stop.restore()
        if store is not None and live.cursor:
            store.save(live.cursor)
            for notice in store.take_notices():  # issue 19 glue: a last save that failed
                notes.append(notice)
                _note(notice, resolved_output)
        live.close()
        summary: dict[str, Any] = engine.summary().to_json()
        summary.update(tally.to_json())
        summary["notes"] = notes
        sink.close(summary)
        if fleet is not None:
            fleet.close()
    return 0


def _missing(names: Sequence[str], source: SourceOptions, template: str) -> list[str]:
    from logwatch.journal_units import journal_units, missing_instances_note

    directory = str(source.directory) if source.directory else None
    units = journal_units(directory, [str(f) for f in source.files], journalctl=source.journalctl)
    return missing_instances_note(names, units, UnitTemplate(template))


def _warm_up(follow: Follow, stop: Stop) -> None:
    """Read the backlog up to now before going live (bounded by the source's batches)."""
    while not stop.stop:
        items = follow.source.poll(0.0)
        if not items:
            return
        # issue 19 glue: the wall clock moves during a long warm-up (a restart's backlog
        # while hosts write on); a reference left at the start made every host "ahead".
        follow.clock.reference_us = wall_clock_us()
        follow.feed(items)


def _reload(
    current: Reading, instances: Sequence[str], dirs: Sequence[Path], config_path: Path | None
) -> Reading:
    try:
        fresh = build_reading(instances=instances, pattern_dirs_opt=dirs, config_path=config_path)
    except LogwatchError as e:
        print(f"logwatch: reload failed, keeping the old patterns: {e}", file=sys.stderr)
        return current
    print("logwatch: patterns and config reloaded", file=sys.stderr)
    return fresh


def _note(text: str, output: str) -> None:
    if output != "tui":
        print(f"logwatch: {text}", file=sys.stderr)


def _start_dashboard(dashboard: Dashboard | None) -> None:
    if dashboard is not None:
        dashboard.start()


def _dashboard_tick(dashboard: Dashboard | None, notes: list[str]) -> Callable[[Engine, int], None]:
    def tick(engine: Engine, now_us: int) -> None:
        if dashboard is not None:
            dashboard.update(engine.instances(), now_us, notes)

    return tick
