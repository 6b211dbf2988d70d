"""Engine scenarios with P=2 s, D=1 s (W=7 s): each alert at its exact event time."""

from __future__ import annotations

import pytest

from logwatch.engine import AlertTransition, Engine, Output, RoundObservation, RuleSettings
from logwatch.events import Event, FieldValue
from logwatch.records import Unreadable
from logwatch.times import US

T0 = 1_795_600_800 * US  # 2026-11-25T10:00:00Z
INST = "acme-mainnet"
P2 = RuleSettings(round_period_s=2, round_deadline_s=1)
LEADER_ONLY = frozenset({"opening_round", "round_finalized"})


def us(at_s: float) -> int:
    return T0 + round(at_s * US)


def event(
    name: str,
    at_s: float,
    host: str = "srv1",
    role: str = "server",
    instance: str = INST,
    **fields: FieldValue,
) -> Event:
    return Event(name, us(at_s), instance, role, host, fields, leader_only=name in LEADER_ONLY)


class Run:
    """An engine and every output it gave, fed in seconds after T0."""

    def __init__(self, settings: RuleSettings = P2) -> None:
        self.engine = Engine(settings)
        self.out: list[Output] = []

    def feed(self, name: str, at_s: float, **kwargs: object) -> list[Output]:
        got = self.engine.feed(event(name, at_s, **kwargs))  # type: ignore[arg-type]
        self.out += got
        return got

    def observe(self, at_s: float, instance: str | None = INST) -> list[Output]:
        got = self.engine.observe(instance, us(at_s))
        self.out += got
        return got

    def advance(self, at_s: float) -> list[Output]:
        got = self.engine.advance(us(at_s))
        self.out += got
        return got

    def rounds(
        self,
        start_s: float,
        stop_s: float,
        *,
        first: int,
        host: str = "srv1",
        instance: str = INST,
        participants: int = 10,
        period_s: float = 2,
    ) -> int:
        """Finalizations every period from start to stop (inclusive); the next round number."""
        at, round_ = start_s, first
        while at <= stop_s:
            self.feed(
                "round_finalized",
                at,
                host=host,
                instance=instance,
                round=round_,
                participants=participants,
            )
            at, round_ = at + period_s, round_ + 1
        return round_

    def alerts(self, name: str | None = None) -> list[tuple[str, str, float]]:
        return transitions(self.out, name)


def transitions(out: list[Output], name: str | None = None) -> list[tuple[str, str, float]]:
    return [
        (o.alert, o.state, (o.at_us - T0) / US)
        for o in out
        if isinstance(o, AlertTransition) and (name is None or o.alert == name)
    ]


def test_healthy_instance_raises_no_alert() -> None:
    run = Run()
    for k in range(30):
        at = 2.0 * k
        run.feed("opening_round", at, round=k + 1)
        for c in range(10):
            run.feed("sealed_envelope", at + 0.2, host=f"client{c}", role="client", round=k + 1)
        run.feed("round_finalized", at + 1, round=k + 1, participants=10)
        run.feed("forwarded_aggregate", at + 1.5, host="agg", role="aggregator", round=k + 1)
    run.advance(60)
    assert run.alerts() == []
    rounds = [o for o in run.out if isinstance(o, RoundObservation)]
    assert [r.round for r in rounds] == list(range(1, 31))
    (view,) = run.engine.instances()
    assert (view.leader, view.last_round, view.rounds_finalized) == ("srv1", 30, 30)
    assert (view.clients_active, view.round_period_s, view.window_s) == (10, 2.0, 7.0)
    assert view.round_rate_1m == 30.0


