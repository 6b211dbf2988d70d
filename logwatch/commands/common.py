"""What every reading command builds from its options: config, patterns, decoder, selection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from logwatch.config import Config, load_config
from logwatch.decode import Decoder, DecodeSettings
from logwatch.engine import RuleSettings
from logwatch.match import Matcher
from logwatch.pattern_files import PatternSet, load_patterns, pattern_dirs
from logwatch.pipeline import Selection
from logwatch.rule_settings import ActiveRules, resolve_rules
from logwatch.times import parse_time, wall_clock_us
from logwatch.units import UnitTemplate, Writers, instance_from_argument


@dataclass(frozen=True, slots=True)
class Reading:
    """The configured read side of a command: what to read and how to decode and match it."""

    config: Config
    patterns: PatternSet
    decoding: DecodeSettings
    matcher: Matcher
    selection: Selection
    writers: Writers

    def new_decoder(self) -> Decoder:
        """A decoder for one pass over the input: what it learns (the last time seen, for
        lines that carry none) belongs to that pass only."""
        return Decoder(self.decoding)


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
    decoding = DecodeSettings(
        unit_template=config.unit_template,
        # One instance named on the command line is what a capture without unit names
        # holds; with several, such a capture cannot be told apart.
        instance=names[0] if len(names) == 1 else None,
    )
    selected = frozenset(names) if names else None
    writers = Writers(UnitTemplate(config.unit_template), selected)
    reading = Reading(config, patterns, decoding, Matcher(patterns), Selection(selected), writers)
    return within(reading, since, until, now_us) if since or until else reading


def within(reading: Reading, since: str | None, until: str | None, now_us: int | None) -> Reading:
    """`reading` limited to the time range `since`..`until` (relative ones count back from
    `now_us`, else from this moment)."""
    now = now_us if now_us is not None else wall_clock_us()
    selection = replace(
        reading.selection,
        since_us=parse_time(since, now) if since else None,
        until_us=parse_time(until, now) if until else None,
    )
    return replace(reading, selection=selection)


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
