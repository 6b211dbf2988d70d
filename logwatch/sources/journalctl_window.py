"""A window of the journal as `journalctl --output=json` prints it (`check --journalctl`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence

from logwatch.errors import InputError
from logwatch.records import Entry, Glance, Passing, Unreadable
from logwatch.sources.json_capture import read_json
from logwatch.sources.live import check_journal_access
from logwatch.times import at_epoch
from logwatch.triage import Triage


class JournalctlWindow:
    """Opens [since, until] of the journal (a directory, files, or the system journal) as
    one `journalctl -o json` run per read: a replay plan reads it as often as it must.

    Without --follow, journalctl merges the files by time and hands over every entry
    of the window (a follow could skip entries behind a host ahead; a read to the end
    cannot)."""

    def __init__(
        self,
        since_us: int,
        until_us: int,
        *,
        directory: str | None = None,
        files: Sequence[str] = (),
        journalctl: str = "journalctl",
    ) -> None:
        binary = shutil.which(journalctl)
        if binary is None:
            raise InputError(f"{journalctl} not found: install systemd, or give its path")
        check_journal_access(directory, list(files) or None)
        if files:
            where = [f"--file={f}" for f in files]
            self.origin = ",".join(files)
        elif directory is not None:
            where = [f"--directory={directory}"]
            self.origin = directory
        else:
            where = []
            self.origin = "journal"
        self._args = [
            binary, "--output=json", "--all", "--merge", "--quiet", "--no-pager",
            f"--since={at_epoch(since_us)}", f"--until={at_epoch(until_us)}", *where,
        ]  # fmt: skip

    def __call__(self, triage: Triage) -> Iterator[Entry | Glance | Unreadable | Passing]:
        try:
            proc = subprocess.Popen(
                self._args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError as e:
            raise InputError(f"cannot run {self._args[0]}: {e.strerror or e}") from None
        return self._read(proc, triage)

    def _read(
        self,
        proc: subprocess.Popen[bytes],
        triage: Triage,
    ) -> Iterator[Entry | Glance | Unreadable | Passing]:
        assert proc.stdout is not None
        try:
            yield from read_json(proc.stdout, self.origin, triage)  # type: ignore[arg-type]
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
