"""The engine: one event-time clock driving every instance's state and rules, times passed in."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from logwatch.engine.alerts import Alert
from logwatch.engine.host_offsets import OffsetChange
from logwatch.engine.hostclock import HostTime
from logwatch.engine.outputs import (
    AlertTransition,
    InstanceSummary,
    Output,
    RoundObservation,
    Summary,
)
from logwatch.engine.rules import NoData, Rule, instance_rules, stirs_rules
from logwatch.engine.settings import RuleSettings
from logwatch.engine.skews import HostSkews
from logwatch.engine.state import InstanceState
from logwatch.engine.timers import TimerQueue
from logwatch.engine.views import (
    ActiveAlert,
    Gap,
    InstanceView,
    ServerView,
)
from logwatch.engine.windows import BoundedLog
from logwatch.events import Event
from logwatch.times import US

TIMELINE: int = 500
MAX_HELD: int = 100_000
"""Entries of skewed hosts held until the clock reaches their corrected time; past this,
the earliest is taken in at the clock (and counted)."""


class Watch:
    """One instance under watch: its state, its rules, its hosts' clock_skew alerts and
    their alert timeline."""

    __slots__ = ("fired", "index", "rules", "skews", "state", "timeline", "waits_for_entry")

    def __init__(
        self,
        index: int,
        name: str,
        settings: RuleSettings,
        start_us: int,
        *,
        entries_seen: bool,
        muted: frozenset[str] = frozenset(),
    ) -> None:
        self.index = index
        self.state = InstanceState(name, settings, start_us, entries_seen=entries_seen)
        rules = instance_rules(name, settings)
        self.rules: tuple[Rule, ...] = tuple(r for r in rules if r.alert.name not in muted)
        self.timeline: BoundedLog[AlertTransition] = BoundedLog(TIMELINE)
        self.fired: Counter[str] = Counter()
        self.waits_for_entry = True
        self.skews = HostSkews(name)

    def note_host(
        self, host: str, skew_us: int, at_us: int, role: str | None = None
    ) -> AlertTransition | None:
        """The clock of `host` (in `role`) is off by `skew_us` (0: in line) at clock time
        `at_us`: clock_skew fires for a host newly off, and resolves when it is back in line."""
        transition = self.skews.note(host, skew_us, at_us, role)
        if transition is not None:
            self.timeline.append(transition)
            if transition.state == "firing":
                self.fired[transition.alert] += 1
        return transition

    def first_entry(self, at_us: int) -> list[Output]:
        """The instance's first entry (it was named, and had shown none)."""
        out: list[Output] = []
        for rule in self.rules:
            if isinstance(rule, NoData):
                transition = rule.on_entry(self.state, at_us)
                if transition is not None:
                    self._record(transition, out)
        return out

    def apply(self, event: Event, now_us: int) -> tuple[list[Output], bool]:
        """The state takes `event` in, then the rules look: (outputs, whether the rules'
        deadlines may have moved)."""
        fin = self.state.apply(event)
        out: list[Output] = []
        if not stirs_rules(event, fin):
            return out, False
        if fin is not None and fin.round is not None and fin.duplicate_of is None:
            out.append(
                RoundObservation(
                    self.state.name, fin.at_us, fin.round, fin.participants, fin.leader
                )
            )
        state = self.state
        for rule in self.rules:
            if rule.held_back():
                continue
            transition = rule.on_event(state, event, fin, now_us)
            if transition is not None:
                self._record(transition, out)
        return out, True

    def on_timer(self, at_us: int) -> list[Output]:
        out: list[Output] = []
        for rule in self.rules:
            if rule.held_back():
                continue
            transition = rule.on_timer(self.state, at_us)
            if transition is not None:
                self._record(transition, out)
        return out

    def update_deadline(self, now_us: int | None) -> int | None:
        """The earliest rule deadline, never before the clock (a deadline that moved into
        the past, as W shrank or a late entry came, is due now); also updates
        `waits_for_entry`."""
        state = self.state
        reference = state.last_entry_us if now_us is None else now_us
        # One plain loop: this runs for every event, and comprehensions cost more here.
        earliest: int | None = None
        waits = False
        for rule in self.rules:
            if rule.held_back():
                continue
            due = rule.deadline(state, reference)
            if due is not None and (earliest is None or due < earliest):
                earliest = due
            waits = waits or rule.waits_for_entry(state, reference)
        self.waits_for_entry = waits
        if earliest is None or now_us is None:
            return earliest
        return earliest if earliest > now_us else now_us

    def _record(self, transition: AlertTransition, out: list[Output]) -> None:
        self.timeline.append(transition)
        if transition.state == "firing":
            self.fired[transition.alert] += 1
        out.append(transition)

    def summary(self) -> InstanceSummary:
        st = self.state
        period = st.period_us()
        return InstanceSummary(
            instance=st.name,
            rounds=st.rounds_finalized,
            last_round=st.last_round,
            last_round_at_us=st.last_round_us,
            round_period_s=None if period is None else period / US,
            round_period_estimated=st.period_estimated,
            alerts_fired=dict(sorted(self.fired.items())),
            firing={a.name: a.severity for a in self.alerts() if a.firing},
            pending=tuple(a.name for a in self.alerts() if a.pending),
        )

    def alerts(self) -> list[Alert]:
        """Every alert of the instance: its rules', then its hosts' clock_skew."""
        return [r.alert for r in self.rules] + self.skews.alerts()

    def view(self, now_us: int) -> InstanceView:
        st = self.state
        window = st.window_us()
        elapsed_s = max((now_us - st.watch_start_us) / US, 1.0)
        gap = None
        if st.longest_gap is not None:
            gap = Gap(st.longest_gap[0], st.longest_gap[1], open=False)
        if st.last_final_us is not None and (
            gap is None or now_us - st.last_final_us > gap.length_us
        ):
            gap = Gap(st.last_final_us, now_us - st.last_final_us, open=True)
        return InstanceView(
            instance=st.name,
            at_us=now_us,
            watch_start_us=st.watch_start_us,
            entries_seen=st.entries_seen,
            last_round=st.last_round,
            last_round_at_us=st.last_round_us,
            rounds_finalized=st.rounds_finalized,
            round_rate_1m=st.rate.count(now_us, 60) * 60 / min(60.0, elapsed_s),
            round_rate_10m=st.rate.count(now_us, 600) * 60 / min(600.0, elapsed_s),
            round_period_s=None if (p := st.period_us()) is None else p / US,
            round_period_estimated=st.period_estimated,
            window_s=None if window is None else window / US,
            longest_gap=gap,
            leader=st.leader,
            leaders_in_window=tuple(host for _, host in st.leaders_within(now_us)),
            servers=tuple(
                ServerView(host, s.last_seen_us, s.last_leader_only_us)
                for host, s in sorted(st.servers.items())
            ),
            leader_changes=tuple(st.leader_changes),
            leader_changes_dropped=st.leader_changes.dropped,
            clients_registered=len(st.clients_registered),
            clients_active=st.clients_active_now(now_us),
            aggregator_last_seen_us=st.aggregator_last_seen_us,
            last_forwarded_us=st.last_forwarded_us,
            recent_rounds=tuple(st.recent_rounds),
            participants_series=st.series.buckets(),
            active_alerts=tuple(
                ActiveAlert(
                    a.name,
                    "firing" if a.firing else "pending",
                    a.severity,
                    a.since_us,
                    a.summary,
                )
                for a in self.alerts()
                if a.active
            ),
            timeline=tuple(self.timeline),
            timeline_dropped=self.timeline.dropped,
            summary=self.summary(),
        )