def test_stall_fires_at_last_finalization_plus_w_and_resolves_on_the_next() -> None:
    run = Run()
    run.rounds(0, 20, first=1)  # last round 11 at 20 s
    for at in range(21, 110):
        run.feed("submitted_partial", at, round=12)
    run.rounds(110, 110, first=12)
    assert run.alerts() == [("round_stall", "firing", 27.0), ("round_stall", "resolved", 110.0)]
    firing, resolved = (o for o in run.out if isinstance(o, AlertTransition))
    assert firing.to_json() == {
        "type": "alert",
        "alert": "round_stall",
        "state": "firing",
        "severity": "critical",
        "instance": INST,
        "at": "2026-11-25T10:00:27.000000Z",
        "since": "2026-11-25T10:00:27.000000Z",
        "summary": "no round finalized for 7s (last round 11); likely committee stuck: servers "
        "submit partials of a round no leader opened",
        "labels": {"alertname": "round_stall", "instance": INST, "severity": "critical"},
        "values": {"last_round": 11, "silent_s": 7.0},
        # Servers work on round 12 that no leader opened (engine/diagnosis.py).
        "cause": "committee_stuck",
        "evidence": [
            {
                "at": f"2026-11-25T10:00:{s}.000000Z",
                "host": "srv1",
                "text": "submitted_partial round=12",
            }
            for s in (25, 26, 27)  # the last three lines of that kind
        ],
    }
    assert resolved.since_us == firing.since_us
    assert resolved.values == {"last_round": 12, "silent_s": 90.0}
    assert resolved.summary == "round 12 finalized after 90s without one"


def test_stall_fires_at_its_deadline_when_the_clock_jumps() -> None:
    run = Run()
    run.rounds(0, 20, first=1)
    got = run.feed("round_finalized", 110, round=12, participants=10)
    # The timer due at 27 s fires first, stamped 27 s, then the entry at 110 s.
    assert transitions(got) == [("round_stall", "firing", 27.0), ("round_stall", "resolved", 110.0)]
    assert [type(o).__name__ for o in got] == [
        "AlertTransition",
        "RoundObservation",
        "AlertTransition",
    ]


def test_finalization_exactly_on_the_deadline_prevents_the_stall() -> None:
    run = Run()
    run.rounds(0, 20, first=1)
    run.observe(27)  # the record is observed before its event is fed
    run.rounds(27, 27, first=12)
    run.advance(30)
    assert run.alerts() == []


UNKNOWN = "; likely cause unknown: the logs since the last round do not tell"


def test_stall_before_any_round_counts_from_the_watch_start() -> None:
    run = Run()
    run.feed("submitted_partial", 0, round=1)
    run.advance(100)
    assert run.alerts() == [("round_stall", "firing", 7.0)]
    assert run.out[0].summary == (  # type: ignore[union-attr]
        "no round finalized for 7s (none since the watch started); likely committee stuck: "
        "servers submit partials of a round no leader opened"
    )  # type: ignore[union-attr]


def test_follow_start_watch_counts_from_the_later_start() -> None:
    run = Run()
    run.rounds(0, 50, first=1)  # warm-up
    run.engine.start_watch(INST, us(100))
    run.advance(106.999999)
    assert run.alerts() == []
    run.advance(120)
    assert run.alerts() == [("round_stall", "firing", 107.0)]
    run.engine.start_watch("preview-alpha", us(120))  # no entries at all: still watched
    run.advance(200)
    # Nothing seen is no_data (a warning: check the name), not a stall nor "all clear".
    assert run.alerts()[-1] == ("no_data", "firing", 127.0)
    assert run.out[-1].instance == "preview-alpha"
    assert [o.alert for o in run.out if o.instance == "preview-alpha"] == ["no_data"]  # type: ignore[union-attr]
    got = run.engine.observe("preview-alpha", us(201), "server", "srv9")
    assert transitions(got) == [("no_data", "resolved", 201.0)]


def test_two_servers_finalizing_the_same_rounds_fire_split_brain_at_once() -> None:
    run = Run()
    for k in range(11):  # both finalize rounds 1..11, srv2 0.1 s later, until 20.1 s
        run.feed("round_finalized", 2 * k, host="srv1", round=k + 1, participants=10)
        run.feed("round_finalized", 2 * k + 0.1, host="srv2", round=k + 1, participants=10)
    run.rounds(22, 40, first=12, host="srv1")
    run.advance(41)
    assert run.alerts() == [("split_brain", "firing", 0.1), ("split_brain", "resolved", 27.1)]
    firing = run.out[1]
    assert isinstance(firing, AlertTransition)
    assert firing.summary == "round 1 finalized by two servers: srv1 and srv2"
    assert firing.values["leaders"] == "srv1,srv2"
    rounds = [o.round for o in run.out if isinstance(o, RoundObservation)]
    assert rounds == list(range(1, 22))  # each round number once


