"""The replay's plan: which reads of a capture a replay makes, each with a decoder of its own."""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable, Iterator, Sequence

from logwatch.commands.common import Reading
from logwatch.engine.first_look import FirstLook, SpansOf
from logwatch.engine.host_offsets import ROUND_LINES
from logwatch.engine.hostclock import Assumed, CaptureOffsets
from logwatch.match import Matcher
from logwatch.pipeline import Selection, Step, Tally, Tick, read_steps
from logwatch.records import Entry, Glance, Passing, Record, Unreadable
from logwatch.run.looking import (
    INSTANCES_KEPT,
    LookAlong,
    LookThins,
    ReplayStep,
    only,
    rounds_from_fields,
)
from logwatch.sources import JournalIndex, formats_of_inputs, index_of_inputs, open_inputs
from logwatch.triage import Triage
from logwatch.units import UnitTemplate, Writers

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
        thins = LookThins(look) if rounds_from_fields(reading.patterns) else None
        indexed = self._asked_of_index(writers)
        spans_of: SpansOf | None = None
        if indexed is not None:
            # Journal files: which instances the capture holds and when each host writes
            # are asked of the index, so the look reads the round lines of the named
            # instances only (through journal matches on their units); every other line
            # passes by, its writer unread.
            spans_of = indexed[1]
            triage = Triage(
                writers if named is None else reading.writers,
                matcher.screen(ROUND_LINES),
                thins=thins,
                glances=False,
            )
        else:
            triage = Triage(writers, matcher.screen(), selected, thins=thins)
        items = self._open(triage)
        looking = LookAlong(self.instances_held, look, spans_of)
        for step in read_steps(
            items, reading.new_decoder(), only(matcher, named), everyone, Tally()
        ):
            if isinstance(step, Step):
                looking.see(step.record, step.event)
        return self.looked(looking)

    def looked(self, look: LookAlong) -> CaptureOffsets:
        """What `look` found, once every record was seen; sets `mixed`."""
        found = look.result()
        self.mixed = look.mixed
        return found

    def look_along(self, tolerance_us: int) -> LookAlong | None:
        """A first look to take along the main read (`steps(tally, look=...)`), so a
        capture is read once when what the look finds changes nothing the read did
        (LookAlong.held); None when the main read would not show it what a look on its
        own sees: piped input; named instances in a capture whose units name others,
        whose entries the main read passes by unread, unless journal files' index tells
        of them."""
        if self.piped or self._opener is not None:
            return None
        selection = self.reading.selection
        writers = Writers(UnitTemplate(self.reading.config.unit_template), None)
        indexed = self._asked_of_index(writers)
        spans_of: SpansOf | None = None
        span = None
        if indexed is not None:
            index, spans_of = indexed
            # The span the look most likely finds: zipnet's first and last entry.
            span = index.span(writers, selection.since_us, selection.until_us)
        elif selection.instances and not all(
            f in UNITLESS_FORMATS for f in formats_of_inputs(self.inputs, self.fmt)
        ):
            return None
        return LookAlong(self.instances_held, FirstLook(tolerance_us), spans_of, Assumed(span))

    def _asked_of_index(self, writers: Writers) -> tuple[JournalIndex, SpansOf] | None:
        """Of journal files, the instances the capture holds within the selected time
        range, asked of their index (into `instances_held`), and the index with how it
        tells each host's first and last entry of `writers` there; None when the inputs
        have no index or it cannot tell."""
        index = self._index()
        if index is None:
            return None
        since, until = self.reading.selection.since_us, self.reading.selection.until_us
        units = index.units(writers, since, until)
        if units is None:
            return None
        template = UnitTemplate(self.reading.config.unit_template)
        held = (w[1] for w in map(template.parse, units[:INSTANCES_KEPT]) if w)
        self.instances_held.update(held)
        return index, functools.partial(index.spans, writers, since_us=since, until_us=until)

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
