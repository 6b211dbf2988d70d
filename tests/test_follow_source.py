"""Following a live journal: JournalFollower (sd-journal) and JournalctlFollower (subprocess)."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import as_nobody

from logwatch.errors import InputError
from logwatch.livefeed import LiveJournal, restamp
from logwatch.records import Entry, Unreadable
from logwatch.simulate import LogLine, to_export
from logwatch.sources.follow import JournalFollower, LiveSource, StartPoint
from logwatch.sources.follow_journalctl import JournalctlFollower
from logwatch.times import wall_clock_us
from logwatch.units import UnitTemplate

pytest.importorskip("systemd.journal")

BASE_US = 1_795_600_800_000_000
UNITS = UnitTemplate().glob_for("acme-mainnet")
KINDS = ("native", "journalctl")
Factory = Callable[..., LiveSource]


def _line(
    i: int, unit: str | None = None, time_us: int | None = None, host: str | None = None
) -> LogLine:
    return LogLine(
        time_us=BASE_US + i * 1000 if time_us is None else time_us,
        instance="acme-mainnet",
        role=("server", "aggregator", "client")[i % 3],
        host=host or f"host{i % 4}",
        level="INFO",
        target="zipnet::server::round",
        message="round finalized",
        fields=(("round", i), ("participants", 3)),
        unit=unit,
        ident="sshd" if unit else None,
    )


def _export(
    i: int, *, unit: str | None = None, time_us: int | None = None, host: str | None = None
) -> bytes:
    return to_export(_line(i, unit, time_us, host), "journald", i + 1)


def _rounds(items: list[Entry | Unreadable]) -> list[int]:
    assert all(isinstance(e, Entry) for e in items), items
    return [int(e.fields["F_ROUND"]) for e in items if isinstance(e, Entry)]


def collect(source: LiveSource, n: int, timeout_s: float = 5.0) -> list[Entry | Unreadable]:
    """Poll until `n` items came or the time is up (then fewer)."""
    out: list[Entry | Unreadable] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        out += source.poll(min(0.5, max(0.0, deadline - time.monotonic())))
    return out


@pytest.fixture(params=KINDS)
def make(request: pytest.FixtureRequest) -> Iterator[Factory]:
    made: list[LiveSource] = []

    def factory(*args: object, **kwargs: object) -> LiveSource:
        cls = JournalFollower if request.param == "native" else JournalctlFollower
        source: LiveSource = cls(*args, **kwargs)  # type: ignore[arg-type]
        made.append(source)
        return source

    yield factory
    for source in made:
        source.close()


def test_follows_a_directory_while_it_is_written(
    tmp_path: Path, make: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    with LiveJournal(tmp_path) as live:
        source = make(UNITS, directory=tmp_path)
        assert source.start(since_us=0) == StartPoint("since", 0)
        assert source.poll(0.2) == []
        latencies, got = [], []
        for i in range(200):
            # Another unit's line, which the journal filters out. Right before ours it
            # also wakes the follower while ours is being written (see _Tail.reseek).
            live.write(_export(10_000 + i, unit="sshd.service"))
            t0 = time.perf_counter()
            live.write(_export(i))
            batch = source.poll(1.0)
            latencies.append(time.perf_counter() - t0)
            got += batch
            assert _rounds(batch) == [i], f"entry {i}"
    entry = got[0]
    assert isinstance(entry, Entry)
    assert entry.time_us == BASE_US and entry.time_exact
    assert entry.fields["_SYSTEMD_UNIT"] == "zipnet-server@acme-mainnet.service"
    assert entry.fields["MESSAGE"] == "round finalized"
    assert entry.origin == str(tmp_path)
    assert entry.cursor is not None and source.cursor == got[-1].cursor  # type: ignore[union-attr]
    assert {e.fields["_SYSTEMD_UNIT"] for e in got if isinstance(e, Entry)} == set(UNITS)
    ms = sorted(x * 1000 for x in latencies)
    p50, p99 = statistics.median(ms), ms[int(len(ms) * 0.99) - 1]
    with capsys.disabled():
        print(
            f"\n{type(source).__name__}: write -> poll() returns it: p50 {p50:.2f} ms, "
            f"p99 {p99:.2f} ms, max {ms[-1]:.2f} ms over {len(ms)} entries"
        )
    assert ms[-1] < 1000


def test_without_units_every_entry_comes(tmp_path: Path, make: Factory) -> None:
    with LiveJournal(tmp_path) as live:
        live.write(_export(1) + _export(2, unit="sshd.service") + _export(3))
        source = make((), directory=tmp_path)
        source.start(since_us=0)
        got = collect(source, 3)
    assert [e.fields.get("_SYSTEMD_UNIT") for e in got if isinstance(e, Entry)] == [
        "zipnet-aggregator@acme-mainnet.service",
        "sshd.service",
        "zipnet-server@acme-mainnet.service",
    ]


def test_idle_wait_returns_at_the_timeout_without_spinning(
    tmp_path: Path, make: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    with LiveJournal(tmp_path) as live:
        live.write(_export(0))
        source = make(UNITS, directory=tmp_path)
        source.start(since_us=0)
        assert _rounds(collect(source, 1)) == [0]
        cpu0, t0 = time.process_time(), time.monotonic()
        assert source.poll(2.0) == []
        cpu, took = time.process_time() - cpu0, time.monotonic() - t0
        # The journalctl variant runs journalctl only when a file grew: none runs now.
        running = getattr(source, "pid", None)
    with capsys.disabled():
        name = type(source).__name__
        print(f"\n{name}: idle poll(2.0) took {took:.3f} s, CPU {cpu * 1000:.2f} ms")
    assert 1.95 <= took < 2.5
    assert cpu < 0.05, f"{cpu:.3f} s CPU in a 2 s idle wait"
    assert running is None


def test_default_start_is_a_lookback_before_now(tmp_path: Path, make: Factory) -> None:
    now = wall_clock_us()
    with LiveJournal(tmp_path) as live:
        live.write(restamp(_export(0), now - 300_000_000))  # 5 min ago: before the start
        live.write(restamp(_export(1), now - 30_000_000))
        live.write(restamp(_export(2), now - 1_000_000))
        live.wait_written()  # all three in the file before the start looks at it
        source = make(UNITS, directory=tmp_path)
        point = source.start(lookback_s=60, now_us=now)
        assert point.how == "lookback" and point.at_us == now - 60_000_000
        assert not point.cursor_lost
        assert _rounds(collect(source, 2)) == [1, 2]
        assert source.poll(0.3) == []


@pytest.mark.parametrize(
    ("ago_s", "expected"),
    [((300, 30, 1), [1, 2]), ((300, 240), [0, 1])],
    ids=["some-after-the-start", "all-before-the-start"],
)
def test_a_file_empty_at_the_start_skips_what_is_before_it_unless_all_is(
    tmp_path: Path, make: Factory, ago_s: tuple[int, ...], expected: list[int]
) -> None:
    # Entries before the start seen only after it (written just then, or seen late) are
    # skipped when the file holds later ones; when all are before it, its host's clock is
    # behind and they are new.
    now = wall_clock_us()
    with LiveJournal(tmp_path) as live:
        source = make(UNITS, directory=tmp_path)
        source.start(lookback_s=60, now_us=now)
        assert source.poll(0.3) == []
        for i, ago in enumerate(ago_s):
            live.write(restamp(_export(i), now - ago * 1_000_000))
        live.wait_written()  # seen together by the next poll
        assert _rounds(collect(source, len(expected))) == expected
        assert source.poll(0.3) == []


def _rotate(
    tmp_path: Path, make: Callable[[], LiveSource], host: str | None
) -> list[Entry | Unreadable]:
    """Entries 0-4 into a.journal, 5-9 into a new b.journal, a.journal deleted, 10-14
    into b.journal; what the follower handed out meanwhile."""
    first = LiveJournal(tmp_path, "a.journal")
    try:
        source = make()
        source.start(since_us=0)
        for i in range(5):
            first.write(_export(i, host=host))
        got = collect(source, 5)
        with LiveJournal(tmp_path, "b.journal") as second:
            got += source.poll(0.3)  # the new, empty file: nothing to read yet
            for i in range(5, 10):
                second.write(_export(i, host=host))
            got += collect(source, 5)
            first.close()
            (tmp_path / "a.journal").unlink()
            got += source.poll(0.3)
            for i in range(10, 15):
                second.write(_export(i, host=host))
            got += collect(source, 5)
            got += source.poll(0.3)
    finally:
        first.close()
    assert os.listdir(tmp_path) == ["b.journal"]
    return got


def test_a_new_file_appears_and_an_old_one_is_deleted(tmp_path: Path, make: Factory) -> None:
    """Rotation as journald or journal-remote does it for one host: another file in the
    directory, the old one gone. Nothing is lost, nothing comes twice."""
    got = _rotate(tmp_path, lambda: make(UNITS, directory=tmp_path), "srv1")
    assert _rounds(got) == list(range(15))


def test_a_new_file_of_many_hosts_is_read_from_its_first_entry(tmp_path: Path) -> None:
    """A new file that mixes several hosts (one journal-remote writing them all): a single
    sd-journal Reader over the directory would position it by the boot of the last entry
    read and skip the entries of other hosts before it (so does `journalctl --follow`)."""
    sources: list[JournalFollower] = []

    def make() -> JournalFollower:
        sources.append(JournalFollower(UNITS, directory=tmp_path))
        return sources[-1]

    try:
        assert _rounds(_rotate(tmp_path, make, None)) == list(range(15))
    finally:
        sources[0].close()


def test_a_late_entry_in_another_hosts_file_is_not_lost(tmp_path: Path, make: Factory) -> None:
    """Hosts upload with their own delays: an entry reaching one host's file after a
    later-stamped entry of another host was read still comes (a merged sd-journal
    stream, and so a single `journalctl --follow`, skips it: systemd issue #359)."""
    now = wall_clock_us()
    with (
        LiveJournal(tmp_path, "remote-srv1.journal") as srv1,
        LiveJournal(tmp_path, "remote-srv2.journal") as srv2,
    ):
        source = make(UNITS, directory=tmp_path)
        source.start(lookback_s=60, now_us=now)
        srv1.write(restamp(_export(1, host="srv1"), now + 2000))
        assert _rounds(collect(source, 1)) == [1]
        srv2.write(restamp(_export(0, host="srv2"), now + 1000))  # older, arrives later
        srv1.write(restamp(_export(2, host="srv1"), now + 3000))
        got = collect(source, 2)
        assert sorted(_rounds(got)) == [0, 2]
        assert source.poll(0.2) == []


def test_a_host_ahead_does_not_hide_the_others(tmp_path: Path, make: Factory) -> None:
    """A collector, one file per host, one host's clock 30 s ahead: every host's entries
    keep coming (one merged `journalctl --follow` showed the skewed host alone)."""
    now = wall_clock_us()
    with (
        LiveJournal(tmp_path, "remote-srv1.journal") as srv1,
        LiveJournal(tmp_path, "remote-client1.journal") as ahead,
    ):
        source = make(UNITS, directory=tmp_path)
        source.start(lookback_s=60, now_us=now)
        got = []
        for i in range(0, 20, 2):
            ahead.write(restamp(_export(i + 1, host="client1"), now + 30_000_000 + i * 1000))
            srv1.write(restamp(_export(i, host="srv1"), now + i * 1000))
            got += collect(source, 2)
        assert sorted(_rounds(got)) == list(range(20))


def test_a_backlog_comes_in_bounded_batches_without_waiting(tmp_path: Path, make: Factory) -> None:
    with LiveJournal(tmp_path) as live:
        live.write(b"".join(_export(i) for i in range(25)))
    # Closed: all 25 are in the file before the follow starts.
    source = make(UNITS, directory=tmp_path, max_batch=10)
    source.start(since_us=0)
    batches: list[list[Entry | Unreadable]] = []
    t0 = time.monotonic()
    while sum(map(len, batches)) < 25 and time.monotonic() - t0 < 5:
        batches.append(source.poll(5.0))
    assert time.monotonic() - t0 < 2.0  # no poll waited out its 5 s
    assert all(0 < len(b) <= 10 for b in batches), [len(b) for b in batches]
    if isinstance(source, JournalFollower):  # journalctl hands over what it printed so far
        assert [len(b) for b in batches] == [10, 10, 5]
    assert _rounds([e for b in batches for e in b]) == list(range(25))


def test_a_journalctl_killed_mid_run_is_retried_without_loss_or_repeat(tmp_path: Path) -> None:
    # journalctl killed halfway through what it prints: a stand-in for journalctl that
    # runs the real one, passes its first 1,500 bytes on and dies by SIGKILL (no real
    # part dies on cue). The retry reads on after the last whole entry handed out.
    real = shutil.which("journalctl")
    assert real is not None
    dying = tmp_path / "bin" / "journalctl"
    dying.parent.mkdir()
    marker = tmp_path / "died-once"
    dying.write_text(
        "#!/bin/sh\n"
        # The follower's look at where each file ends (--lines=1) goes through.
        f'case "$*" in *--lines=1*) exec {real} "$@";; esac\n'
        f'if [ ! -e {marker} ]; then touch {marker}; {real} "$@" | head -c 1500; '
        "kill -9 $$; fi\n"
        f'exec {real} "$@"\n'
    )
    dying.chmod(0o755)
    journal = tmp_path / "journal"
    with (
        LiveJournal(journal) as live,
        JournalctlFollower(
            UNITS, directory=journal, journalctl=str(dying), first_backoff_s=0.1
        ) as source,
    ):
        live.write(b"".join(_export(i) for i in range(10)))
        source.start(since_us=0)
        got = collect(source, 10)
        notices = source.take_notices()
        assert source.restarts == 1
        assert len(notices) == 1 and "killed by SIGKILL" in notices[0], notices
        assert "restarting journalctl in 0.1 s" in notices[0]
        assert source.take_notices() == []
    assert _rounds(got) == list(range(10))
    assert source.pid is None


def test_journalctl_follower_leaves_no_process(tmp_path: Path) -> None:
    with LiveJournal(tmp_path):
        source = JournalctlFollower(UNITS, directory=tmp_path)
        source.start(since_us=0)
        pid = source.pid
        assert pid is not None
        source.close()
        assert source.pid is None
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: not our child any more


@pytest.mark.parametrize("kind", KINDS)
def test_user_errors_are_one_line_input_errors(tmp_path: Path, kind: str) -> None:
    cls = JournalFollower if kind == "native" else JournalctlFollower
    with pytest.raises(InputError, match="no such directory"):
        cls(UNITS, directory=tmp_path / "missing")
    with pytest.raises(InputError, match=r"no journal files \(\*\.journal\)"):
        cls(UNITS, directory=tmp_path)
    with pytest.raises(InputError, match="no such journal file"):
        cls(UNITS, files=[tmp_path / "x.journal"])


def test_a_missing_journalctl_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        JournalctlFollower(UNITS, directory=tmp_path, journalctl="no-such-journalctl")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_no_permission_says_what_to_do() -> None:
    # tmp_path's parents are private to root; this directory must be reachable by nobody.
    directory = Path(tempfile.mkdtemp(prefix="logwatch-perm-"))
    try:
        directory.chmod(0o755)
        with LiveJournal(directory) as live:
            live.write(_export(0))
        (directory / "remote.journal").chmod(0o600)

        def attempt() -> str:
            try:
                JournalFollower(directory=directory).close()
            except InputError as e:
                return str(e)
            return "no error"

        assert as_nobody(attempt) == (
            f"{directory}: permission denied: "
            "run as root or add your user to the systemd-journal group"
        )
    finally:
        shutil.rmtree(directory)


def test_files_mode_follows_only_the_files_given(tmp_path: Path) -> None:
    with (
        LiveJournal(tmp_path, "a.journal") as a,
        JournalFollower(UNITS, files=[tmp_path / "a.journal"]) as source,
    ):
        assert source.origin == str(tmp_path / "a.journal")
        source.start(since_us=0)
        a.write(_export(0))
        assert _rounds(collect(source, 1)) == [0]
        with LiveJournal(tmp_path, "b.journal") as b:
            b.write(_export(1))  # another file in the same directory: not followed
            a.write(_export(2))
            assert _rounds(collect(source, 2, timeout_s=1.0)) == [2]


@pytest.fixture
def local_journal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Stands in for /run/log/journal and /var/log/journal; yields this machine's
    directory in the latter (empty). Outside tmp_path, whose parents are private to
    root, so that another user can reach it, as /var/log/journal."""
    from logwatch.sources import live

    base = Path(tempfile.mkdtemp(prefix="logwatch-local-"))
    try:
        base.chmod(0o755)
        run, var = base / "run", base / "var"
        monkeypatch.setattr(live, "_LOCAL_DIRS", (run, var))
        machine = live.local_roots()[1]
        machine.mkdir(parents=True)
        yield machine
    finally:
        shutil.rmtree(base)


def test_the_local_journal_is_followed(local_journal: Path) -> None:
    with LiveJournal(local_journal, "system.journal") as system:
        system.write(_export(0))
        with JournalFollower(UNITS) as source:
            assert source.origin == "journal"
            source.start(since_us=0)
            system.write(_export(1))
            assert _rounds(collect(source, 2)) == [0, 1]


def test_no_local_journal_is_an_input_error(local_journal: Path) -> None:
    with pytest.raises(
        InputError, match=r"no journal files in .* \(is systemd-journald running\?\)"
    ):
        JournalFollower(UNITS)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_an_unreadable_local_journal_says_what_to_do(local_journal: Path) -> None:
    with LiveJournal(local_journal, "system.journal") as system:
        system.write(_export(0))
    (local_journal / "system.journal").chmod(0o600)

    def attempt() -> str:
        try:
            JournalFollower(UNITS).close()
        except InputError as e:
            return str(e)
        return "no error"

    assert as_nobody(attempt) == (
        "no permission to read the system journal: "
        "run as root or add your user to the systemd-journal group"
    )


def test_a_follow_of_journal_files_asks_the_triage_as_a_replay_of_them_does(
    tmp_path: Path, make: Factory
) -> None:
    """A follower asks the triage before it reads an entry in full, as a replay asks (the
    native one through sd-journal lookups, journalctl's from a JSON line's bytes): its
    items decode as its whole entries do, and the mosaik noise among zipnet's own lines
    comes only glanced at."""
    from test_prefilter import lines, matcher, signed

    from logwatch.records import Glance
    from logwatch.simulate import export_bytes
    from logwatch.sources import open_inputs
    from logwatch.triage import Triage
    from logwatch.units import Writers

    with LiveJournal(tmp_path / "j") as live:
        live.write(export_bytes(lines(), "full-ansi"))
    # The instance's entries, as a replay reads them whole.
    ours = [
        e
        for e in open_inputs([str(tmp_path / "j")], fmt=None)
        if isinstance(e, Entry) and e.fields.get("_SYSTEMD_UNIT") in UNITS
    ]
    triage = Triage(Writers(UnitTemplate()), matcher().screen(), settles=False)
    got = {}
    for asks in (False, True):
        source = make(UNITS, directory=tmp_path / "j")
        source.start(since_us=0)
        items: list[Any] = []
        while len(items) < len(ours):
            batch = source.poll(5.0, triage if asks else None)
            assert batch, f"{len(items)} of {len(ours)} entries came"
            items += batch
        got[asks] = items
        if asks:
            # Where to resume: after the last entry, whether read in full or glanced at.
            assert source.cursor == got[False][-1].cursor
    if isinstance(source, JournalFollower):
        assert got[False] == ours  # whole, as a replay reads them
    assert signed(got[False]) == signed(ours)
    assert signed(got[True]) == signed(ours)
    glanced = sum(isinstance(i, Glance) for i in got[True])
    assert glanced >= 150, glanced  # not vacuous: the noise was not read in full


def test_journalctl_runs_on_a_growing_file_at_most_every_50_ms(tmp_path: Path) -> None:
    """A journalctl run per write of journal-remote costs more than the entries it brings:
    while a file keeps growing, its next run waits DRAIN_EVERY_S after the last one began,
    unless the caller cannot wait that long (a poll of the backlog with no timeout). The
    times are handed to `_run_due` as the poll would; the run and the file are real."""
    from logwatch.sources.live import DRAIN_EVERY_S

    with LiveJournal(tmp_path) as live:
        live.write(_export(0))
        source = JournalctlFollower(UNITS, directory=tmp_path)
        source.start(since_us=0)
        assert _rounds(collect(source, 1)) == [0]
        (tail,) = source._tails.values()

        def run_ended() -> None:
            deadline = time.monotonic() + 30
            while tail.proc is not None or tail.buf:
                assert time.monotonic() < deadline, "the journalctl run did not end"
                assert source.poll(0.05) == []  # nothing new in the file

        run_ended()
        began = 1000.0
        tail.dirty, tail.ran_at = True, began  # the file grew again, just after a run
        source._run_due(began + 0.01, deadline=began + 0.25)
        assert tail.proc is None  # too soon, and the poll could wait
        source._run_due(began + 0.01, deadline=began + 0.01)
        assert tail.proc is not None  # too soon, but the caller cannot wait
        run_ended()
        tail.dirty, tail.ran_at = True, began
        source._run_due(began + DRAIN_EVERY_S, deadline=began + 0.25)
        assert tail.proc is not None  # due
        run_ended()
        source.close()
