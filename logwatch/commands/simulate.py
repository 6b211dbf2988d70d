"""`logwatch simulate`: named incidents as a capture (export, journalctl forms) or journal files."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from logwatch.config import DEFAULT_TEMPLATE
from logwatch.errors import UsageError
from logwatch.simulate import STYLES, LogLine, export_stream, merge
from logwatch.simulate.incidents import INCIDENTS, Drill
from logwatch.simulate.journal import print_as_journalctl, write_journal
from logwatch.sources import FORMATS
from logwatch.times import parse_duration
from logwatch.units import UnitTemplate, instance_from_argument

OUTPUTS = tuple(f for f in FORMATS if f != "journal")
"""What `-o` writes: simulate's own export text, or what journalctl prints in that form."""
MAX_ROUNDS = 100_000
"""Rounds one incident may play (minutes / period): a typo must not fill a disk."""
MAX_CLIENTS = 5_000


def parse_incidents(words: Sequence[str]) -> list[tuple[str, str]]:
    """(incident, instance) for each `INCIDENT[@INSTANCE]`; the instance defaults to the
    incident's name. UsageError for an unknown incident or an instance named twice."""
    known = ", ".join(INCIDENTS)
    template = UnitTemplate(DEFAULT_TEMPLATE)
    chosen: list[tuple[str, str]] = []
    for word in words:
        name, at, instance = word.partition("@")
        if name not in INCIDENTS:
            raise UsageError(f"no incident {name!r}: one of {known}")
        instance = instance_from_argument(instance, template, {}) if at else name
        if instance in (i for _, i in chosen):
            raise UsageError(
                f"instance {instance!r} is named twice: give each incident its own "
                "(INCIDENT@INSTANCE)"
            )
        chosen.append((name, instance))
    return chosen


def drills(
    chosen: Sequence[tuple[str, str]], *, clients: int, minutes: float, period: str, seed: int
) -> list[Drill]:
    """One Drill per incident; UsageError for numbers out of range."""
    period_s = parse_duration(period)
    if not period_s > 0:
        raise UsageError("--period must be > 0")
    if not minutes > 0:
        raise UsageError("--minutes must be > 0")
    if minutes * 60 / period_s > MAX_ROUNDS:
        raise UsageError(
            f"{minutes:g} minutes of {period_s:g}s rounds is over {MAX_ROUNDS} rounds: "
            "fewer minutes or a longer --period"
        )
    if not 0 <= clients <= MAX_CLIENTS:
        raise UsageError(f"--clients must be between 0 and {MAX_CLIENTS}")
    return [
        Drill(instance, clients=clients, minutes=minutes, period_s=period_s, seed=seed)
        for _, instance in chosen
    ]


def incident_lines(chosen: Sequence[tuple[str, str]], plays: Sequence[Drill]) -> list[LogLine]:
    """Every incident's lines, merged by time (instances share hosts' names, not hosts)."""
    return merge(
        *(INCIDENTS[name].make(drill) for (name, _), drill in zip(chosen, plays, strict=True))
    )


def run_simulate(
    *,
    incidents: Sequence[str],
    output: str,
    directory: Path | None,
    style: str,
    clients: int,
    minutes: float,
    period: str,
    seed: int,
    out: IO[bytes] | None = None,
) -> int:
    """Write the incidents' logs; returns the exit code."""
    if style not in STYLES:
        raise UsageError(f"no style {style!r}: one of {', '.join(STYLES)}")
    if output not in OUTPUTS:
        raise UsageError(f"cannot write -o {output}: one of {', '.join(OUTPUTS)}")
    chosen = parse_incidents(incidents)
    plays = drills(chosen, clients=clients, minutes=minutes, period=period, seed=seed)
    lines = incident_lines(chosen, plays)
    if directory is not None:
        files = write_journal(directory, lines, style)
        print(
            f"logwatch: wrote {len(lines)} lines into {len(files)} journal files in "
            f"{directory} (replay them: logwatch replay {directory})",
            file=sys.stderr,
        )
        return 0
    target = out if out is not None else sys.stdout.buffer
    if output == "export":
        for entry in export_stream(lines, style):
            target.write(entry)
    else:
        target.flush()
        print_as_journalctl(lines, style, output, target)
    target.flush()
    return 0
