"""The benchmark's workload: one zipnet instance among unrelated units, simulated in a stream.

Shape (issue 6): one instance with 5 committee servers, an aggregator and 200 client
hosts, rounds every 2 s, and unrelated programs (sshd, cron, nginx, ...) on the same hosts
making up the rest, about 80 % of the entries. Rendered as tracing "full" format with ANSI
colour on stdout, as zipnet writes by default.

The simulator's Scenario keeps every line it makes until `lines()`, so the instance is
scripted in chunks of rounds, each a fresh Scenario that starts where the last one ended
(same seed, so the same pids and ids), and merged lazily with the noise: memory stays flat
whatever the size, and 10 M entries are as real as 1 M (round numbers keep increasing).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from env import INSTANCE

from logwatch.simulate import DEFAULT_START_US, LogLine, Scenario, export_stream, noise

STYLE = "full-ansi"
_CHUNK_ROUNDS = 50
_SAMPLE_ROUNDS = 30


@dataclass(frozen=True, slots=True)
class Shape:
    """What to simulate: `entries` in all, `instance_share` of them from the instance."""

    entries: int
    clients: int = 200
    servers: int = 5
    period_s: float = 2.0
    instance_share: float = 0.2
    seed: int = 6

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Plan:
    """How many rounds and noise lines make `shape.entries` entries."""

    shape: Shape
    rounds: int
    instance_entries: int

    @property
    def noise_entries(self) -> int:
        return self.shape.entries - self.instance_entries

    @property
    def duration_s(self) -> float:
        # start() takes half a period (bonds, registrations), then one period a round.
        return (self.rounds + 0.5) * self.shape.period_s

    def to_json(self) -> dict[str, object]:
        return {
            "rounds": self.rounds,
            "instance_entries": self.instance_entries,
            "noise_entries": self.noise_entries,
            "duration_s": self.duration_s,
        }


def _scenario(shape: Shape, start_us: int = DEFAULT_START_US, first_round: int = 1) -> Scenario:
    return Scenario(
        INSTANCE,
        start_us,
        period_s=shape.period_s,
        servers=shape.servers,
        clients=shape.clients,
        seed=shape.seed,
        first_round=first_round,
    )


def instance_lines(shape: Shape, rounds: int) -> Iterator[LogLine]:
    """The instance's lines in time order: start-up, then `rounds` rounds, chunk by chunk.

    A round's lines all fall inside its own period, so consecutive chunks do not overlap.
    """
    scenario = _scenario(shape).start()
    done = 0
    while True:
        n = min(_CHUNK_ROUNDS, rounds - done)
        yield from scenario.rounds(n).lines()
        done += n
        if done >= rounds:
            return
        scenario = _scenario(shape, scenario.now_us, scenario.next_round)


def lines_per_round(shape: Shape) -> tuple[int, float]:
    """The instance's start-up lines, and its lines per round on average."""
    start = len(_scenario(shape).start().lines())
    sample = len(_scenario(shape).start().rounds(_SAMPLE_ROUNDS).lines()) - start
    return start, sample / _SAMPLE_ROUNDS


def plan(shape: Shape) -> Plan:
    """Pick the round count that makes the instance `instance_share` of the entries."""
    start, per_round = lines_per_round(shape)
    rounds = round((shape.entries * shape.instance_share - start) / per_round)
    if rounds < 1:
        raise ValueError(f"{shape.entries:,} entries are too few for one round")
    # Counting is cheap next to rendering, and exact whatever the simulator does per round.
    count = sum(1 for _ in instance_lines(shape, rounds))
    return Plan(shape, rounds, count)


def hosts(shape: Shape) -> list[str]:
    """Every host of the instance; the noise is spread over them."""
    scenario = _scenario(shape)
    return [*scenario.servers, scenario.aggregator, *scenario.clients]


def workload_lines(p: Plan) -> Iterator[LogLine]:
    """The instance and the noise, merged in time order, lazily."""
    per_second = p.noise_entries / p.duration_s
    others = noise(
        DEFAULT_START_US,
        p.noise_entries,
        per_second=per_second,
        hosts=hosts(p.shape),
        seed=p.shape.seed,
    )
    return heapq.merge(instance_lines(p.shape, p.rounds), others, key=lambda line: line.time_us)


def export_chunks(p: Plan, chunk_bytes: int = 1 << 20) -> Iterator[tuple[int, bytes]]:
    """The workload as journal export text in chunks of about `chunk_bytes`, with the
    number of entries in each."""
    parts: list[bytes] = []
    size = 0
    for entry in export_stream(workload_lines(p), STYLE):
        parts.append(entry)
        size += len(entry)
        if size >= chunk_bytes:
            yield len(parts), b"".join(parts)
            parts.clear()
            size = 0
    if parts:
        yield len(parts), b"".join(parts)
