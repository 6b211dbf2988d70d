"""Engine guarantees: determinism, order of timers, no flapping, JSON shapes, bounded memory."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from logwatch.engine import AlertTransition, Engine, Output, RoundObservation, RuleSettings
from logwatch.engine.host_offsets import HOSTS_KEPT, HostOffsets
from logwatch.engine.rules import human
from logwatch.engine.state import MAX_SERVERS, RECENT_ROUND_NUMBERS
from logwatch.engine.timers import TimerQueue
from logwatch.engine.windows import ParticipantsSeries, RateCounter
from logwatch.errors import UsageError
from logwatch.events import Event, FieldValue
from logwatch.times import US

T0 = 1_795_600_800 * US  # 2026-11-25T10:00:00Z
P2 = RuleSettings(round_period_s=2, round_deadline_s=1)


def ev(
    name: str,
    at_s: float,
    host: str = "srv1",
    role: str = "server",
    instance: str = "acme",
    **fields: FieldValue,
) -> Event:
    leader_only = name in ("opening_round", "round_finalized")
    return Event(name, T0 + round(at_s * US), instance, role, host, fields, leader_only)


def finalized(at_s: float, round_: int, host: str = "srv1", instance: str = "acme") -> Event:
    return ev("round_finalized", at_s, host, instance=instance, round=round_, participants=3)


def scenario() -> list[Event]:
    """Two instances: a stall in one, a fork and a rival report in the other."""
    events: list[Event] = []
    for k in range(120):
        at = 2.0 * k
        if not 40 <= at < 80:
            events.append(finalized(at, k + 1, instance="acme"))
        events.append(finalized(at + 0.3, 1000 + k, instance="beta"))
        if 100 <= at < 190:
            events.append(finalized(at + 0.7, 5000 + k, host="srv2", instance="beta"))
        events.append(ev("sealed_envelope", at + 0.1, f"c{k % 7}", "client", round=k))
        events.append(ev("forwarded_aggregate", at + 0.5, "agg", "aggregator", round=k))
    events.append(ev("rival_leader", 211, "srv3", instance="beta", term=9, other_leader="x"))
    return sorted(events, key=lambda e: e.time_us)


def run(events: list[Event], settings: RuleSettings = P2) -> tuple[list[str], Engine]:
    engine = Engine(settings)
    lines: list[str] = []
    for event in events:
        for output in engine.observe(event.instance, event.time_us) + engine.feed(event):
            lines.append(json.dumps(output.to_json()))
    lines += [json.dumps(o.to_json()) for o in engine.advance(T0 + 300 * US)]
    lines.append(json.dumps(engine.summary().to_json()))
    return lines, engine


def alerts(lines: list[str]) -> list[tuple[str, str, str, str]]:
    objs = [json.loads(line) for line in lines]
    return [
        (o["instance"], o["alert"], o["state"], o["at"][11:]) for o in objs if o["type"] == "alert"
    ]


def test_same_input_gives_the_same_output_byte_for_byte() -> None:
    first, _ = run(scenario())
    second, _ = run(scenario())
    assert first == second
    assert alerts(first) == [
        ("acme", "round_stall", "firing", "10:00:45.000000Z"),
        ("acme", "round_stall", "resolved", "10:01:20.000000Z"),
        ("beta", "split_brain", "pending", "10:01:40.700000Z"),
        ("beta", "split_brain", "firing", "10:02:40.700000Z"),
        ("beta", "split_brain", "resolved", "10:03:15.700000Z"),
        ("beta", "split_brain", "firing", "10:03:31.000000Z"),
        ("beta", "split_brain", "resolved", "10:03:38.000000Z"),
        ("acme", "round_stall", "firing", "10:04:05.000000Z"),
        ("beta", "round_stall", "firing", "10:04:05.300000Z"),
    ]
    rival = json.loads(next(line for line in first if "rival" in line))
    assert rival["values"] == {
        "leaders": "srv1",
        "leader_count": 1,
        "window_s": 7.0,
        "other_leader": "x",
        "term": 9,
    }
    summary = json.loads(first[-1])
    assert summary["instances"]["beta"]["alerts"] == {"round_stall": 1, "split_brain": 2}
    assert summary["instances"]["acme"]["firing"] == {"round_stall": "critical"}


def test_timers_of_several_instances_fire_in_deadline_order_when_the_clock_jumps() -> None:
    engine = Engine(P2)
    for name, at in (("c", 0.3), ("a", 0.1), ("b", 0.2)):
        engine.feed(finalized(at, 1, instance=name))
    out = engine.advance(T0 + 60 * US)
    assert [(o.instance, o.at_us - T0) for o in out] == [
        ("a", 7_100_000),
        ("b", 7_200_000),
        ("c", 7_300_000),
    ]
    assert engine.now_us == T0 + 60 * US


def test_an_open_alert_does_not_flap_and_every_pending_is_closed() -> None:
    engine = Engine(P2)
    out: list[Output] = []
    for k in range(10):  # a rival report every 2 s: one firing, not ten
        out += engine.feed(finalized(2 * k, k + 1))
        out += engine.feed(ev("rival_leader", 2 * k + 1, "srv2", term=3, other_leader="y"))
    out += engine.feed(finalized(20, 11, host="srv2"))
    out += engine.feed(finalized(30, 12, host="srv1"))
    out += engine.feed(finalized(32, 13, host="srv2"))  # srv1 still within W: pending
    out += engine.advance(T0 + 40 * US)
    seen = [(o.alert, o.state, (o.at_us - T0) / US) for o in out if isinstance(o, AlertTransition)]
    assert seen == [
        ("split_brain", "firing", 1.0),
        ("split_brain", "resolved", 26.0),
        ("round_stall", "firing", 27.0),
        ("round_stall", "resolved", 30.0),
        ("split_brain", "pending", 32.0),
        ("split_brain", "resolved", 37.0),
        ("round_stall", "firing", 39.0),
    ]


def test_round_and_summary_json_shapes() -> None:
    engine = Engine(P2)
    (obs,) = engine.feed(finalized(1.5, 812))
    assert isinstance(obs, RoundObservation)
    assert obs.to_json() == {
        "type": "round",
        "instance": "acme",
        "at": "2026-11-25T10:00:01.500000Z",
        "round": 812,
        "participants": 3,
        "leader": "srv1",
    }
    assert engine.summary().to_json() == {
        "type": "summary",
        "at": "2026-11-25T10:00:01.500000Z",
        "instances": {
            "acme": {
                "rounds": 1,
                "last_round": 812,
                "last_round_at": "2026-11-25T10:00:01.500000Z",
                "round_period_s": 2.0,
                "round_period_estimated": False,
                "alerts": {},
                "firing": {},
                "pending": [],
            }
        },
    }
    assert engine.summary().worst is None


def test_many_rounds_keep_every_structure_bounded() -> None:
    # 150,000 rounds: every bound below is passed many times over (a million took two
    # minutes on a loaded CI machine and proved nothing more).
    engine = Engine(RuleSettings())  # P estimated: the estimator is exercised too
    feed = engine.feed
    rounds = 150_000
    for k in range(rounds):
        at = T0 + k * 2 * US
        host = "srv1" if k % 500 < 490 else f"srv{k % 400}"  # many leader changes
        feed(
            Event(
                "round_finalized",
                at,
                "acme",
                "server",
                host,
                {"round": k % 100_000, "participants": k % 50},
                True,
            )
        )
        if k % 10 == 0:
            feed(Event("sealed_envelope", at + 1000, "acme", "client", f"c{k}", {"round": k}))
    engine.advance(T0 + 3 * rounds * US)
    (view,) = engine.instances()
    assert view.rounds_finalized == rounds
    assert len(view.recent_rounds) == 60
    assert 60 <= len(view.participants_series) <= 120
    assert sum(b.rounds for b in view.participants_series) == rounds
    assert len(view.leader_changes) == 100 and view.leader_changes_dropped > 1000
    assert len(view.timeline) <= 500 and view.timeline_dropped > 0
    assert len(view.servers) <= MAX_SERVERS
    assert view.clients_active == 0  # pruned once outside W
    state = engine._watches["acme"].state  # the hidden windows too
    assert state.remembered_rounds() <= RECENT_ROUND_NUMBERS
    assert len(state.rate) <= 600
    assert len(state.clients_active) <= 100_000
    assert engine.timers_held() <= 2 * 1 + 16


NAMES = (
    "round_finalized",
    "opening_round",
    "rival_leader",
    "forwarded_aggregate",
    "sealed_envelope",
    "registration_accepted",
    "submitted_partial",
    "bond_established",
)
STEP = hs.tuples(
    hs.sampled_from(NAMES),
    hs.integers(-20_000_000, 12_000_000),  # µs after the previous entry; negative: late
    hs.sampled_from(("srv1", "srv2", "srv3")),
    hs.sampled_from(("acme", "beta")),
    hs.integers(0, 12),  # round
    hs.integers(0, 4),  # participants
)


@settings(max_examples=150, deadline=None)
@given(hs.lists(STEP, max_size=120), hs.sampled_from((None, 0.5, 2.0)))
def test_any_input_gives_an_orderly_deterministic_lifecycle(
    steps: list[tuple[str, int, str, str, int, int]], period_s: float | None
) -> None:
    events, at = [], T0
    for name, step, host, instance, round_, participants in steps:
        at += step
        role = {"sealed_envelope": "client", "registration_accepted": "client"}.get(name, "server")
        role = "aggregator" if name == "forwarded_aggregate" else role
        fields: dict[str, FieldValue] = {"round": round_, "participants": participants}
        events.append(Event(name, at, instance, role, host, fields, name in NAMES[:2]))
    configured = RuleSettings(round_period_s=period_s, split_brain_for_s=3)
    lines, engine = run(events, configured)
    assert run(events, configured)[0] == lines
    alerts_seen = [json.loads(line) for line in lines if '"type": "alert"' in line]
    times = [a["at"] for a in alerts_seen]
    assert times == sorted(times)  # transitions never go back in time
    open_: dict[tuple[str, str], str] = {}
    for a in alerts_seen:
        key, state = (a["instance"], a["alert"]), a["state"]
        assert a["since"] <= a["at"]
        before = open_.get(key, "inactive")
        allowed = {
            "pending": ("inactive",),
            "firing": ("inactive", "pending"),
            "resolved": ("pending", "firing"),
        }
        assert before in allowed[state], (key, before, state)
        open_[key] = "inactive" if state == "resolved" else state
    for view in engine.instances():
        assert {a.alert: a.state for a in view.active_alerts} == {
            alert: state
            for (inst, alert), state in open_.items()
            if inst == view.instance and state != "inactive"
        }


def test_timer_queue_orders_by_deadline_then_key_and_stays_small() -> None:
    queue = TimerQueue()
    queue.schedule(2, 50)
    queue.schedule(1, 50)
    queue.schedule(0, 70)
    queue.schedule(0, 40)  # rescheduled: the 70 is stale
    assert queue.pop_due(50, inclusive=False) == (40, 0)
    assert queue.pop_due(50, inclusive=False) is None
    assert queue.pop_due(50, inclusive=True) == (50, 1)
    assert queue.pop_due(50, inclusive=True) == (50, 2)
    assert queue.pop_due(10**9, inclusive=True) is None
    for k in range(10_000):
        queue.schedule(7, k)
    assert queue.heap_size() <= 2 * len(queue) + 16


def test_participants_series_rebuckets_and_keeps_extremes() -> None:
    series = ParticipantsSeries(120)
    for k in range(1000):
        series.add(k, k * US, 100 if k == 500 else 10)
    buckets = series.buckets()
    assert len(buckets) <= 120 and series.rounds_per_bucket == 16
    assert sum(b.rounds for b in buckets) == 1000
    assert (buckets[0].first_round, buckets[-1].last_round) == (0, 999)
    assert max(b.high for b in buckets) == 100 and min(b.low for b in buckets) == 10


def test_rate_counter_counts_the_last_span_only() -> None:
    rate = RateCounter(600)
    for k in range(2000):
        rate.add(k * US)
    assert len(rate) == 600
    assert rate.count(1999 * US, 60) == 60


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"round_period_s": 0}, "round period"),
        ({"round_deadline_s": -1}, "round deadline"),
        ({"participants_low_rounds": 0}, "at least 1 round"),
        ({"expect_clients": -2}, "expected clients"),
    ],
)
def test_bad_settings_are_usage_errors(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RuleSettings(**kwargs)  # type: ignore[arg-type]


def test_durations_read_like_an_operator_writes_them() -> None:
    assert [human(us) for us in (7 * US, 1_500_000, 90 * US, 150 * US, 3900 * US)] == [
        "7s",
        "1.5s",
        "90s",
        "2m30s",
        "1h5m",
    ]


def test_the_clocks_measured_are_bounded_the_least_recently_seen_forgotten_first() -> None:
    offsets = HostOffsets()
    hosts = HOSTS_KEPT + 2_000
    for i in range(hosts):
        offsets.see(f"client{i}", "acme", T0 + i, "sealed_envelope", 1 + i // 100, "client")
        assert offsets.hosts_kept() <= HOSTS_KEPT
    assert offsets.hosts_kept() == HOSTS_KEPT
    kept = offsets._hosts  # the state itself: which hosts it holds
    assert "client0" not in kept and f"client{hosts - 1}" in kept
    # Seen again, a forgotten host comes back and the least recently seen one goes.
    offsets.see("client0", "acme", T0 + hosts, "sealed_envelope", 1 + hosts // 100, "client")
    assert offsets.hosts_kept() == HOSTS_KEPT
    assert "client0" in kept and "client2000" not in kept and "client2001" in kept
