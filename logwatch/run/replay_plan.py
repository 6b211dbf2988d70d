"""The replay's plan: which reads of a capture a replay makes, each with a decoder of its own."""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable, Iterator, Sequence

from logwatch.commands.common import Reading
from logwatch.engine.first_look import FirstLook, SpansOf
from logwatch.engine.host_offsets import ROUND_LINES
from logwatch.engine.hostclock import Assumed, CaptureOffsets
from logwatch.events import Event
from logwatch.match import Matcher
from logwatch.pattern_files import PatternSet
from logwatch.pipeline import Selection, Step, Tally, Tick, read_steps
from logwatch.prefilter import round_numbers
from logwatch.records import Entry, Glance, Passing, Record, Unreadable
from logwatch.sources import JournalIndex, formats_of_inputs, index_of_inputs, open_inputs
from logwatch.triage import Triage
from logwatch.units import UnitTemplate, Writers

INSTANCES_KEPT = 1000
STRETCH_US = 1_000_000
"""Stretches of skewed hosts whose offsets round to the same second are read together."""
UNTIL_MARGIN_US = 2_000_000
"""How far past --until a journal is read beyond what the hosts' clocks are known to be
apart (jitter, and clocks off by less than the tolerance, which the first look does not
keep)."""
UNITLESS_FORMATS = frozenset(
    {"short", "short-iso", "short-iso-precise", "short-precise", "short-unix", "cat"}
)
"""Captures whose lines never name a unit: every zipnet line is of the one instance named."""
ReplayStep = Step | Unreadable | Tick
Items = Iterator[Entry | Glance | Unreadable | Passing]
Opener = Callable[[Triage], Items]
"""Opens the inputs anew for one pass, each entry as the triage says: triage -> items."""


