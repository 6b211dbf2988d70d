"""The exec sink with real processes: stdin and environment, no shell, timeouts, floods, drops."""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import json_lines

from logwatch.engine.outputs import AlertTransition, RoundObservation, TransitionState
from logwatch.errors import UsageError
from logwatch.sinks.exec import ExecCounts, ExecSink, parse_states
from logwatch.sinks.json_output import dumps

pytestmark = pytest.mark.timeout(30)

T0 = 1_795_000_000_000_000

# Records its argv, stdin and LOGWATCH_/EXECTEST_ environment as OUT/NNN.json (runs are one
# at a time, so the count of records numbers them), then waits while OUT/hold exists.
RECORDER = """\
import json, os, sys, time
from pathlib import Path

out = Path(sys.argv[1])
n = len(list(out.glob("*.json")))
record = {
    "argv": sys.argv[2:],
    "stdin": sys.stdin.buffer.read().decode("utf-8"),
    "env": {k: v for k, v in os.environ.items() if k.startswith(("LOGWATCH_", "EXECTEST_"))},
}
(out / "tmp").write_text(json.dumps(record))
(out / "tmp").rename(out / f"{n:03d}.json")
while (out / "hold").exists():
    time.sleep(0.01)
"""


def alert(
    state: TransitionState,
    *,
    name: str = "round_stall",
    instance: str = "acme-mainnet",
    at: int = 0,
) -> AlertTransition:
    return AlertTransition(
        alert=name,
        state=state,
        severity="critical",
        instance=instance,
        at_us=T0 + at,
        since_us=T0,
        summary="no round finalized for 7s (last round 812)",
        labels={"alertname": name, "instance": instance, "severity": "critical"},
        values={"last_round": 812, "silent_s": 7.0},
    )


def script(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[str, Path]:
    out = tmp_path / "out"
    out.mkdir()
    return script(tmp_path / "record.py", RECORDER), out


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def exec_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "logwatch-exec"]


