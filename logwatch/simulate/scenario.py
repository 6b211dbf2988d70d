"""Scripted zipnet instances: healthy rounds and the incidents logwatch must notice."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence

from logwatch.simulate.lines import DEFAULT_START_US, Display, LogLine, Span, Value
from logwatch.times import US

_SERVER_TARGET = "zipnet::server::round"
_AGGREGATOR_TARGET = "zipnet::aggregator"
_CLIENT_TARGET = "zipnet::client"
_RAFT_TARGET = "mosaik::groups::raft::role"
_BOND_TARGET = "mosaik::groups::bond::worker"
_CHATTER = (
    ("zipnet::server::net", "DEBUG", "peer connection kept alive"),
    ("mosaik::discovery", "INFO", "announced peer record"),
    ("zipnet::metrics", "DEBUG", "exported metrics snapshot"),
    ("mosaik::transport", "DEBUG", "stream reopened after idle timeout"),
)


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(40):010x}"


class Scenario:
    """Scripts one zipnet instance's logs: committee servers srv1..srvN (srv1 leads at
    first), one aggregator host agg1, client hosts client1..clientM.

    Every method appends lines from the scenario's clock onward, moves the clock on and
    returns the scenario, so incidents chain: `Scenario("acme-mainnet").start().rounds(5)
    .silence(30).rounds(2).lines()`. The same arguments and seed give the same lines.
    """

    def __init__(
        self,
        instance: str = "acme-mainnet",
        start_us: int = DEFAULT_START_US,
        *,
        period_s: float = 2.0,
        servers: int = 3,
        clients: int = 5,
        seed: int = 0,
        first_round: int = 1,
        bytes_per_round: int = 16384,
        mosaik: bool = True,
    ) -> None:
        self.instance = instance
        self.now_us = start_us
        self.period_us = round(period_s * US)
        self.servers = [f"srv{i}" for i in range(1, servers + 1)]
        self.aggregator = "agg1"
        self.clients = [f"client{i}" for i in range(1, clients + 1)]
        self.leader = self.servers[0]
        self.next_round = first_round
        self.bytes_per_round = bytes_per_round
        self.mosaik = mosaik
        self.down: set[str] = set()
        self._rng = random.Random(f"{seed}/{instance}")
        self.term = 1
        self.group = _id(self._rng)
        self.network = _id(self._rng)
        self.peer_ids = {host: _id(self._rng) for host in self.servers}
        self.client_ids = {host: _id(self._rng) for host in self.clients}
        self.pids = {
            host: 1000 + self._rng.randrange(60000)
            for host in [*self.servers, self.aggregator, *self.clients]
        }
        self._lines: list[LogLine] = []

    def role_of(self, host: str) -> str:
        """`server`, `aggregator` or `client`, by the host's place in the scenario."""
        if host in self.peer_ids:
            return "server"
        if host == self.aggregator:
            return "aggregator"
        return "client"

    # The building block: every other method goes through emit().
    def emit(
        self,
        host: str,
        message: str,
        *fields: tuple[str, Value],
        level: str = "INFO",
        target: str | None = None,
        spans: tuple[Span, ...] = (),
        at_us: int | None = None,
    ) -> Scenario:
        """Append one line by `host` at `at_us` (default: now); the clock does not move."""
        role = self.role_of(host)
        default_target = {"server": _SERVER_TARGET, "aggregator": _AGGREGATOR_TARGET}
        if host not in self.pids:
            self.pids[host] = 1000 + self._rng.randrange(60000)
        self._lines.append(
            LogLine(
                time_us=self.now_us if at_us is None else at_us,
                instance=self.instance,
                role=role,
                host=host,
                level=level,
                target=target or default_target.get(role, _CLIENT_TARGET),
                message=message,
                fields=tuple(fields),
                spans=spans,
                pid=self.pids[host],
            )
        )
        return self

    def advance(self, seconds: float) -> Scenario:
        """Move the clock on without writing anything."""
        self.now_us += round(seconds * US)
        return self

    def _jitter(self, low: float, high: float) -> int:
        """µs between `low` and `high` periods from now."""
        return self.now_us + round(self.period_us * self._rng.uniform(low, high))

    def _raft_spans(self) -> tuple[Span, ...]:
        group = (("group", Display(self.group)), ("term", self.term))
        return (("raft", group), ("append", ()))

    def start(self) -> Scenario:
        """Bonds between the servers (with mosaik) and every client's registration."""
        if self.mosaik:
            for host in self.servers:
                bond = (("group", Display(self.group)), ("network", Display(self.network)))
                self.emit(
                    host, "bond established", *bond, target=_BOND_TARGET, at_us=self._jitter(0, 0.2)
                )
        self.advance(self.period_us / US * 0.25)
        return self.register()

    def register(self, hosts: Sequence[str] | None = None, *, fail: bool = False) -> Scenario:
        """Clients register through the aggregator (or fail with `ticket expired`); a new
        host joins the clients that seal envelopes from the next round on."""
        for host in self.clients if hosts is None else hosts:
            if host not in self.client_ids:
                self.client_ids[host] = _id(self._rng)
            if not fail and host not in self.clients:
                self.clients.append(host)
            client = ("client", Display(self.client_ids[host]))
            t = self._jitter(0, 0.2)
            self.emit(host, "registration submitted", at_us=t)
            if fail:
                self.emit(
                    host,
                    "registration failed",
                    ("error", Display("ticket expired")),
                    level="WARN",
                    at_us=t + 60_000,
                )
                continue
            self.emit(self.aggregator, "registering client", client, at_us=t + 20_000)
            self.emit(host, "registration accepted", client, at_us=t + 45_000)
        return self.advance(self.period_us / US * 0.25)

    def rounds(
        self,
        n: int,
        *,
        participants: int | None = None,
        sealing: Sequence[str] | None = None,
        leader: str | None = None,
        chatter: bool = True,
    ) -> Scenario:
        """`n` healthy rounds, one per period, led by `leader` (default: the leader).

        sealing: the clients that seal an envelope (default: all); participants: what the
        leader reports (default: how many sealed).
        """
        for _ in range(n):
            self._round(self.next_round, leader or self.leader, participants, sealing)
            if chatter and self.next_round % 3 == 0:
                self._chatter()
            self.next_round += 1
            self.now_us += self.period_us
        return self

    def _round(
        self,
        number: int,
        leader: str,
        participants: int | None,
        sealing: Sequence[str] | None,
        *,
        offset: float = 0.0,
    ) -> None:
        base = self.now_us + round(offset * self.period_us)
        sealers = [c for c in (self.clients if sealing is None else sealing) if c not in self.down]
        count = len(sealers) if participants is None else participants
        size = ("bytes", self.bytes_per_round)

        def at(frac: float) -> int:
            return base + round(frac * self.period_us)

        self.emit(leader, "opening round", ("round", number), at_us=at(0))
        for host in sealers:
            t = at(0.05 + 0.3 * self._rng.random())
            self.emit(host, "sealed envelope", ("round", number), size, at_us=t)
        if self.aggregator not in self.down:
            self.emit(
                self.aggregator,
                "forwarded aggregate",
                ("round", number),
                ("clients", len(sealers)),
                at_us=at(0.4),
            )
        self.emit(
            leader,
            "applying SubmitAggregate",
            ("round", number),
            ("clients", len(sealers)),
            at_us=at(0.45),
        )
        for host in self.servers:
            if host not in self.down:
                t = at(0.5 + 0.1 * self._rng.random())
                self.emit(host, "submitted partial", ("round", number), at_us=t)
        self.emit(
            leader,
            "round finalized",
            ("round", number),
            ("participants", count),
            size,
            at_us=at(0.7),
        )

    def _chatter(self) -> None:
        host = self._rng.choice([*self.servers, self.aggregator])
        target, level, message = self._rng.choice(_CHATTER)
        self.emit(
            host,
            message,
            ("peer", Display(_id(self._rng))),
            level=level,
            target=target,
            at_us=self._jitter(0.8, 0.95),
        )
        if self.mosaik:
            self.emit(
                self.leader,
                "replicated log entries",
                ("entries", 1 + self.next_round % 4),
                level="DEBUG",
                target=_RAFT_TARGET,
                spans=self._raft_spans(),
                at_us=self._jitter(0.75, 0.8),
            )

    def silence(self, seconds: float, *, chatter: bool = False) -> Scenario:
        """No rounds for `seconds`; with chatter the hosts still write unrelated lines
        (about one a second), so the instance looks alive but stalled."""
        end = self.now_us + round(seconds * US)
        while chatter and self.now_us + US <= end:
            host = self._rng.choice([*self.servers, self.aggregator])
            target, level, message = self._rng.choice(_CHATTER)
            self.emit(host, message, ("peer", Display(_id(self._rng))), level=level, target=target)
            self.now_us += US
        self.now_us = end
        return self

    def noise(self, n: int) -> Scenario:
        """`n` lines from this instance's hosts that no pattern should match."""
        for _ in range(n):
            host = self._rng.choice([*self.servers, self.aggregator, *self.clients])
            target, level, message = self._rng.choice(_CHATTER)
            t = self._jitter(0, 0.1)
            self.emit(
                host,
                message,
                ("peer", Display(_id(self._rng))),
                level=level,
                target=target,
                at_us=t,
            )
        return self.advance(self.period_us / US * 0.1)

    def rival_leader(self, host: str | None = None, *, other: str | None = None) -> Scenario:
        """`host` (default: the leader) warns `rival group leader detected` about `other`."""
        host = host or self.leader
        other_host = other or next(s for s in self.servers if s != host)
        rival = self.peer_ids.get(other_host, other_host)
        self.emit(
            host,
            "rival group leader detected",
            ("term", Display(str(self.term))),
            ("other_leader", Display(rival)),
            ("other_leader_log", Display(f"(t:{self.term},i:42)")),
            ("local_log", Display(f"(t:{self.term},i:40)")),
            ("group", Display(self.group)),
            ("network", Display(self.network)),
            level="WARN",
            target=_RAFT_TARGET,
            spans=self._raft_spans(),
        )
        return self.advance(0.01)

    def failover(self, to_host: str, *, gap_s: float | None = None) -> Scenario:
        """The leader goes down; the others miss its heartbeats; `to_host` leads a new term
        after `gap_s` (default: one period). Later rounds are led by `to_host`."""
        old = self.leader
        self.down.add(old)
        for host in self.servers:
            if host not in self.down:
                self.emit(
                    host,
                    "heartbeat failed: too many missed heartbeats",
                    ("network", Display(self.network)),
                    ("peer", Display(self.peer_ids[old])),
                    ("group", Display(self.group)),
                    level="WARN",
                    target=_BOND_TARGET,
                    at_us=self._jitter(0, 0.1),
                )
        self.advance(self.period_us / US if gap_s is None else gap_s)
        self.term += 1
        self.leader = to_host
        if self.mosaik:
            bond = (("group", Display(self.group)), ("network", Display(self.network)))
            self.emit(to_host, "bond established", *bond, target=_BOND_TARGET)
        return self.advance(0.05)

    def crash(self, host: str) -> Scenario:
        """`host` stops writing its part of each round (a crash, a cut link): a client
        seals nothing, a server submits no partial, the aggregator forwards nothing."""
        self.down.add(host)
        return self

    def recover(self, host: str) -> Scenario:
        """A crashed host (or a leader that failed over) takes part again, as a follower."""
        self.down.discard(host)
        return self

    def stuck_round(self, seconds: float) -> Scenario:
        """The leader opens the next round and the servers submit partials, but it never
        finalizes; `seconds` later the scenario goes on (retrying that round number)."""
        number = self.next_round
        self.emit(self.leader, "opening round", ("round", number))
        for host in self.servers:
            if host not in self.down:
                at = self._jitter(0.5, 0.6)
                self.emit(host, "submitted partial", ("round", number), at_us=at)
        return self.silence(seconds, chatter=True)

    def finalize_by(self, host: str, number: int, *, participants: int | None = None) -> Scenario:
        """`host` opens and finalizes round `number` on its own, now (a fork, or a second
        server claiming a round the leader already finalized)."""
        count = len(self.clients) if participants is None else participants
        size = ("bytes", self.bytes_per_round)
        self.emit(host, "opening round", ("round", number))
        self.emit(
            host,
            "round finalized",
            ("round", number),
            ("participants", count),
            size,
            at_us=self.now_us + self.period_us // 2,
        )
        return self.advance(self.period_us / US * 0.6)

    def split_brain(
        self, other: str, n: int, *, other_first_round: int | None = None, same_rounds: bool = False
    ) -> Scenario:
        """For `n` periods two leaders finalize: the leader its rounds, and `other` its own
        numbering (from `other_first_round`, default far ahead) or, with same_rounds, the
        very same round numbers."""
        own = other_first_round if other_first_round is not None else self.next_round + 1000
        for _ in range(n):
            self._round(self.next_round, self.leader, None, None)
            number = self.next_round if same_rounds else own
            self._round(number, other, None, None, offset=0.1)
            own += 1
            self.next_round += 1
            self.now_us += self.period_us
        return self

    def jump(self, next_round: int) -> Scenario:
        """The next round gets number `next_round` (a restart or fork: repeats or skips)."""
        self.next_round = next_round
        return self

    def lines(self) -> list[LogLine]:
        """Everything so far, in time order (lines at the same µs keep emission order)."""
        return sorted(self._lines, key=lambda line: line.time_us)


