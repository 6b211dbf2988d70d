"""What the engine knows about one instance (rounds, leaders, clients, aggregator), bounded."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import Final

from logwatch.engine.diagnosis import StallEvidence
from logwatch.engine.settings import RuleSettings
from logwatch.engine.views import LeaderChange, RoundPoint
from logwatch.engine.windows import BoundedLog, ParticipantsSeries, RateCounter, RecentKeys
from logwatch.events import Event, FieldValue

# Event names from patterns/zipnet.toml that the rules read.
ROUND_FINALIZED: Final = "round_finalized"
RIVAL_LEADER: Final = "rival_leader"
FORWARDED_AGGREGATE: Final = "forwarded_aggregate"
APPLYING_AGGREGATE: Final = "applying_aggregate"
REGISTERING_CLIENT: Final = "registering_client"
REGISTRATION_ACCEPTED: Final = "registration_accepted"
# Events that show clients exist, so zero participants is a failure, not an idle instance.
CLIENT_EVIDENCE: Final = frozenset(
    {REGISTERING_CLIENT, "registration_submitted", REGISTRATION_ACCEPTED, "sealed_envelope"}
)

UNKNOWN_HOST: Final = "unknown"

# Bounds that keep one instance's memory constant over any input length.
RECENT_ROUND_NUMBERS: Final = 1024
RECENT_ROUND_POINTS: Final = 60
SERIES_BUCKETS: Final = 120
LEADER_CHANGES: Final = 100
MAX_SERVERS: Final = 256
MAX_CLIENTS: Final = 100_000
RATE_SPAN_S: Final = 600
FORWARDS_KEPT: Final = 4096
CLIENT_MEMORY_WINDOWS: Final = 10
"""Clients count as expected for this many rule windows after the last sign of one; then
they have left, and zero participants is an idle instance, not a failure."""


class Server:
    """A committee server as seen so far (mutable; views copy it)."""

    __slots__ = ("last_leader_only_us", "last_round", "last_round_us", "last_seen_us")

    def __init__(self, at_us: int) -> None:
        self.last_seen_us = at_us
        self.last_leader_only_us: int | None = None
        self.last_round: int | None = None
        self.last_round_us: int | None = None


@dataclass(frozen=True, slots=True)
class Finalization:
    """What one `round_finalized` told, with what the rules compare it to.

    duplicate_of: another server that finalized the same round number within W.
    previous_round: the round this one should follow: the same leader's last one if
        it finalized within W (two leaders each keep their own order), else the
        instance's last one.
    """

    round: int | None
    participants: int | None
    leader: str | None
    at_us: int
    duplicate_of: str | None
    previous_round: int | None


class InstanceState:
    """Facts about one instance, updated by entries and events; no rules, no clock of its own."""

    def __init__(
        self, name: str, settings: RuleSettings, start_us: int, *, entries_seen: bool = True
    ) -> None:
        self.name = name
        self.settings = settings
        self.watch_start_us = start_us
        self.last_entry_us = start_us
        # False for an instance named by the operator that has shown no entry yet.
        self.entries_seen = entries_seen
        # Rounds.
        self.last_final_us: int | None = None
        self.last_round: int | None = None
        self.last_round_us: int | None = None
        self.last_round_leader: str | None = None
        self.rounds_finalized = 0
        self.longest_gap: tuple[int, int] | None = None
        self._round_hosts: dict[int, tuple[str, int]] = {}
        self._round_order: deque[int] = deque()
        self._intervals: deque[int] = deque(maxlen=settings.period_samples)
        self._set_period(settings.period_us)
        self.recent_rounds: deque[RoundPoint] = deque(maxlen=RECENT_ROUND_POINTS)
        # What was written since the last finalized round: why a stall would be.
        self.stall_evidence = StallEvidence()
        self.series = ParticipantsSeries(SERIES_BUCKETS)
        self.rate = RateCounter(RATE_SPAN_S)
        # Leaders.
        self.servers: dict[str, Server] = {}
        self.leader: str | None = None
        self._leader_us: int | None = None
        self.leader_changes: BoundedLog[LeaderChange] = BoundedLog(LEADER_CHANGES)
        # The two hosts with the latest leader-only events, latest first: a second leader's
        # last one is all split_brain needs, without a scan of every server per event.
        self._latest_leaders: list[tuple[int, str]] = []
        self.last_rival_us: int | None = None
        self.rival: tuple[str, str, FieldValue] = ("", "", "")
        self.last_duplicate_us: int | None = None
        self.duplicate: tuple[int, str, str] = (0, "", "")
        # Clients.
        self.clients_active = RecentKeys(MAX_CLIENTS)
        self.clients_registered = RecentKeys(MAX_CLIENTS)
        # (time, clients) of the aggregator's forwarded aggregates: how many clients the
        # instance has, as a trusted role counts them.
        self._forwarded_clients: deque[tuple[int, int]] = deque(maxlen=FORWARDS_KEPT)
        self.last_client_sign_us: int | None = None
        # Aggregator.
        self.aggregator_seen = False
        self.aggregator_last_seen_us: int | None = None
        self.last_forwarded_us: int | None = None
        self.last_forwarded_round: int | None = None

    # -- the period and the window ------------------------------------------------------

    @property
    def period_estimated(self) -> bool:
        return self.settings.round_period_s is None

    def period_us(self) -> int | None:
        """P: configured, else the median of the recent intervals once there are two."""
        return self._period_us

    def window_us(self) -> int | None:
        """W = 3P + D, None while P is unknown."""
        return self._window_us

    def rule_window_us(self) -> int:
        """W, or the fallback window while P is unknown."""
        return self._rule_window_us

    def _set_period(self, period_us: int | None) -> None:
        # Cached: the rules ask for W several times per entry.
        self._period_us = period_us
        self._window_us = None if period_us is None else self.settings.window_us(period_us)
        self._rule_window_us = (
            self.settings.fallback_window_us if self._window_us is None else self._window_us
        )

    def stall_reference_us(self) -> int:
        """Where "no round finalized for W" counts from: the later of watch start and last round."""
        if self.last_final_us is None:
            return self.watch_start_us
        return max(self.watch_start_us, self.last_final_us)

    def aggregator_reference_us(self) -> int:
        if self.last_forwarded_us is None:
            return self.watch_start_us
        return max(self.watch_start_us, self.last_forwarded_us)

    def rounds_went_on_without_aggregate(self) -> bool:
        """Whether a round was finalized that the aggregator did not forward (a round
        number past its last forwarded one): rounds go on, the aggregator does not."""
        last, forwarded = self.last_round, self.last_forwarded_round
        if last is None:
            return False
        return forwarded is None or last > forwarded

    def leaders_within(self, now_us: int) -> list[tuple[int, str]]:
        """(last leader-only time, host) of hosts acting as leader in the last W, latest first."""
        after = now_us - self.rule_window_us()
        return sorted(
            (
                (s.last_leader_only_us, host)
                for host, s in self.servers.items()
                if s.last_leader_only_us is not None and s.last_leader_only_us > after
            ),
            key=lambda pair: (-pair[0], pair[1]),
        )

    def split_brain_end_us(self) -> int | None:
        """Until when the split-brain condition holds with no new event (None: it does not):
        a second leader's last leader-only event, a rival leader report, or a round
        finalized twice, each counts for W."""
        window = self.rule_window_us()
        ends: list[int] = []
        if len(self._latest_leaders) == 2:
            ends.append(self._latest_leaders[1][0] + window)
        for last in (self.last_rival_us, self.last_duplicate_us):
            if last is not None:
                ends.append(last + window)
        return max(ends) if ends else None

    def clients_active_now(self, now_us: int) -> int:
        return self.clients_active.count_after(now_us - self.rule_window_us())

    def clients_forwarded_lately(self, now_us: int) -> int | None:
        """The most clients' envelopes one aggregate held in the last CLIENT_MEMORY_WINDOWS
        W, as the aggregator logged them; None when it forwarded none then."""
        after = now_us - CLIENT_MEMORY_WINDOWS * self.rule_window_us()
        recent = self._forwarded_clients
        while recent and recent[0][0] <= after:
            recent.popleft()
        return max((n for _, n in recent), default=None)

    def clients_expected(self, now_us: int) -> bool:
        """Whether clients should take part: as configured, else a sign of a client
        (an envelope, a registration, an aggregate with clients) not long ago."""
        expected = self.settings.expect_clients
        if expected is not None:
            return expected > 0
        last = self.last_client_sign_us
        return last is not None and now_us - last <= CLIENT_MEMORY_WINDOWS * self.rule_window_us()

    def client_silence_us(self, now_us: int) -> int | None:
        """How long since the last sign of a client (None: never one)."""
        last = self.last_client_sign_us
        return None if last is None else now_us - last

    # -- updates -----------------------------------------------------------------------

    def touch(self, at_us: int) -> None:
        """Any entry of this instance: it is alive."""
        self.last_entry_us = max(self.last_entry_us, at_us)
        self.entries_seen = True

    def _client_sign(self, at_us: int) -> None:
        self.last_client_sign_us = _later(self.last_client_sign_us, at_us)

    def apply(self, event: Event) -> Finalization | None:
        """Updates the facts from one event; returns the finalization it was, if it was one."""
        at = event.time_us
        self.touch(at)
        host = event.host or UNKNOWN_HOST
        fields = event.fields
        if event.role == "server":
            server = self._server(host, at)
            server.last_seen_us = max(server.last_seen_us, at)
        elif event.role == "client":
            self._client_sign(at)
            if event.host is not None:
                self.clients_active.see(event.host, at)
        elif event.role == "aggregator":
            self.aggregator_seen = True
            self.aggregator_last_seen_us = _later(self.aggregator_last_seen_us, at)
        if event.leader_only:
            self._leader_only(host, at)
        name = event.name
        if not self._of_finalized_round(fields.get("round")):
            self.stall_evidence.note(event)
        if name in CLIENT_EVIDENCE:
            self._client_sign(at)
            # Registrations as the aggregator logs them: clients, and their host names, are
            # untrusted (a flood of made-up ones must not make clients the instance lacks).
            if name == REGISTERING_CLIENT and event.role == "aggregator":
                client = fields.get("client")
                if client is not None:
                    self.clients_registered.see(str(client), at)
        elif name == FORWARDED_AGGREGATE:
            self.aggregator_seen = True
            self.aggregator_last_seen_us = _later(self.aggregator_last_seen_us, at)
            self.last_forwarded_us = _later(self.last_forwarded_us, at)
            forwarded = _int(fields.get("clients"))
            if forwarded is not None and event.role == "aggregator":
                self._forwarded_clients.append((at, forwarded))
            self.last_forwarded_round = _int(fields.get("round"))
            if (_int(fields.get("clients")) or 0) > 0:
                self._client_sign(at)
        elif name == APPLYING_AGGREGATE:
            if (_int(fields.get("clients")) or 0) > 0:
                self._client_sign(at)
        elif name == RIVAL_LEADER:
            self.last_rival_us = _later(self.last_rival_us, at)
            self.rival = (host, str(fields.get("other_leader", "?")), fields.get("term", "?"))
        elif name == ROUND_FINALIZED:
            round_ = _int(fields.get("round"))
            if round_ is not None and self._round_hosts.get(round_) == (host, at):
                # The very same entry again (overlapping captures, a journal file copied):
                # a round counts once.
                return None
            return self._finalized(event, host)
        return None

    def _of_finalized_round(self, number: FieldValue | None) -> bool:
        """Whether a line belongs to the last finalized round or the one before (written
        late, or by a host whose clock is a little ahead): no evidence of a stall."""
        last = self.last_round
        return last is not None and isinstance(number, int) and last - 1 <= number <= last

    def _server(self, host: str, at_us: int) -> Server:
        server = self.servers.get(host)
        if server is None:
            server = self.servers[host] = Server(at_us)
            if len(self.servers) > MAX_SERVERS:
                oldest = min(self.servers, key=lambda h: self.servers[h].last_seen_us)
                del self.servers[oldest]
        return server

    def _leader_only(self, host: str, at_us: int) -> None:
        server = self._server(host, at_us)
        server.last_leader_only_us = last = _later(server.last_leader_only_us, at_us)
        latest = self._latest_leaders
        if latest and latest[0][1] == host:
            latest[0] = (last, host)
        else:
            latest = [pair for pair in latest if pair[1] != host]
            latest.append((last, host))
            latest.sort(key=lambda pair: (-pair[0], pair[1]))
            self._latest_leaders = latest[:2]
        # A late entry updates the host's record but does not make it the leader now.
        if self._leader_us is not None and at_us < self._leader_us:
            return
        self._leader_us = at_us
        if host != self.leader:
            self.leader_changes.append(LeaderChange(at_us, self.leader, host))
            self.leader = host

    def _finalized(self, event: Event, host: str) -> Finalization:
        at = event.time_us
        round_ = _int(event.fields.get("round"))
        participants = _int(event.fields.get("participants"))
        window = self.rule_window_us()
        duplicate_of = None
        if round_ is not None:
            seen = self._round_hosts.get(round_)
            if seen is not None and seen[0] != host and abs(at - seen[1]) <= window:
                duplicate_of = seen[0]
                self.last_duplicate_us = _later(self.last_duplicate_us, at)
                self.duplicate = (round_, seen[0], host)
        server = self._server(host, at)
        own_recent = server.last_round_us is not None and at - server.last_round_us <= window
        previous = server.last_round if own_recent else self.last_round
        fin = Finalization(round_, participants, event.host, at, duplicate_of, previous)
        if self.last_final_us is None or at > self.last_final_us:
            gap_start = self.last_final_us
            if gap_start is not None and (
                self.longest_gap is None or at - gap_start > self.longest_gap[1]
            ):
                self.longest_gap = (gap_start, at - gap_start)
            self.last_final_us = at
        if server.last_round_us is None or at >= server.last_round_us:
            server.last_round, server.last_round_us = round_, at
        if duplicate_of is not None:
            return fin
        # Intervals of one leader only: a failover's gap is not a period.
        if self.last_round_us is not None and self.last_round_leader == host:
            interval = at - self.last_round_us
            if interval > 0:
                self._intervals.append(interval)
                if self.settings.period_us is None and len(self._intervals) >= 2:
                    period = round(statistics.median(self._intervals))
                    if period != self._period_us:
                        self._set_period(period)
        self.rounds_finalized += 1
        self.stall_evidence.clear()
        self.rate.add(at)
        self.clients_active.forget_before(at - self.rule_window_us())
        self.last_round, self.last_round_us, self.last_round_leader = round_, at, host
        if round_ is not None:
            self._remember_round(round_, host, at)
            self.recent_rounds.append(RoundPoint(round_, at, participants, event.host))
            if participants is not None:
                self.series.add(round_, at, participants)
        return fin

    def _remember_round(self, round_: int, host: str, at_us: int) -> None:
        if round_ not in self._round_hosts:
            self._round_order.append(round_)
        self._round_hosts[round_] = (host, at_us)
        while len(self._round_order) > RECENT_ROUND_NUMBERS:
            del self._round_hosts[self._round_order.popleft()]

    def remembered_rounds(self) -> int:
        """Round numbers held for duplicate detection (for the memory-bound tests)."""
        return len(self._round_hosts)


def _later(current: int | None, at_us: int) -> int:
    return at_us if current is None else max(current, at_us)


def _int(value: FieldValue | None) -> int | None:
    """An integer field, also when a user pattern typed it as text; None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None
