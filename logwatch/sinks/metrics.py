"""Prometheus metrics of a running follow, read from a snapshot of the engine at scrape time.

The follow loop runs in the main thread and owns the engine; the HTTP server answers
scrapes in a thread of its own. A scrape asks the loop for a snapshot and waits: the
loop takes a `FollowSnapshot` (immutable) on its next tick, at most 250 ms later, and
hands it over. So a scrape never sees the engine half-way through an entry, and an
unscraped follow spends nothing on snapshots (one of many instances costs milliseconds).

Every instance named on the command line or seen in the logs keeps all its series, at 0
when there is nothing to count, so a PromQL rule on them never falls silent.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import start_http_server
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from logwatch.engine.alerts import SEVERITY
from logwatch.engine.views import InstanceView
from logwatch.errors import UsageError
from logwatch.times import US

if TYPE_CHECKING:
    from logwatch.engine import Engine
    from logwatch.events import Event
    from logwatch.match import Matcher
    from logwatch.pipeline import Tally

PARTICIPANT_BUCKETS: tuple[int, ...] = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
"""Upper bounds of the participants histogram: zipnet rounds hold tens to thousands."""
OUTCOMES = ("matched", "unmatched", "unreadable", "outside")
CAUSES = ("committee_stuck", "aggregator_down", "min_participants_unmet", "unknown")
"""What engine/diagnosis.py names as the cause of a round stall."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """Cumulative counts of one instance's participants: per bucket (same order as
    PARTICIPANT_BUCKETS, not cumulative), and the total count and sum."""

    buckets: tuple[int, ...]
    count: int
    total: int


@dataclass(frozen=True, slots=True)
class NotifierStats:
    """What the Alertmanager sender did so far, per Alertmanager URL."""

    sent: Mapping[str, int]
    errors: Mapping[str, int]
    dropped: int
    queue_length: int
    queue_capacity: int


@dataclass(frozen=True, slots=True)
class FollowSnapshot:
    """Everything a scrape shows, as the follow loop saw it at `at_us` (engine clock)."""

    at_us: int | None
    names: tuple[str, ...]
    instances: tuple[InstanceView, ...]
    entries: Mapping[str, int]
    pattern_matches: Mapping[str, int]
    pattern_timeouts: Mapping[str, int]
    events: Mapping[tuple[str, str], int]
    participants: Mapping[str, Histogram]
    severities: Mapping[tuple[str, str], str]
    fallback_window_s: float
    last_entry_us: int | None


def empty_snapshot(names: Sequence[str], fallback_window_s: float) -> FollowSnapshot:
    """What a scrape shows before the first tick: the named instances at 0."""
    return FollowSnapshot(
        None, tuple(names), (), dict.fromkeys(OUTCOMES, 0), {}, {}, {}, {}, {},
        fallback_window_s, None,
    )  # fmt: skip


SCRAPE_WAIT_S = 2.0
"""How long a scrape waits for the follow loop's fresh snapshot before taking the last."""
RECENT_ROUNDS = 1024
"""Round numbers remembered per instance, so a second leader's copy of a round is not
counted twice in the participants histogram (as the engine counts rounds)."""


