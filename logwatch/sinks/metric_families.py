"""A follow's state as Prometheus metric families: the snapshot a scrape reads, and every
series' name, help and labels (docs/fleet.md lists them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from logwatch.engine.alerts import SEVERITY
from logwatch.engine.diagnosis import CAUSES
from logwatch.engine.views import InstanceView
from logwatch.times import US

PARTICIPANT_BUCKETS: tuple[int, ...] = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
"""Upper bounds of the participants histogram: zipnet rounds hold tens to thousands."""
OUTCOMES = ("matched", "unmatched", "unreadable", "outside")


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


def empty_snapshot(
    names: Sequence[str], fallback_window_s: float, patterns: Sequence[str] = ()
) -> FollowSnapshot:
    """What a scrape shows before the first tick: the named instances and every pattern
    at 0 (a rule on `increase()` of a series must see it before its first event)."""
    return FollowSnapshot(
        None, tuple(names), (), dict.fromkeys(OUTCOMES, 0), dict.fromkeys(patterns, 0),
        dict.fromkeys(patterns, 0), {}, {}, {}, fallback_window_s, None,
    )  # fmt: skip


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
    # Every pattern of every instance, at 0 before its first event.
    instances = {v if isinstance(v, str) else v.instance for v in _views(snap)}
    instances |= {instance for instance, _ in snap.events}
    patterns = set(snap.pattern_matches) | {pattern for _, pattern in snap.events}
    for instance in sorted(instances):
        for pattern in sorted(patterns):
            events.add_metric([instance, pattern], snap.events.get((instance, pattern), 0))
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