def test_each_transition_runs_the_command_with_json_on_stdin_and_the_env(
    recorder: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cmd, out = recorder
    monkeypatch.setenv("EXECTEST_INHERITED", "yes")
    lines: list[str] = []
    sink = ExecSink([cmd, str(out)], states=parse_states("pending,firing,resolved"),
                    report=lines.append)  # fmt: skip
    transitions = [alert("pending"), alert("firing", at=60), alert("resolved", at=90_000_000)]
    sink.emit(transitions[0])
    sink.emit(RoundObservation("acme-mainnet", T0, 812, 37, "srv1"))  # rounds run nothing
    sink.emit(transitions[1])
    sink.emit(transitions[2])
    sink.close({})

    got = records(out)
    assert [r["stdin"] for r in got] == [dumps(t.to_json()) + "\n" for t in transitions]
    assert [r["env"]["LOGWATCH_STATE"] for r in got] == ["pending", "firing", "resolved"]
    assert got[2]["env"] == {
        "LOGWATCH_ALERT": "round_stall",
        "LOGWATCH_STATE": "resolved",
        "LOGWATCH_INSTANCE": "acme-mainnet",
        "LOGWATCH_SEVERITY": "critical",
        "LOGWATCH_AT": "2026-11-18T11:08:10.000000Z",
        "EXECTEST_INHERITED": "yes",
    }
    assert got[1]["env"]["LOGWATCH_AT"] == json_lines(got[1]["stdin"])[0]["at"]
    assert sink.counts == ExecCounts(run=3)
    assert lines == ["logwatch: exec: " + cmd + ": 3 run, 0 failed, 0 timed out, 0 dropped"]


def test_by_default_firing_and_the_resolution_of_what_fired_run(
    recorder: tuple[str, Path],
) -> None:
    cmd, out = recorder
    sink = ExecSink([cmd, str(out)], report=lambda _: None)
    # An ordinary failover: split_brain pending, then resolved without firing: pages nobody.
    sink.emit(alert("pending", name="split_brain"))
    sink.emit(alert("resolved", name="split_brain", at=1))
    for state in ("pending", "firing", "resolved"):
        sink.emit(alert(state, at=2))
    sink.close({})
    got = [(r["env"]["LOGWATCH_ALERT"], r["env"]["LOGWATCH_STATE"]) for r in records(out)]
    assert got == [("round_stall", "firing"), ("round_stall", "resolved")]


def test_exec_states_names_the_states_to_run_for(recorder: tuple[str, Path]) -> None:
    cmd, out = recorder
    sink = ExecSink([cmd, str(out)], states=parse_states("pending,resolved"), report=print)
    sink.emit(alert("pending", name="split_brain"))
    sink.emit(alert("resolved", name="split_brain", at=1))
    sink.close({})
    assert [r["env"]["LOGWATCH_STATE"] for r in records(out)] == ["pending", "resolved"]
    with pytest.raises(UsageError, match="--exec-states: paging: use some of"):
        parse_states("firing,paging")


def test_arguments_reach_the_command_verbatim_without_a_shell(
    recorder: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cmd, out = recorder
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").mkdir()
    hostile = ["; rm -rf x", "$(touch pwned)", "`touch pwned2`", "a b|touch pwned3", "*"]
    sink = ExecSink([cmd, str(out), *hostile], report=lambda _: None)
    sink.emit(alert("firing", instance="$(touch pwned4)"))
    sink.close({})
    (got,) = records(out)
    assert got["argv"] == hostile
    assert got["env"]["LOGWATCH_INSTANCE"] == "$(touch pwned4)"
    assert (tmp_path / "x").is_dir()
    assert not list(tmp_path.glob("pwned*"))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_hanging_command_is_killed_with_its_group_and_emit_never_waits(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    # A shell script that starts a background grandchild and then hangs itself.
    hang = tmp_path / "hang.sh"
    hang.write_text(f'#!/bin/sh\nsleep 60 &\necho "$$ $!" > {pids}\nsleep 60\n')
    hang.chmod(0o755)
    lines: list[str] = []
    sink = ExecSink([str(hang)], timeout_s=0.3, report=lines.append)
    sink.emit(alert("firing"))
    wait_for(lambda: pids.exists() and pids.read_text().endswith("\n"))
    for state in ("resolved", "firing"):
        started = time.perf_counter()
        sink.emit(alert(state))
        assert time.perf_counter() - started < 0.05

    wait_for(lambda: sink.counts.timed_out == 3)
    assert lines == [f"logwatch: exec: {hang}: timed out after 0.3s"] * 3
    shell, grandchild = map(int, pids.read_text().split())
    wait_for(lambda: not _alive(shell) and not _alive(grandchild), timeout=5)
    sink.close({})
    assert sink.counts == ExecCounts(run=3, timed_out=3)


def test_a_failing_command_is_reported_with_its_last_stderr_line() -> None:
    lines: list[str] = []
    argv = [
        sys.executable,
        "-c",
        "import sys; print('curl: (6) no host\\x1b[31m', file=sys.stderr); sys.exit(3)",
    ]
    sink = ExecSink(argv, report=lines.append)
    sink.emit(alert("firing"))
    sink.close({})
    assert lines[0] == f"logwatch: exec: {sys.executable}: exit 3: curl: (6) no host\\e[31m"
    assert sink.counts == ExecCounts(run=1, failed=1)


def test_a_command_flooding_stdout_and_stderr_is_survived_in_bounded_memory(
    recorder: tuple[str, Path],
) -> None:
    flood = (
        "import sys\n"
        "chunk = b'y' * (1 << 20)\n"
        "for _ in range(50):\n"
        "    sys.stdout.buffer.write(chunk)\n"
        "    sys.stderr.buffer.write(chunk)\n"
        "sys.stderr.buffer.write(b'\\nlast words\\n')\n"
        "sys.exit(1)\n"
    )
    lines: list[str] = []
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    sink = ExecSink([sys.executable, "-c", flood], timeout_s=20, report=lines.append)
    sink.emit(alert("firing"))
    sink.emit(alert("resolved"))
    sink.close({})
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 20 * 1024  # 50 MiB kept anywhere would show here
    assert lines[:2] == [f"logwatch: exec: {sys.executable}: exit 1: last words"] * 2
    assert sink.counts == ExecCounts(run=2, failed=2)


def test_a_command_that_is_not_there_fails_at_construction(tmp_path: Path) -> None:
    plain = tmp_path / "plain.sh"
    plain.write_text("#!/bin/sh\n")
    threads = len(threading.enumerate())
    for argv, reason in [
        (["logwatch-no-such-command"], "command not found on PATH"),
        ([str(tmp_path / "missing.sh")], "no such file"),
        ([str(plain)], "not executable"),
        ([str(tmp_path)], "no such file"),
    ]:
        with pytest.raises(UsageError) as e:
            ExecSink(argv)
        assert str(e.value) == f"--exec: {argv[0]}: {reason}"
    with pytest.raises(UsageError):
        ExecSink([])
    assert len(threading.enumerate()) == threads


def test_a_command_gone_or_unrunnable_later_is_reported_not_fatal(tmp_path: Path) -> None:
    gone = Path(script(tmp_path / "gone.py", ""))
    locked = Path(script(tmp_path / "locked.py", ""))
    lines: list[str] = []
    sinks = [
        ExecSink([str(gone)], report=lines.append),
        ExecSink([str(locked)], report=lines.append),
    ]
    gone.unlink()
    locked.chmod(0o644)
    for sink in sinks:
        sink.emit(alert("firing"))
        sink.close({})
        assert sink.counts == ExecCounts(run=1, failed=1)
    assert lines[0] == f"logwatch: exec: {gone}: command not found"
    assert lines[2] == f"logwatch: exec: {locked}: permission denied"


def test_a_full_queue_drops_the_oldest_waiting_alert_and_counts_it(
    recorder: tuple[str, Path],
) -> None:
    cmd, out = recorder
    (out / "hold").touch()
    lines: list[str] = []
    sink = ExecSink([cmd, str(out)], queue_size=2, report=lines.append)
    # Five alerts the contract knows, so the alert JSON on stdin stays valid.
    first, second, third, fourth, fifth = (
        "round_stall", "split_brain", "participants_zero", "participants_low", "aggregator_silent"
    )  # fmt: skip
    sink.emit(alert("firing", name=first))
    wait_for(lambda: len(records(out)) == 1)  # running, and holding
    for name in (second, third, fourth, fifth):
        sink.emit(alert("firing", name=name))
    assert sink.counts.dropped == 2
    (out / "hold").unlink()
    sink.close({})
    assert [r["env"]["LOGWATCH_ALERT"] for r in records(out)] == [first, fourth, fifth]
    assert sink.counts == ExecCounts(run=3, dropped=2)
    assert lines == [
        f"logwatch: exec: {cmd}: dropped 2 waiting alert(s), queue full",
        f"logwatch: exec: {cmd}: 3 run, 0 failed, 0 timed out, 2 dropped",
    ]


def test_close_drains_the_queue_then_stops_the_worker(recorder: tuple[str, Path]) -> None:
    cmd, out = recorder
    sink = ExecSink([cmd, str(out)], report=lambda _: None)
    for i in range(4):
        sink.emit(alert("firing", at=i))
    sink.close({})
    assert len(records(out)) == 4
    assert not exec_threads()
    sink.emit(alert("resolved"))  # after close: ignored, nothing left to run it
    sink.close({})
    assert sink.counts == ExecCounts(run=4)


def test_close_gives_up_at_its_bound_kills_the_run_and_drops_the_rest(tmp_path: Path) -> None:
    lines: list[str] = []
    sink = ExecSink(
        ["sleep", "60"], timeout_s=30, drain_timeout_s=0.3, report=lines.append,
        states=parse_states("pending,firing,resolved"),
    )  # fmt: skip
    for state in ("pending", "firing", "resolved"):
        sink.emit(alert(state))
    started = time.monotonic()
    sink.close({})
    assert time.monotonic() - started < 2
    assert not exec_threads()
    assert sink.counts == ExecCounts(run=1, timed_out=1, dropped=2)
    assert lines == [
        "logwatch: exec: sleep: killed at close, still running after 0.3s",
        "logwatch: exec: sleep: 1 run, 0 failed, 1 timed out, 2 dropped",
    ]
