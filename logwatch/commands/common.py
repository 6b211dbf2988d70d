"""What every reading command builds from its options: config, patterns, decoder, selection."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.config import Config, load_config
from logwatch.decode import Decoder, DecodeSettings
from logwatch.engine import RuleSettings
from logwatch.engine.hostclock import CaptureOffsets, OffsetEstimator
from logwatch.match import Matcher
from logwatch.pattern_files import PatternSet, load_patterns, pattern_dirs
from logwatch.pipeline import Selection, Step, Tally, Tick, read_steps
from logwatch.records import Unreadable
from logwatch.rule_settings import ActiveRules, resolve_rules
from logwatch.sources import open_inputs
from logwatch.times import parse_time, wall_clock_us
from logwatch.units import UnitTemplate, Writers, instance_from_argument


@dataclass(frozen=True, slots=True)
class Reading:
    """The configured read side of a command."""

    config: Config
    patterns: PatternSet
    decoder: Decoder
    matcher: Matcher
    selection: Selection
    writers: Writers

    def steps(
        self, inputs: Sequence[str], fmt: str | None, tally: Tally, *, screened: bool = True
    ) -> Iterator[Step | Unreadable | Tick]:
        """The captured `inputs` read, decoded and matched, counted into `tally`.
        screened: lines no pattern can claim are not decoded (their records say only
        who and when); False when the caller shows them."""
        screen = self.matcher.screen() if screened else None
        items = open_inputs(inputs, fmt, writers=self.writers, screen=screen)
        return read_steps(items, self.decoder, self.matcher, self.selection, tally)

    def first_look(
        self, inputs: Sequence[str], fmt: str | None, tolerance_us: int
    ) -> CaptureOffsets:
        """Each host's clock offset and the capture's agreed end, from a first read of
        the captured `inputs` (docs/clock.md); the capture is then read again."""
        estimator = OffsetEstimator(tolerance_us)
        # Every instance's entries, whichever are selected: instances share hosts, and
        # the others' lines carry those hosts' clocks too.
        everyone = Selection(None, self.selection.since_us, self.selection.until_us)
        writers = Writers(UnitTemplate(self.config.unit_template), None)
        # A matcher of its own: the run's per-pattern counts (timeouts) stay the main read's;
        # lines no pattern can claim are only glanced at (who, which host, when).
        matcher = Matcher(self.patterns)
        items = open_inputs(inputs, fmt, writers=writers, screen=matcher.screen())
        for step in read_steps(items, self.decoder, matcher, everyone, Tally()):
            if isinstance(step, Step):
                record, event = step
                if event is None:
                    estimator.see(
                        record.host, record.instance, record.role, record.time_us, None, None
                    )
                else:
                    estimator.see(
                        record.host,
                        record.instance,
                        record.role,
                        record.time_us,
                        event.name,
                        event.fields.get("round"),
                    )
        return estimator.result()

    def steps_in_agreed_order(
        self, inputs: Sequence[str], fmt: str | None, tally: Tally, offsets: CaptureOffsets
    ) -> Iterator[Step | Unreadable | Tick]:
        """`steps`, with the entries of skewed hosts where their corrected time puts them.

        A capture merged by time puts a host an hour ahead after everyone else, and one
        behind before: its entries are read a second time, on their own, and merged in
        by corrected time (memory stays constant; the capture is read once more)."""
        skewed = offsets.skewed_hosts()
        main = self.steps(inputs, fmt, tally)
        if not skewed:
            return main

        def theirs(step: Step | Unreadable | Tick) -> bool:
            return isinstance(step, Step) and step.record.host in skewed

        def corrected(step: Step | Unreadable | Tick) -> int:
            if isinstance(step, Step):
                record = step.record
                if record.host in skewed:
                    return record.time_us - offsets.offset(record.host, record.time_us)
                return record.time_us
            # What could not be read has no time: it goes out as soon as it is reached.
            return step if isinstance(step, int) else 0

        others = (step for step in main if not theirs(step))
        # Counted once, in the main read: the second read's counts are dropped.
        matcher = Matcher(self.patterns)
        again = open_inputs(inputs, fmt, writers=self.writers, screen=matcher.screen())
        own = (
            s
            for s in read_steps(again, self.decoder, matcher, self.selection, Tally())
            if theirs(s)
        )
        return heapq.merge(others, own, key=corrected)


def build_reading(
    *,
    instances: Sequence[str],
    pattern_dirs_opt: Sequence[Path],
    config_path: Path | None,
    since: str | None = None,
    until: str | None = None,
    now_us: int | None = None,
) -> Reading:
    """Config, patterns and decoder for the options given; raises LogwatchError on bad ones."""
    config = load_config(config_path)
    patterns = load_patterns(pattern_dirs([*config.pattern_dirs, *pattern_dirs_opt]))
    names = instance_names(instances, config)
    decoder = Decoder(
        DecodeSettings(
            unit_template=config.unit_template,
            # One instance named on the command line is what a capture without unit
            # names holds; with several, such a capture cannot be told apart.
            instance=names[0] if len(names) == 1 else None,
        )
    )
    now = now_us if now_us is not None else wall_clock_us()
    selection = Selection(
        instances=frozenset(names) if names else None,
        since_us=parse_time(since, now) if since else None,
        until_us=parse_time(until, now) if until else None,
    )
    writers = Writers(UnitTemplate(config.unit_template), selection.instances)
    return Reading(config, patterns, decoder, Matcher(patterns), selection, writers)


def instance_names(words: Sequence[str], config: Config) -> list[str]:
    """The instances the command line names (instances, aliases or unit names), in their
    unit spelling, each once."""
    template = UnitTemplate(config.unit_template)
    names = [instance_from_argument(w, template, config.aliases) for w in words]
    return list(dict.fromkeys(names))


def rule_settings(
    reading: Reading, round_period: str | None, round_deadline: str | None, expect: int | None
) -> RuleSettings:
    """The rule numbers from flags, environment, config file and defaults."""
    return active_rules(reading.config, round_period, round_deadline, expect).settings


def active_rules(
    config: Config, round_period: str | None, round_deadline: str | None, expect: int | None
) -> ActiveRules:
    """rule_settings with the source of each number, for `logwatch rules`."""
    return resolve_rules(
        config, round_period=round_period, round_deadline=round_deadline, expect_clients=expect
    )
