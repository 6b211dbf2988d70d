"""Which units a journal holds (sd-journal's unique values of _SYSTEMD_UNIT): to tell a user
who names an instance the journal has never seen which ones it has."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

from logwatch.units import UnitTemplate


def journal_units(
    directory: str | None = None, files: Sequence[str] = (), *, journalctl: bool = False
) -> set[str] | None:
    """The unit names in the journal (the system's, a directory's, or files'); None when
    the journal cannot be asked (no binding, no journalctl, unreadable)."""
    if not journalctl:
        try:
            reader = open_journal(directory, files)
        except ImportError:
            journalctl = True
        except OSError:
            return None
        else:
            try:
                return {str(u) for u in reader.query_unique("_SYSTEMD_UNIT")}
            finally:
                reader.close()
    command = ["journalctl", "--field=_SYSTEMD_UNIT", "--no-pager"]
    if directory is not None:
        command.append(f"--directory={directory}")
    command += [f"--file={f}" for f in files]
    try:
        done = subprocess.run(command, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return set(done.stdout.decode("utf-8", "replace").split())


def known_instances(units: set[str], template: UnitTemplate) -> list[str]:
    """The instances among `units` (any role), sorted."""
    found = {who[1] for u in units if (who := template.parse(u)) is not None}
    return sorted(found)


def missing_instances_note(
    names: Sequence[str], units: set[str] | None, template: UnitTemplate
) -> list[str]:
    """One line per named instance of which the journal holds no unit at all, naming the
    instances it does hold (like journalctl's `-- No entries --`)."""
    if units is None:
        return []
    known = known_instances(units, template)
    lines = []
    for name in names:
        if name not in known:
            others = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
            lines.append(
                f"no entries of instance {name!r} in the journal; it holds "
                + (f"instances {others}" if known else "no zipnet instance at all")
            )
    return lines


def open_journal(directory: str | None, files: Sequence[str]) -> Any:
    """An sd-journal reader of `files`, else of `directory`, else of the system's journal
    (OSError when it cannot be opened, ImportError without the binding)."""
    from systemd import journal

    if files:
        return journal.Reader(files=list(files))
    if directory is not None:
        return journal.Reader(path=directory)
    return journal.Reader()
