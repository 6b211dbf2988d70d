"""Live tells what replay tells: `follow` on a stepped wall clock gives the alerts `replay`
gives of the same capture (tests/live_harness.py).

Every replay scenario of the tests (tests/scenarios.py) is played with one host of each
role off by a second, a minute and an hour, ahead or behind: the same alerts, states,
labels and causes, at the same times within one tick of the follow's clock. clock_skew
is raised live once the host's lines of a round have been compared with the others', so
its time is held to within a round instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_harness import TICK_S, alerts, capture, followed, replayed
from scenarios import SCENARIOS

from logwatch.engine.host_offsets import CORRECTION_US
from logwatch.simulate import LogLine, Scenario
from logwatch.times import US, iso_to_us

RULES = ("--round-period", "2s", "--round-deadline", "1s")
ROUND_US = 3 * US  # P + D
HOSTS = {"leader": "srv1", "follower": "srv2", "aggregator": "agg1", "client": "client1"}
MAGNITUDES_S = (1, 60, 3600)


def instances_of(lines: Sequence[LogLine]) -> list[str]:
    return sorted({line.instance for line in lines if line.instance})


def assert_same_alerts(
    replay: list[dict[str, Any]],
    live: list[dict[str, Any]],
    tolerance_us: int,
    skew_tolerance_us: int = ROUND_US,
) -> None:
    """The same transitions in the same order for each instance; times within
    `tolerance_us` (`skew_tolerance_us` for clock_skew: a round by default)."""

    def key(a: dict[str, Any]) -> tuple[object, ...]:
        return (a["alert"], a["state"], sorted(a["labels"].items()), a.get("cause"))

    for instance in sorted({a["instance"] for a in replay + live}):
        ours = [a for a in replay if a["instance"] == instance]
        theirs = [a for a in live if a["instance"] == instance]
        assert [key(a) for a in theirs] == [key(a) for a in ours], (instance, ours, theirs)
        for r, f in zip(ours, theirs, strict=True):
            at_r, at_f = iso_to_us(r["at"]), iso_to_us(f["at"])
            assert at_r is not None and at_f is not None
            allowed = skew_tolerance_us if r["alert"] == "clock_skew" else tolerance_us
            assert abs(at_r - at_f) <= allowed, (r, f)


def scenario_cases() -> list[Any]:
    cases = []
    for i, name in enumerate(SCENARIOS):
        cases.append(pytest.param(name, None, 0, id=f"{name}-in-line"))
        sign = 1 if i % 2 == 0 else -1
        for role, host in HOSTS.items():
            for magnitude in MAGNITUDES_S:
                offset = sign * magnitude
                cases.append(pytest.param(name, host, offset, id=f"{name}-{role}{offset:+d}s"))
    return cases


@pytest.mark.parametrize(("name", "host", "offset_s"), scenario_cases())
def test_follow_on_a_stepped_clock_alerts_as_replay_does(
    name: str, host: str | None, offset_s: int
) -> None:
    lines = SCENARIOS[name]()
    cap = capture(lines, {host: offset_s} if host else None)
    names = instances_of(lines)
    replay = alerts(replayed(cap, *RULES, instances=names))
    live = alerts(followed(cap, *RULES, instances=names))
    assert_same_alerts(replay, live, round(TICK_S * US))


def test_the_property_is_not_empty() -> None:
    # The scenarios raise what they promise, so agreement above is agreement on alerts.
    raised = {
        a["alert"]
        for name in ("stall", "second_leader", "zero_participants", "regression")
        for a in alerts(replayed(capture(SCENARIOS[name]()), *RULES, instances=["acme-mainnet"]))
    }
    assert {"round_stall", "split_brain", "participants_zero", "round_regression"} <= raised


@st.composite
def random_scenarios(draw: st.DrawFn) -> list[LogLine]:
    """A random run of an instance: healthy rounds, silences, failovers, rival leaders,
    stuck rounds, round numbers jumping back, in any order."""
    s = Scenario(
        seed=draw(st.integers(0, 10_000)),
        clients=draw(st.integers(2, 6)),
        period_s=draw(st.sampled_from([1.0, 2.0])),
    ).start()
    s.rounds(draw(st.integers(3, 6)))
    for _ in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from(["rounds", "silence", "failover", "rival", "stuck", "jump"]))
        if step == "rounds":
            s.rounds(draw(st.integers(1, 8)))
        elif step == "silence":
            # Not a whole number of periods: a finalization landing exactly on the stall
            # deadline is on it only up to a skewed host's measured offset.
            s.silence(draw(st.integers(2, 30)) + 0.37, chatter=draw(st.booleans()))
        elif step == "failover" and s.leader == "srv1":
            s.failover("srv2", gap_s=draw(st.integers(1, 8)))
        elif step == "rival":
            s.rival_leader()
        elif step == "stuck":
            s.stuck_round(draw(st.integers(2, 12)) + 0.37)
        elif step == "jump":
            s.jump(max(1, s.next_round - draw(st.integers(1, 5))))
        s.rounds(draw(st.integers(1, 3)))
    return s.lines()


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    lines=random_scenarios(),
    host=st.sampled_from(sorted(HOSTS.values())),
    # Clear of the thresholds (0.5 s corrected, 2 s skewed), where which side a host
    # falls on depends on the jitter of its rounds: off by 3 s to 2 h, or in line.
    offset_s=st.one_of(st.just(0.0), st.floats(3, 7200), st.floats(-7200, -3)),
    delay_s=st.floats(0, 0.2),
    tick_s=st.sampled_from([0.1, 0.25]),
)
def test_live_equals_replay_for_random_scenarios_and_skews(
    lines: list[LogLine], host: str, offset_s: float, delay_s: float, tick_s: float
) -> None:
    # Entries reach logwatch delay_s after they were written (less than the lateness
    # follow allows for), in the order they were written. A skewed host's entries are
    # placed by its measured offset, as precise as its rounds' jitter (under CORRECTION).
    cap = capture(lines, {host: offset_s}, delay=lambda i: delay_s)
    replay = alerts(replayed(cap, *RULES, instances=["acme-mainnet"]))
    live = alerts(followed(cap, *RULES, tick_s=tick_s))
    precision = CORRECTION_US if offset_s else 0
    assert_same_alerts(replay, live, round(tick_s * US) + precision)


@pytest.mark.parametrize("slow_s", [9.0, 12.0])
def test_a_follow_slower_than_its_journal_alerts_as_replay_does(slow_s: float) -> None:
    """Taking in each batch takes longer than the rules' window (W = 3P + D = 7 s): what
    was written meanwhile is still unread, and the clock must not pass it. It did: a
    healthy instance stalled while its rounds waited to be read, and the entries that
    came late by the batch's length were placed as if their hosts' clocks were off."""
    cap = capture(SCENARIOS["stall"]())
    replay = alerts(replayed(cap, *RULES, instances=["acme-mainnet"]))
    live = alerts(followed(cap, *RULES, instances=["acme-mainnet"], slow_s=slow_s))
    assert [a["state"] for a in replay] == ["firing", "resolved"]  # not vacuous
    assert_same_alerts(replay, live, round(TICK_S * US))