@dataclass(slots=True)
class Publisher:
    """Runs in the follow loop (one thread): counts what the engine does not keep (events
    per instance, the participants of every round) and publishes snapshots when a scrape
    asks for one (a snapshot of many instances costs milliseconds: not every tick)."""

    names: tuple[str, ...]
    fallback_window_s: float
    snapshot: FollowSnapshot = field(init=False)
    _events: Counter[tuple[str, str]] = field(default_factory=Counter)
    _hist: dict[str, list[int]] = field(default_factory=dict)
    _sums: Counter[str] = field(default_factory=Counter)
    _recent: dict[str, tuple[deque[int], set[int]]] = field(default_factory=dict)
    _severities: dict[tuple[str, str], str] = field(default_factory=dict)
    # A reload makes a new matcher that counts from 0: what the old ones counted is kept
    # here so the counters never go down.
    _matcher: Matcher | None = None
    _matched_base: Counter[str] = field(default_factory=Counter)
    _timeouts_base: Counter[str] = field(default_factory=Counter)
    # A scrape (another thread) sets `_wanted` and waits for the next generation.
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _wanted: bool = False
    _generation: int = 0

    def __post_init__(self) -> None:
        self.snapshot = empty_snapshot(self.names, self.fallback_window_s)

    def count_event(self, event: Event) -> None:
        """A matched event (called for every one, in the hot path)."""
        self._events[event.instance, event.name] += 1
        if event.name == "round_finalized":
            self._count_round(event)

    def request(self, timeout_s: float) -> FollowSnapshot:
        """For a scrape: a snapshot the loop takes on its next tick (at most 250 ms away),
        or the latest one if the loop is busier than `timeout_s` (a long warm-up)."""
        with self._cond:
            generation = self._generation
            self._wanted = True
            self._cond.wait_for(lambda: self._generation != generation, timeout_s)
            return self.snapshot

    def publish_if_wanted(self, engine: Engine, tally: Tally, matcher: Matcher) -> None:
        if self._wanted:
            self.publish(engine, tally, matcher)

    def publish(self, engine: Engine, tally: Tally, matcher: Matcher) -> None:
        """Takes a new snapshot and hands it to whoever waits for one."""
        views = engine.instances()
        for view in views:
            for active in view.active_alerts:
                self._severities[view.instance, active.alert] = active.severity
            for shown in view.timeline:
                self._severities[view.instance, shown.alert] = shown.severity
        if matcher is not self._matcher:
            if self._matcher is not None:
                for name, c in self._matcher.counts().items():
                    self._matched_base[name] += c.matched
                    self._timeouts_base[name] += c.timeouts
            self._matcher = matcher
        counts = matcher.counts()
        matched = Counter(self._matched_base)
        timeouts = Counter(self._timeouts_base)
        for name, c in counts.items():
            matched[name] += c.matched
            timeouts[name] += c.timeouts
        snapshot = FollowSnapshot(
            at_us=engine.now_us,
            names=self.names,
            instances=views,
            entries={
                "matched": sum(tally.matched.values()),
                "unmatched": tally.unmatched,
                "unreadable": tally.errors,
                "outside": tally.outside,
            },
            pattern_matches=dict(matched),
            pattern_timeouts=dict(timeouts),
            events=dict(self._events),
            participants={
                name: Histogram(tuple(b), sum(b), self._sums[name])
                for name, b in self._hist.items()
            },
            severities=dict(self._severities),
            fallback_window_s=self.fallback_window_s,
            last_entry_us=tally.last_us,
        )
        with self._cond:
            self.snapshot = snapshot
            self._wanted = False
            self._generation += 1
            self._cond.notify_all()

    def _count_round(self, event: Event) -> None:
        number = event.fields.get("round")
        participants = event.fields.get("participants")
        if not isinstance(number, int) or not isinstance(participants, int):
            return
        recent = self._recent.get(event.instance)
        if recent is None:
            recent = self._recent[event.instance] = (deque(), set())
        order, seen = recent
        if number in seen:
            return
        seen.add(number)
        order.append(number)
        if len(order) > RECENT_ROUNDS:
            seen.discard(order.popleft())
        hist = self._hist.setdefault(event.instance, [0] * (len(PARTICIPANT_BUCKETS) + 1))
        hist[_bucket(participants)] += 1
        self._sums[event.instance] += participants


def _bucket(value: int) -> int:
    for i, bound in enumerate(PARTICIPANT_BUCKETS):
        if value <= bound:
            return i
    return len(PARTICIPANT_BUCKETS)


