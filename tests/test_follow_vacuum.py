"""The native follower on a collector's life: journal-remote rotating, `journalctl
--vacuum-files` deleting, files cut short or replaced under it (issue 19).

Every file here is written by systemd-journal-remote (logwatch.livefeed.LiveJournal); a
rotation is journal-remote's own (logwatch.simulate.rotation); a vacuum is journalctl's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from logwatch.livefeed import LiveJournal
from logwatch.records import Entry, Unreadable
from logwatch.simulate import LogLine, to_export
from logwatch.simulate.rotation import rotation_export
from logwatch.sources.follow import JournalFollower
from logwatch.sources.losses import Losses
from logwatch.times import US
from logwatch.units import UnitTemplate

pytest.importorskip("systemd.journal")

UNITS = UnitTemplate().glob_for("acme-mainnet")
BASE_US = 1_795_600_800_000_000
WAIT_S = 30.0
"""The longest a test waits for an event (a file, an entry) before it fails: generous, so
a busy machine is only slower, never failing."""


def t(second: float) -> int:
    return BASE_US + round(second * US)


def entry(i: int) -> bytes:
    """Round `i` finalized, stamped `i` seconds after BASE_US."""
    line = LogLine(
        time_us=t(i),
        instance="acme-mainnet",
        role="server",
        host="srv1",
        level="INFO",
        target="zipnet::server::round",
        message="round finalized",
        fields=(("round", i), ("participants", 3)),
    )
    return to_export(line, "journald", i + 1)


def write(live: LiveJournal, rounds: Iterable[int]) -> None:
    live.write(b"".join(entry(i) for i in rounds))


def wait_until(what: str, ready: Callable[[], bool]) -> None:
    """Wait for an event outside this process (a file written by journal-remote)."""
    deadline = time.monotonic() + WAIT_S
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_S:g} s for {what}")
        time.sleep(0.005)


def archived(directory: Path) -> list[Path]:
    return sorted(directory.glob("*@*.journal"))


def rotate(live: LiveJournal, at_s: float) -> None:
    """journal-remote archives its file and starts a new one, of the same writer."""
    before = len(archived(live.directory))
    live.write(rotation_export(t(at_s)))
    wait_until("the rotation", lambda: len(archived(live.directory)) > before)


def vacuum(directory: Path, keep: int) -> str:
    """`journalctl --vacuum-files`: the oldest archived files go, `keep` files stay."""
    done = subprocess.run(
        ["journalctl", f"--directory={directory}", f"--vacuum-files={keep}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stderr


def collect(source: JournalFollower, n: int) -> list[Entry | Unreadable]:
    """Poll until `n` items came (fails after WAIT_S); then whatever one more short poll
    brings, which must be nothing for the counts to hold."""
    out: list[Entry | Unreadable] = []
    deadline = time.monotonic() + WAIT_S
    while len(out) < n and time.monotonic() < deadline:
        out += source.poll(0.5)
    return out + source.poll(0.1)


def rounds(items: list[Entry | Unreadable]) -> list[int]:
    assert all(isinstance(e, Entry) for e in items), items
    return [int(e.fields["F_ROUND"]) for e in items if isinstance(e, Entry)]


def journal_descriptors() -> list[str]:
    """What this process's descriptors on journal files point at (`... (deleted)` for a
    file removed while open)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if ".journal" in target:
            out.append(target)
    return sorted(out)


def saved_after(directory: Path, upto: int) -> str:
    """Reads rounds 0..upto (already written) and returns the cursor a follow would save."""
    with JournalFollower(UNITS, directory=directory) as first:
        first.start(since_us=0)
        assert rounds(collect(first, upto + 1)) == list(range(upto + 1))
        assert first.cursor is not None
        return first.cursor


NOTE = (
    r"saved cursor \(2026-11-25T10:00:04\.000000Z\): {} no longer in the journal "
    r"\(vacuumed while logwatch was not reading\); resuming at the oldest entry left"
)


def test_a_vacuumed_cursor_resumes_at_the_oldest_entry_left(tmp_path: Path) -> None:
    """The saved entry went with a vacuumed file; the writer's later files hold on from a
    later entry: read from there, and say (once) how much is gone."""
    with LiveJournal(tmp_path / "journal") as live:
        d = live.directory
        write(live, range(5))
        saved = saved_after(d, 4)
        # logwatch is down: the collector writes on, rotates twice, vacuums.
        write(live, range(5, 10))
        rotate(live, 9.5)
        write(live, range(10, 15))
        rotate(live, 14.5)
        write(live, range(15, 20))
        assert "Deleted archived journal" in vacuum(d, 2)
        assert len(archived(d)) == 1
        with JournalFollower(UNITS, directory=d) as second:
            point = second.start(cursor=saved)
            assert point.how == "cursor" and not point.cursor_lost
            assert point.at_us == t(9.5)  # the new file's first entry: the rotation's
            assert rounds(collect(second, 10)) == list(range(10, 20))
            # 5 rounds and the entry that filled the file went with it.
            assert re.fullmatch(
                NOTE.format(r"5\.5 s of journal after it \(6 entries\)"), point.note
            )
            assert second.take_notices() == [point.note]
            assert second.losses == Losses(gaps=1, entries=6, seconds=5.5)
            write(live, [20])
            assert rounds(collect(second, 1)) == [20]
            assert second.take_notices() == []


