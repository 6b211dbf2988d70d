"""The replay scenarios of the tests, by name: each a simulated capture with what it holds.

Shared by tests/test_replay.py and the live-equals-replay property (tests/test_live_replay.py),
so every scenario a replay is tested on is also played live.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from logwatch import simulate
from logwatch.simulate import LogLine, Scenario


@functools.cache
def healthy() -> tuple[LogLine, ...]:
    return tuple(Scenario(seed=1).start().rounds(20).lines())


@functools.cache
def stall() -> tuple[LogLine, ...]:
    return tuple(Scenario(seed=2).start().rounds(5).silence(90).rounds(3).lines())


@functools.cache
def same_rounds() -> tuple[LogLine, ...]:
    scenario = Scenario(seed=3).start().rounds(3)
    return tuple(scenario.split_brain("srv2", 3, same_rounds=True).rounds(6).lines())


@functools.cache
def second_leader() -> tuple[LogLine, ...]:
    # srv2 finalizes its own numbering, one round per period, for 90 s.
    return tuple(Scenario(seed=4).start().rounds(3).split_brain("srv2", 45).rounds(6).lines())


@functools.cache
def rival() -> tuple[LogLine, ...]:
    return tuple(Scenario(seed=5).start().rounds(3).rival_leader().rounds(6).lines())


@functools.cache
def zero_participants() -> tuple[LogLine, ...]:
    scenario = Scenario(seed=6).start().rounds(3)
    return tuple(scenario.rounds(3, participants=0).rounds(3).lines())


@functools.cache
def failover() -> tuple[LogLine, ...]:
    scenario = Scenario(seed=7).start().rounds(5)
    return tuple(scenario.failover("srv2", gap_s=3).rounds(6).lines())


@functools.cache
def two_instances() -> tuple[LogLine, ...]:
    """acme-mainnet healthy for 80 s; preview-alpha (led by srv2, so the same instants
    land in two hosts' journals) stalls 30 s, recovers, then stops while acme goes on;
    unrelated programs write on the same hosts."""
    acme = Scenario("acme-mainnet", seed=8).start().rounds(40).lines()
    preview = Scenario("preview-alpha", seed=9, clients=2).start()
    preview.rounds(5, leader="srv2").silence(30).rounds(3, leader="srv2")
    foreign = simulate.noise(simulate.DEFAULT_START_US, 40, per_second=1, hosts=("srv1", "srv2"))
    return tuple(simulate.merge(acme, preview.lines(), foreign))


@functools.cache
def regression() -> tuple[LogLine, ...]:
    return tuple(Scenario(seed=10, clients=4).start().rounds(10).jump(5).rounds(6).lines())


@functools.cache
def aggregator_down() -> tuple[LogLine, ...]:
    """The aggregator stops: clients seal, nothing is forwarded, no round finalizes."""
    s = Scenario(seed=11, clients=4).start().rounds(8).crash("agg1")
    return tuple(_broken(s, 8, forward=False, apply=False, partials=False).lines())


@functools.cache
def committee_stuck() -> tuple[LogLine, ...]:
    """The leader opens rounds and applies the aggregate, the servers submit partials,
    and nothing is finalized."""
    s = Scenario(seed=12, clients=4).start().rounds(8)
    return tuple(_broken(s, 8).lines())


def _broken(
    s: Scenario,
    rounds: int,
    *,
    forward: bool = True,
    apply: bool = True,
    partials: bool = True,
    sealers: int | None = None,
) -> Scenario:
    """`rounds` periods in which each round gets only as far as the flags say, and is
    never finalized."""
    for _ in range(rounds):
        number = s.next_round
        base = s.now_us
        s.emit(s.leader, "opening round", ("round", number), at_us=base)
        clients = s.clients if sealers is None else s.clients[:sealers]
        for i, host in enumerate(clients):
            at = base + s.period_us // 10 + i * 1000
            s.emit(host, "sealed envelope", ("round", number), ("bytes", 16384), at_us=at)
        if forward:
            fwd = ("round", number), ("clients", len(clients))
            s.emit(s.aggregator, "forwarded aggregate", *fwd, at_us=base + s.period_us * 4 // 10)
        if apply:
            app = ("round", number), ("clients", len(clients))
            s.emit(s.leader, "applying SubmitAggregate", *app, at_us=base + s.period_us // 2)
        if partials:
            for i, host in enumerate(s.servers):
                at = base + s.period_us * 6 // 10 + i * 1000
                s.emit(host, "submitted partial", ("round", number), at_us=at)
        s.next_round += 1
        s.now_us += s.period_us
    return s


SCENARIOS: dict[str, Callable[[], tuple[LogLine, ...]]] = {
    "healthy": healthy,
    "stall": stall,
    "same_rounds": same_rounds,
    "second_leader": second_leader,
    "rival": rival,
    "zero_participants": zero_participants,
    "failover": failover,
    "two_instances": two_instances,
    "regression": regression,
    "aggregator_down": aggregator_down,
    "committee_stuck": committee_stuck,
}
