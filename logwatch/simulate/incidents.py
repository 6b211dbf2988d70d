"""The named incidents `logwatch simulate` plays, each with the alerts it must raise."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from logwatch.simulate.lines import DEFAULT_START_US, Display, LogLine
from logwatch.simulate.scenario import Scenario
from logwatch.times import US

SKEWED_HOSTS = (("srv3", 150.0), ("client2", -45.0))
"""The skew incident's hosts and how far (s) their clocks are off: ahead and behind."""
BOND_TARGET = "mosaik::groups::bond::worker"
HEARTBEAT_EVERY = 5
"""In a dead committee, the followers report missed heartbeats every this many periods."""


@dataclass(frozen=True, slots=True)
class Drill:
    """How an incident is played: which instance, its size, how long, how fast, the seed."""

    instance: str
    clients: int = 5
    minutes: float = 10.0
    period_s: float = 2.0
    seed: int = 0
    start_us: int = DEFAULT_START_US

    def scenario(self) -> Scenario:
        return Scenario(
            self.instance,
            self.start_us,
            period_s=self.period_s,
            clients=self.clients,
            seed=self.seed,
        )

    def rounds_in(self, seconds: float) -> int:
        """How many rounds fit in `seconds` (at least one)."""
        return max(1, round(seconds / self.period_s))

    @property
    def seconds(self) -> float:
        return self.minutes * 60


@dataclass(frozen=True, slots=True)
class Incident:
    """A named incident: what it plays (in words), the alerts a replay of it fires, and
    how it is made."""

    name: str
    story: str
    fires: tuple[str, ...]
    make: Callable[[Drill], list[LogLine]]


def _phases(drill: Drill, incident_s: float) -> tuple[int, float, int]:
    """Rounds before the incident, its length in seconds (at least `incident_s`), rounds
    after: the incident starts at 40% of the drill, and is followed by rounds enough for
    every alert to resolve (12 periods outlast W = 3P + D), even past the drill's end."""
    before = drill.rounds_in(0.4 * drill.seconds)
    length = max(incident_s, 0.3 * drill.seconds)
    rest = drill.seconds - before * drill.period_s - length
    return before, length, max(12, drill.rounds_in(rest))


def healthy(drill: Drill) -> list[LogLine]:
    return drill.scenario().start().rounds(drill.rounds_in(drill.seconds)).lines()


def stall(drill: Drill) -> list[LogLine]:
    # Long enough to outlast W = 3P + D even when D is far above P.
    before, length, after = _phases(drill, 12 * drill.period_s)
    scenario = drill.scenario().start().rounds(before)
    return scenario.silence(length, chatter=True).rounds(after).lines()


def split(drill: Drill) -> list[LogLine]:
    # Two leaders for longer than split_brain's hold time (60 s) and W after it.
    before, length, after = _phases(drill, 60 + 12 * drill.period_s)
    scenario = drill.scenario().start().rounds(before)
    scenario.split_brain("srv2", drill.rounds_in(length))
    return scenario.rounds(after).lines()


def skew(drill: Drill) -> list[LogLine]:
    offsets = {host: round(s * US) for host, s in SKEWED_HOSTS}
    return [
        dataclasses.replace(x, time_us=x.time_us + offsets[x.host]) if x.host in offsets else x
        for x in healthy(drill)
    ]


def dead_committee(drill: Drill) -> list[LogLine]:
    before, _, _ = _phases(drill, 0)
    scenario = drill.scenario().start().rounds(before)
    stuck = drill.rounds_in(drill.seconds) - before
    leader, number = scenario.leader, scenario.next_round
    followers = [s for s in scenario.servers if s != leader]
    for i in range(stuck):
        # The leader opens the round again and again, the aggregator forwards the clients'
        # envelopes, and no server applies it: the committee lost its quorum.
        scenario.emit(leader, "opening round", ("round", number))
        for client in scenario.clients:
            scenario.emit(client, "sealed envelope", ("round", number), ("bytes", 16384))
        scenario.advance(drill.period_s * 0.4)
        scenario.emit(
            scenario.aggregator,
            "forwarded aggregate",
            ("round", number),
            ("clients", len(scenario.clients)),
        )
        if i % HEARTBEAT_EVERY == 0:
            for host in followers:
                scenario.emit(
                    host,
                    "heartbeat failed: too many missed heartbeats",
                    ("network", Display(scenario.network)),
                    ("peer", Display(scenario.peer_ids[leader])),
                    ("group", Display(scenario.group)),
                    level="WARN",
                    target=BOND_TARGET,
                )
        scenario.advance(drill.period_s * 0.6)
    return scenario.lines()


INCIDENTS = {
    i.name: i
    for i in (
        Incident("healthy", "rounds finalize on time all along", (), healthy),
        Incident(
            "stall",
            "rounds stop at 40% of the run while the hosts keep writing, then come back; "
            "the aggregator has nothing to forward either",
            ("round_stall",),
            stall,
        ),
        Incident(
            "split",
            "at 40% of the run srv2 leads too, with rounds of its own, for over a minute",
            ("split_brain",),
            split,
        ),
        Incident(
            "skew",
            "healthy, but srv3's clock is 2m30s ahead and client2's 45s behind",
            ("clock_skew",),
            skew,
        ),
        Incident(
            "dead-committee",
            "at 40% of the run the committee loses its quorum: the leader reopens one round, "
            "the aggregator forwards, no server applies it, heartbeats fail, to the end",
            ("round_stall",),
            dead_committee,
        ),
    )
}