def test_second_leader_with_its_own_rounds_is_pending_then_firing_then_resolved() -> None:
    srv1 = [
        event("round_finalized", 2.0 * k, "srv1", round=k + 1, participants=10) for k in range(101)
    ]
    # srv2 leads a fork of its own from 50.5 s to 140.5 s (90 s), interleaved in time.
    srv2 = [
        event("round_finalized", 50.5 + 2 * k, "srv2", round=5000 + k, participants=3)
        for k in range(46)
    ]
    run = Run()
    for e in sorted(srv1 + srv2, key=lambda e: e.time_us):
        run.out += run.engine.feed(e)
    run.advance(205)
    assert run.alerts() == [
        ("split_brain", "pending", 50.5),
        ("split_brain", "firing", 110.5),
        ("split_brain", "resolved", 147.5),
    ]
    resolved = [o for o in run.out if isinstance(o, AlertTransition)][-1]
    assert resolved.since_us == us(50.5)
    assert resolved.values["leaders"] == "srv1"


def test_rival_leader_fires_at_once() -> None:
    run = Run()
    run.rounds(0, 30, first=1)
    got = run.feed("rival_leader", 30.5, host="srv2", term=7, other_leader="3fa9c0d1e2")
    run.rounds(32, 60, first=17)
    assert transitions(got) == [("split_brain", "firing", 30.5)]
    assert got[0].values["other_leader"] == "3fa9c0d1e2"  # type: ignore[union-attr]
    run.advance(66)
    assert run.alerts() == [("split_brain", "firing", 30.5), ("split_brain", "resolved", 37.5)]


def test_benign_failover_with_a_short_gap_does_not_fire() -> None:
    run = Run()
    run.rounds(0, 20, first=1, host="srv1")
    run.rounds(24, 60, first=12, host="srv2")
    run.advance(61)
    assert run.alerts() == [("split_brain", "pending", 24.0), ("split_brain", "resolved", 27.0)]
    (view,) = run.engine.instances()
    assert view.leader == "srv2"
    assert [(c.from_host, c.to_host, c.at_us) for c in view.leader_changes] == [
        (None, "srv1", us(0)),
        ("srv1", "srv2", us(24)),
    ]


def test_only_the_silent_instance_stalls_and_the_other_moves_the_clock() -> None:
    run = Run()
    for k in range(11):
        run.feed("round_finalized", 2 * k, instance="a", round=k + 1, participants=1)
        run.feed("round_finalized", 2 * k + 0.5, instance="b", round=k + 1, participants=1)
    got: list[Output] = []
    for k in range(11, 20):
        got += run.feed("round_finalized", 2 * k, instance="a", round=k + 1, participants=1)
    # b's stall is found by a's entry at 28 s and stamped at its own deadline.
    assert transitions(got) == [("round_stall", "firing", 27.5)]
    assert [o.instance for o in got if isinstance(o, AlertTransition)] == ["b"]
    assert run.alerts() == [("round_stall", "firing", 27.5)]


def test_late_entries_never_rewind_the_clock_nor_make_negative_durations() -> None:
    run = Run()
    run.rounds(0, 10, first=1)  # last round 6 at 10 s
    run.advance(30)  # stall firing at 17 s
    run.observe(5)
    assert run.engine.now_us == us(30)
    got = run.feed("round_finalized", 12, round=7, participants=10)  # 18 s late
    assert transitions(got) == []  # a round from before the last W does not end the silence
    assert [o.at_us for o in got if isinstance(o, RoundObservation)] == [us(12)]
    assert run.engine.now_us == us(30)
    run.rounds(31, 31, first=8)
    assert run.alerts() == [("round_stall", "firing", 17.0), ("round_stall", "resolved", 31.0)]
    alerts = [o for o in run.out if isinstance(o, AlertTransition)]
    assert all(a.at_us >= a.since_us for a in alerts)
    assert alerts[-1].values["silent_s"] == 21.0
    (view,) = run.engine.instances()
    assert view.longest_gap is not None and view.longest_gap.length_us == 19 * US


