"""Where live entries come from, as `follow` and `check` take it from their options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.sources.live import LiveSource
from logwatch.sources.stdin import StdinFollower
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
