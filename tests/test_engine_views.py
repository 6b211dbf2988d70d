"""What the report and the dashboard read from the engine: instance views and summaries."""

from __future__ import annotations

from logwatch.engine import Engine, Gap, RuleSettings, ServerView
from logwatch.events import Event, FieldValue
from logwatch.times import US

T0 = 1_795_600_800 * US  # 2026-11-25T10:00:00Z


def at(s: float) -> int:
    return T0 + round(s * US)


def ev(name: str, at_s: float, host: str, role: str = "server", **fields: FieldValue) -> Event:
    leader_only = name in ("opening_round", "round_finalized")
    return Event(name, at(at_s), "acme", role, host, fields, leader_only)


def test_view_of_a_failover_with_clients_and_an_aggregator() -> None:
    engine = Engine(RuleSettings(round_period_s=2, round_deadline_s=1))
    engine.feed(ev("registration_accepted", 0.5, "c1", "client", client="5be0c2a9d1"))
    engine.feed(ev("registering_client", 0.6, "agg", "aggregator", client="5be0c2a9d1"))
    engine.feed(ev("registering_client", 0.7, "agg", "aggregator", client="77aa00"))
    for k in range(10):
        host = "srv1" if k < 5 else "srv2"
        engine.feed(ev("submitted_partial", 2 * k + 0.5, "srv3", round=k + 1))
        engine.feed(ev("round_finalized", 2 * k + 1, host, round=k + 1, participants=k))
        engine.feed(ev("forwarded_aggregate", 2 * k + 1.5, "agg", "aggregator", round=k + 1))
    engine.advance(at(25))
    (view,) = engine.instances()
    assert engine.instance("acme") == view and engine.instance("other") is None
    assert (view.at_us, view.watch_start_us) == (at(25), at(0.5))
    assert (view.last_round, view.last_round_at_us, view.rounds_finalized) == (10, at(19), 10)
    assert view.leader == "srv2"
    assert view.leaders_in_window == ("srv2",)  # srv1's last round, at 9 s, is out of W
    assert view.servers == (
        ServerView("srv1", at(9), at(9)),
        ServerView("srv2", at(19), at(19)),
        ServerView("srv3", at(18.5), None),
    )
    assert [(c.from_host, c.to_host) for c in view.leader_changes] == [
        (None, "srv1"),
        ("srv1", "srv2"),
    ]
    assert (view.clients_registered, view.clients_active) == (2, 0)
    assert (view.aggregator_last_seen_us, view.last_forwarded_us) == (at(19.5), at(19.5))
    assert [p.participants for p in view.recent_rounds] == list(range(10))
    assert [(b.first_round, b.last_round, b.low, b.high) for b in view.participants_series] == [
        (k + 1, k + 1, k, k) for k in range(10)
    ]
    assert view.longest_gap == Gap(at(19), 6 * US, open=True)
    assert view.round_rate_1m == 10 * 60 / 24.5  # 10 rounds in the 24.5 s watched so far
    assert [(a.alert, a.state) for a in view.active_alerts] == []
    # A failover gap of 2 s is within W: pending at most, and closed.
    assert [(t.alert, t.state) for t in view.timeline] == [
        ("split_brain", "pending"),
        ("split_brain", "resolved"),
    ]
    assert view.summary.alerts_fired == {}


def test_summary_counts_firing_alerts_and_the_worst_severity() -> None:
    engine = Engine(RuleSettings(round_period_s=2, round_deadline_s=1, expect_clients=10))
    for k in range(4):
        engine.feed(ev("round_finalized", 2 * k, "srv1", round=k + 1, participants=3))
    engine.advance(at(30))
    summary = engine.summary()
    (acme,) = summary.instances
    assert acme.firing == {"participants_low": "warning", "round_stall": "critical"}
    assert acme.alerts_fired == {"participants_low": 1, "round_stall": 1}
    assert summary.worst == "critical"
    (view,) = engine.instances()
    assert [(a.alert, a.state, a.since_us) for a in view.active_alerts] == [
        ("round_stall", "firing", at(13)),
        ("participants_low", "firing", at(4)),
    ]
    assert view.active_alerts[0].summary == (
        "no round finalized for 7s (last round 4)"
        "; likely cause unknown: the logs since the last round do not tell"
    )