def test_round_regression_fires_on_a_restart_and_resolves_in_order() -> None:
    run = Run()
    run.rounds(0, 20, first=801)  # 801..811
    run.rounds(22, 26, first=1)  # restart: 1, 2, 3
    run.rounds(28, 28, first=3)  # a repeat
    run.rounds(30, 30, first=4)
    assert run.alerts() == [
        ("round_regression", "firing", 22.0),
        ("round_regression", "resolved", 24.0),
        ("round_regression", "firing", 28.0),
        ("round_regression", "resolved", 30.0),
    ]
    first = run.out[11]
    assert isinstance(first, RoundObservation) and first.round == 1
    fired = [o for o in run.out if isinstance(o, AlertTransition)]
    assert fired[0].summary == "round 1 finalized after round 811 (backwards: restart or fork)"
    assert fired[2].values == {"round": 3, "previous_round": 3, "leader": "srv1"}


def test_participants_zero_fires_on_the_second_and_resolves_on_a_non_zero_round() -> None:
    run = Run()
    run.feed("registration_accepted", 0, host="client1", role="client", client="5be0c2a9d1")
    for k, participants in enumerate([5, 5, 0, 0, 0, 5]):
        run.feed("round_finalized", 2 * k + 1, round=k + 1, participants=participants)
    assert run.alerts("participants_zero") == [
        ("participants_zero", "firing", 7.0),
        ("participants_zero", "resolved", 11.0),
    ]


def test_participants_zero_needs_clients_to_be_expected() -> None:
    idle = Run()
    for k in range(6):
        idle.feed("round_finalized", 2 * k, round=k + 1, participants=0)
    assert idle.alerts("participants_zero") == []
    told = Run(RuleSettings(round_period_s=2, round_deadline_s=1, expect_clients=5))
    for k in range(3):
        told.feed("round_finalized", 2 * k, round=k + 1, participants=0)
    assert told.alerts("participants_zero") == [("participants_zero", "firing", 2.0)]


def test_participants_low_after_three_rounds_below_half_of_what_the_aggregator_forwards() -> None:
    # The aggregator forwards 10 clients' envelopes a round; rounds finalize with fewer.
    run = Run()
    for k, participants in enumerate([10, 4, 4, 4, 5, 4]):
        at = 2.0 * k
        for c in range(10):
            run.feed("sealed_envelope", at + 0.5, host=f"client{c}", role="client", round=k + 1)
        run.feed("forwarded_aggregate", at + 0.8, host="agg1", role="aggregator", round=k + 1,
                 clients=10)  # fmt: skip
        run.feed("round_finalized", at + 1, round=k + 1, participants=participants)
    assert run.alerts() == [
        ("participants_low", "firing", 7.0),
        ("participants_low", "resolved", 9.0),
    ]
    firing = next(o for o in run.out if isinstance(o, AlertTransition))
    assert firing.values == {"round": 4, "participants": 4, "expected_clients": 10, "low_rounds": 3}


def test_one_participant_is_said_in_words() -> None:
    run = Run(RuleSettings(round_period_s=2, round_deadline_s=1, expect_clients=4))
    for k, participants in enumerate([1, 1, 1, 3]):
        run.feed("round_finalized", 2 * k, round=k + 1, participants=participants)
    firing, resolved = [o for o in run.out if isinstance(o, AlertTransition)]
    assert firing.summary.startswith("1 participant in round 3,"), firing.summary
    assert resolved.summary == "round 4 had 3 participants of 4 clients"


def test_made_up_client_hosts_expect_no_clients() -> None:
    # Client hosts are untrusted: a thousand names sealing envelopes, none of which the
    # aggregator forwards more than 4 of, set no expectation of a thousand participants.
    run = Run()
    for k in range(8):
        at = 2.0 * k
        for c in range(1000):
            run.feed("sealed_envelope", at + 0.5, host=f"fake{k}-{c}", role="client", round=k + 1)
        run.feed("forwarded_aggregate", at + 0.8, host="agg1", role="aggregator", round=k + 1,
                 clients=4)  # fmt: skip
        run.feed("round_finalized", at + 1, round=k + 1, participants=4)
    assert run.alerts() == []