class Engine:
    """Feeds entries and events of any number of instances to their rules on one clock.

    Call `observe` for every decoded record and `feed` for every matched event (feeding
    counts as observing), `advance` when time passes with no entry (the wall clock in
    follow, the end of input in replay). Each returns the outputs it caused, in order.

    Every entry is first placed by `time` (a HostTime: docs/clock.md): at its host's
    corrected time, and only entries of hosts in line move the clock. An entry of a
    skewed host that lands ahead of the clock is held until the clock gets there. The
    clock only moves forward; a timer due before an entry's time fires first, stamped
    with its own deadline; one due exactly at that time fires after the entry (a
    finalization landing on the stall deadline prevents the stall), when the clock next
    moves past it or `advance` reaches it.
    """

    def __init__(self, settings: RuleSettings | None = None, time: HostTime | None = None) -> None:
        self.settings = settings if settings is not None else RuleSettings()
        self.time = time if time is not None else HostTime(self.settings.clock_tolerance_us)
        self._now: int | None = None
        self._watches: dict[str, Watch] = {}
        self._by_index: list[Watch] = []
        self._timers = TimerQueue()
        self._expected: list[str] = []
        self._muted: dict[str, frozenset[str]] = {}
        # (corrected µs, sequence, instance, host, placement, event): see _hold.
        self._held: list[_Held] = []
        self._held_seq = 0
        self._late_outputs: list[Output] = []
        self.held_early = 0
        """Entries of skewed hosts taken in before their time because the hold was full."""

    @property
    def now_us(self) -> int | None:
        """The clock: the latest agreed time seen (None before any)."""
        return self._now

    def expect(self, instances: Iterable[str]) -> None:
        """Instances named by the operator: watched from the clock's first time on, and
        `no_data` if they show no entry for W."""
        for name in instances:
            if name not in self._watches and name not in self._expected:
                self._expected.append(name)
        if self._now is not None:
            self._open_expected()

    def mute(self, instance: str, alerts: Iterable[str]) -> None:
        """The rules of `alerts` are not run for `instance` (its input cannot support them:
        rounds of several instances mixed under one name). Before its first entry."""
        self._muted[instance] = self._muted.get(instance, frozenset()) | frozenset(alerts)

    def observe(
        self, instance: str | None, time_us: int, role: str | None = None, host: str | None = None
    ) -> list[Output]:
        """A decoded record at `time_us`, written by `host` in `role`: moves the clock (as
        far as its host is trusted to); the instance (if any) is alive."""
        placed = self.time.place(host, role, time_us, self._now)
        if not placed.trusted and (self._now is None or placed.time_us > self._now):
            self._hold(placed.time_us, instance, None)
            return []
        out = self._move(placed.time_us, inclusive=False) if placed.trusted else []
        if instance is not None:
            self._take_entry(instance, placed.time_us, out)
        return out

    def feed(self, event: Event) -> list[Output]:
        """A matched event: measures its host's clock (a line of a round), moves the clock,
        updates its instance, runs its rules."""
        changes = self.time.note(event)
        placed = self.time.place(event.host, event.role, event.time_us, self._now)
        if placed.time_us != event.time_us:
            event = event._replace(time_us=placed.time_us)
        if not placed.trusted and (self._now is None or placed.time_us > self._now):
            self._hold(placed.time_us, event.instance, event)
            out = self._late_outputs
            self._late_outputs = []
        else:
            out = self._move(placed.time_us, inclusive=False) if placed.trusted else []
            self._take_event(event, out)
        for change in changes:
            self._note_host(change, out)
        return out

    def advance(self, now_us: int) -> list[Output]:
        """Time passed with no entry: fires every timer due up to and including `now_us`."""
        return self._move(now_us, inclusive=True)

    def release_held(self) -> list[Output]:
        """The end of input: entries still held (their corrected time lies past the end
        the clock reached) are taken in at the clock."""
        out: list[Output] = []
        while self._held:
            held = heapq.heappop(self._held)
            out.extend(self._take_held(held, at_clock=True))
        return out

    def start_watch(self, instance: str, at_us: int) -> None:
        """The watch on `instance` starts at `at_us` (follow, after the warm-up): "no round
        finalized for W" counts from the later of this and the last finalization."""
        watch = self._watch(instance, at_us, entries_seen=instance in self._watches)
        watch.state.watch_start_us = at_us
        self._schedule(watch)

    def instances(self) -> tuple[InstanceView, ...]:
        """A snapshot of every instance at the clock, by name."""
        now = self._now if self._now is not None else 0
        return tuple(self._watches[name].view(now) for name in sorted(self._watches))

    def instance(self, name: str) -> InstanceView | None:
        watch = self._watches.get(name)
        return None if watch is None else watch.view(self._now if self._now is not None else 0)

    def summary(self) -> Summary:
        return Summary(
            self._now, tuple(self._watches[name].summary() for name in sorted(self._watches))
        )

    def timers_held(self) -> int:
        """Timer entries held, stale ones included (for the memory-bound tests)."""
        return self._timers.heap_size()

    # -- taking entries in ---------------------------------------------------------------

    def _take_entry(self, instance: str, placed_us: int, out: list[Output]) -> None:
        at = placed_us if self._now is None else min(placed_us, self._now)
        watch = self._watch(instance, at)
        if not watch.state.entries_seen:
            out.extend(watch.first_entry(at if self._now is None else self._now))
        watch.state.touch(at)
        # Deadlines depend on the instance's entries only through its liveness.
        if watch.waits_for_entry or not watch.state.entries_seen:
            self._schedule(watch)

    def _take_event(self, event: Event, out: list[Output]) -> None:
        now = self._now
        if now is not None and event.time_us > now:
            event = event._replace(time_us=now)
        watch = self._watch(event.instance, event.time_us)
        first = not watch.state.entries_seen
        if first:
            out.extend(watch.first_entry(event.time_us if now is None else now))
        outputs, stirred = watch.apply(event, self._now if self._now is not None else event.time_us)
        out.extend(outputs)
        if stirred or first or watch.waits_for_entry:
            self._schedule(watch)

    def _note_host(self, change: OffsetChange, out: list[Output]) -> None:
        """A host's clock newly measured: clock_skew fires for a host newly off, and
        resolves when it is back in line, at the clock."""
        watch = self._watches.get(change.instance)
        if watch is None:
            return
        skew = change.offset_us if self.time.skewed(change.offset_us) else 0
        if not skew and change.host not in watch.skews:
            return
        at = self._now if self._now is not None else watch.state.last_entry_us
        transition = watch.note_host(change.host, skew, at, change.role)
        if transition is not None:
            out.append(transition)

    def _hold(self, placed_us: int, instance: str | None, event: Event | None) -> None:
        """An entry that may not move the clock and lies ahead of it (a skewed host behind
        comes early in a capture merged by time; live, an entry ahead of the wall clock):
        it waits for the clock, bounded."""
        self._held_seq += 1
        heapq.heappush(self._held, _Held(placed_us, self._held_seq, instance, event))
        if len(self._held) > MAX_HELD:
            self.held_early += 1
            # Taken in now, at the clock: its outputs have no caller to go to but the next.
            self._late_outputs.extend(self._take_held(heapq.heappop(self._held), at_clock=True))

    def _take_held(self, held: _Held, *, at_clock: bool) -> list[Output]:
        if self._now is None:
            self._now = held.time_us
        out: list[Output] = []
        event = held.event
        if event is not None:
            if at_clock:
                event = event._replace(time_us=min(event.time_us, self._now))
            self._take_event(event, out)
        elif held.instance is not None:
            self._take_entry(held.instance, held.time_us, out)
        return out

    # -- the clock -----------------------------------------------------------------------

    def _watch(self, instance: str, start_us: int, *, entries_seen: bool = True) -> Watch:
        watch = self._watches.get(instance)
        if watch is None:
            # A watch starts at the clock, not at a late entry's own time (a host behind
            # would start it long before anything was seen), unless only a little late.
            now, tolerance = self._now, self.settings.clock_tolerance_us
            start = start_us if now is None else min(max(start_us, now - tolerance), now)
            watch = Watch(
                len(self._by_index),
                instance,
                self.settings,
                start,
                entries_seen=entries_seen,
                muted=self._muted.get(instance, frozenset()),
            )
            self._watches[instance] = watch
            self._by_index.append(watch)
        return watch

    def _open_expected(self) -> None:
        assert self._now is not None
        for name in self._expected:
            if name not in self._watches:
                self._schedule(self._watch(name, self._now, entries_seen=False))
        self._expected.clear()

    def _schedule(self, watch: Watch) -> None:
        self._timers.schedule(watch.index, watch.update_deadline(self._now))

    def _move(self, time_us: int, *, inclusive: bool) -> list[Output]:
        out: list[Output] = self._late_outputs
        if out:
            self._late_outputs = []
        else:
            out = []
        if self._now is None:
            self._now = time_us
            if self._expected:
                self._open_expected()
        held = self._held
        while True:
            if held and (held[0].time_us < time_us or (inclusive and held[0].time_us == time_us)):
                due = self._timers.earliest()
                if due is None or held[0].time_us <= due:
                    entry = heapq.heappop(held)
                    self._now = max(self._now, entry.time_us)
                    out.extend(self._take_held(entry, at_clock=False))
                    continue
            popped = self._timers.pop_due(time_us, inclusive=inclusive)
            if popped is None:
                break
            deadline, index = popped
            self._now = max(self._now, deadline)
            watch = self._by_index[index]
            out.extend(watch.on_timer(self._now))
            self._schedule(watch)
            if self._timers.deadline(index) == deadline:
                raise RuntimeError(f"rule timer of {watch.state.name} did not move on")
        self._now = max(self._now, time_us)
        return out


class _Held(NamedTuple):
    """An entry waiting for the clock, in order of its placed time, then of arrival."""

    time_us: int
    seq: int
    instance: str | None
    event: Event | None
