"""The alert lifecycle, as in Prometheus: inactive → pending → firing → resolved."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final, Literal

from logwatch.engine.outputs import AlertTransition, Evidence, Severity, TransitionState, Value

ROUND_STALL: Final = "round_stall"
SPLIT_BRAIN: Final = "split_brain"
PARTICIPANTS_ZERO: Final = "participants_zero"
PARTICIPANTS_LOW: Final = "participants_low"
AGGREGATOR_SILENT: Final = "aggregator_silent"
ROUND_REGRESSION: Final = "round_regression"
CLOCK_SKEW: Final = "clock_skew"
NO_DATA: Final = "no_data"

SEVERITY: Final[Mapping[str, Severity]] = {
    ROUND_STALL: "critical",
    SPLIT_BRAIN: "critical",
    PARTICIPANTS_ZERO: "critical",
    PARTICIPANTS_LOW: "warning",
    AGGREGATOR_SILENT: "warning",
    ROUND_REGRESSION: "warning",
    CLOCK_SKEW: "warning",
    NO_DATA: "warning",
}

INHIBITED_BY: Final[Mapping[str, tuple[str, ...]]] = {
    AGGREGATOR_SILENT: (ROUND_STALL,),
    PARTICIPANTS_ZERO: (ROUND_STALL,),
    PARTICIPANTS_LOW: (ROUND_STALL, PARTICIPANTS_ZERO),
}
"""Alerts held back while one that explains them is pending or firing (Alertmanager's
inhibit rules): one page per incident. No forwarded aggregate, or too few participants,
is no news while no round finalizes at all; too few is no news while there are none."""

AlertStatus = Literal["inactive", "pending", "firing"]


class Alert:
    """One alert of one instance. Each method returns the transition it made, or None when
    the alert already was in that state, so callers may ask again without flapping: one
    transition per real change (Prometheus rules/alerting.go, driven by explicit times)."""

    __slots__ = ("instance", "labels", "name", "severity", "since_us", "status", "summary")

    def __init__(
        self, name: str, instance: str, extra_labels: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.instance = instance
        self.severity: Severity = SEVERITY[name]
        self.labels: Mapping[str, str] = {
            "alertname": name,
            "instance": instance,
            "severity": self.severity,
            **(extra_labels or {}),
        }
        self.status: AlertStatus = "inactive"
        self.since_us = 0
        self.summary = ""

    @property
    def active(self) -> bool:
        return self.status != "inactive"

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    def to_pending(
        self, at_us: int, summary: str, values: Mapping[str, Value]
    ) -> AlertTransition | None:
        if self.status != "inactive":
            return None
        self.status, self.since_us = "pending", at_us
        return self._transition("pending", at_us, summary, values)

    def to_firing(
        self,
        at_us: int,
        summary: str,
        values: Mapping[str, Value],
        cause: tuple[str, tuple[Evidence, ...]] | None = None,
    ) -> AlertTransition | None:
        """`cause`: (the likely cause, the lines that show it), for a stall."""
        if self.status == "firing":
            return None
        if self.status == "inactive":
            self.since_us = at_us
        self.status = "firing"
        transition = self._transition("firing", at_us, summary, values)
        if cause is None:
            return transition
        return dataclasses.replace(transition, cause=cause[0], evidence=cause[1])

    def to_resolved(
        self, at_us: int, summary: str, values: Mapping[str, Value]
    ) -> AlertTransition | None:
        """Closes a firing alert, and also a pending one, so every opened alert is closed."""
        if self.status == "inactive":
            return None
        self.status = "inactive"
        return self._transition("resolved", at_us, summary, values)

    def _transition(
        self, state: TransitionState, at_us: int, summary: str, values: Mapping[str, Value]
    ) -> AlertTransition:
        self.summary = summary
        return AlertTransition(
            alert=self.name,
            state=state,
            severity=self.severity,
            instance=self.instance,
            at_us=at_us,
            since_us=self.since_us,
            summary=summary,
            labels=self.labels,
            values=dict(values),
        )