class FollowCollector(Collector):
    """Turns the latest snapshot (and the Alertmanager sender's counts) into metric families."""

    def __init__(
        self,
        snapshot: Callable[[], FollowSnapshot],
        notifier: Callable[[], NotifierStats] | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._notifier = notifier

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        yield from _instance_metrics(snap)
        yield from _reading_metrics(snap)
        if self._notifier is not None:
            yield from _notifier_metrics(self._notifier())


def _views(snap: FollowSnapshot) -> list[InstanceView | str]:
    """Every instance to show: a view for those the engine knows, the bare name for a
    named one it does not know yet."""
    known = {v.instance for v in snap.instances}
    return [*snap.instances, *sorted(n for n in set(snap.names) if n not in known)]


def _instance_metrics(snap: FollowSnapshot) -> Iterator[Metric]:
    rounds = CounterMetricFamily(
        "logwatch_rounds_finalized",
        "Rounds finalized (each round number once).",
        labels=["instance"],
    )
    last_ts = GaugeMetricFamily(
        "logwatch_last_round_finalized_timestamp_seconds",
        "Event time of the last round finalized (0: none yet).",
        labels=["instance"],
    )
    last_round = GaugeMetricFamily(
        "logwatch_last_round_number", "Number of the last round finalized.", labels=["instance"]
    )
    last_participants = GaugeMetricFamily(
        "logwatch_last_round_participants",
        "Client envelopes in the last round finalized.",
        labels=["instance"],
    )
    watch_start = GaugeMetricFamily(
        "logwatch_watch_start_timestamp_seconds",
        "When the watch on the instance started (stalls count from the later of this "
        "and the last round).",
        labels=["instance"],
    )
    window = GaugeMetricFamily(
        "logwatch_round_window_seconds",
        "W = 3P + D, the stall threshold (the fallback window while P is unknown).",
        labels=["instance"],
    )
    period = GaugeMetricFamily(
        "logwatch_round_period_seconds",
        "Round period P, configured or estimated (0: not known yet).",
        labels=["instance"],
    )
    registered = GaugeMetricFamily(
        "logwatch_clients_registered", "Distinct clients registered.", labels=["instance"]
    )
    active = GaugeMetricFamily(
        "logwatch_clients_active", "Client hosts with an event in the last W.", labels=["instance"]
    )
    leader = GaugeMetricFamily(
        "logwatch_leader_is_local",
        "1 if this committee member acted as leader in the last W (from the logs).",
        labels=["instance", "member"],
    )
    firing = GaugeMetricFamily(
        "logwatch_alert_firing",
        "1 while the alert is firing.",
        labels=["alertname", "instance", "severity"],
    )
    stall_cause = GaugeMetricFamily(
        "logwatch_round_stall_cause",
        "1 for the likeliest cause of the round stall firing now (all 0: no stall).",
        labels=["instance", "cause"],
    )
    participants = HistogramMetricFamily(
        "logwatch_round_participants",
        "Client envelopes per finalized round.",
        labels=["instance"],
    )
    events = CounterMetricFamily(
        "logwatch_events",
        "Events matched, by instance and pattern.",
        labels=["instance", "pattern"],
    )
    for item in _views(snap):
        name = item if isinstance(item, str) else item.instance
        view = None if isinstance(item, str) else item
        labels = [name]
        rounds.add_metric(labels, view.rounds_finalized if view else 0)
        last_ts.add_metric(labels, _seconds(view.last_round_at_us if view else None))
        last_round.add_metric(labels, (view.last_round or 0) if view else 0)
        points = view.recent_rounds if view else ()
        last_participants.add_metric(labels, (points[-1].participants or 0) if points else 0)
        watch_start.add_metric(labels, _seconds(view.watch_start_us if view else None))
        window.add_metric(
            labels, (view.window_s if view and view.window_s else snap.fallback_window_s)
        )
        period.add_metric(labels, (view.round_period_s or 0.0) if view else 0.0)
        registered.add_metric(labels, view.clients_registered if view else 0)
        active.add_metric(labels, view.clients_active if view else 0)
        if view is not None:
            leaders = set(view.leaders_in_window)
            for server in view.servers:
                leader.add_metric([name, server.host], 1 if server.host in leaders else 0)
        hist = snap.participants.get(name)
        participants.add_metric(labels, _cumulative(hist), sum_value=hist.total if hist else 0)
        for alertname, severity in _alerts_of(snap, name):
            on = view is not None and any(
                a.alert == alertname and a.state == "firing" for a in view.active_alerts
            )
            firing.add_metric([alertname, name, severity], 1 if on else 0)
        cause = _stall_cause(view) if view else None
        for name_of_cause in CAUSES:
            stall_cause.add_metric([name, name_of_cause], 1 if cause == name_of_cause else 0)
    for (instance, pattern), count in sorted(snap.events.items()):
        events.add_metric([instance, pattern], count)
    yield from (rounds, last_ts, last_round, last_participants, watch_start, window, period)
    yield from (registered, active, leader, firing, stall_cause, participants, events)


def _stall_cause(view: InstanceView) -> str | None:
    """The cause named by the round_stall firing now, if one is."""
    if not any(a.alert == "round_stall" and a.state == "firing" for a in view.active_alerts):
        return None
    for t in reversed(view.timeline):
        if t.alert == "round_stall" and t.state == "firing":
            return t.cause
    return None


def _alerts_of(snap: FollowSnapshot, instance: str) -> list[tuple[str, str]]:
    """(alertname, severity) of every alert an instance has: the engine's rules, and any
    other it has shown (an alert added later keeps its series once seen)."""
    alerts: dict[str, str] = dict(SEVERITY)
    for (name, alertname), severity in snap.severities.items():
        if name == instance:
            alerts[alertname] = severity
    return sorted(alerts.items())


def _cumulative(hist: Histogram | None) -> list[tuple[str, float]]:
    counts = hist.buckets if hist else (0,) * (len(PARTICIPANT_BUCKETS) + 1)
    out: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*map(str, PARTICIPANT_BUCKETS), "+Inf"), counts, strict=True):
        running += count
        out.append((bound, running))
    return out


