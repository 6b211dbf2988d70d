"""The saved cursor: atomic saves, and a follow resumed from it reads exactly what is new."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import as_nobody
from mounts import fill, remount, small_fs

from logwatch.cursor import (
    CursorStore,
    SaveStatus,
    join_cursors,
    parse_cursor,
    split_cursors,
    state_key,
)
from logwatch.errors import InputError
from logwatch.livefeed import LiveJournal, restamp
from logwatch.records import Entry, Unreadable
from logwatch.simulate import LogLine, to_export
from logwatch.sources.follow import JournalFollower, LiveSource
from logwatch.sources.follow_journalctl import JournalctlFollower
from logwatch.times import wall_clock_us
from logwatch.units import UnitTemplate

UNITS = UnitTemplate().glob_for("acme-mainnet")
BASE_US = 1_795_600_800_000_000
_TAIL = ";b=d6a73f31a4b178a365e9b779351bc24b;m=5;t=66116e3dc3d3{};x=69"
C1 = "s=9f21136bd3af4b8bbfeca42b599af5cd;i=1" + _TAIL.format("d")
C2 = "s=9f21136bd3af4b8bbfeca42b599af5cd;i=2" + _TAIL.format("e")
C3 = "s=0011136bd3af4b8bbfeca42b599af5cd;i=7" + _TAIL.format("f")


def _export(i: int, host: str = "srv1", time_us: int | None = None) -> bytes:
    line = LogLine(
        time_us=BASE_US + i * 1000 if time_us is None else time_us,
        instance="acme-mainnet",
        role="server",
        host=host,
        level="INFO",
        target="zipnet::server::round",
        message="round finalized",
        fields=(("round", i), ("participants", 3)),
    )
    return to_export(line, "journald", i + 1)


def _rounds(items: list[Entry | Unreadable]) -> list[int]:
    assert all(isinstance(e, Entry) for e in items), items
    return [int(e.fields["F_ROUND"]) for e in items if isinstance(e, Entry)]


def _collect(source: LiveSource, n: int, timeout_s: float = 5.0) -> list[Entry | Unreadable]:
    out: list[Entry | Unreadable] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        out += source.poll(min(0.5, max(0.0, deadline - time.monotonic())))
    return out


# --- the store --------------------------------------------------------------------------


def test_save_and_load(tmp_path: Path) -> None:
    store = CursorStore(tmp_path / "state", "acme")
    assert store.load() is None
    assert store.save(C1)
    assert store.path == tmp_path / "state" / "acme.cursor"
    assert store.path.read_text() == C1 + "\n"
    assert CursorStore(tmp_path / "state", "acme").load() == C1
    assert CursorStore(tmp_path / "state", "other").load() is None


def test_saving_the_same_cursor_again_does_no_io(tmp_path: Path) -> None:
    store = CursorStore(tmp_path, "acme")
    assert store.save(C1)
    before = store.path.stat()
    assert not store.save(C1)
    after = store.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert store.save(C2)
    assert store.path.stat().st_ino != before.st_ino  # a new file renamed over the old
    # After a load, the loaded cursor counts as saved.
    again = CursorStore(tmp_path, "acme")
    assert again.load() == C2
    assert not again.save(C2)


def test_a_set_of_cursors_is_one_saved_cursor(tmp_path: Path) -> None:
    store = CursorStore(tmp_path, "acme")
    both = join_cursors([C3, C1])
    assert both == join_cursors([C1, C3]) == f"{C3}\n{C1}"
    store.save(both)
    loaded = CursorStore(tmp_path, "acme").load()
    assert loaded is not None and split_cursors(loaded) == [C3, C1]


def test_parse_cursor() -> None:
    p = parse_cursor(C2)
    assert p is not None
    assert (p.seqnum_id, p.seqnum, p.realtime_us) == (
        "9f21136bd3af4b8bbfeca42b599af5cd",
        2,
        0x66116E3DC3D3E,
    )
    assert parse_cursor("garbage") is None
    assert parse_cursor("s=abc;i=zz;t=1") is None


def test_no_temp_files_are_left(tmp_path: Path) -> None:
    store = CursorStore(tmp_path, "acme")
    for c in (C1, C2, C3, C1):
        store.save(c)
    assert os.listdir(tmp_path) == ["acme.cursor"]


def test_a_file_that_holds_no_cursor_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "acme.cursor").write_text("half a curs")
    with pytest.raises(InputError, match=r"holds no journal cursor; delete it"):
        CursorStore(tmp_path, "acme").load()
    with pytest.raises(ValueError, match="not a journal cursor"):
        CursorStore(tmp_path, "acme").save("garbage")


def test_a_state_dir_that_cannot_be_made_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match=r"cannot create state dir .*: not a directory"):
        CursorStore(tmp_path / "file" / "state", "acme")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_a_state_dir_that_cannot_be_written_is_an_input_error() -> None:
    # tmp_path's parents are private to root; this directory must be reachable by nobody.
    with tempfile.TemporaryDirectory(prefix="logwatch-state-") as name:
        directory = Path(name)
        directory.chmod(0o755)

        def attempt(path: Path) -> Callable[[], str]:
            def run() -> str:
                try:
                    CursorStore(path, "acme")
                except InputError as e:
                    return str(e)
                return "no error"

            return run

        assert as_nobody(attempt(directory)) == (
            f"cannot write to state dir {directory}: permission denied"
        )
        assert as_nobody(attempt(directory / "sub")) == (
            f"cannot create state dir {directory / 'sub'}: permission denied"
        )


def test_a_read_only_state_dir_is_said_once_retried_and_recovered(tmp_path: Path) -> None:
    with small_fs(tmp_path / "fs") as fs:
        store = CursorStore(fs / "state", "acme")
        assert store.save(C1)
        saved_at = store.status.last_saved_us
        assert store.status == SaveStatus(saved=1, last_saved_us=saved_at)
        remount(fs, "ro")
        assert not store.save(C2)
        assert not store.save(C2)  # tried again: a failed save is not a saved cursor
        status = store.status
        assert (status.saved, status.failures, status.reason) == (1, 2, "read-only file system")
        assert status.failing_since_us is not None and status.last_saved_us == saved_at
        (notice,) = store.take_notices()
        assert notice.startswith(
            f"cannot save the cursor to {store.path}: read-only file system; following goes "
            "on, and every later save tries again (a restart now resumes from the cursor "
            "saved at 20"
        )
        assert not store.save(C3)
        assert store.take_notices() == []  # said once
        remount(fs, "rw")
        assert store.save(C3)
        assert store.path.read_text() == C3 + "\n"
        assert store.status.failing_since_us is None and store.status.failures == 3
        (again,) = store.take_notices()
        assert again.startswith(f"cursor saved again to {store.path}, after ")
        assert os.listdir(fs / "state") == ["acme.cursor"]


def test_a_state_dir_read_only_at_start_up_is_a_failing_save_not_an_error(
    tmp_path: Path,
) -> None:
    # /var remounted read-only after an error, then logwatch restarted: it follows on
    # (the unit does not restart on exit 2) and saves once it can.
    with small_fs(tmp_path / "fs") as fs:
        CursorStore(fs / "state", "acme").save(C1)
        remount(fs, "ro")
        store = CursorStore(fs / "state", "acme")
        assert store.load() == C1
        assert not store.save(C2)
        (notice,) = store.take_notices()
        assert "read-only file system" in notice and "resumes from the cursor saved" in notice
        fresh = CursorStore(fs / "new", "acme")  # not there yet, and cannot be made now
        assert not fresh.save(C1) and fresh.status.reason == "read-only file system"
        remount(fs, "rw")
        assert store.save(C2) and fresh.save(C1)


def test_a_full_state_dir_is_said_once_and_retried(tmp_path: Path) -> None:
    with small_fs(tmp_path / "fs") as fs:
        store = CursorStore(fs / "state", "acme")
        filler = fill(fs)
        assert not store.save(C1)
        assert store.status.reason == "no space left on device"
        (notice,) = store.take_notices()
        assert "a restart now starts without a cursor" in notice
        assert os.listdir(fs / "state") == []  # no temp file left behind
        filler.unlink()
        assert store.save(C1)
        assert CursorStore(fs / "state", "acme").load() == C1


def test_a_removed_state_dir_is_made_again(tmp_path: Path) -> None:
    store = CursorStore(tmp_path / "state", "acme")
    assert store.save(C1)
    shutil.rmtree(tmp_path / "state")
    assert store.save(C2)
    assert store.path.read_text() == C2 + "\n"
    assert store.take_notices() == []


def test_a_removed_state_dir_that_cannot_be_made_again_is_said(tmp_path: Path) -> None:
    store = CursorStore(tmp_path / "var" / "state", "acme")
    assert store.save(C1)
    shutil.rmtree(tmp_path / "var")
    (tmp_path / "var").write_text("")  # where the directory was, a file
    assert not store.save(C2)
    (notice,) = store.take_notices()
    assert notice.startswith(f"cannot save the cursor to {store.path}: not a directory;")
    (tmp_path / "var").unlink()
    assert store.save(C2)


def test_a_reader_never_sees_a_torn_cursor(tmp_path: Path) -> None:
    """Saves race with reads, and a writer killed mid-save: the file always holds one
    whole cursor of those saved."""
    cursors = [C1.replace(";i=1;", f";i={i:x};") for i in range(1, 400)]
    pid = os.fork()
    if pid == 0:  # the child saves for ever, until killed
        try:
            store = CursorStore(tmp_path, "acme")
            while True:
                for c in cursors:
                    store.save(c)
        finally:
            os._exit(0)
    try:
        seen = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                text = (tmp_path / "acme.cursor").read_text()
            except FileNotFoundError:
                continue
            assert text.endswith("\n") and text[:-1] in cursors, text
            seen += 1
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert seen > 100
    assert CursorStore(tmp_path, "acme").load() in cursors


def test_concurrent_saves_in_threads_stay_whole(tmp_path: Path) -> None:
    store = CursorStore(tmp_path, "acme")
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            store.save(C1)
            store.save(C2)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(500):
            path = store.path
            if path.exists():
                assert path.read_text() in (C1 + "\n", C2 + "\n")
    finally:
        stop.set()
        thread.join(5)


def test_state_key_is_stable_and_file_name_safe() -> None:
    a = state_key(["preview-alpha", "acme-mainnet"], "directory:/var/log/journal/remote")
    b = state_key(
        ["acme-mainnet", "preview-alpha", "acme-mainnet"], "directory:/var/log/journal/remote"
    )
    assert a == b
    assert a.startswith("acme-mainnet+preview-alpha+directory-var-log-journal-remote-")
    assert "/" not in a and len(a) < 120
    assert state_key(["acme-mainnet"], "journal") != state_key(["acme-mainnet"], "directory:x")
    assert state_key(["a/b"]) != state_key(["a-b"])  # the hash tells them apart
    assert "/" not in state_key(["../../etc"]) and state_key("") != ""


# --- resuming a follow --------------------------------------------------------------------


@pytest.fixture(params=("native", "journalctl"))
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., LiveSource]]:
    made: list[LiveSource] = []

    def factory(*args: object, **kwargs: object) -> LiveSource:
        cls = JournalFollower if request.param == "native" else JournalctlFollower
        source: LiveSource = cls(*args, **kwargs)  # type: ignore[arg-type]
        made.append(source)
        return source

    yield factory
    for source in made:
        source.close()


def test_resume_reads_exactly_the_new_entries(
    tmp_path: Path, make: Callable[..., LiveSource]
) -> None:
    journal_dir, state = tmp_path / "journal", tmp_path / "state"
    with LiveJournal(journal_dir) as live:
        for i in range(10):
            live.write(_export(i))
        first = make(UNITS, directory=journal_dir)
        first.start(since_us=0)
        assert _rounds(_collect(first, 10)) == list(range(10))
        assert first.cursor is not None
        CursorStore(state, "acme").save(first.cursor)
        first.close()
        for i in range(10, 15):
            live.write(_export(i))
        second = make(UNITS, directory=journal_dir)
        saved = CursorStore(state, "acme").load()
        point = second.start(cursor=saved, since_us=0)
        assert point.how == "cursor" and not point.cursor_lost
        got = _collect(second, 5)
        got += second.poll(0.3)  # and nothing more
        assert _rounds(got) == list(range(10, 15))
        assert second.take_notices() == []


def test_resume_is_exact_for_every_hosts_file(tmp_path: Path) -> None:
    """Two hosts' files: the saved cursor names a place in each, so an entry that reaches
    one host's file later, stamped before the other host's newest, is still read."""
    now = wall_clock_us()
    store = CursorStore(tmp_path / "state", "acme")
    journal_dir = tmp_path / "journal"
    with (
        LiveJournal(journal_dir, "remote-srv1.journal") as srv1,
        LiveJournal(journal_dir, "remote-srv2.journal") as srv2,
    ):
        srv1.write(restamp(_export(0, "srv1"), now + 1000))
        srv2.write(restamp(_export(1, "srv2"), now + 2000))
        srv1.write(restamp(_export(2, "srv1"), now + 5000))
        with JournalFollower(UNITS, directory=journal_dir) as first:
            first.start(lookback_s=60, now_us=now)
            assert sorted(_rounds(_collect(first, 3))) == [0, 1, 2]
            assert first.cursor is not None and len(split_cursors(first.cursor)) == 2
            store.save(first.cursor)
        srv2.write(restamp(_export(3, "srv2"), now + 3000))  # late, older than round 2
        srv1.write(restamp(_export(4, "srv1"), now + 6000))
    # Both files complete: the resumed follow finds both new entries at once.
    with JournalFollower(UNITS, directory=journal_dir) as second:
        assert second.start(cursor=store.load(), lookback_s=60, now_us=now).how == "cursor"
        got = _collect(second, 2) + second.poll(0.3)
    assert _rounds(got) == [3, 4]


def test_journalctl_falls_back_to_the_lookback_for_a_vacuumed_cursor(tmp_path: Path) -> None:
    # journalctl resumes after one cursor only; the native follower resumes at the oldest
    # entry left (tests/test_follow_vacuum.py).
    now = wall_clock_us()
    with LiveJournal(tmp_path, "old.journal") as old:
        old.write(restamp(_export(0), now - 30_000_000))
    with JournalctlFollower(UNITS, directory=tmp_path) as first:
        first.start(since_us=0)
        assert _rounds(_collect(first, 1)) == [0]
        saved = first.cursor
    with LiveJournal(tmp_path, "new.journal") as new:
        (tmp_path / "old.journal").unlink()  # vacuumed
        new.write(restamp(_export(1), now - 300_000_000))  # before the lookback
        new.write(restamp(_export(2), now - 10_000_000))
        with JournalctlFollower(UNITS, directory=tmp_path) as second:
            point = second.start(cursor=saved, lookback_s=60, now_us=now)
            assert point.cursor_lost and point.how == "lookback"
            assert point.at_us == now - 60_000_000
            assert "saved cursor is no longer in the journal" in point.note
            assert "starting 60 s back" in point.note
            assert second.take_notices() == [point.note]
            assert _rounds(_collect(second, 1) + second.poll(0.3)) == [2]


def test_a_malformed_cursor_falls_back_too(tmp_path: Path, make: Callable[..., LiveSource]) -> None:
    now = wall_clock_us()
    with LiveJournal(tmp_path) as live:
        live.write(restamp(_export(0), now - 10_000_000))
    source = make(UNITS, directory=tmp_path)
    point = source.start(cursor="garbage", lookback_s=60, now_us=now)
    assert point.cursor_lost
    assert "saved cursor is not a journal cursor" in point.note
    assert _rounds(_collect(source, 1)) == [0]


def test_tempdir_is_not_needed_for_keys() -> None:
    # A key never escapes the state dir, whatever the instance names hold.
    with tempfile.TemporaryDirectory() as d:
        store = CursorStore(d, state_key(["../../x", "a b"]))
        assert store.path.parent == Path(d)