def test_participants_low_against_expected_clients() -> None:
    run = Run(RuleSettings(round_period_s=2, round_deadline_s=1, expect_clients=20))
    for k in range(4):
        run.feed("round_finalized", 2 * k, round=k + 1, participants=9)
    assert run.alerts() == [("participants_low", "firing", 4.0)]


def test_aggregator_silent_while_the_instance_is_alive() -> None:
    run = Run()
    for k in range(31):
        at = 2.0 * k
        run.feed("round_finalized", at, round=k + 1, participants=1)
        if at <= 20 or at >= 50:
            run.feed("forwarded_aggregate", at + 0.5, host="agg", role="aggregator", round=k + 1)
    assert run.alerts() == [
        ("aggregator_silent", "firing", 27.5),
        ("aggregator_silent", "resolved", 50.5),
    ]
    firing = next(o for o in run.out if isinstance(o, AlertTransition))
    assert firing.severity == "warning" and firing.values == {"silent_s": 7.0}


def test_aggregator_silent_needs_the_rest_of_the_instance_alive() -> None:
    run = Run()
    for k in range(11):
        run.feed("round_finalized", 2.0 * k, round=k + 1, participants=1)
        run.feed("forwarded_aggregate", 2.0 * k + 0.5, host="agg", role="aggregator")
    run.advance(100)  # everything stopped: a stall, not a silent aggregator
    assert run.alerts() == [("round_stall", "firing", 27.0)]
    got = run.feed("submitted_partial", 101, round=12)  # alive again, still no aggregate
    run.advance(102)
    # ... but the stall fires and explains it: aggregator_silent is held back meanwhile.
    assert transitions(got) == []
    assert run.alerts()[-1] == ("round_stall", "firing", 27.0)
    run.feed("round_finalized", 103, round=12, participants=1)
    run.advance(104)
    assert run.alerts()[-2:] == [
        ("round_stall", "resolved", 103.0),
        ("aggregator_silent", "firing", 103.0),
    ]


def test_aggregator_silent_is_unarmed_without_any_aggregator_entry() -> None:
    run = Run()
    run.rounds(0, 100, first=1)
    assert run.alerts() == []
    armed = Run(RuleSettings(round_period_s=2, round_deadline_s=1, expect_aggregator=True))
    armed.rounds(0, 100, first=1)
    assert armed.alerts() == [("aggregator_silent", "firing", 7.0)]


def test_period_is_estimated_from_one_leaders_intervals() -> None:
    run = Run(RuleSettings())
    run.rounds(0, 2, first=1)
    run.advance(100)  # one interval only: no estimate; the fallback window (30 s) stands in
    assert run.alerts() == [("round_stall", "firing", 32.0)]
    (view,) = run.engine.instances()
    assert (view.round_period_s, view.round_period_estimated) == (None, True)
    run.rounds(102, 106, first=3, period_s=2)  # intervals 100 (an outlier), 2, 2
    run.rounds(110, 116, first=6, host="srv2", period_s=3)  # the failover gap is no interval
    (view,) = run.engine.instances()
    assert view.round_period_s == 2.5  # median of 2, 100, 2, 2, 3, 3
    assert view.window_s == 10.0  # D = P when not given
    run.advance(200)
    assert run.alerts() == [
        ("round_stall", "firing", 32.0),
        ("round_stall", "resolved", 102.0),
        ("split_brain", "pending", 110.0),
        ("split_brain", "resolved", 114.0),  # srv1's last round at 106 s + W (8 s then)
        ("round_stall", "firing", 126.0),
    ]


def _scenario_events() -> list[Event]:
    """Every event of a scenario with every fault the rules know, decoded and matched."""
    from logwatch import simulate
    from logwatch.decode import Decoder
    from logwatch.match import Matcher
    from logwatch.pattern_files import load_patterns, pattern_dirs
    from logwatch.records import Entry

    s = simulate.Scenario(INST, servers=3, clients=6, seed=11).start().rounds(6)
    s.silence(12, chatter=True).rounds(3).rival_leader("srv1", other="srv2")
    s.split_brain("srv2", 3, other_first_round=900).finalize_by("srv3", 7).rounds(2)
    # The aggregator down while rounds go on (in a stall, the stall explains it instead).
    s.crash("agg1").rounds(6).recover("agg1").rounds(3).jump(2).rounds(3)
    decode, match = Decoder(), Matcher(load_patterns(pattern_dirs([])))
    events = []
    for line in s.lines():
        fields = {"MESSAGE": simulate.render(line, "full"), "_SYSTEMD_UNIT": line.unit_name}
        record = decode(Entry(line.time_us, True, {**fields, "_HOSTNAME": line.host}))
        assert not isinstance(record, Unreadable)
        event = match(record)
        if event is not None:
            events.append(event)
    return events


