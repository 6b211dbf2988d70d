"""The six rules of DESIGN.md: each moves its alert from instance state at an explicit time."""

from __future__ import annotations

from logwatch.engine.alerts import (
    AGGREGATOR_SILENT,
    INHIBITED_BY,
    NO_DATA,
    PARTICIPANTS_LOW,
    PARTICIPANTS_ZERO,
    ROUND_REGRESSION,
    ROUND_STALL,
    SPLIT_BRAIN,
    Alert,
)
from logwatch.engine.diagnosis import diagnose
from logwatch.engine.outputs import AlertTransition, Value
from logwatch.engine.settings import RuleSettings
from logwatch.engine.state import (
    FORWARDED_AGGREGATE,
    RIVAL_LEADER,
    Finalization,
    InstanceState,
)
from logwatch.events import Event
from logwatch.times import US
from logwatch.words import counted


class Rule:
    """One alert's rule. `on_event` runs after the state took the event in, at the clock
    `now_us`; `deadline` is the next time the rule must look again with no new event (None:
    no need); `on_timer` looks at time `at_us`. Each returns at most one transition.
    `deadline` and `waits_for_entry` change nothing.

    inhibitors: the alerts that, while pending or firing, hold this one back (they
        explain it).
    """

    __slots__ = ("alert", "inhibitors", "settings")

    def __init__(self, alert: Alert, settings: RuleSettings) -> None:
        self.alert = alert
        self.settings = settings
        self.inhibitors: tuple[Alert, ...] = ()

    def held_back(self) -> bool:
        """Whether the rule must not start its alert now: an inhibitor is pending or
        firing (one already active goes on, and resolves as usual)."""
        return not self.alert.active and any(i.active for i in self.inhibitors)

    def waits_for_entry(self, st: InstanceState, now_us: int) -> bool:
        """Whether only a new entry of the instance can bring this rule a deadline."""
        return False

    def on_event(
        self, st: InstanceState, event: Event, fin: Finalization | None, now_us: int
    ) -> AlertTransition | None:
        return None

    def deadline(self, st: InstanceState, now_us: int) -> int | None:
        return None

    def on_timer(self, st: InstanceState, at_us: int) -> AlertTransition | None:
        return None


class RoundStall(Rule):
    """No round finalized for W since the last one (or the watch start); the next one resolves."""

    __slots__ = ("_reference_us",)

    def __init__(self, alert: Alert, settings: RuleSettings) -> None:
        super().__init__(alert, settings)
        self._reference_us = 0

    def on_event(
        self, st: InstanceState, event: Event, fin: Finalization | None, now_us: int
    ) -> AlertTransition | None:
        if fin is None or not self.alert.firing or not _ends_silence(st, fin.at_us, now_us):
            return None
        silent = fin.at_us - self._reference_us
        values: dict[str, Value] = {"silent_s": seconds(silent)}
        what = "a round"
        if fin.round is not None:
            values = {"last_round": fin.round, **values}
            what = f"round {fin.round}"
        return self.alert.to_resolved(
            now_us, f"{what} finalized after {human(silent)} without one", values
        )

    def deadline(self, st: InstanceState, now_us: int) -> int | None:
        if self.alert.active or not st.entries_seen:
            return None
        # While P is unknown, the fallback window: never "no view" taken for "all clear".
        return st.stall_reference_us() + st.rule_window_us()

    def on_timer(self, st: InstanceState, at_us: int) -> AlertTransition | None:
        due = self.deadline(st, at_us)
        if due is None or at_us < due:
            return None
        self._reference_us = reference = st.stall_reference_us()
        silent = at_us - reference
        values: dict[str, Value] = {"silent_s": seconds(silent)}
        if st.last_round is not None:
            values = {"last_round": st.last_round, **values}
            after = f"last round {st.last_round}"
        else:
            after = "none since the watch started"
        why = diagnose(st.stall_evidence, (p.participants for p in st.recent_rounds))
        return self.alert.to_firing(
            at_us,
            f"no round finalized for {human(silent)} ({after}); {why.text()}",
            values,
            (why.cause, why.evidence),
        )


