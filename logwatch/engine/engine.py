"""The engine: one event-time clock driving every instance's state and rules, times passed in."""

from __future__ import annotations

from collections import Counter

from logwatch.engine.alerts import ROUND_STALL
from logwatch.engine.clock import TimerQueue
from logwatch.engine.diagnosis import EvidenceLog, diagnosed
from logwatch.engine.outputs import (
    AlertTransition,
    InstanceSummary,
    Output,
    RoundObservation,
    Summary,
)
from logwatch.engine.rules import Rule, instance_rules, stirs_rules
from logwatch.engine.settings import RuleSettings
from logwatch.engine.state import InstanceState
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
CLIENT_LEAD_US: int = US
"""The furthest one client entry moves the one clock ahead."""


class Watch:
    """One instance under watch: its state, its six rules and their alert timeline."""

    __slots__ = ("evidence", "fired", "index", "rules", "state", "timeline", "waits_for_entry")

    def __init__(self, index: int, name: str, settings: RuleSettings, first_us: int) -> None:
        self.index = index
        self.state = InstanceState(name, settings, first_us)
        self.rules: tuple[Rule, ...] = instance_rules(name, settings)
        self.timeline: BoundedLog[AlertTransition] = BoundedLog(TIMELINE)
        self.fired: Counter[str] = Counter()
        self.waits_for_entry = True
        self.evidence = EvidenceLog()

    def apply(self, event: Event, now_us: int) -> tuple[list[Output], bool]:
        """The state takes `event` in, then the rules look: (outputs, whether the rules'
        deadlines may have moved)."""
        fin = self.state.apply(event)
        self.evidence.record(event)
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
            transition = rule.on_event(state, event, fin, now_us)
            if transition is not None:
                self._record(transition, out)
        return out, True

    def on_timer(self, at_us: int) -> list[Output]:
        out: list[Output] = []
        for rule in self.rules:
            transition = rule.on_timer(self.state, at_us)
            if transition is not None:
                self._record(transition, out)
        return out

    def deadline(self, now_us: int | None) -> int | None:
        """The earliest rule deadline, never before the clock: a deadline that moved into
        the past (W shrank, a late entry) is due now."""
        state = self.state
        reference = state.last_entry_us if now_us is None else now_us
        # One plain loop: this runs for every event, and comprehensions cost more here.
        earliest: int | None = None
        waits = False
        for rule in self.rules:
            due = rule.deadline(state, reference)
            if due is not None and (earliest is None or due < earliest):
                earliest = due
            waits = waits or rule.waits_for_entry
        self.waits_for_entry = waits
        if earliest is None or now_us is None:
            return earliest
        return earliest if earliest > now_us else now_us

    def _record(self, transition: AlertTransition, out: list[Output]) -> None:
        if transition.alert == ROUND_STALL and transition.state == "firing":
            transition = diagnosed(transition, self.evidence, self.state)
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
            firing={r.alert.name: r.alert.severity for r in self.rules if r.alert.firing},
            pending=tuple(r.alert.name for r in self.rules if r.alert.pending),
        )

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
                    r.alert.name,
                    "firing" if r.alert.firing else "pending",
                    r.alert.severity,
                    r.alert.since_us,
                    r.alert.summary,
                )
                for r in self.rules
                if r.alert.active
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
    The clock only moves forward; a timer due before an entry's time fires first,
    stamped with its own deadline; one due exactly at that time fires after the entry
    (a finalization landing on the stall deadline prevents the stall), when the clock
    next moves past it or `advance` reaches it.
    """

    def __init__(self, settings: RuleSettings | None = None) -> None:
        self.settings = settings if settings is not None else RuleSettings()
        self._now: int | None = None
        self._watches: dict[str, Watch] = {}
        self._by_index: list[Watch] = []
        self._timers = TimerQueue()

    @property
    def now_us(self) -> int | None:
        """The clock: the latest time seen (None before any)."""
        return self._now

    def observe(self, instance: str | None, time_us: int, role: str | None = None) -> list[Output]:
        """A decoded record at `time_us`, of a writer in `role`: moves the clock; the
        instance (if any) is alive."""
        out = self._move(self._clock_time(time_us, role), inclusive=False)
        if instance is not None:
            watch = self._watch(instance, time_us)
            watch.state.touch(time_us)
            # Deadlines depend on the instance's entries only through its liveness.
            if watch.waits_for_entry:
                self._schedule(watch)
        return out

    def feed(self, event: Event) -> list[Output]:
        """A matched event: moves the clock, updates its instance, runs its rules."""
        out = self._move(self._clock_time(event.time_us, event.role), inclusive=False)
        watch = self._watch(event.instance, event.time_us)
        assert self._now is not None
        outputs, stirred = watch.apply(event, self._now)
        out.extend(outputs)
        if stirred or watch.waits_for_entry:
            self._schedule(watch)
        return out

    def advance(self, now_us: int) -> list[Output]:
        """Time passed with no entry: fires every timer due up to and including `now_us`."""
        return self._move(now_us, inclusive=True)

    def start_watch(self, instance: str, at_us: int) -> None:
        """The watch on `instance` starts at `at_us` (follow, after the warm-up): "no round
        finalized for W" counts from the later of this and the last finalization."""
        watch = self._watch(instance, at_us)
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

    def _watch(self, instance: str, first_us: int) -> Watch:
        watch = self._watches.get(instance)
        if watch is None:
            watch = Watch(len(self._by_index), instance, self.settings, first_us)
            self._watches[instance] = watch
            self._by_index.append(watch)
        return watch

    def _schedule(self, watch: Watch) -> None:
        self._timers.schedule(watch.index, watch.deadline(self._now))

    def _clock_time(self, time_us: int, role: str | None) -> int:
        """How far an entry at `time_us` moves the clock. A client's clock is its own and
        clients are untrusted: one far ahead would fire every instance's stall at once
        and make every later round late, so a client moves the clock by CLIENT_LEAD_US at
        most (clients writing on, in time, still carry it along)."""
        now = self._now
        if role == "client" and now is not None and time_us > now + CLIENT_LEAD_US:
            return now
        return time_us

    def _move(self, time_us: int, *, inclusive: bool) -> list[Output]:
        out: list[Output] = []
        while (due := self._timers.pop_due(time_us, inclusive=inclusive)) is not None:
            deadline, index = due
            if self._now is None or deadline > self._now:
                self._now = deadline
            watch = self._by_index[index]
            out.extend(watch.on_timer(self._now))
            self._schedule(watch)
            if self._timers.deadline(index) == deadline:
                raise RuntimeError(f"rule timer of {watch.state.name} did not move on")
        if self._now is None or time_us > self._now:
            self._now = time_us
        return out