def test_a_cursor_whose_writer_has_no_file_left_resumes_at_its_time(tmp_path: Path) -> None:
    """Every file of the saved entry's writer is gone; another writer's files hold on: read
    them from the saved entry's time, and say how much time no file holds."""
    d = tmp_path / "journal"
    with LiveJournal(d, "remote-old.journal") as old:
        write(old, range(5))
        saved = saved_after(d, 4)
        write(old, range(5, 10))
        rotate(old, 9.5)
    with LiveJournal(d, "remote-new.journal") as new:
        write(new, range(10, 15))
    vacuum(d, 2)  # the old writer's archived file
    (d / "remote-old.journal").unlink()  # and its last, idle file, removed by hand
    with JournalFollower(UNITS, directory=d) as second:
        point = second.start(cursor=saved)
        assert point.how == "cursor" and not point.cursor_lost
        assert rounds(collect(second, 5)) == list(range(10, 15))
        assert re.fullmatch(NOTE.format(r"6\.0 s of journal after it"), point.note)
        assert second.take_notices() == [point.note]
        assert second.losses == Losses(gaps=1, entries=0, seconds=6.0)


def test_a_cursor_still_in_the_journal_says_nothing(tmp_path: Path) -> None:
    with LiveJournal(tmp_path / "journal") as live:
        d = live.directory
        write(live, range(5))
        saved = saved_after(d, 4)
        write(live, range(5, 10))
        rotate(live, 9.5)
        write(live, range(10, 12))
        vacuum(d, 3)  # nothing to delete: two files
        with JournalFollower(UNITS, directory=d) as second:
            point = second.start(cursor=saved)
            assert point == point.__class__("cursor")
            assert rounds(collect(second, 7)) == list(range(5, 12))
            assert second.take_notices() == []
            assert second.losses == Losses()


def test_a_rotated_file_is_read_to_its_end_and_closed(tmp_path: Path) -> None:
    with (
        LiveJournal(tmp_path / "journal") as live,
        JournalFollower(UNITS, directory=live.directory) as source,
    ):
        source.start(since_us=0)
        write(live, range(3))
        assert rounds(collect(source, 3)) == [0, 1, 2]
        write(live, range(3, 5))  # not read yet when the file is archived
        rotate(live, 4.5)
        write(live, range(5, 8))
        assert rounds(collect(source, 5)) == list(range(3, 8))
        (old,) = archived(live.directory)
        held = journal_descriptors()
        assert str(old) not in held
        assert held == [str(live.path)] * 2  # the Reader's and ours
        write(live, [8])
        assert rounds(collect(source, 1)) == [8]


def test_vacuumed_files_are_closed_at_once(tmp_path: Path) -> None:
    with (
        LiveJournal(tmp_path / "journal") as live,
        JournalFollower(UNITS, directory=live.directory) as source,
    ):
        d = live.directory
        source.start(since_us=0)
        for n in range(4):
            write(live, range(3 * n, 3 * n + 3))
            assert rounds(collect(source, 3)) == list(range(3 * n, 3 * n + 3))
            rotate(live, 3 * n + 2.5)
        assert "Deleted archived journal" in vacuum(d, 2)
        assert source.poll(0.1) == []  # the deletions' events taken in
        assert not [x for x in journal_descriptors() if x.endswith("(deleted)")]
        assert journal_descriptors() == [str(live.path)] * 2
        assert source.take_notices() == []
        assert source.losses == Losses()


def test_files_vacuumed_before_they_were_read_are_counted(tmp_path: Path) -> None:
    """journalctl frees a vacuumed file's blocks even for those who hold it open: what
    logwatch had not read of it yet is gone, and the writer's numbering says how much."""
    with (
        LiveJournal(tmp_path / "journal") as live,
        JournalFollower(UNITS, directory=live.directory) as source,
    ):
        d = live.directory
        source.start(since_us=0)
        write(live, range(3))
        assert rounds(collect(source, 3)) == [0, 1, 2]
        # logwatch falls behind: two files are written, rotated away and vacuumed unread.
        write(live, range(3, 6))
        rotate(live, 5.5)
        write(live, range(6, 9))
        rotate(live, 8.5)
        write(live, range(9, 12))
        rotate(live, 11.5)
        write(live, [12])
        assert vacuum(d, 2).count("Deleted archived journal") == 2
        assert rounds(collect(source, 4)) == [9, 10, 11, 12]
        # Rounds 3-8, two rotations' entries and the marker that opened the second file.
        (notice,) = source.take_notices()
        (first_left,) = archived(d)
        assert notice == (
            f"9 journal entries (6.5 s) before {first_left.name} were deleted before "
            "logwatch read them (vacuumed while it was behind)"
        )
        assert source.losses == Losses(gaps=1, entries=9, seconds=6.5)
        assert not [x for x in journal_descriptors() if x.endswith("(deleted)")]