def merge(*streams: Iterable[LogLine]) -> list[LogLine]:
    """Several scenarios' lines as one time-ordered list (instances sharing hosts)."""
    return sorted((line for s in streams for line in s), key=lambda line: line.time_us)


def healthy(
    instance: str = "acme-mainnet",
    rounds: int = 20,
    *,
    start_us: int = DEFAULT_START_US,
    servers: int = 3,
    clients: int = 5,
    period_s: float = 2.0,
    seed: int = 0,
) -> list[LogLine]:
    """A healthy instance: start-up, then `rounds` rounds."""
    scenario = Scenario(
        instance, start_us, period_s=period_s, servers=servers, clients=clients, seed=seed
    )
    return scenario.start().rounds(rounds).lines()


_FOREIGN = (
    ("sshd.service", "sshd", "INFO", "Accepted publickey for deploy from 10.0.{} port {} ssh2"),
    ("cron.service", "CRON", "INFO", "pam_unix(cron:session): session opened for user root(uid=0)"),
    ("nginx.service", "nginx", "INFO", '10.1.{} - - "GET /healthz HTTP/1.1" 200 {}'),
    ("systemd-resolved.service", "systemd-resolved", "WARN", "Using degraded feature set UDP"),
    ("dockerd.service", "dockerd", "INFO", 'level=info msg="ignoring event" id={}{}'),
    ("systemd-timesyncd.service", "systemd-timesyncd", "INFO", "Contacted time server {}:{}"),
)


def noise(
    start_us: int = DEFAULT_START_US,
    count: int = 1000,
    *,
    per_second: float = 50.0,
    hosts: Sequence[str] = ("srv1", "srv2", "srv3", "agg1"),
    seed: int = 0,
) -> Iterator[LogLine]:
    """`count` lines of unrelated programs (sshd, cron, nginx, ...) at about `per_second`."""
    rng = random.Random(seed)
    t = start_us
    step = US / per_second
    for _ in range(count):
        t += max(1, round(rng.expovariate(1.0) * step))
        unit, ident, level, text = rng.choice(_FOREIGN)
        yield LogLine(
            time_us=t,
            instance="",
            role="",
            host=rng.choice(hosts),
            level=level,
            target="",
            message=text.format(rng.randrange(256), rng.randrange(1024, 65536)),
            pid=100 + rng.randrange(30000),
            unit=unit,
            ident=ident,
        )