def _reading_metrics(snap: FollowSnapshot) -> Iterator[Metric]:
    entries = CounterMetricFamily(
        "logwatch_entries", "Journal entries read, by outcome.", labels=["outcome"]
    )
    for outcome in OUTCOMES:
        entries.add_metric([outcome], snap.entries.get(outcome, 0))
    matches = CounterMetricFamily(
        "logwatch_pattern_matches", "Records claimed, by pattern.", labels=["pattern"]
    )
    timeouts = CounterMetricFamily(
        "logwatch_pattern_timeouts",
        "Regex runs stopped by the timeout, by pattern.",
        labels=["pattern"],
    )
    for pattern in sorted(snap.pattern_matches):
        matches.add_metric([pattern], snap.pattern_matches[pattern])
        timeouts.add_metric([pattern], snap.pattern_timeouts.get(pattern, 0))
    last_entry = GaugeMetricFamily(
        "logwatch_last_entry_timestamp_seconds",
        "Time of the latest entry read (time() minus this: the journal's lag).",
    )
    last_entry.add_metric([], _seconds(snap.last_entry_us))
    yield from (entries, matches, timeouts, last_entry)


def _notifier_metrics(stats: NotifierStats) -> Iterator[Metric]:
    sent = CounterMetricFamily(
        "logwatch_notifications_sent",
        "Alert batches delivered, by Alertmanager.",
        labels=["alertmanager"],
    )
    errors = CounterMetricFamily(
        "logwatch_notifications_errors",
        "Alert batches that failed (refused, timed out, unreachable), by Alertmanager.",
        labels=["alertmanager"],
    )
    for url in sorted(stats.sent):
        sent.add_metric([url], stats.sent[url])
        errors.add_metric([url], stats.errors.get(url, 0))
    dropped = CounterMetricFamily(
        "logwatch_notifications_dropped", "Alert transitions dropped because the queue was full."
    )
    dropped.add_metric([], stats.dropped)
    length = GaugeMetricFamily(
        "logwatch_notifications_queue_length", "Alert transitions waiting to be sent."
    )
    length.add_metric([], stats.queue_length)
    capacity = GaugeMetricFamily(
        "logwatch_notifications_queue_capacity", "The most alert transitions the queue holds."
    )
    capacity.add_metric([], stats.queue_capacity)
    yield from (sent, errors, dropped, length, capacity)


def _seconds(us: int | None) -> float:
    return 0.0 if us is None else us / US


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9150`, `:9150` for every interface) → (host, port); UsageError
    otherwise."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--metrics wants HOST:PORT (e.g. 127.0.0.1:9150), not {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port_text)


class MetricsServer:
    """The `/metrics` endpoint on its own thread; `close()` stops it."""

    def __init__(self, address: str, collectors: Iterable[Collector]) -> None:
        host, port = parse_address(address)
        self.registry = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            self.registry.register(collector)
        # logwatch's own CPU and memory: what an operator checks first when it lags.
        ProcessCollector(registry=self.registry)
        try:
            self._server, self._thread = start_http_server(port, host, self.registry)
        except (OSError, socket.gaierror) as e:
            raise UsageError(f"--metrics {address}: {e.strerror or e}") from None
        self.port = int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(
    address: str,
    publisher: Publisher,
    notifier: Callable[[], NotifierStats] | None = None,
) -> MetricsServer:
    """Starts the endpoint for `publisher`'s snapshots; UsageError for an address that
    cannot be served (a bad one, a port in use)."""
    return MetricsServer(
        address, [FollowCollector(lambda: publisher.request(SCRAPE_WAIT_S), notifier)]
    )
