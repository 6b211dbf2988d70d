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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import start_http_server
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from logwatch.errors import UsageError
from logwatch.sinks.metric_families import (
    PARTICIPANT_BUCKETS,
    FollowCollector,
    FollowSnapshot,
    Histogram,
    NotifierStats,
    empty_snapshot,
)

if TYPE_CHECKING:
    from logwatch.engine import Engine
    from logwatch.events import Event
    from logwatch.match import Matcher
    from logwatch.pipeline import Tally

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
    patterns: tuple[str, ...] = ()
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
        self.snapshot = empty_snapshot(self.names, self.fallback_window_s, self.patterns)

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
