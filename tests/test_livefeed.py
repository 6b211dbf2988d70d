"""LiveJournal (systemd-journal-remote fed through a pipe), restamp() and play()."""

from __future__ import annotations

import gc
import itertools
import os
import re
import statistics
import struct
import threading
import time
from pathlib import Path

import pytest

from logwatch.errors import InputError
from logwatch.livefeed import LiveJournal, play, restamp, timeline
from logwatch.simulate import LogLine, export_field, healthy, to_export
from logwatch.times import US, wall_clock_us

journal = pytest.importorskip("systemd.journal")

BASE_US = 1_795_600_800_000_000


def _line(i: int) -> LogLine:
    return LogLine(
        time_us=BASE_US + i * 1000,
        instance="acme-mainnet",
        role="server",
        host="srv1",
        level="INFO",
        target="zipnet::server::round",
        message="round finalized",
        fields=(("round", i), ("participants", 3)),
    )


def _export(i: int) -> bytes:
    return to_export(_line(i), "journald", i + 1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has ended all the same.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


def _read_all(directory: Path) -> list[dict[str, object]]:
    r = journal.Reader(path=str(directory))
    try:
        r.seek_head()
        out = []
        while r._next():
            out.append({**r._get_all(), "__REALTIME": r._get_realtime()})
        return out
    finally:
        r.close()


def test_written_entries_land_in_the_journal_file_in_order(tmp_path: Path) -> None:
    with LiveJournal(tmp_path) as live:
        for i in range(20):
            live.write(_export(i))
        assert live.entries == 20
        assert live.path == tmp_path / "remote.journal"
    got = _read_all(tmp_path)
    assert [e["F_ROUND"] for e in got] == [str(i).encode() for i in range(20)]
    assert [e["__REALTIME"] for e in got] == [BASE_US + i * 1000 for i in range(20)]
    assert got[0]["_SYSTEMD_UNIT"] == b"zipnet-server@acme-mainnet.service"


def test_write_to_reader_latency_is_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each entry is visible to a waiting Reader right after the write: journal-remote
    does not batch."""
    with LiveJournal(tmp_path) as live:
        r = journal.Reader(path=str(tmp_path))
        r.seek_tail()
        r._previous()
        latencies = []
        for i in range(300):
            t0 = time.perf_counter()
            live.write(_export(i))
            deadline = t0 + 2.0
            got = None
            while got is None and time.perf_counter() < deadline:
                if r._next():
                    got = r._get("F_ROUND")
                else:
                    r.wait(max(0.0, deadline - time.perf_counter()))
            latencies.append(time.perf_counter() - t0)
            assert got == str(i).encode(), f"entry {i} not read within 2 s"
        r.close()
    ms = sorted(x * 1000 for x in latencies)
    p50, p99 = statistics.median(ms), ms[int(len(ms) * 0.99) - 1]
    with capsys.disabled():
        print(
            f"\nLiveJournal write -> Reader.wait() -> read: p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
            f"max {ms[-1]:.3f} ms over {len(ms)} entries"
        )
    assert p99 < 250


def test_close_ends_the_process(tmp_path: Path) -> None:
    live = LiveJournal(tmp_path)
    pid = live.pid
    assert _alive(pid)
    assert live.close() == 0
    assert not _alive(pid)
    assert live.close() == 0  # twice is harmless
    with pytest.raises(RuntimeError, match="journal-remote is gone"):
        live.write(_export(0))


def test_an_error_in_the_block_still_ends_the_process(tmp_path: Path) -> None:
    pid = 0
    with pytest.raises(KeyError), LiveJournal(tmp_path) as live:
        pid = live.pid
        live.write(_export(0))
        raise KeyError("boom")
    assert pid and not _alive(pid)
    assert len(_read_all(tmp_path)) == 1


def test_a_forgotten_live_journal_is_ended_at_garbage_collection(tmp_path: Path) -> None:
    live = LiveJournal(tmp_path)
    pid = live.pid
    del live
    gc.collect()
    assert not _alive(pid)


def test_a_dead_journal_remote_is_reported_on_write(tmp_path: Path) -> None:
    with LiveJournal(tmp_path) as live:
        os.kill(live.pid, 9)
        while live.running:
            time.sleep(0.01)
        with pytest.raises(RuntimeError, match="gone"):
            for i in range(100):  # the first write may still fit in the pipe
                live.write(_export(i))


def test_bad_name_and_unusable_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.journal"):
        LiveJournal(tmp_path, "remote.log")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create"):
        LiveJournal(blocker / "sub")


def test_restamp_moves_realtime_and_monotonic_of_every_entry() -> None:
    two = _export(0) + _export(1)
    now = BASE_US + 3600 * US
    out = restamp(two, now)
    realtimes = re.findall(rb"(?m)^__REALTIME_TIMESTAMP=(\d+)$", out)
    monos = [int(m) for m in re.findall(rb"(?m)^__MONOTONIC_TIMESTAMP=(\d+)$", out)]
    old_monos = [int(m) for m in re.findall(rb"(?m)^__MONOTONIC_TIMESTAMP=(\d+)$", two)]
    assert realtimes == [str(now).encode()] * 2
    assert monos[0] == old_monos[0] + now - BASE_US
    assert monos[1] == old_monos[1] + now - (BASE_US + 1000)
    # Everything else is untouched.
    strip = re.compile(rb"(?m)^__(REALTIME|MONOTONIC)_TIMESTAMP=\d+$")
    assert strip.sub(b"", out) == strip.sub(b"", two)


def test_restamp_does_not_touch_binary_values() -> None:
    fake = b"x\n__REALTIME_TIMESTAMP=1\n\x1b"
    entry = (
        export_field("__REALTIME_TIMESTAMP", "100")
        + export_field("MESSAGE", fake.decode())
        + export_field("F_ROUND", "1")
        + b"\n"
    )
    assert b"MESSAGE\n" + struct.pack("<Q", len(fake)) in entry  # really binary
    out = restamp(entry, 555)
    assert out == entry.replace(b"__REALTIME_TIMESTAMP=100\n", b"__REALTIME_TIMESTAMP=555\n", 1)


def test_play_keeps_the_gaps_and_stamps_the_wall_clock(tmp_path: Path) -> None:
    items = [(BASE_US + i * 200_000, _export(i)) for i in range(5)]  # 0.8 s of log
    with LiveJournal(tmp_path) as live:
        t0, w0 = time.monotonic(), wall_clock_us()
        assert play(live.write, items, speed=4.0) == 5
        took = time.monotonic() - t0
    assert 0.18 <= took < 0.6
    got = _read_all(tmp_path)
    stamps = [int(e["__REALTIME"]) for e in got]  # type: ignore[call-overload]
    assert [e["F_ROUND"] for e in got] == [str(i).encode() for i in range(5)]
    assert all(w0 <= s <= wall_clock_us() for s in stamps)
    gaps = [(b - a) / US for a, b in itertools.pairwise(stamps)]
    assert all(0.03 <= g <= 0.15 for g in gaps), gaps


def test_play_stops_when_asked() -> None:
    stop = threading.Event()
    written: list[bytes] = []
    items = [(BASE_US + i * US, _export(i)) for i in range(100)]
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    assert play(written.append, items, speed=2.0, stop=stop) == len(written)
    assert 0.25 < time.monotonic() - t0 < 1.0
    assert 1 <= len(written) <= 2


def test_timeline_numbers_cursors_per_entry() -> None:
    lines = healthy(rounds=2)
    items = list(timeline(lines, "full"))
    assert [t for t, _ in items] == [line.time_us for line in lines]
    seqs = [int(m, 16) for _, e in items for m in re.findall(rb"__CURSOR=s=\w+;i=(\w+);", e)]
    assert seqs == list(range(1, len(seqs) + 1))
