"""The soak of bench/soak.py in one minute (issue 19): journal-remote writing, rotating
every 10 s, vacuumed to 3 files after each rotation, logwatch killed with SIGKILL half-way
and restarted. What must hold is held strictly (nothing lost, nothing repeated that the
saved cursor covered, no file held once deleted, descriptors flat); times loosely, as a
busy machine makes them (bench/soak.py holds them to the issue's numbers)."""

from __future__ import annotations

import lzma
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from soak import Settings, run_soak  # noqa: E402
from soakreport import analyse  # noqa: E402
from soakwrite import Vacuum  # noqa: E402
from test_follow_vacuum import wait_until  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

pytest.importorskip("systemd.journal")


def test_a_minute_of_rotation_vacuum_and_kill_9_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    soak = run_soak(
        Settings(
            seconds=50, rate=2000, rotate_every_s=10, keep_files=3, kill_at=0.5, down_s=2,
            sample_s=1,
        )
    )  # fmt: skip
    f = analyse(soak)
    took = time.monotonic() - started
    with capsys.disabled():
        d = f["delay_s"]
        print(
            f"\nsoak (1 min): {f['rate_written']:,.0f} entries/s, {f['rounds_written']} rounds, "
            f"{len(f['rounds_lost'])} lost, {len(f['rounds_repeated'])} repeated, rotated "
            f"{f['rotations']['seen']} times, {f['rotations']['files_deleted']} files "
            f"vacuumed; p99 {d['p99'] * 1000:.0f} ms; {took:.0f} s"
        )
    assert soak.exit_code == 0
    # What must hold, strictly.
    assert f["rounds_written"] >= 30
    assert f["rounds_lost"] == []
    assert f["repeated_though_saved"] == [] and f["shown_twice_by_one_follower"] == []
    assert f["rotations"]["asked"] >= 4 and f["rotations"]["seen"] >= 4
    assert f["rotations"]["files_deleted"] >= 2 and not f["rotations"]["vacuum_errors"]
    assert f["metrics"]["logwatch_journal_gaps_total"] == 0
    assert f["metrics"]["logwatch_cursor_save_errors_total"] == 0
    for name in ("follower 1", "follower 2"):
        first, last = f["windows"][name]
        assert last["fds_max"] <= first["fds_max"] + 2, f["windows"]
    assert all(not n for n in f["notices"]["2"]), f["notices"]  # the restart says nothing
    assert f["alerts"] == {"1": [], "2": []}
    # Times, loosely: a deleted file is let go of within a few looks (a second apart), the
    # cursor is at most a few seconds old at the kill, rounds show up within seconds.
    assert f["deleted_held_longest_looks"] <= 3
    assert f["cursor_age_at_kill_s"] is not None and f["cursor_age_at_kill_s"] < 5
    assert f["delay_s"]["p99"] < 5


def _archived_name(k: int) -> str:
    return f"remote@{'d' * 32}-{k:016x}-{k:016x}.journal"


def test_the_vacuum_waits_for_the_next_file_of_a_rotation(tmp_path: Path) -> None:
    """journal-remote renames the full file before it creates the next: the soak's vacuum
    run in between kept a file more than asked (vacuumed 1, not 2, in CI). Real journal
    files for journalctl to delete; the rotation's two steps done by hand."""
    journal = lzma.decompress((FIXTURES / "healthy.journal.xz").read_bytes())
    for k in (1, 2):
        (tmp_path / _archived_name(k)).write_bytes(journal)
    (tmp_path / "remote.journal").write_bytes(journal)
    vacuum = Vacuum(tmp_path, keep=3, check_s=0.005).start()
    try:
        wait_until("a first look", lambda: vacuum.looks >= 1)
        (tmp_path / "remote.journal").rename(tmp_path / _archived_name(3))  # step one
        looked = vacuum.looks
        wait_until("three looks", lambda: vacuum.looks >= looked + 3)
        assert vacuum.runs == 0  # three archived files and no active one: not yet
        (tmp_path / "remote.journal").write_bytes(journal)  # step two
        wait_until("a vacuum run", lambda: vacuum.runs == 1)
    finally:
        vacuum.stop()
    assert vacuum.rotations == 1 and not vacuum.errors
    assert vacuum.deleted == 1  # four files, three kept
    assert not (tmp_path / _archived_name(1)).exists()