class ReplayPlan:
    """How a replay reads its inputs (docs/clock.md):

    1. `capture_end()`, only when --since/--until count back from the capture's end: the
       time of the last entry, from journal files' index, else from a first pass;
    2. `first_look()`: each host's clock offset, from the round numbers the hosts share
       (not for stdin, which can be read once);
    3. `steps()`: the main read, with the entries of skewed hosts read once more on their
       own and merged in where their corrected time puts them.

    Or, first, `look_along()` and `steps(tally, look=...)`: the main read with the first
    look taken along, which stands when the look finds nothing that changes how the read
    placed the entries (LookAlong.held); when it does not, 2 and 3 follow.

    Every pass decodes with a fresh decoder: what one pass learnt (the last time seen, for
    lines that carry none) must not leak into the next. Only the main read counts into
    the run's tally and the reading's matcher.
    """

    def __init__(
        self,
        reading: Reading,
        inputs: Sequence[str],
        fmt: str | None,
        *,
        opener: Opener | None = None,
    ) -> None:
        """opener: how a pass opens the inputs (journalctl runs for `check --journalctl`);
        default: the paths `inputs` in format `fmt`, journal files sought to --since."""
        self.reading = reading
        self.inputs = list(inputs)
        self.fmt = fmt
        self._opener = opener
        self.instances_held: set[str] = set()
        """The instances the first look met (at most INSTANCES_KEPT)."""
        self.mixed: dict[str, str] = {}
        """Instances of a capture that names no units whose lines carry several groups or
        whose round numbers go back often, with what shows it: several instances seem
        mixed under one name."""

    @property
    def piped(self) -> bool:
        """Whether an input is stdin, read once: no look ahead."""
        return "-" in self.inputs

    def _open(self, triage: Triage, spread_us: int = 0) -> Items:
        """The inputs, triaged, journal files sought to --since and read up to --until,
        plus `spread_us` (how far apart the hosts' clocks are known to be: in a file
        written in arrival order, a host behind still writes within the window after the
        others' stamps have passed its end) and UNTIL_MARGIN_US."""
        if self._opener is not None:
            return self._opener(triage)
        since, until = self.reading.selection.since_us, self.reading.selection.until_us
        end = None if until is None else until + spread_us + UNTIL_MARGIN_US
        return open_inputs(self.inputs, self.fmt, triage=triage, since_us=since, until_us=end)

    def _index(self) -> JournalIndex | None:
        """The inputs' journal index, when they are journal files opened by path."""
        return None if self._opener is not None else index_of_inputs(self.inputs, self.fmt)

    def capture_end(self) -> int | None:
        """The time of the capture's last entry as the replay will see it (decoded: a
        coarse capture time gives way to the tracing timestamp). Lines no pattern can
        claim are only glanced at: their time is the same, read either way. Journal files
        on disk are not read at all: their index tells (JournalIndex.end_us)."""
        index = self._index()
        end = None if index is None else index.end_us()
        if end is not None:
            return end
        reading = self.reading
        decoder = reading.new_decoder()
        last = None
        for item in self._open(Triage(reading.writers, reading.matcher.screen())):
            if isinstance(item, Passing):
                t = item.time_us
            elif isinstance(item, Unreadable):
                continue
            else:
                record = decoder(item)
                if isinstance(record, Unreadable):
                    continue
                t = record.time_us
            if last is None or t > last:
                last = t
        return last

    def first_look(self, tolerance_us: int) -> CaptureOffsets:
        """Each host's clock offset and the capture's agreed end, within the selected time
        range: the round lines of the selected instances measure the clocks; every
        instance's lines say which hosts write when (instances share hosts: the span of
        the hosts tied to the rounds covers the others' entries on them too) and which
        instances the capture holds. Of journal files these two are asked of the index,
        and only round lines are read (the named instances', through journal matches);
        in other captures the other lines are only glanced at (unit, host, time)."""
        reading = self.reading
        look = FirstLook(tolerance_us)
        selection = reading.selection
        everyone = Selection(None, selection.since_us, selection.until_us)
        writers = Writers(UnitTemplate(reading.config.unit_template), None)
        # A matcher of its own: the run's per-pattern counts (timeouts) stay the main
        # read's; lines no pattern can claim are only glanced at (who, which host, when).
        matcher = Matcher(reading.patterns)
        named = selection.instances or None
        selected = None if named is None else reading.writers
        thins = _LookThins(look) if _rounds_from_fields(reading.patterns) else None
        held = self.instances_held
        since, until = selection.since_us, selection.until_us
        index = self._index()
        units = None if index is None else index.units(writers, since, until)
        spans_of: SpansOf | None = None
        if index is not None and units is not None:
            # Journal files: which instances the capture holds and when each host writes
            # are asked of the index, so the look reads the round lines of the named
            # instances only (through journal matches on their units); every other line
            # passes by, its writer unread.
            template = UnitTemplate(reading.config.unit_template)
            held.update(w[1] for w in map(template.parse, units[:INSTANCES_KEPT]) if w)
            triage = Triage(
                writers if named is None else reading.writers,
                matcher.screen(ROUND_LINES),
                thins=thins,
                glances=False,
            )
            spans_of = functools.partial(index.spans, writers, since_us=since, until_us=until)
        else:
            triage = Triage(writers, matcher.screen(), selected, thins=thins)
        items = self._open(triage)
        looking = LookAlong(self, look, spans_of)
        for step in read_steps(
            items, reading.new_decoder(), _only(matcher, named), everyone, Tally()
        ):
            if isinstance(step, Step):
                looking.see(step.record, step.event)
        return looking.result()

    def look_along(self, tolerance_us: int) -> LookAlong | None:
        """A first look to take along the main read (`steps(tally, look=...)`), so a
        capture is read once when what the look finds changes nothing the read did
        (LookAlong.held); None when the main read would not show it what a look on its
        own sees: piped input; named instances in a capture whose units name others,
        whose entries the main read passes by unread, unless journal files' index tells
        of them."""
        if self.piped or self._opener is not None:
            return None
        reading = self.reading
        selection = reading.selection
        since, until = selection.since_us, selection.until_us
        index = self._index()
        writers = Writers(UnitTemplate(reading.config.unit_template), None)
        units = None if index is None else index.units(writers, since, until)
        spans_of: SpansOf | None = None
        span = None
        if index is not None and units is not None:
            template = UnitTemplate(reading.config.unit_template)
            held = (w[1] for w in map(template.parse, units[:INSTANCES_KEPT]) if w)
            self.instances_held.update(held)
            spans_of = functools.partial(index.spans, writers, since_us=since, until_us=until)
            # The span the look most likely finds: zipnet's first and last entry.
            span = index.span(writers, since, until)
        elif selection.instances and not all(
            f in UNITLESS_FORMATS for f in formats_of_inputs(self.inputs, self.fmt)
        ):
            return None
        return LookAlong(self, FirstLook(tolerance_us), spans_of, Assumed(span))

    def steps(
        self,
        tally: Tally,
        offsets: CaptureOffsets | None = None,
        *,
        screened: bool = True,
        look: LookAlong | None = None,
    ) -> Iterator[ReplayStep]:
        """The main read, decoded and matched, counted into `tally`; with `offsets`, the
        entries of skewed hosts where their corrected time puts them; with `look` (and no
        offsets), the first look taken along, its result known once the steps are.

        A capture merged by time puts a host an hour ahead after everyone else, and one
        behind before: its entries are read again, the stretches of about one clock
        offset together, and merged in by corrected time (memory stays constant; the
        capture is read once more per offset).
        screened: lines no pattern can claim are not decoded (their records say only who
        and when); False when the caller shows them.
        """
        if look is not None:
            read = self._read(
                tally, self.reading.matcher, screened=screened, spread_us=0, aside=look.aside
            )
            return look.along(read)
        spread = 0 if offsets is None else offsets.spread_us()
        main = self._read(tally, self.reading.matcher, screened=screened, spread_us=spread)
        skewed = offsets.skewed_hosts() if offsets is not None else frozenset()
        if offsets is None or not skewed:
            return main

        def corrected(step: ReplayStep) -> int:
            if isinstance(step, Step):
                record = step.record
                if record.host in skewed:
                    return record.time_us - offsets.offset(record.host, record.time_us)
                return record.time_us
            if isinstance(step, Tick):
                return step.time_us
            # What could not be read has no time: it goes out as soon as it is reached.
            return 0

        others = (
            step for step in main if not (isinstance(step, Step) and step.record.host in skewed)
        )
        # The stretches of skewed hosts' clocks with about one offset read together, on
        # their own: within one, entries come in order of their corrected time, wherever
        # the capture holds them. Counted once, in the main read: these reads' counts are
        # dropped.
        buckets: dict[int, dict[str, list[tuple[int | None, int | None]]]] = {}
        for host in sorted(skewed):
            for low, high, offset in offsets.ranges(host):
                bucket = buckets.setdefault(round(offset / STRETCH_US), {})
                bucket.setdefault(host, []).append((low, high))
        stretches = [
            self._stretch(bucket, screened, spread) for _, bucket in sorted(buckets.items())
        ]
        return heapq.merge(others, *stretches, key=corrected)

    def _stretch(
        self,
        ranges: dict[str, list[tuple[int | None, int | None]]],
        screened: bool,
        spread_us: int,
    ) -> Iterator[ReplayStep]:
        """The steps of the hosts in `ranges` stamped within one of their ranges [low,
        high) (None: no bound)."""
        matcher = Matcher(self.reading.patterns)
        for step in self._read(Tally(), matcher, screened=screened, spread_us=spread_us):
            if isinstance(step, Step):
                record = step.record
                host_ranges = ranges.get(record.host) if record.host is not None else None
                if host_ranges is None:
                    continue
                t = record.time_us
                for low, high in host_ranges:
                    if (low is None or t >= low) and (high is None or t < high):
                        yield step
                        break

    def _read(
        self,
        tally: Tally,
        matcher: Matcher,
        *,
        screened: bool,
        spread_us: int,
        aside: Callable[[Record], None] | None = None,
    ) -> Iterator[ReplayStep]:
        reading = self.reading
        triage = Triage(reading.writers, matcher.screen() if screened else None)
        items = self._open(triage, spread_us)
        return read_steps(items, reading.new_decoder(), matcher, reading.selection, tally, aside)


