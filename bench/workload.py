"""The benchmark's workload: one zipnet instance and its noise, simulated in a stream.

Two mixes, both rendered as tracing "full" format with ANSI colour on stdout, as zipnet
writes by default:

- `others` (issue 6): one instance with 5 committee servers, an aggregator and 200
  client hosts, rounds every 2 s, and unrelated programs (sshd, cron, nginx, ...) on the
  same hosts making up the rest, about 80 % of the entries.
- `zipnet` (issue 13): one instance with 3 servers, an aggregator and 200 clients, a
  round a second, and about 80 % of the entries from zipnet's own units that no pattern
  claims, as zipnet writes them at `RUST_LOG=info,mosaik=debug`: mosaik's group, raft,
  discovery and transport lines under the same unit and identifier as the lines that
  matter.
- `events` (issue 17): one instance as in `others`, 95 % of the entries its own (nearly
  all of them lines patterns claim: `sealed envelope`...), other programs the rest.
- `collector` (issue 17): four instances on the same hosts (3 servers, an aggregator and
  50 clients each, a round a second), 80 % of the entries in equal parts, other
  programs the rest: a collector's journal of which one instance is replayed.

The simulator's Scenario keeps every line it makes until `lines()`, so the instance is
scripted in chunks of rounds, each a fresh Scenario that starts where the last one ended
(same seed, so the same pids and ids), and merged lazily with the noise: memory stays flat
whatever the size, and 10 M entries are as real as 1 M (round numbers keep increasing).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass

from env import INSTANCE

from logwatch.simulate import DEFAULT_START_US, Display, LogLine, Scenario, export_stream, noise
from logwatch.times import US

STYLE = "full-ansi"
_CHUNK_ROUNDS = 50
_SAMPLE_ROUNDS = 30
MIXES = ("others", "zipnet", "events", "collector")
COLLECTED = (INSTANCE, "beta-mainnet", "gamma-testnet", "delta-preview")
"""The collector mix's instances, the replayed one first."""

# What mosaik writes at debug besides the lines patterns claim: (roles, level, target,
# message, field names). Groups and raft run on the committee servers only; discovery
# and transport on every zipnet process. None of these messages is a pattern's.
_GROUP = ("server",)
_EVERYONE = ("server", "aggregator", "client")
_MOSAIK_DEBUG = (
    (_GROUP, "DEBUG", "mosaik::groups::raft::role", "starting new leader elections", ()),
    (_GROUP, "DEBUG", "mosaik::groups::raft::role", "quorum not reached", ("committee_size",)),
    (_GROUP, "INFO", "mosaik::groups", "joining", ("group", "network")),
    (_GROUP, "INFO", "mosaik::groups::sync", "starting state sync", ("leader_pos", "local_pos")),
    (_GROUP, "INFO", "mosaik::groups::sync", "state sync complete, back online", ("log_at",)),
    (_GROUP, "WARN", "mosaik::groups::sync", "fetch request timed out", ("peer", "range")),
    (_GROUP, "WARN", "mosaik::groups::raft::role", "ignoring unsolicited vote", ("from",)),
    (_EVERYONE, "INFO", "mosaik::discovery", "announced peer record", ("peer",)),
    (_EVERYONE, "DEBUG", "mosaik::discovery::gossip", "gossip round complete", ("peers",)),
    (_EVERYONE, "DEBUG", "mosaik::transport", "stream reopened after idle timeout", ("peer",)),
    (_EVERYONE, "DEBUG", "mosaik::transport", "sent datagram", ("peer", "bytes")),
)


@dataclass(frozen=True, slots=True)
class Shape:
    """What to simulate: `entries` in all, `instance_share` of them from the instance."""

    entries: int
    clients: int = 200
    servers: int = 5
    period_s: float = 2.0
    instance_share: float = 0.2
    seed: int = 6
    mix: str = "others"
    instances: int = 1

    @classmethod
    def of(cls, entries: int, mix: str) -> Shape:
        """The shape of one of the mixes (see the module docstring)."""
        if mix == "zipnet":
            return cls(entries, servers=3, period_s=1.0, mix=mix)
        if mix == "events":
            return cls(entries, instance_share=0.95, mix=mix)
        if mix == "collector":
            return cls(
                entries,
                clients=50,
                servers=3,
                period_s=1.0,
                instance_share=0.8,
                mix=mix,
                instances=4,
            )
        return cls(entries)

    @property
    def names(self) -> tuple[str, ...]:
        """The instances written."""
        return COLLECTED[: self.instances]

    def to_json(self) -> dict[str, object]:
        shape = asdict(self)
        if self.instances == 1:
            del shape["instances"]  # as earlier caches recorded it: they stay valid
        if self.mix == "others":
            del shape["mix"]  # as issue 6's caches recorded it: they stay valid
        return shape


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


