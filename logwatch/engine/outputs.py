"""What the engine emits: alert transitions, round observations and the run summary, as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from logwatch.times import format_time

if TYPE_CHECKING:
    from logwatch.engine.diagnosis import Evidence

TransitionState = Literal["pending", "firing", "resolved"]
Severity = Literal["critical", "warning"]
Value = int | float | str


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """One change of one alert of one instance, stamped with the event time it happened at.

    since_us: when the condition began: the pending start for an alert with a hold
        time, the firing start otherwise; a resolution keeps the since it closes.
    labels: the alert's stable identity (alertname, instance, severity).
    values: the numbers (and a few strings) behind the summary.
    cause, evidence: why, for a round_stall firing (engine/diagnosis.py); None otherwise.
    """

    alert: str
    state: TransitionState
    severity: Severity
    instance: str
    at_us: int
    since_us: int
    summary: str
    labels: Mapping[str, str]
    values: Mapping[str, Value]
    cause: str | None = None
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md contract: type, alert, state, severity, instance, at, since, summary,
        labels, values, in that order; then cause and evidence when diagnosed."""
        out: dict[str, Any] = {
            "type": "alert",
            "alert": self.alert,
            "state": self.state,
            "severity": self.severity,
            "instance": self.instance,
            "at": format_time(self.at_us),
            "since": format_time(self.since_us),
            "summary": self.summary,
            "labels": dict(self.labels),
            "values": dict(self.values),
        }
        if self.cause is not None:
            out.update(cause=self.cause, evidence=[e.to_json() for e in self.evidence])
        return out


@dataclass(frozen=True, slots=True)
class RoundObservation:
    """A round number finalized in an instance, once per number (a second leader's copy of a
    round already seen is not repeated); leader is the host that finalized it."""

    instance: str
    at_us: int
    round: int
    participants: int | None
    leader: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "round",
            "instance": self.instance,
            "at": format_time(self.at_us),
            "round": self.round,
            "participants": self.participants,
            "leader": self.leader,
        }


Output = AlertTransition | RoundObservation


@dataclass(frozen=True, slots=True)
class InstanceSummary:
    """An instance in a few numbers: rounds, the period used, alerts fired and active now."""

    instance: str
    rounds: int
    last_round: int | None
    last_round_at_us: int | None
    round_period_s: float | None
    round_period_estimated: bool
    alerts_fired: Mapping[str, int]
    firing: Mapping[str, Severity]
    pending: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "last_round": self.last_round,
            "last_round_at": _time_or_none(self.last_round_at_us),
            "round_period_s": self.round_period_s,
            "round_period_estimated": self.round_period_estimated,
            "alerts": dict(self.alerts_fired),
            "firing": dict(self.firing),
            "pending": list(self.pending),
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """Every instance's summary at the engine's clock; worst is the most severe firing alert."""

    at_us: int | None
    instances: tuple[InstanceSummary, ...]

    @property
    def worst(self) -> Severity | None:
        severities = {s for i in self.instances for s in i.firing.values()}
        if "critical" in severities:
            return "critical"
        return "warning" if "warning" in severities else None

    def to_json(self) -> dict[str, Any]:
        """`{"type":"summary","at":...,"instances":{name:{...}}}`; callers add their counts."""
        return {
            "type": "summary",
            "at": _time_or_none(self.at_us),
            "instances": {i.instance: i.to_json() for i in self.instances},
        }


def _time_or_none(us: int | None) -> str | None:
    return None if us is None else format_time(us)
