"""`logwatch follow` end to end, on a journal that systemd-journal-remote writes while it runs."""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from conftest import Captures, check_line, json_lines

from logwatch.commands.source_options import SourceOptions
from logwatch.cursor import state_key
from logwatch.livefeed import LiveJournal, restamp, timeline
from logwatch.simulate import Scenario
from logwatch.times import US, format_time, iso_to_us, wall_clock_us

INSTANCE = "acme-mainnet"
P, D = 1.0, 1.0  # W = 3P + D = 4 s
W_US = round((3 * P + D) * US)


def start_follow(directory: Path, *extra: str) -> subprocess.Popen[str]:
    """A follow on `directory`, returned once it says it is live (the backlog read)."""
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "logwatch", "follow", INSTANCE, "--directory", str(directory),
            "--output", "json", "--events", "rounds",
            "--round-period", f"{P}s", "--round-deadline", f"{D}s", *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    wait_for_stderr(proc, "logwatch: live from ", 30)
    return proc


def wait_for_stderr(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first stderr line starting with `prefix` (lines before it are dropped)."""
    assert proc.stderr is not None
    fd, line, until = proc.stderr.fileno(), b"", time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            raise AssertionError(f"no stderr line {prefix!r} in {timeout}s")
        char = os.read(fd, 1)
        if not char:
            raise AssertionError(f"follow ended before {prefix!r}")
        if char != b"\n":
            line += char
            continue
        text, line = line.decode(), b""
        if text.startswith(prefix):
            return text


def read_json(stream: IO[str], until: float) -> Iterator[dict[str, Any]]:
    """JSON lines from the follower until the monotonic deadline `until`."""
    fd = stream.fileno()
    buffer = b""
    while (left := until - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield check_line(json.loads(line))


def wait_for(stream: IO[str], pred: Any, timeout: float) -> tuple[dict[str, Any], float]:
    for obj in read_json(stream, time.monotonic() + timeout):
        if pred(obj):
            return obj, time.monotonic()
    raise AssertionError("timed out waiting for follow output")


def collect_until(stream: IO[str], pred: Any, timeout: float) -> list[dict[str, Any]]:
    """Every JSON line up to and including the first that `pred` holds for."""
    got = []
    for obj in read_json(stream, time.monotonic() + timeout):
        got.append(obj)
        if pred(obj):
            return got
    raise AssertionError(f"timed out waiting for follow output, got {got}")


def finalized_rounds(items: list[tuple[int, bytes]]) -> list[int]:
    return [
        int(n) for _, export in items for n in re.findall(rb"round finalized round=(\d+)", export)
    ]


def stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """SIGINT, then (exit code, rest of stdout, stderr)."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    return proc.returncode, out or "", err


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[LiveJournal]:
    with LiveJournal(tmp_path / "journal") as j:
        yield j


def scenario_items(rounds: int, first_round: int = 1) -> list[tuple[int, bytes]]:
    s = Scenario(
        INSTANCE, wall_clock_us(), period_s=P, servers=3, clients=3, first_round=first_round
    )
    return list(timeline(s.start().rounds(rounds).lines(), "full"))


def write_rounds(journal: LiveJournal, items: list[tuple[int, bytes]]) -> None:
    for _, export in items:
        journal.write(restamp(export, wall_clock_us()))


def test_rounds_show_up_live_and_a_silent_stall_fires_on_time(journal: LiveJournal) -> None:
    proc = start_follow(journal.directory, "--since", format_time(wall_clock_us()))
    try:
        items = scenario_items(3)
        delays = []
        for _, export in items:
            written = time.monotonic()
            journal.write(restamp(export, wall_clock_us()))
            if b"round finalized" in export:
                obj, seen = wait_for(proc.stdout, lambda o: o["type"] == "round", 5)  # type: ignore[arg-type]
                delays.append(seen - written)
        assert len(delays) == 3
        # DESIGN: an entry shows up within 250 ms of being written.
        assert max(delays) < 0.25, delays
        last_round_at = iso_to_us(obj["at"])
        assert last_round_at is not None
        # Now complete silence: the stall must fire by the wall clock alone, on time.
        alert, _ = wait_for(
            proc.stdout,  # type: ignore[arg-type]
            lambda o: o["type"] == "alert" and o["alert"] == "round_stall",
            W_US / US + 5,
        )
        assert alert["state"] == "firing"
        assert iso_to_us(alert["at"]) == last_round_at + W_US
        lateness = wall_clock_us() - (last_round_at + W_US)
        assert lateness < 1 * US, f"stall reported {lateness / US:.2f}s after its deadline"
        # Recovery resolves it.
        write_rounds(journal, scenario_items(1, first_round=4)[-3:])
        resolved, _ = wait_for(
            proc.stdout,  # type: ignore[arg-type]
            lambda o: o["type"] == "alert" and o["state"] == "resolved",
            5,
        )
        assert resolved["alert"] == "round_stall"
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err


def test_restart_with_state_dir_reports_each_round_exactly_once(
    journal: LiveJournal, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    items = scenario_items(8)
    first, second = items[: len(items) // 2], items[len(items) // 2 :]
    seen: list[int] = []
    # --since now: what is written from here on is new however long start-up takes (a
    # loaded machine once took longer than a fixed wait, and rounds went to the warm-up).
    since = format_time(wall_clock_us())
    proc = start_follow(journal.directory, "--state-dir", str(state), "--since", since)
    try:
        write_rounds(journal, first)
        last = max(finalized_rounds(first))
        shown = collect_until(proc.stdout, lambda o: o.get("round") == last, 10)  # type: ignore[arg-type]
        seen += [o["round"] for o in shown if o["type"] == "round"]
    finally:
        code, out, err = stop(proc)  # saves the cursor on the way out
    assert code == 0, err
    seen += [x["round"] for x in json_lines(out) if x["type"] == "round"]
    # Rounds written while logwatch is down...
    write_rounds(journal, second)
    proc = start_follow(journal.directory, "--state-dir", str(state))
    try:
        last = max(finalized_rounds(second))
        shown = collect_until(proc.stdout, lambda o: o.get("round") == last, 10)  # type: ignore[arg-type]
        seen += [o["round"] for o in shown if o["type"] == "round"]
    finally:
        code, out, err = stop(proc)
    assert code == 0, err
    seen += [x["round"] for x in json_lines(out) if x["type"] == "round"]
    # ...are reported by the restarted follow: every round once, none twice.
    assert sorted(seen) == list(range(1, 9)), seen


def test_follow_reads_entries_piped_in_and_ends_with_the_pipe(captures: Captures) -> None:
    # `follow -` (`journalctl -f -o json | logwatch follow -`): entries stamped from now
    # on arrive on stdin; the stall among them is reported at its event time, and the
    # follow ends (exit 0, summary) when the pipe closes.
    start = wall_clock_us() + 2 * US
    s = Scenario(INSTANCE, start, period_s=P, servers=3, clients=3).start().rounds(5).silence(10)
    lines = s.rounds(2).lines()
    capture = captures.make(lines, "full", "json")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "logwatch", "follow", "-", "--instance", INSTANCE,
            "--output", "json", "--round-period", f"{P}s", "--round-deadline", f"{D}s",
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None
    # As journalctl -f would: each entry written when its time comes (a stamp far ahead
    # of the wall clock is a host's clock ahead, and is not believed).
    for raw in capture.read_bytes().splitlines(keepends=True):
        while (ahead := int(json.loads(raw)["__REALTIME_TIMESTAMP"]) - wall_clock_us()) > 0:
            time.sleep(ahead / US)
        proc.stdin.write(raw)
        proc.stdin.flush()
    out, err = proc.communicate(timeout=60)  # closes stdin: the pipe ends
    assert proc.returncode == 0, err
    objs = json_lines(out)
    last_before = max(
        x.time_us for x in lines if x.message == "round finalized" and x.time_us < start + 8 * US
    )
    stall = [(o["state"], o["at"]) for o in objs if o.get("alert") == "round_stall"]
    assert stall[0] == ("firing", format_time(last_before + W_US))
    assert stall[1][0] == "resolved"
    assert objs[-1]["type"] == "summary"
    assert objs[-1]["instances"][INSTANCE]["rounds"] == 7
    # Live only once an entry stamped about now has come, and said then, not at start.
    said = err.decode().splitlines()
    assert said[0].startswith("logwatch: reading piped input: live once an entry stamped")
    (live,) = [x for x in said if x.startswith("logwatch: live from ")]
    live_at = iso_to_us(live.removeprefix("logwatch: live from "))
    assert live_at is not None and live_at >= start


def test_cursor_files_are_kept_apart_by_source(tmp_path: Path) -> None:
    # A cursor saved following one journal must never position a follow of another.
    a, b = SourceOptions(directory=tmp_path / "a"), SourceOptions(directory=tmp_path / "b")
    keys = {
        state_key([INSTANCE], a.key()),
        state_key([INSTANCE], b.key()),
        state_key([INSTANCE], SourceOptions(directory=tmp_path / "a", journalctl=True).key()),
        state_key([INSTANCE], SourceOptions().key()),
    }
    assert len(keys) == 4
    assert state_key([INSTANCE], a.key()) == state_key(
        [INSTANCE], SourceOptions(directory=tmp_path / "a").key()
    )


def test_exec_runs_for_a_live_alert_with_its_json_and_environment(
    journal: LiveJournal, tmp_path: Path
) -> None:
    record = tmp_path / "calls"
    script = tmp_path / "page.py"
    script.write_text(
        "import json, os, sys\n"
        f"with open({str(record)!r}, 'a') as f:\n"
        "    alert = json.loads(sys.stdin.read())\n"
        "    f.write(json.dumps([alert['alert'], alert['state'], os.environ['LOGWATCH_ALERT'],\n"
        "                        os.environ['LOGWATCH_STATE'], os.environ['LOGWATCH_INSTANCE'],\n"
        "                        os.environ['LOGWATCH_SEVERITY'], sys.argv[1]]) + '\\n')\n"
    )
    # Split like a shell would, run without one: the `;` part is one argument.
    proc = start_follow(
        journal.directory, "--exec", f"{sys.executable} {script} 'x; touch y'",
        "--since", format_time(wall_clock_us()),
    )  # fmt: skip
    try:
        write_rounds(journal, scenario_items(2))
        wait_for(
            proc.stdout,  # type: ignore[arg-type]
            lambda o: o["type"] == "alert" and o["alert"] == "round_stall",
            W_US / US + 5,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not record.exists():
            time.sleep(0.05)
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    calls = [json.loads(x) for x in record.read_text().splitlines()]
    assert [
        "round_stall", "firing", "round_stall", "firing", INSTANCE, "critical", "x; touch y"
    ] in calls  # fmt: skip
    assert not (tmp_path / "y").exists()


def test_sighup_reloads_patterns_and_keeps_the_old_ones_when_broken(
    journal: LiveJournal, tmp_path: Path
) -> None:
    patterns = tmp_path / "patterns"
    patterns.mkdir()
    proc = start_follow(
        journal.directory, "--patterns", str(patterns), "--since", format_time(wall_clock_us())
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        (patterns / "mine.toml").write_text("[patterns.broken\n")
        proc.send_signal(signal.SIGHUP)
        failed = wait_for_stderr(proc, "logwatch: reload failed", 10)
        (patterns / "mine.toml").write_text("")
        proc.send_signal(signal.SIGHUP)
        wait_for_stderr(proc, "logwatch: patterns and config reloaded", 10)
        # Still following after both reloads: rounds come through.
        write_rounds(journal, scenario_items(1, first_round=1))
        wait_for(proc.stdout, lambda o: o["type"] == "round" and o["round"] == 1, 20)  # type: ignore[arg-type]
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    assert "keeping the old patterns" in failed and "mine.toml" in failed
    assert "reloaded" not in err and "Traceback" not in err  # each said once


@pytest.mark.parametrize("live_from_s", [0, 100])
def test_an_alert_shown_while_warming_up_is_not_announced_again(live_from_s: int) -> None:
    # The warm-up hushes what happened before the start; what is stamped after it (piped
    # entries, a backlog past a cursor) is shown as it comes, and must not be announced
    # a second time when the warm-up ends. Driven in-process: the source is not read.
    from logwatch.commands.common import build_reading
    from logwatch.engine import AlertTransition, Engine, RuleSettings
    from logwatch.pipeline import read_steps
    from logwatch.records import Entry
    from logwatch.run.driver import Driver
    from logwatch.simulate import render

    lines = Scenario(INSTANCE, period_s=P, servers=3, clients=2).start().rounds(4)
    lines = lines.silence(10).rounds(1).lines()
    entries = [
        Entry(x.time_us, True, {"MESSAGE": render(x, "full"), "_SYSTEMD_UNIT": x.unit_name,
                                "_HOSTNAME": x.host})
        for x in lines
    ]  # fmt: skip
    shown: list[Any] = []

    class Sink:
        def emit(self, output: Any) -> None:
            shown.append(output)

    start = lines[0].time_us
    reading = build_reading(instances=[INSTANCE], pattern_dirs_opt=[], config_path=None)
    driver = Driver(Engine(RuleSettings(round_period_s=P, round_deadline_s=D)), Sink())  # type: ignore[arg-type]
    driver.hush_before_us = start + live_from_s * US  # 100 s: after every entry, all hushed
    # The stall fires; the last round is still to come.
    items = entries[: len(entries) - 1]
    driver.take(
        read_steps(items, reading.new_decoder(), reading.matcher, reading.selection, driver.tally)
    )
    driver.announce_active()
    stalls = [(o.alert, o.state) for o in shown if isinstance(o, AlertTransition)]
    assert stalls.count(("round_stall", "firing")) == 1


def test_follow_stdin_stopped_while_its_pipe_is_open_exits_cleanly() -> None:
    # `(cat capture; sleep) | logwatch follow -`, then SIGTERM: the stdin reader thread is
    # still blocked in a read, and exit must not abort on it (it did: exit 134).
    capture = Path(__file__).parent / "fixtures" / "healthy.export"
    feeder = subprocess.Popen(
        ["sh", "-c", f"cat {shlex.quote(str(capture))}; sleep 60"], stdout=subprocess.PIPE
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "follow", "-", "-o", "json", "--since",
         "2026-11-25 UTC", "--round-period", "2s", "--events", "rounds"],
        stdin=feeder.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert feeder.stdout is not None and proc.stdout is not None
    feeder.stdout.close()  # the follower holds the only read end
    try:
        wait_for(proc.stdout, lambda o: o["type"] == "round", 20)  # type: ignore[arg-type]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        feeder.kill()
        feeder.wait()
    assert proc.returncode == 0, err
    assert b"Fatal Python error" not in err
