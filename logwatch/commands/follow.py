"""`logwatch follow`: journald live through the driver, to a dashboard, JSON lines or text."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from logwatch.commands.common import Reading, build_reading, instance_names, rule_settings
from logwatch.commands.fleet import Fleet, start_fleet
from logwatch.commands.source_options import SourceOptions, look_back, open_live, units_for
from logwatch.cursor import CursorStore
from logwatch.engine import Engine, RuleSettings
from logwatch.engine.hostclock import HostTime
from logwatch.errors import LogwatchError, UsageError
from logwatch.pipeline import Selection, read_steps
from logwatch.run.clock import Clock, WallClock
from logwatch.run.driver import Driver, Shown
from logwatch.sinks import Sink
from logwatch.sources.live import DEFAULT_LOOKBACK_S, MAX_BATCH, LiveSource
from logwatch.sources.stdin import StdinFollower
from logwatch.times import US, format_time, parse_time
from logwatch.triage import Triage
from logwatch.units import UnitTemplate

if TYPE_CHECKING:
    from logwatch.sinks.dashboard import Dashboard

TICK_S = 0.25
"""The longest the loop waits for entries before moving the clock with the wall clock:
timers fire within this of their deadline, and an idle follow wakes 4 times a second."""
LATENESS_US = US // 2
"""How late an entry may reach logwatch (written, then read) and still count as on time:
live, the clock runs this far behind the wall clock, so a timer fires only once what was
written before its deadline has had the time to arrive (docs/clock.md)."""
IDLE_US = 5 * US
"""Piped input that has been quiet this long after its backlog is live from then on."""
CURSOR_SAVE_US = US
WARMUP_WINDOWS = 4
"""Without a saved cursor, the follow first reads this many W (or the default lookback
when P is unknown) of the recent past, silently, so state is warm at start-up."""


@dataclass(frozen=True, slots=True)
class FollowOptions:
    """What the command line asked of a follow."""

    instances: tuple[str, ...] = ()
    all_instances: bool = False
    source: SourceOptions = field(default_factory=SourceOptions)
    fmt: str | None = None
    since: str | None = None
    state_dir: Path | None = None
    round_period: str | None = None
    round_deadline: str | None = None
    expect_clients: int | None = None
    events: str = "alerts"
    output: str | None = None
    exec_argv: tuple[str, ...] = ()
    exec_states: frozenset[str] | None = None
    exec_timeout_s: float = 10.0
    pattern_dirs: tuple[Path, ...] = ()
    config_path: Path | None = None
    metrics: str | None = None
    alertmanagers: tuple[str, ...] = ()
    alertmanager_resend_s: float = 60.0


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


class FollowRun:
    """One follow, opened: its live source, the driver, the sinks and the wall clock it
    was given. `step()` is one turn of the loop (read what came, move the clock); the
    command calls it until told to stop, a test calls it after stepping its clock.

    Opening reads the recent past (the warm-up) before it returns; `should_stop` is asked
    between its batches.
    """

    def __init__(
        self,
        options: FollowOptions,
        *,
        clock: Clock,
        source: LiveSource | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        if not options.instances and not options.all_instances:
            raise UsageError("name at least one instance, or --all")
        self.options = options
        self.clock = clock
        self.reading = build_reading(
            instances=() if options.all_instances else options.instances,
            pattern_dirs_opt=options.pattern_dirs,
            config_path=options.config_path,
        )
        names = instance_names(options.instances, self.reading.config)
        self.names = names
        settings = rule_settings(
            self.reading, options.round_period, options.round_deadline, options.expect_clients
        )
        # While the backlog is read, the engine's own clock is the reference, as in a
        # replay; live, the time each entry arrived (docs/clock.md).
        self.host_time = HostTime(settings.clock_tolerance_us)
        engine = Engine(settings, self.host_time)
        # Named instances are watched from the first entry read, as in a replay: one
        # already stalled when the follow starts is reported at once.
        engine.expect(names)
        self.notes: list[str] = []
        # --metrics/--alertmanager first: a port in use is a usage error before anything
        # opens.
        self.fleet: Fleet | None = start_fleet(
            options.metrics,
            options.alertmanagers,
            options.alertmanager_resend_s,
            names,
            settings,
            self.reading.config.runbook_base,
            [pattern.name for pattern in self.reading.patterns.patterns],
        )
        self.source: LiveSource
        try:
            if source is None:
                units = (
                    []
                    if options.all_instances
                    else units_for(names, self.reading.config.unit_template)
                )
                source = open_live(options.source, units, options.fmt)
            self.source = source
        except BaseException:
            if self.fleet is not None:
                self.fleet.abort()
            raise
        self.store: CursorStore | None = None
        if options.state_dir is not None:
            from logwatch.cursor import state_key

            key = state_key(names or ["all"], options.source.key())
            self.store = CursorStore(options.state_dir, key)
        if self.fleet is not None and self.fleet.server is not None:
            from logwatch.sinks.keeping_metrics import keeping_collector

            # What the follow could not keep: journal gaps, files changed, cursor saves.
            self.fleet.server.registry.register(keeping_collector(self.source, self.store))
        self.output = options.output or ("tui" if sys.stdout.isatty() else "json")
        sink, self.dashboard = make_sink(
            self.output,
            options.exec_argv,
            options.exec_timeout_s,
            settings,
            options.exec_states,
        )
        if self.fleet is not None and self.fleet.alertmanager is not None:
            sink = FanOut([sink, self.fleet.alertmanager])
        self.driver = Driver(engine, sink, shown=Shown.parse(options.events))
        self.decoder = self.reading.new_decoder()
        self.triage = _triage(self.reading)
        self.on_tick: Callable[[Engine, int], None] | None = self._dashboard_tick
        self._last_save_us = 0
        self._drained_us = 0
        self._caught_up_us: int | None = None
        # Live: the wall clock moves the engine's clock, and entries are placed against the
        # time they arrived. Until then (the backlog, a capture piped at once) time moves
        # with the entries alone, as in a replay.
        self.live = False
        self._quiet_since_us: int | None = None
        self._start(should_stop)

    @property
    def engine(self) -> Engine:
        return self.driver.engine

    @property
    def piped(self) -> bool:
        return isinstance(self.source, StdinFollower)

    def _start(self, should_stop: Callable[[], bool]) -> None:
        options = self.options
        now = self.clock.now_us()
        cursor = self.store.load() if self.store is not None else None
        start = self.source.start(
            cursor=cursor,
            since_us=parse_time(options.since, now) if options.since else None,
            lookback_s=warmup_seconds(self.engine.settings),
            now_us=now,
        )
        # Said now, and once (the source's notices carry the start's note too).
        for notice in self.source.take_notices():
            self._note(notice)
        if not options.all_instances and not options.source.stdin:
            # Said at start, not after W: a typo must not look like a quiet instance.
            for line in _missing(self.names, options.source, self.reading.config.unit_template):
                self.notes.append(line)
                print(f"logwatch: {line}", file=sys.stderr, flush=True)
        # With a cursor everything after it is new, and all that is piped in is shown;
        # otherwise the lookback is warm-up.
        resumed = bool(cursor and not start.cursor_lost) or bool(options.since)
        self.driver.hush_before_us = None if resumed or self.piped else now
        if self.fleet is not None:
            self.fleet.attach(self)
        if self.dashboard is not None:
            self.dashboard.start()
        if not options.source.stdin and start.how != "cursor" and start.at_us is not None:
            self._take_last_said(start.at_us)
        # The backlog up to now, before going live (bounded by the source's batches).
        while not should_stop() and self._read(0.0):
            pass
        if not self.piped:
            # From here on everything read from the journal is new, whatever its stamp (a
            # host behind stamps its new entries in the past).
            self._go_live(self.clock.now_us())
        if self.piped:
            # Piped input is live later, when _catch_up says so (then "live from").
            self._note_only(
                "reading piped input: live once an entry stamped about now comes, or once "
                f"the pipe has been quiet for {IDLE_US // US}s"
            )
        else:
            # Said once the backlog is read: from here on an entry is shown as it comes
            # (and a script or test waiting for follow to be ready waits for this line).
            self._note_only(f"live from {format_time(self.clock.now_us())}")

    def _take_last_said(self, start_us: int) -> None:
        """What the journal last said of each instance before the start (its last entry
        and last round), taken in first: an instance already silent or stalled is seen
        so at once (sources/last_said.py)."""
        names = None if self.options.all_instances else self.names
        stale = self.engine.settings.fallback_window_us
        entries, notes = look_back(self.options.source, self.reading, names, start_us, stale)
        if entries:
            everyone = Selection(self.reading.selection.instances, None, None)
            r = self.reading
            triaged = self.triage.batch(entries)
            steps = read_steps(triaged, self.decoder, r.matcher, everyone, self.driver.tally)
            self.driver.take(steps)
        for note in notes:
            self._note(note)

    def _go_live(self, now_us: int) -> None:
        """The backlog is read: what it left pending or firing is shown, and from now on
        the wall clock moves time."""
        self.live = True
        self._caught_up_us = now_us
        self.driver.tick(now_us - LATENESS_US)
        self.driver.announce_active()
        self.driver.hush_before_us = None
        if self.piped:
            self._note_only(f"live from {format_time(now_us)}")

    def _read(self, timeout_s: float) -> int:
        """Takes in what the source has (waiting up to `timeout_s` for it); the count.
        `_drained_us` says when the source was last read to its end."""
        items = self.source.poll(timeout_s, self.triage)
        self._drained_us = self.clock.now_us()
        if items:
            r = self.reading
            steps = read_steps(items, self.decoder, r.matcher, r.selection, self.driver.tally)
            self.driver.take(steps)
        return len(items)

    def step(self, timeout_s: float = TICK_S) -> bool:
        """One turn: what came within `timeout_s`, then the clock moves to now. False when
        the follow has ended by itself (piped input closed, `q` on the dashboard)."""
        now = self.clock.now_us()
        if self.live:
            self.host_time.arrival_us = now
            self.host_time.written_after_us = self._caught_up_us
        count = self._read(timeout_s)
        store_notices = self.store.take_notices() if self.store is not None else []
        for notice in [*self.source.take_notices(), *store_notices]:
            self._note(notice)
        now = self.clock.now_us()
        if not self.live:
            self._catch_up(count, now)
        if self.live and count < MAX_BATCH:
            # Caught up with the journal as it was when read (a full batch: more is
            # waiting). Not with it as it is now: what was written while the batch was
            # taken in is still unread, and the clock must not run ahead of it.
            self.host_time.arrival_us = now
            self._caught_up_us = self._drained_us
            self.driver.tick(self._drained_us - LATENESS_US)
        if self.on_tick is not None:
            # Until live, time is the entries' (a capture piped in): ages count from it.
            shown_at = now if self.live else (self.engine.now_us or now)
            self.on_tick(self.engine, shown_at)
        if self.dashboard is not None and self.dashboard.take_keys():
            return False  # q
        if self.store is not None and now - self._last_save_us >= CURSOR_SAVE_US:
            if self.source.cursor:
                self.store.save(self.source.cursor)
            self._last_save_us = now
        if isinstance(self.source, StdinFollower) and self.source.finished:
            if not self.live:
                # A capture piped at once ends as its replay does: at its last entry.
                self.driver.finish()
            return False
        return True

    def _catch_up(self, count: int, now_us: int) -> None:
        """Piped input: live once an entry stamped about now comes (`journalctl -f`), or
        once the pipe has been quiet for IDLE_US after what it held."""
        last = self.driver.tally.last_us
        if last is not None and last >= now_us - self.engine.settings.clock_tolerance_us:
            self._go_live(now_us)
            return
        if count:
            self._quiet_since_us = None
        elif self._quiet_since_us is None:
            self._quiet_since_us = now_us
        elif now_us - self._quiet_since_us >= IDLE_US:
            self._go_live(now_us)

    def reload(self) -> None:
        """SIGHUP: patterns and config read anew (the old ones kept if the new are broken);
        what only a start can change (the rules' numbers, which units are read, unit
        names and aliases) is kept, and said when it changed."""
        options = self.options
        try:
            fresh = build_reading(
                instances=() if options.all_instances else options.instances,
                pattern_dirs_opt=options.pattern_dirs,
                config_path=options.config_path,
            )
            settings = rule_settings(
                fresh, options.round_period, options.round_deadline, options.expect_clients
            )
        except LogwatchError as e:
            print(f"logwatch: reload failed, keeping the old patterns: {e}", file=sys.stderr)
            return
        kept = []
        if settings != self.engine.settings:
            kept.append("the rules' numbers")
        old, new = self.reading.config, fresh.config
        if (old.unit_template, old.aliases) != (new.unit_template, new.aliases):
            kept.append("unit names and aliases")
        self.reading = fresh
        self.decoder = fresh.new_decoder()
        self.triage = _triage(fresh)
        if kept:
            print(
                f"logwatch: patterns reloaded; {' and '.join(kept)} changed in the config "
                "and apply at the next start (kept as they were)",
                file=sys.stderr,
            )
        else:
            print("logwatch: patterns and config reloaded", file=sys.stderr)

    def close(self, *, summed: bool = True) -> None:
        """Saves the cursor, closes the source, gives the sinks the summary (unless the
        watch ended on input it cannot read: then the sinks close with none)."""
        try:
            if self.store is not None and self.source.cursor:
                self.store.save(self.source.cursor)
                for notice in self.store.take_notices():
                    self._note(notice)
            self.source.close()
        finally:
            summary: dict[str, Any] | None = None
            if summed:
                summary = self.engine.summary().to_json()
                summary.update(self.driver.tally.to_json())
                summary["notes"] = self.notes
            self.driver.sink.close(summary)
            if self.fleet is not None:
                self.fleet.close()

    def _note(self, text: str) -> None:
        self.notes.append(text)
        self._note_only(text)

    def _note_only(self, text: str) -> None:
        if self.output != "tui":
            print(f"logwatch: {text}", file=sys.stderr)

    def _dashboard_tick(self, engine: Engine, now_us: int) -> None:
        if self.dashboard is not None:
            self.dashboard.update(engine.instances(), now_us, self.notes)


def run_follow(options: FollowOptions, *, done: threading.Event | None = None) -> int:
    """Follow until SIGINT/SIGTERM, the end of piped input, or `done` (the demo) is set;
    returns the exit code."""
    stop = Stop()
    stop.install()
    try:
        run = FollowRun(options, clock=WallClock(), should_stop=lambda: stop.stop)
        summed = True
        try:
            while not stop.stop and run.step(TICK_S):
                if stop.reload:
                    stop.reload = False
                    run.reload()
                if done is not None and done.is_set():
                    break
        except LogwatchError:
            summed = False  # input it cannot read: its one line on stderr is the answer
            raise
        finally:
            run.close(summed=summed)
    finally:
        stop.restore()
    return 0


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

    def close(self, summary: dict[str, Any] | None) -> None:
        for s in self.sinks:
            s.close(summary)


def _missing(names: Sequence[str], source: SourceOptions, template: str) -> list[str]:
    from logwatch.journal_units import journal_units, missing_instances_note

    directory = str(source.directory) if source.directory else None
    units = journal_units(directory, [str(f) for f in source.files], journalctl=source.journalctl)
    return missing_instances_note(names, units, UnitTemplate(template))


def _triage(reading: Reading) -> Triage:
    """What a follow passes over undecoded, as a replay does: other writers' entries, and
    lines no pattern can claim (only who and when go on). It never settles: what the
    first entries of a follow show need not hold for days."""
    return Triage(reading.writers, reading.matcher.screen(), settles=False)