class SplitBrain(Rule):
    """Two servers acting as leader within W, held `split_brain_for_s`; at once on a rival
    leader report or a round number finalized by two servers; resolved when one leader
    only is left in W."""

    __slots__ = ()

    def on_event(
        self, st: InstanceState, event: Event, fin: Finalization | None, now_us: int
    ) -> AlertTransition | None:
        if self.alert.firing or not (
            event.leader_only or event.name == RIVAL_LEADER or fin is not None
        ):
            return None
        end = st.split_brain_end_us()
        if end is None or now_us >= end:
            return None
        window = st.rule_window_us()
        rival = st.last_rival_us is not None and now_us < st.last_rival_us + window
        duplicate = st.last_duplicate_us is not None and now_us < st.last_duplicate_us + window
        if self.alert.pending and not (rival or duplicate):
            return None
        values = self._values(st, now_us)
        if rival:
            reporter, other, term = st.rival
            summary = (
                f"rival group leader detected by {reporter}: other leader {other} (term {term})"
            )
            return self.alert.to_firing(
                now_us, summary, {**values, "other_leader": other, "term": term}
            )
        if duplicate:
            round_, first, second = st.duplicate
            summary = f"round {round_} finalized by two servers: {first} and {second}"
            return self.alert.to_firing(now_us, summary, {**values, "round": round_})
        summary = f"{values['leader_count']} servers acting as leader within {human(window)}"
        summary += f": {values['leaders']}"
        if self.settings.split_brain_for_us <= 0:
            return self.alert.to_firing(now_us, summary, values)
        return self.alert.to_pending(now_us, summary, values)

    def deadline(self, st: InstanceState, now_us: int) -> int | None:
        if not self.alert.active:
            return None
        end = st.split_brain_end_us()
        if self.alert.pending:
            hold = self.alert.since_us + self.settings.split_brain_for_us
            return now_us if end is None else min(hold, end)
        if self.alert.firing:
            return now_us if end is None else end
        return None

    def on_timer(self, st: InstanceState, at_us: int) -> AlertTransition | None:
        if not self.alert.active:
            return None
        end = st.split_brain_end_us()
        values = self._values(st, at_us)
        window = human(st.rule_window_us())
        if end is None or at_us >= end:
            leaders = values["leaders"] or "none"
            return self.alert.to_resolved(
                at_us, f"one leader only in the last {window}: {leaders}", values
            )
        if self.alert.pending and at_us >= self.alert.since_us + self.settings.split_brain_for_us:
            held = human(at_us - self.alert.since_us)
            summary = f"{values['leader_count']} servers acting as leader for {held}"
            return self.alert.to_firing(at_us, f"{summary}: {values['leaders']}", values)
        return None

    @staticmethod
    def _values(st: InstanceState, at_us: int) -> dict[str, Value]:
        hosts = sorted(host for _, host in st.leaders_within(at_us))
        return {
            "leaders": ",".join(hosts),
            "leader_count": len(hosts),
            "window_s": seconds(st.rule_window_us()),
        }


class ParticipantsZero(Rule):
    """participants=0 in N consecutive rounds while clients are expected; a round with some
    participants resolves."""

    __slots__ = ("_zero_rounds",)

    def __init__(self, alert: Alert, settings: RuleSettings) -> None:
        super().__init__(alert, settings)
        self._zero_rounds = 0

    def on_event(
        self, st: InstanceState, event: Event, fin: Finalization | None, now_us: int
    ) -> AlertTransition | None:
        if fin is None or fin.duplicate_of is not None or fin.participants is None:
            return None
        values = _round_values(fin)
        if fin.participants > 0:
            self._zero_rounds = 0
            return self.alert.to_resolved(
                now_us, f"{_round_text(fin)} had {counted(fin.participants, 'participant')}", values
            )
        self._zero_rounds += 1
        if not st.clients_expected(now_us):
            silence = st.client_silence_us(now_us)
            gone = "no client seen" if silence is None else f"no client seen for {human(silence)}"
            return self.alert.to_resolved(
                now_us, f"{_round_text(fin)} had 0 participants; {gone}, none expected", values
            )
        if self._zero_rounds < self.settings.participants_zero_rounds:
            return None
        values["zero_rounds"] = self._zero_rounds
        return self.alert.to_firing(
            now_us,
            f"0 participants in {self._zero_rounds} consecutive rounds (last: {_round_text(fin)})"
            " while clients are expected",
            values,
        )


