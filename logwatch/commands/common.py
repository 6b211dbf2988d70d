"""What every reading command builds from its options: config, patterns, decoder, selection."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.config import Config, load_config, resolve_duration
from logwatch.decode import Decoder, DecodeSettings
from logwatch.engine import RuleSettings
from logwatch.match import Matcher
from logwatch.pattern_files import PatternSet, load_patterns, pattern_dirs
from logwatch.pipeline import Selection, Step, Tally, Tick, read_steps
from logwatch.records import Unreadable
from logwatch.sources import open_inputs
from logwatch.times import parse_time, wall_clock_us
from logwatch.units import UnitTemplate, Writers, normalize_instance


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
    names = [normalize_instance(i, config.aliases) for i in instances]
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


def rule_settings(
    reading: Reading, round_period: str | None, round_deadline: str | None, expect: int | None
) -> RuleSettings:
    """The rule numbers from flags, environment and config file."""
    return RuleSettings(
        round_period_s=resolve_duration(
            round_period, "ZIPNET_ROUND_PERIOD", reading.config.round_period_s
        ),
        round_deadline_s=resolve_duration(
            round_deadline, "ZIPNET_ROUND_DEADLINE", reading.config.round_deadline_s
        ),
        expect_clients=expect,
    )
