"""Why rounds stall: the likeliest of the operator page's three causes, with the lines that say so.

When `round_stall` fires, the lines of the instance since its last finalized round are
weighed for each cause:

- `committee_stuck`: a rival leader, failing heartbeats, an aggregate forwarded that the
  committee never applied, a SubmitAggregate applied that never finalized, partials for
  a round nobody opened, or a round opened and nothing applied;
- `aggregator_down`: clients seal envelopes and the aggregator forwards nothing;
- `min_participants_unmet`: the aggregator forwards and clients seal, but too few: the
  participants of the last rounds were falling, and the aggregate holds fewer still;
- `unknown`: nothing points anywhere (complete silence), or two causes weigh the same.

Pure: `EvidenceLog.record` keeps the last few events of each kind that matters (bounded),
and `diagnose` is a function of that log, the instance's facts and the firing time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final, Literal

from logwatch.engine.outputs import AlertTransition
from logwatch.engine.views import RoundPoint
from logwatch.events import Event
from logwatch.times import format_time

if TYPE_CHECKING:
    from logwatch.engine.state import InstanceState

Cause = Literal["committee_stuck", "aggregator_down", "min_participants_unmet", "unknown"]

KEPT: Final = 6
"""Events kept per kind: the evidence shows the latest few, and the rules need fewer."""
EVIDENCE_LINES: Final = 6
FALLING_ROUNDS: Final = 3

# The messages of LOGS.md, so evidence reads like the line it came from.
MESSAGES: Final = {
    "opening_round": "opening round",
    "submitted_partial": "submitted partial",
    "applying_aggregate": "applying SubmitAggregate",
    "round_finalized": "round finalized",
    "rival_leader": "rival group leader detected",
    "heartbeat_failed": "heartbeat failed: too many missed heartbeats",
    "forwarded_aggregate": "forwarded aggregate",
    "sealed_envelope": "sealed envelope",
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One line behind a diagnosis: when, which host, and what it said."""

    at_us: int
    host: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"at": format_time(self.at_us), "host": self.host, "text": self.text}


@dataclass(frozen=True, slots=True)
class Diagnosis:
    cause: Cause
    evidence: tuple[Evidence, ...]


class EvidenceLog:
    """The latest KEPT events of each kind in MESSAGES, of one instance. Kept as they came
    (in the hot path, an append): they are rendered only when a stall fires."""

    __slots__ = ("_kinds",)

    def __init__(self) -> None:
        self._kinds: dict[str, deque[Event]] = {}

    def record(self, event: Event) -> None:
        if event.name not in MESSAGES:
            return
        kept = self._kinds.get(event.name)
        if kept is None:
            kept = self._kinds[event.name] = deque(maxlen=KEPT)
        kept.append(event)

    def between(self, name: str, after_us: int, until_us: int) -> list[Event]:
        """Events of kind `name` later than `after_us` and not after `until_us` (a client's
        line stamped ahead is in the log before the clock gets there), oldest first."""
        return [e for e in self._kinds.get(name, ()) if after_us < e.time_us <= until_us]


def evidence_of(event: Event) -> Evidence:
    """An event as the line it came from: message and fields (LOGS.md's wording)."""
    fields = " ".join(f"{k}={v}" for k, v in event.fields.items())
    text = f"{MESSAGES.get(event.name, event.name)} {fields}".strip()
    return Evidence(event.time_us, event.host or "?", text)


def diagnose(
    log: EvidenceLog,
    reference_us: int,
    at_us: int,
    window_us: int,
    recent_rounds: Sequence[RoundPoint],
) -> Diagnosis:
    """The likeliest cause of a stall firing at `at_us` whose silence counts from
    `reference_us` (the last finalization, or the watch start); warnings within W before
    it count too."""
    opened = log.between("opening_round", reference_us, at_us)
    partials = log.between("submitted_partial", reference_us, at_us)
    applied = log.between("applying_aggregate", reference_us, at_us)
    forwarded = log.between("forwarded_aggregate", reference_us, at_us)
    sealed = log.between("sealed_envelope", reference_us, at_us)
    rivals = log.between("rival_leader", reference_us - window_us, at_us)
    heartbeats = log.between("heartbeat_failed", reference_us - window_us, at_us)

    scores: dict[Cause, int] = {"committee_stuck": 0, "aggregator_down": 0}
    scores["min_participants_unmet"] = 0
    found: dict[Cause, list[Evidence]] = {cause: [] for cause in scores}

    def weigh(cause: Cause, points: int, events: Iterable[Event]) -> None:
        scores[cause] += points
        found[cause].extend(map(evidence_of, events))

    if rivals:
        weigh("committee_stuck", 3, rivals[-2:])
    if heartbeats:
        weigh("committee_stuck", 2, heartbeats[-2:])
    if forwarded and not applied:
        weigh("committee_stuck", 2, forwarded[-1:])
    if applied:
        weigh("committee_stuck", 1, applied[-1:])
    if partials and not opened:
        weigh("committee_stuck", 1, partials[-2:])
    if opened and not applied:
        weigh("committee_stuck", 1, opened[-1:])

    if sealed and not forwarded:
        weigh("aggregator_down", 3, sealed[-2:])

    falling = _falling(recent_rounds)
    if forwarded and sealed:
        weigh("min_participants_unmet", 1, [*sealed[-1:], *forwarded[-1:]])
        clients = forwarded[-1].fields.get("clients")
        last = recent_rounds[-1].participants if recent_rounds else None
        if isinstance(clients, int) and last is not None and clients < last:
            weigh("min_participants_unmet", 1, [])  # the aggregate holds fewer still
    if falling:
        weigh("min_participants_unmet", 2, [])

    best = max(scores.values())
    leaders = [cause for cause, score in scores.items() if score == best]
    if best == 0:
        return Diagnosis("unknown", ())
    if len(leaders) > 1:
        lines = [e for cause in leaders for e in found[cause]]
        return Diagnosis("unknown", _ordered(lines))
    cause = leaders[0]
    lines = found[cause]
    if cause == "min_participants_unmet":
        lines = [*lines, *_round_lines(recent_rounds)]
    return Diagnosis(cause, _ordered(lines))


def _falling(rounds: Sequence[RoundPoint]) -> bool:
    """The participants of the last FALLING_ROUNDS rounds went down each time."""
    last = [r.participants for r in list(rounds)[-FALLING_ROUNDS:]]
    if len(last) < FALLING_ROUNDS or any(p is None for p in last):
        return False
    counts = [p for p in last if p is not None]
    return all(b < a for a, b in pairwise(counts))


def _round_lines(rounds: Sequence[RoundPoint]) -> list[Evidence]:
    return [
        Evidence(
            r.at_us,
            r.leader or "?",
            f"round finalized round={r.round} participants={r.participants}",
        )
        for r in list(rounds)[-FALLING_ROUNDS:]
    ]


def _ordered(lines: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """The latest EVIDENCE_LINES distinct lines, in time order."""
    unique = sorted(set(lines), key=lambda e: (e.at_us, e.host, e.text))
    return tuple(unique[-EVIDENCE_LINES:])


def diagnosed(
    transition: AlertTransition, log: EvidenceLog, state: InstanceState
) -> AlertTransition:
    """`transition` (a round_stall firing) with its cause and evidence."""
    found = diagnose(
        log,
        state.stall_reference_us(),
        transition.at_us,
        state.rule_window_us(),
        state.recent_rounds,
    )
    return replace(transition, cause=found.cause, evidence=found.evidence)