def test_client_events_skip_the_rules_without_changing_a_single_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The engine lets a client's event (most of an instance's lines) skip the rules'
    # on_event and deadline passes; an engine that never skips must say the very same.
    events = _scenario_events()
    assert sum(e.role == "client" for e in events) > 50
    for settings in (P2, RuleSettings()):
        outputs = []
        for skipping in (True, False):
            if not skipping:
                monkeypatch.setattr("logwatch.engine.engine.stirs_rules", lambda e, f: True)
            engine, out = Engine(settings), []
            for e in events:
                out += engine.feed(e)
            out += engine.advance(events[-1].time_us + 60 * US)
            outputs.append([o.to_json() for o in out])
            monkeypatch.undo()
        assert outputs[0] == outputs[1]
        assert {o["alert"] for o in outputs[0] if o["type"] == "alert"} >= {
            "round_stall",
            "split_brain",
            "aggregator_silent",
            "round_regression",
        }


def test_a_client_far_ahead_does_not_drag_the_clock() -> None:
    # A client's clock is its own: ten minutes ahead, it must not fire every stall.
    run = Run()
    nxt = run.rounds(0, 10, first=1)
    run.feed("sealed_envelope", 611, host="client1", role="client", round=nxt)
    run.out += run.engine.observe(INST, us(612), "client")  # its unmatched line, as far ahead
    assert run.engine.now_us == us(12)  # each moved the clock by 1 s only
    run.rounds(12, 20, first=nxt)
    run.advance(20)
    assert run.alerts() == []


def test_clients_writing_on_in_time_carry_the_clock() -> None:
    # The servers are gone, the clients go on: their entries, each a moment after the
    # last, still move the clock, and the stall fires at its deadline.
    run = Run()
    run.rounds(0, 10, first=1)
    for i in range(40):
        run.feed("sealed_envelope", 10.5 + i * 0.5, host=f"client{i % 3}", role="client", round=7)
    assert run.alerts("round_stall") == [("round_stall", "firing", 17.0)]


def test_clients_that_left_for_good_age_out_of_participants_zero() -> None:
    # Clients sealed, then rounds came out empty: critical. Once no client has shown a
    # sign for ten windows (70 s at W = 7 s), zero participants is an idle instance.
    run = Run()
    for i in range(3):
        # One a round: seals of one round a second apart would measure as clocks apart.
        run.feed("sealed_envelope", 0.5 + i, host=f"client{i}", role="client", round=1 + i)
    nxt = run.rounds(2, 6, first=1, participants=0)
    assert run.alerts("participants_zero") == [("participants_zero", "firing", 4.0)]
    run.rounds(8, 80, first=nxt, participants=0)
    zero = run.alerts("participants_zero")
    assert zero[-1][:2] == ("participants_zero", "resolved") and zero[-1][2] > 72.5
    last = next(o for o in reversed(run.out) if isinstance(o, AlertTransition))
    assert "none expected" in last.summary


def test_a_client_stamped_in_the_future_counts_at_the_clock_not_ahead() -> None:
    # Stored at its placed time (never past the clock), a far-ahead client ages out of the
    # active clients like the others: it cannot hold the count up and fire participants_low.
    run = Run()
    for i in range(4):
        run.feed("sealed_envelope", 0.5, host=f"client{i}", role="client", round=1)
    run.feed("sealed_envelope", 3600, host="client9", role="client", round=1)
    assert run.engine.now_us is not None and run.engine.now_us <= us(2)
    run.rounds(2, 40, first=1, participants=4)
    (view,) = run.engine.instances()
    assert view.clients_active == 0  # all five last seen more than W ago
    assert run.alerts("participants_low") == []