def test_a_file_cut_short_under_follow_is_set_aside_and_read_again_when_whole(
    tmp_path: Path,
) -> None:
    """sd-journal maps files: reading one truncated under it is SIGBUS. It is said once,
    following goes on, and when the file is whole again it is read on from where it was."""
    d = tmp_path / "journal"
    backup = tmp_path / "backup.journal"
    with LiveJournal(d, "b.journal") as b:
        with LiveJournal(d, "a.journal") as a:
            write(a, range(3))
        with JournalFollower(UNITS, directory=d) as source:
            source.start(since_us=0)
            write(b, [3])
            assert sorted(rounds(collect(source, 4))) == [0, 1, 2, 3]
            shutil.copyfile(d / "a.journal", backup)
            os.truncate(d / "a.journal", 0)
            write(b, [4])
            assert rounds(collect(source, 1)) == [4]
            (notice,) = source.take_notices()
            assert notice == (
                f"{d / 'a.journal'}: cut short (truncated) under follow: set aside, and read "
                "again after the last entry read of its writer once it is a whole journal file"
            )
            assert source.losses == Losses(truncated=1)
            os.truncate(d / "a.journal", 1000)  # still no journal file: nothing said again
            write(b, [5])
            assert rounds(collect(source, 1)) == [5]
            assert source.take_notices() == []
            # Put back whole (the same file), and written to again.
            shutil.copyfile(backup, d / "a.journal")
            with LiveJournal(d, "a.journal") as a:
                write(a, [6, 7])
                assert rounds(collect(source, 2)) == [6, 7]  # 0-2 not again
            assert source.take_notices() == []
            assert source.losses == Losses(truncated=1)


def test_a_file_left_cut_short_costs_nothing_and_is_said_once(tmp_path: Path) -> None:
    """Cut to its first page and left so: said and counted once, looked at again only
    when it changes (and then without a word more), and no spin meanwhile."""
    d = tmp_path / "journal"
    with LiveJournal(d, "b.journal") as b:
        with LiveJournal(d, "a.journal") as a:
            write(a, range(50))
        with JournalFollower(UNITS, directory=d) as source:
            source.start(since_us=0)
            assert len(collect(source, 50)) == 50
            assert os.path.getsize(d / "a.journal") > 4096
            os.truncate(d / "a.journal", 4096)
            write(b, [50])
            assert rounds(collect(source, 1)) == [50]
            cpu = time.process_time()
            for _ in range(3):
                assert source.poll(0.3) == []
                os.truncate(d / "a.journal", 4096)  # an event for it: looked at again
            assert time.process_time() - cpu < 0.2  # ~1 s of polls: waiting, not spinning
            write(b, [51])
            assert rounds(collect(source, 1)) == [51]
            (notice,) = source.take_notices()
            assert "a.journal: cut short (truncated) under follow" in notice
            assert source.losses == Losses(truncated=1)


def test_a_file_replaced_under_its_name_is_read_on_without_repeats(tmp_path: Path) -> None:
    d, spare = tmp_path / "journal", tmp_path / "spare"
    with LiveJournal(d, "a.journal") as a:
        write(a, range(3))
    spare.mkdir()
    shutil.copyfile(d / "a.journal", spare / "a.journal")
    with JournalFollower(UNITS, directory=d) as source:
        source.start(since_us=0)
        assert rounds(collect(source, 3)) == [0, 1, 2]
        with LiveJournal(spare, "a.journal") as copy:  # the copy grows elsewhere
            write(copy, [3, 4])
        os.replace(spare / "a.journal", d / "a.journal")
        assert rounds(collect(source, 2)) == [3, 4]
        assert source.take_notices() == [
            f"{d / 'a.journal'}: replaced by another file under the same name: the old one "
            "is read to its end, the new one after the last entry read of its writer"
        ]
        assert source.losses == Losses(replaced=1)
        assert not [x for x in journal_descriptors() if x.endswith("(deleted)")]


def test_a_file_rewritten_in_place_with_another_is_read_anew(tmp_path: Path) -> None:
    d, other = tmp_path / "journal", tmp_path / "other"
    with LiveJournal(d, "a.journal") as a:
        write(a, range(3))
    with LiveJournal(other, "x.journal") as x:  # another writer's file
        write(x, [10, 11])
    with JournalFollower(UNITS, directory=d) as source:
        source.start(since_us=0)
        assert rounds(collect(source, 3)) == [0, 1, 2]
        shutil.copyfile(other / "x.journal", d / "a.journal")  # same inode, other file
        assert rounds(collect(source, 2)) == [10, 11]
        (notice,) = source.take_notices()
        assert "rewritten in place under follow: set aside" in notice
        assert source.losses == Losses(truncated=1)
