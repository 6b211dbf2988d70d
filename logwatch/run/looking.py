"""The replay's first look on the read side: what it keeps of the records it is shown
(LookAlong), which round lines it may pass over unread, and whether instances named by no
unit seem mixed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from logwatch.engine.first_look import FirstLook, SpansOf
from logwatch.engine.host_offsets import ROUND_LINES
from logwatch.engine.hostclock import Assumed, CaptureOffsets
from logwatch.events import Event
from logwatch.match import Matcher
from logwatch.pattern_files import PatternSet
from logwatch.pipeline import Step, Tick
from logwatch.prefilter import round_numbers
from logwatch.records import Record, Unreadable

INSTANCES_KEPT = 1000
"""Instances the look keeps the names of."""
ReplayStep = Step | Unreadable | Tick


class LookAlong:
    """The first look's keeping of what it is shown (the look itself, the instances met,
    into `held`, the instances named by no unit), shown the records of a read of its own
    (`ReplayPlan.first_look`) or of the main read (`ReplayPlan.look_along`): there it sees
    the main read's steps and, `aside`, the records of other instances it leaves out.

    assumed: taken along the main read, what that read placed entries by meanwhile
    (hostclock.Assumed)."""

    def __init__(
        self,
        held: set[str],
        look: FirstLook,
        spans_of: SpansOf | None,
        assumed: Assumed | None = None,
    ) -> None:
        self._held = held
        self._look = look
        self._spans_of = spans_of
        self._unnamed = _UnnamedRounds()
        self.assumed = assumed
        self.mixed: dict[str, str] = {}
        """Set by `result`: the instances named by no unit that seem mixed (ReplayPlan)."""

    @property
    def holdings_known(self) -> bool:
        """Whether the instances the capture holds were known before any record was seen
        (journal files' index told them)."""
        return self._spans_of is not None

    def see(self, record: Record, event: Event | None) -> None:
        """One record within the look's time range, and its event if any."""
        held = self._held
        instance = record.instance
        if instance is not None and len(held) < INSTANCES_KEPT:
            held.add(instance)
        if record.unit is None and instance is not None:
            self._unnamed.see(record, event)
        name = None if event is None else event.name
        number = None if event is None else event.fields.get("round")
        self._look.see(record.host, instance, record.role, record.time_us, name, number)

    def aside(self, record: Record) -> None:
        """A record the main read leaves out (an instance not selected)."""
        self.see(record, None)

    def along(self, steps: Iterator[ReplayStep]) -> Iterator[ReplayStep]:
        """`steps`, each Step seen on its way."""
        see = self.see
        for step in steps:
            if isinstance(step, Step):
                see(step.record, step.event)
            yield step

    def result(self) -> CaptureOffsets:
        """The offsets found (once every record was seen); sets `mixed`."""
        self.mixed = self._unnamed.mixed()
        return self._look.result(self._spans_of)

    def held(self, found: CaptureOffsets) -> bool:
        """Whether the main read this look was taken along placed every entry where
        `found` (its result) places it, and saw what a look on its own would have (no
        instance seems mixed, no host passed over for the look's bound): then its
        outputs are the replay's."""
        assumed = self.assumed
        return (
            assumed is not None
            and assumed.holds(found)
            and not self.mixed
            and not self._look.hosts_passed_over
        )


def rounds_from_fields(patterns: PatternSet) -> bool:
    """Whether every pattern of a round line takes its `round` from the event's fields
    (none from a group of its message regex): then the text of a rendering shows it."""
    return all(
        "round" not in p.regex.groupindex for p in patterns.patterns if p.name in ROUND_LINES
    )


class LookThins:
    """Whether the look would pass over the line of a rendered message (ANSI stripped)
    by a host whatever its kind: none of the round numbers its text shows is of a round
    sampled (`FirstLook.wants`). The look samples rounds, more thinly the longer the
    capture, and decoding the lines of rounds not sampled is most of what it would cost."""

    __slots__ = ("_look",)

    def __init__(self, look: FirstLook) -> None:
        self._look = look

    @property
    def active(self) -> bool:
        return self._look.thinning

    def __call__(self, message: str, host: str | None) -> bool:
        numbers = round_numbers(message)
        return numbers is not None and not self._look.wants(host, numbers)


def only(matcher: Matcher, instances: frozenset[str] | None) -> Callable[[Record], Event | None]:
    """`matcher` on the records of `instances` (None: all); the others' make no event."""
    if instances is None:
        return matcher

    def match(record: Record) -> Event | None:
        return matcher(record) if record.instance in instances else None

    return match


class _UnnamedRounds:
    """Instances named by no unit (a text capture named with --instance, or not named):
    when the lines the patterns claim carry several mosaik groups (each instance's
    committee is a group of its own), or their finalized round numbers go back again
    and again, the lines of several instances are mixed under one name, and the rules
    on round order and on who finalizes would fire on the mix."""

    def __init__(self) -> None:
        self._groups: dict[str, set[str]] = {}
        self._last: dict[str, int] = {}
        self._back: dict[str, int] = {}
        self._rounds: dict[str, int] = {}

    def see(self, record: Record, event: Event | None) -> None:
        """One record of an instance named by no unit, and its event. Only a line a
        pattern claims shows a group: every capture form reads those in full, where the
        others are decoded in some forms and only glanced at in others (the triage)."""
        if event is None:
            return
        instance = record.instance
        assert instance is not None
        group = record.fields.get("group")
        if group is not None:
            groups = self._groups.setdefault(instance, set())
            if len(groups) < 2:
                groups.add(group)
        if event.name != "round_finalized":
            return
        number = event.fields.get("round")
        if not isinstance(number, int):
            return
        last = self._last.get(instance)
        if last is not None and number < last:
            self._back[instance] = self._back.get(instance, 0) + 1
        self._last[instance] = number
        self._rounds[instance] = self._rounds.get(instance, 0) + 1

    def mixed(self) -> dict[str, str]:
        """What shows that an instance seems mixed: its lines carry several committees'
        groups, or its round numbers go back at least 3 times and in a tenth of rounds
        (a restart or two is a round_regression to report, not a mix)."""
        out = {}
        for name, rounds in self._rounds.items():
            back = self._back.get(name, 0)
            groups = len(self._groups.get(name, ()))
            if groups > 1:
                out[name] = f"its lines carry {groups} committees' groups"
            elif back >= 3 and back * 10 >= rounds:
                out[name] = f"its round numbers go back {back} times in {rounds} rounds"
        return out