class ParticipantsLow(Rule):
    """Participants below half the expected clients (expect_clients, else the most the
    aggregator forwarded in an aggregate lately: clients' own lines, and host names, are
    untrusted) for N consecutive rounds; a round at or above half resolves."""

    __slots__ = ("_low_rounds",)

    def __init__(self, alert: Alert, settings: RuleSettings) -> None:
        super().__init__(alert, settings)
        self._low_rounds = 0

    def on_event(
        self, st: InstanceState, event: Event, fin: Finalization | None, now_us: int
    ) -> AlertTransition | None:
        if fin is None or fin.duplicate_of is not None or fin.participants is None:
            return None
        expected = self.settings.expect_clients
        if expected is None:
            # As a trusted role counts them: the aggregator's envelopes per aggregate.
            expected = st.clients_forwarded_lately(now_us)
            if expected is None:
                return None
        values = {**_round_values(fin), "expected_clients": expected}
        if 2 * fin.participants >= expected:
            self._low_rounds = 0
            took = counted(fin.participants, "participant")
            return self.alert.to_resolved(
                now_us, f"{_round_text(fin)} had {took} of {expected} clients", values
            )
        self._low_rounds += 1
        if self._low_rounds < self.settings.participants_low_rounds:
            return None
        values["low_rounds"] = self._low_rounds
        return self.alert.to_firing(
            now_us,
            f"{counted(fin.participants, 'participant')} in {_round_text(fin)}, below half of "
            f"{expected} clients, for {self._low_rounds} rounds",
            values,
        )


class AggregatorSilent(Rule):
    """No forwarded aggregate for W while the instance otherwise writes (an entry within W)
    and rounds go on without it; the next forwarded aggregate resolves. When rounds stopped
    with the aggregator, round_stall comes first and names the cause: this one is held back
    (one page per incident)."""

    __slots__ = ("_reference_us",)

    def __init__(self, alert: Alert, settings: RuleSettings) -> None:
        super().__init__(alert, settings)
        self._reference_us = 0

    def on_event(
        self, st: InstanceState, event: Event, fin: Finalization | None, now_us: int
    ) -> AlertTransition | None:
        if (
            event.name != FORWARDED_AGGREGATE
            or not self.alert.firing
            or not _ends_silence(st, event.time_us, now_us)
        ):
            return None
        silent = event.time_us - self._reference_us
        values: dict[str, Value] = {"silent_s": seconds(silent)}
        if st.last_forwarded_round is not None:
            values["round"] = st.last_forwarded_round
        return self.alert.to_resolved(
            now_us, f"aggregator forwarded again after {human(silent)}", values
        )

    def _due(self, st: InstanceState, now_us: int) -> tuple[int | None, bool]:
        """(the deadline, whether it waits for an entry): the rule looks again W after the
        last forwarded aggregate. Then it fires only if the instance is alive (an entry
        within W/2: an instance that stopped whole, its aggregate written a moment before
        its last entry, is a stall, not a silent aggregator); if not, only a new entry can
        bring a deadline. Liveness is judged at the deadline, not at every entry: most of
        an instance's entries then cost no rescheduling."""
        armed = self.settings.expect_aggregator or st.aggregator_seen
        if self.alert.active or not armed or not st.entries_seen:
            return None, False
        window = st.rule_window_us()
        due = st.aggregator_reference_us() + window
        if not st.rounds_went_on_without_aggregate():
            # Rounds stopped with the aggregator: the stall, due about as soon, says why
            # (aggregator down); this one waits for it and is then held back.
            due = max(due, st.stall_reference_us() + window)
        due = max(due, now_us)
        if due == now_us and st.last_entry_us + window // 2 <= due:
            return None, True
        return due, False

    def deadline(self, st: InstanceState, now_us: int) -> int | None:
        return self._due(st, now_us)[0]

    def waits_for_entry(self, st: InstanceState, now_us: int) -> bool:
        return self._due(st, now_us)[1]

    def on_timer(self, st: InstanceState, at_us: int) -> AlertTransition | None:
        due = self.deadline(st, at_us)
        if due is None or at_us < due:
            return None
        self._reference_us = reference = st.aggregator_reference_us()
        silent = at_us - reference
        return self.alert.to_firing(
            at_us,
            f"no forwarded aggregate for {human(silent)} while the instance is alive",
            {"silent_s": seconds(silent)},
        )


