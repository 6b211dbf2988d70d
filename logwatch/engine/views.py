"""Read-only snapshots of one instance for the report and the live dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from logwatch.engine.outputs import AlertTransition, InstanceSummary, Severity


@dataclass(frozen=True, slots=True)
class ServerView:
    """A committee server: when it last wrote, and last acted as leader (None: never)."""

    host: str
    last_seen_us: int
    last_leader_only_us: int | None


@dataclass(frozen=True, slots=True)
class LeaderChange:
    """A leader-only event from another host than the previous one (from None: the first)."""

    at_us: int
    from_host: str | None
    to_host: str


@dataclass(frozen=True, slots=True)
class RoundPoint:
    round: int
    at_us: int
    participants: int | None
    leader: str | None


@dataclass(frozen=True, slots=True)
class ParticipantsBucket:
    """Participants over consecutive finalized rounds `first_round`..`last_round`."""

    first_round: int
    last_round: int
    start_us: int
    end_us: int
    rounds: int
    low: int
    high: int
    mean: float


@dataclass(frozen=True, slots=True)
class Gap:
    """The longest time without a finalization; open when it is still going on."""

    start_us: int
    length_us: int
    open: bool


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """An alert pending or firing now, since when, and why (its latest summary)."""

    alert: str
    state: Literal["pending", "firing"]
    severity: Severity
    since_us: int
    summary: str


@dataclass(frozen=True, slots=True)
class InstanceView:
    """Everything the report and the dashboard show about an instance, at the clock `at_us`.

    round_rate_1m / round_rate_10m: rounds per minute over the last minute / ten
        minutes (over the watch so far when it is shorter).
    entries_seen: whether any entry of the instance was read (a named instance is
        watched before it shows one).
    window_s: W, once P is known.
    leaders_in_window: hosts with a leader-only event in the last W, latest first.
    clients_registered: distinct client ids registered (capped, see engine limits).
    clients_active: distinct client hosts with any event in the last W.
    participants_series: the whole watch, downsampled (see ParticipantsSeries).
    """

    instance: str
    at_us: int
    watch_start_us: int
    entries_seen: bool
    last_round: int | None
    last_round_at_us: int | None
    rounds_finalized: int
    round_rate_1m: float
    round_rate_10m: float
    round_period_s: float | None
    round_period_estimated: bool
    window_s: float | None
    longest_gap: Gap | None
    leader: str | None
    leaders_in_window: tuple[str, ...]
    servers: tuple[ServerView, ...]
    leader_changes: tuple[LeaderChange, ...]
    leader_changes_dropped: int
    clients_registered: int
    clients_active: int
    aggregator_last_seen_us: int | None
    last_forwarded_us: int | None
    recent_rounds: tuple[RoundPoint, ...]
    participants_series: tuple[ParticipantsBucket, ...]
    active_alerts: tuple[ActiveAlert, ...]
    timeline: tuple[AlertTransition, ...]
    timeline_dropped: int
    summary: InstanceSummary
