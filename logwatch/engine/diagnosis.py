"""Why rounds stopped: the zipnet operator page's three causes of a stall, told from the logs.

A stall has three usual causes, each with its marks in what the instance wrote since
its last finalized round:

- the committee is stuck: the leader opens rounds, aggregates are forwarded and applied,
  partials are submitted, and nothing is finalized (or a rival leader, failed heartbeats,
  a step of the round that never comes);
- the aggregator is down: clients seal envelopes, nothing is forwarded;
- too few clients take part (min_participants): the aggregator forwards fewer clients'
  envelopes than recent rounds had.

`StallEvidence` keeps the marks, bounded, and `diagnose` names the cause they point to,
with the lines that show it, or `unknown` when they point nowhere or two ways at once.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable
from typing import Final, NamedTuple

from logwatch.engine.outputs import Evidence
from logwatch.events import Event, FieldValue

COMMITTEE_STUCK: Final = "committee_stuck"
AGGREGATOR_DOWN: Final = "aggregator_down"
MIN_PARTICIPANTS: Final = "min_participants_unmet"
UNKNOWN_CAUSE: Final = "unknown"
CAUSES: Final = (COMMITTEE_STUCK, AGGREGATOR_DOWN, MIN_PARTICIPANTS, UNKNOWN_CAUSE)

WATCHED: Final = frozenset(
    {
        "opening_round",
        "submitted_partial",
        "applying_aggregate",
        "rival_leader",
        "heartbeat_failed",
        "forwarded_aggregate",
        "sealed_envelope",
    }
)
LINES_KEPT: Final = 3
"""The last lines kept of each kind, as evidence."""


class Diagnosis(NamedTuple):
    """The likely cause of a stall, why, and the lines that show it (latest last)."""

    cause: str
    reason: str
    evidence: tuple[Evidence, ...]

    def text(self) -> str:
        label = "cause unknown" if self.cause == UNKNOWN_CAUSE else self.cause.replace("_", " ")
        return f"likely {label}: {self.reason}" if self.reason else label


class StallEvidence:
    """What an instance wrote since its last finalized round, per kind of line: how many,
    from which hosts (at most 64), and the last few lines; and how many clients' envelopes
    the last forwarded aggregate held."""

    __slots__ = ("_counts", "_hosts", "_lines", "forwarded_clients")

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._hosts: dict[str, set[str]] = {}
        self._lines: dict[str, deque[Event]] = {}
        self.forwarded_clients: int | None = None

    def note(self, event: Event) -> None:
        name = event.name
        if name not in WATCHED:
            return
        self._counts[name] = self._counts.get(name, 0) + 1
        host = event.host or "unknown"
        hosts = self._hosts.setdefault(name, set())
        if len(hosts) < 64:
            hosts.add(host)
        lines = self._lines.get(name)
        if lines is None:
            lines = self._lines[name] = deque(maxlen=LINES_KEPT)
        # The event itself: its text is written only if a stall asks for it.
        lines.append(event)
        clients = event.fields.get("clients")
        if name == "forwarded_aggregate" and isinstance(clients, int):
            self.forwarded_clients = clients

    def clear(self) -> None:
        """A round finalized: the evidence starts over."""
        self._counts.clear()
        self._hosts.clear()
        self._lines.clear()
        self.forwarded_clients = None

    def count(self, name: str) -> int:
        return self._counts.get(name, 0)

    def hosts(self, name: str) -> int:
        return len(self._hosts.get(name, ()))

    def lines(self, *names: str) -> tuple[Evidence, ...]:
        found = [
            Evidence(e.time_us, e.host or "unknown", _text(name, e.fields.items()))
            for name in names
            for e in self._lines.get(name, ())
        ]
        return tuple(sorted(found))


def diagnose(evidence: StallEvidence, recent_participants: Iterable[int | None]) -> Diagnosis:
    """The cause the evidence points to (see the module's docstring)."""
    ev = evidence
    causes: list[Diagnosis] = []
    sealed = ev.count("sealed_envelope")
    forwarded = ev.count("forwarded_aggregate")
    recent = [p for p in recent_participants if p is not None][-5:]
    usual = round(statistics.median(recent)) if recent else None
    few = ev.forwarded_clients
    too_few = forwarded and few is not None and usual is not None and few < usual
    committee: list[str] = []
    if ev.count("rival_leader"):
        committee.append("a rival leader was reported")
    if ev.count("heartbeat_failed"):
        committee.append(f"heartbeats failed ({ev.hosts('heartbeat_failed')} server(s))")
    if ev.count("opening_round") and forwarded and not ev.count("applying_aggregate"):
        committee.append("the leader opens rounds and aggregates are forwarded, none applied")
    if ev.count("applying_aggregate") and not ev.count("submitted_partial"):
        committee.append("aggregates are applied but no server submits its partial")
    if ev.count("submitted_partial") and not ev.count("opening_round"):
        committee.append("servers submit partials of a round no leader opened")
    if (
        not too_few
        and ev.count("opening_round")
        and ev.count("applying_aggregate")
        and ev.count("submitted_partial")
    ):
        committee.append(
            f"the leader opens rounds and applies aggregates and {ev.hosts('submitted_partial')} "
            "server(s) submit partials, but none is finalized"
        )
    if committee:
        causes.append(
            Diagnosis(
                COMMITTEE_STUCK,
                "; ".join(committee),
                ev.lines(
                    "rival_leader",
                    "heartbeat_failed",
                    "opening_round",
                    "applying_aggregate",
                    "submitted_partial",
                ),
            )
        )
    if sealed and not forwarded:
        causes.append(
            Diagnosis(
                AGGREGATOR_DOWN,
                f"no forwarded aggregate while {ev.hosts('sealed_envelope')} client(s) sealed "
                "envelopes",
                ev.lines("sealed_envelope", "opening_round"),
            )
        )
    if too_few and not committee:
        trend = f" ({' → '.join(map(str, recent[-3:]))})" if len(recent) >= 2 else ""
        causes.append(
            Diagnosis(
                MIN_PARTICIPANTS,
                f"the aggregator forwards {few} client(s)' envelopes, fewer than the {usual} "
                f"of recent rounds{trend}",
                ev.lines("forwarded_aggregate", "sealed_envelope"),
            )
        )
    if len(causes) == 1:
        return causes[0]
    if not causes:
        return Diagnosis(UNKNOWN_CAUSE, "the logs since the last round do not tell", ())
    names = " or ".join(c.cause.replace("_", " ") for c in causes)
    lines = tuple(sorted(line for c in causes for line in c.evidence))
    return Diagnosis(UNKNOWN_CAUSE, f"the logs point two ways: {names}", lines)


def _text(name: str, fields: Iterable[tuple[str, FieldValue]]) -> str:
    shown = " ".join(f"{key}={value}" for key, value in fields)
    return f"{name} {shown}" if shown else name