class NoData(Rule):
    """An instance named by the operator with no entry at all for W (or the fallback
    window) since the watch started: nothing can be seen, which is never "all clear".
    Its first entry resolves."""

    __slots__ = ()

    def deadline(self, st: InstanceState, now_us: int) -> int | None:
        if self.alert.active or st.entries_seen:
            return None
        return st.watch_start_us + st.rule_window_us()

    def on_timer(self, st: InstanceState, at_us: int) -> AlertTransition | None:
        due = self.deadline(st, at_us)
        if due is None or at_us < due:
            return None
        silent = at_us - st.watch_start_us
        return self.alert.to_firing(
            at_us,
            f"no entries of {st.name} for {human(silent)}: nothing to watch "
            "(check the instance name and the journal)",
            {"silent_s": seconds(silent)},
        )

    def on_entry(self, st: InstanceState, at_us: int) -> AlertTransition | None:
        """The instance's first entry."""
        return self.alert.to_resolved(at_us, f"first entry of {st.name}", {})


class RoundRegression(Rule):
    """A finalized round number repeats or goes backwards (restart or fork); the next round
    in order resolves. A round finalized by two servers is split_brain's, not this rule's."""

    __slots__ = ()

    def on_event(
        self, st: InstanceState, event: Event, fin: Finalization | None, now_us: int
    ) -> AlertTransition | None:
        if fin is None or fin.duplicate_of is not None or fin.round is None:
            return None
        previous = fin.previous_round
        if previous is None:
            return None
        values: dict[str, Value] = {"round": fin.round, "previous_round": previous}
        if fin.leader is not None:
            values["leader"] = fin.leader
        if fin.round > previous:
            return self.alert.to_resolved(now_us, f"round {fin.round} finalized in order", values)
        how = "again" if fin.round == previous else "backwards"
        return self.alert.to_firing(
            now_us,
            f"round {fin.round} finalized after round {previous} ({how}: restart or fork)",
            values,
        )


def stirs_rules(event: Event, fin: Finalization | None) -> bool:
    """Whether `event` may make a rule's transition, or move a rule's deadline other than
    through the instance's liveness: a finalization, a leader-only event, a rival report,
    a forwarded aggregate, anything a server or the aggregator writes. What a client
    writes (most of an instance's lines) cannot: the rules read the clients it counts
    only at the next finalization."""
    return fin is not None or event.leader_only or event.role != "client" or event.name in _STIRRING


_STIRRING = frozenset((RIVAL_LEADER, FORWARDED_AGGREGATE))


def instance_rules(instance: str, settings: RuleSettings) -> tuple[Rule, ...]:
    """A fresh set of the rules for one instance, in the order they are evaluated, each
    held back by the alert that explains it (INHIBITED_BY)."""
    kinds: tuple[tuple[str, type[Rule]], ...] = (
        (ROUND_STALL, RoundStall),
        (SPLIT_BRAIN, SplitBrain),
        (PARTICIPANTS_ZERO, ParticipantsZero),
        (PARTICIPANTS_LOW, ParticipantsLow),
        (AGGREGATOR_SILENT, AggregatorSilent),
        (ROUND_REGRESSION, RoundRegression),
        (NO_DATA, NoData),
    )
    rules = tuple(kind(Alert(name, instance), settings) for name, kind in kinds)
    by_name = {rule.alert.name: rule.alert for rule in rules}
    for rule in rules:
        rule.inhibitors = tuple(by_name[name] for name in INHIBITED_BY.get(rule.alert.name, ()))
    return rules


def _ends_silence(st: InstanceState, at_us: int, now_us: int) -> bool:
    """Whether an entry at `at_us` ends a silence at the clock `now_us`: a late one (skew, a
    slow collector) from more than W ago does not, else the alert would resolve and fire
    again at once."""
    return at_us + st.rule_window_us() > now_us


def _round_values(fin: Finalization) -> dict[str, Value]:
    values: dict[str, Value] = {} if fin.round is None else {"round": fin.round}
    if fin.participants is not None:
        values["participants"] = fin.participants
    return values


def _round_text(fin: Finalization) -> str:
    return "a round" if fin.round is None else f"round {fin.round}"


def seconds(us: int) -> float:
    return round(us / US, 6)


def human(us: int) -> str:
    """`7s`, `1.5s`, `2m30s`, `1h5m`: a duration as the summaries say it."""
    if us < 120 * US:
        text = f"{us / US:.3f}".rstrip("0").rstrip(".")
        return f"{text}s"
    total = round(us / US)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m{secs}s" if secs else f"{minutes}m"