class LookAlong:
    """The first look's keeping of what it is shown (the look itself, the instances met,
    the instances named by no unit), shown the records of a read of its own
    (`ReplayPlan.first_look`) or of the main read (`ReplayPlan.look_along`): there it sees
    the main read's steps and, `aside`, the records of other instances it leaves out.

    assumed: taken along the main read, what that read placed entries by meanwhile
    (hostclock.Assumed)."""

    def __init__(
        self,
        plan: ReplayPlan,
        look: FirstLook,
        spans_of: SpansOf | None,
        assumed: Assumed | None = None,
    ) -> None:
        self._plan = plan
        self._look = look
        self._spans_of = spans_of
        self._unnamed = _UnnamedRounds()
        self.assumed = assumed

    def see(self, record: Record, event: Event | None) -> None:
        """One record within the look's time range, and its event if any."""
        held = self._plan.instances_held
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
        """The offsets found (once every record was seen); sets the plan's `mixed`."""
        self._plan.mixed = self._unnamed.mixed()
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
            and not self._plan.mixed
            and not self._look.hosts_passed_over
        )


def _rounds_from_fields(patterns: PatternSet) -> bool:
    """Whether every pattern of a round line takes its `round` from the event's fields
    (none from a group of its message regex): then the text of a rendering shows it."""
    return all(
        "round" not in p.regex.groupindex for p in patterns.patterns if p.name in ROUND_LINES
    )


class _LookThins:
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


def _only(matcher: Matcher, instances: frozenset[str] | None) -> Callable[[Record], Event | None]:
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
