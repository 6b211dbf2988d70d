"""Where live entries come from, as `follow` and `check` take it from their options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.commands.common import Reading
from logwatch.journal_units import journal_units, known_instances
from logwatch.match import Matcher
from logwatch.records import Entry, Unreadable
from logwatch.sources.last_said import LOOKBACK_MAX_S, last_said
from logwatch.sources.live import LiveSource
from logwatch.sources.stdin import StdinFollower
from logwatch.times import format_time
from logwatch.units import UnitTemplate


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Where live entries come from (the same for `follow` and `check`)."""

    directory: Path | None = None
    files: tuple[Path, ...] = ()
    journalctl: bool = False
    stdin: bool = False

    def key(self) -> str:
        """Names the source in the cursor file's key: a cursor of one journal means
        nothing in another, and the journalctl reader saves cursors of its own shape."""
        reader = "journalctl" if self.journalctl else "journal"
        if self.directory is not None:
            return f"{reader}:directory:{self.directory.absolute()}"
        if self.files:
            return f"{reader}:files:" + ",".join(sorted(str(f.absolute()) for f in self.files))
        return f"{reader}:system"


def units_for(instances: Sequence[str], template: str) -> list[str]:
    """The journal units of these instances (none: every unit, for --all)."""
    units = UnitTemplate(template)
    return [u for name in instances for u in units.glob_for(name)]


def open_live(options: SourceOptions, units: Sequence[str], fmt: str | None) -> LiveSource:
    """The live source the options name."""
    if options.stdin:
        return StdinFollower(fmt)
    directory = str(options.directory) if options.directory else None
    files = [str(f) for f in options.files] or None
    if options.journalctl:
        from logwatch.sources.follow_journalctl import JournalctlFollower

        return JournalctlFollower(units, directory=directory, files=files)
    from logwatch.sources.follow import JournalFollower

    return JournalFollower(units, directory=directory, files=files)


def look_back(
    options: SourceOptions,
    reading: Reading,
    names: Sequence[str] | None,
    before_us: int,
    stale_us: int,
) -> tuple[list[Entry], list[str]]:
    """What the journal last said of each instance (`names`, or None: every instance it
    holds) before `before_us`: their last entries and rounds, oldest first, and a line for
    the operator for each instance whose last round is older than `stale_us` then."""
    template = UnitTemplate(reading.config.unit_template)
    directory = str(options.directory) if options.directory else None
    files = [str(f) for f in options.files]
    if names is None:
        units = journal_units(directory, files, journalctl=options.journalctl)
        names = known_instances(units or set(), template)
    matcher, decoder = Matcher(reading.patterns), reading.new_decoder()

    def is_round(entry: Entry) -> bool:
        record = decoder(entry)
        event = None if isinstance(record, Unreadable) else matcher(record)
        return event is not None and event.name == "round_finalized"

    said = last_said(
        names, template, before_us, is_round,
        directory=directory, files=files, journalctl=options.journalctl,
    )  # fmt: skip
    entries = sorted((e for found in said.values() for e in found), key=lambda e: e.time_us or 0)
    bound = f"{LOOKBACK_MAX_S / 3600:g} h"
    notes = []
    for name in names:
        found = said.get(name)
        if not found:
            continue
        rounds = [e for e in found if is_round(e)]
        if not rounds:
            notes.append(
                f"{name}: no round finalized in the {bound} before {format_time(before_us)}"
            )
        else:
            at = format_time(rounds[-1].time_us or 0)
            notes.append(f"{name}: its last round before {format_time(before_us)} was at {at}")
    return entries, notes