def _scenario(
    shape: Shape,
    start_us: int = DEFAULT_START_US,
    first_round: int = 1,
    instance: str = INSTANCE,
) -> Scenario:
    return Scenario(
        instance,
        start_us,
        period_s=shape.period_s,
        servers=shape.servers,
        clients=shape.clients,
        seed=shape.seed,
        first_round=first_round,
    )


def instance_lines(shape: Shape, rounds: int) -> Iterator[LogLine]:
    """The instances' lines in time order (each: start-up, then `rounds` rounds)."""
    each = [_one_instance(shape, rounds, name) for name in shape.names]
    return each[0] if len(each) == 1 else heapq.merge(*each, key=lambda line: line.time_us)


def _one_instance(shape: Shape, rounds: int, instance: str) -> Iterator[LogLine]:
    """One instance's lines in time order, chunk by chunk: a round's lines all fall inside
    its own period, so consecutive chunks do not overlap."""
    scenario = _scenario(shape, instance=instance).start()
    done = 0
    while True:
        n = min(_CHUNK_ROUNDS, rounds - done)
        yield from scenario.rounds(n).lines()
        done += n
        if done >= rounds:
            return
        scenario = _scenario(shape, scenario.now_us, scenario.next_round, instance)


def lines_per_round(shape: Shape) -> tuple[int, float]:
    """The instances' start-up lines, and their lines per round on average."""
    start = len(_scenario(shape).start().lines())
    sample = len(_scenario(shape).start().rounds(_SAMPLE_ROUNDS).lines()) - start
    return start * shape.instances, sample * shape.instances / _SAMPLE_ROUNDS


def plan(shape: Shape) -> Plan:
    """Pick the round count that makes the instances `instance_share` of the entries."""
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
    if p.shape.mix == "zipnet":
        others = zipnet_noise(p.shape, p.noise_entries, per_second)
    else:
        others = noise(
            DEFAULT_START_US,
            p.noise_entries,
            per_second=per_second,
            hosts=hosts(p.shape),
            seed=p.shape.seed,
        )
    return heapq.merge(instance_lines(p.shape, p.rounds), others, key=lambda line: line.time_us)


def zipnet_noise(shape: Shape, count: int, per_second: float) -> Iterator[LogLine]:
    """`count` lines no pattern claims, from the instance's own units (mosaik at debug),
    at about `per_second`, spread over every host of the instance."""
    rng = random.Random(shape.seed)
    scenario = _scenario(shape)
    by_role: dict[str, Sequence[str]] = {
        "server": scenario.servers,
        "aggregator": [scenario.aggregator],
        "client": scenario.clients,
    }
    everyone = [(role, host) for role, hosts_ in by_role.items() for host in hosts_]
    servers = [("server", host) for host in scenario.servers]
    # Servers write most of it: groups, raft and their many peers.
    writers = servers * (len(everyone) // len(servers)) + everyone
    kinds = {role: [m for m in _MOSAIK_DEBUG if role in m[0]] for role in by_role}
    t = DEFAULT_START_US
    step = US / per_second
    for _ in range(count):
        t += max(1, round(rng.expovariate(1.0) * step))
        role, host = rng.choice(writers)
        _, level, target, message, names = rng.choice(kinds[role])
        fields = tuple((name, Display(f"{rng.getrandbits(40):010x}")) for name in names)
        yield LogLine(t, INSTANCE, role, host, level, target, message, fields)


def export_chunks(p: Plan, chunk_bytes: int = 1 << 20) -> Iterator[tuple[int, bytes]]:
    """The workload as journal export text in chunks of about `chunk_bytes`, with the
    number of entries in each."""
    return chunks_of(workload_lines(p), chunk_bytes)


def chunks_of(lines: Iterable[LogLine], chunk_bytes: int = 1 << 20) -> Iterator[tuple[int, bytes]]:
    """`lines` as journal export text in chunks of about `chunk_bytes`, with the number of
    entries in each."""
    parts: list[bytes] = []
    size = 0
    for entry in export_stream(lines, STYLE):
        parts.append(entry)
        size += len(entry)
        if size >= chunk_bytes:
            yield len(parts), b"".join(parts)
            parts.clear()
            size = 0
    if parts:
        yield len(parts), b"".join(parts)
