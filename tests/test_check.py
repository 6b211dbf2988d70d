"""`logwatch check`: Nagios exit codes from the recent journal (real journal, written now)."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from logwatch.commands.check import prepare_check, run_check
from logwatch.commands.source_options import SourceOptions
from logwatch.livefeed import LiveJournal, restamp, timeline
from logwatch.simulate import Scenario
from logwatch.times import wall_clock_us

RULES = ("--round-period", "1s", "--round-deadline", "1s")
# A Nagios performance datum: 'label'=value[UOM];[warn];[crit];[min];[max]
PERFDATA = re.compile(r"'[^']+'=(-?[0-9.]+|U)(s|%|B|c)?(;[0-9.]*){0,4}")


def check(
    directory: Path, *instances: str, rules: Sequence[str] = RULES, since: str = "-1m"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "logwatch", "check", *instances, "--directory", str(directory),
            "--since", since, *rules,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def check_at(
    directory: Path, now_us: int, *instances: str, since: str = "-1m", output: str = "text"
) -> tuple[int, str]:
    """`logwatch check` made at `now_us` (in-process: a check at a time to come, without
    waiting for it): exit code and stdout."""
    plan = prepare_check(
        instances=instances, since=since, round_period="1s", round_deadline="1s",
        expect_clients=None, pattern_dirs=[], config_path=None, now_us=now_us,
    )  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_check(plan, source=SourceOptions(directory=directory), output=output)
    return code, out.getvalue()


def perfdata(line: str) -> list[str]:
    """The performance data after `|`, each datum checked against the plugin guidelines."""
    _, _, data = line.partition(" | ")
    items = data.split(" ")
    assert items and all(PERFDATA.fullmatch(i) for i in items), line
    return items


def test_ok_then_critical_then_unknown(tmp_path: Path) -> None:
    with LiveJournal(tmp_path / "j") as journal:
        s = Scenario("acme-mainnet", wall_clock_us(), period_s=1.0, servers=3, clients=3)
        for _, export in timeline(s.start().rounds(3).lines(), "full"):
            journal.write(restamp(export, wall_clock_us()))
        fresh = check(journal.directory, "acme-mainnet")
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr
        assert fresh.stdout.startswith("OK acme-mainnet: last round 3")
        # One status line; last round age warns past P (1 s) and is critical past W (4 s).
        (line,) = fresh.stdout.splitlines()
        rate, age = perfdata(line)
        assert rate.startswith("'rounds_per_min'=") and rate.endswith(";;;0")
        assert re.fullmatch(r"'last_round_age'=[0-9.]+s;1;4;0", age), age
        # 5.5 s later, W = 3P + D = 4 s without a finalization: checked at that time.
        code, stalled = check_at(
            journal.directory, wall_clock_us() + 5_500_000, "acme-mainnet", "ghost-net"
        )
    assert code == 2, stalled
    (line,) = stalled.splitlines()
    assert line.startswith("CRITICAL acme-mainnet: round_stall since ")
    assert "; UNKNOWN ghost-net: no entries" in line
    assert {d.split("=")[0] for d in perfdata(line)} == {
        "'acme-mainnet_rounds_per_min'", "'acme-mainnet_last_round_age'",
        "'ghost-net_rounds_per_min'", "'ghost-net_last_round_age'",
    }  # fmt: skip


def test_without_a_period_and_before_any_round_it_is_unknown_not_ok(tmp_path: Path) -> None:
    with LiveJournal(tmp_path / "j") as journal:
        s = Scenario("acme-mainnet", wall_clock_us(), period_s=1.0, servers=3, clients=3)
        # Clients and servers write, but no round is finalized: P cannot be estimated.
        lines = [x for x in s.start().rounds(3).lines() if "round finalized" not in x.message]
        for _, export in timeline(lines, "full"):
            journal.write(restamp(export, wall_clock_us()))
        # Within the fallback window (30 s) of the watch's start: nothing can be said yet.
        done = check(journal.directory, "acme-mainnet", rules=(), since="-10s")
        # A minute with servers writing and no round finalized: that is a stall, even with
        # the period unknown (the fallback window stands in for W).
        stalled = check(journal.directory, "acme-mainnet", rules=(), since="-1m")
    assert done.returncode == 3, done.stdout + done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("UNKNOWN acme-mainnet: round period unknown")
    assert perfdata(line) == ["'rounds_per_min'=0;;;0", "'last_round_age'=U;;;0"]
    assert stalled.returncode == 2, stalled.stdout
    assert stalled.stdout.startswith("CRITICAL acme-mainnet: round_stall since ")


@pytest.mark.parametrize("name", ["/tmp/y", "acme mainnet", "..", "~/x"])
def test_a_name_that_cannot_be_an_instance_is_a_usage_error(tmp_path: Path, name: str) -> None:
    done = check(tmp_path, name)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("logwatch: ") and done.stderr.count("\n") == 1
    assert "cannot be an instance name" in done.stderr


@pytest.mark.parametrize(
    ("where", "why"),
    [
        (("--directory", "/nonexistent"), "/nonexistent: no such directory"),
        (("--file", "/bin/ls"), "/bin/ls: not a journal file"),
    ],
)
def test_a_check_that_cannot_read_says_unknown_on_stdout(where: tuple[str, str], why: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "check", "acme-mainnet", *where, *RULES],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done
    (line,) = done.stdout.splitlines()  # what Nagios shows: never "(No output on stdout)"
    assert line.startswith("UNKNOWN - ") and why in line, line
    assert "Traceback" not in done.stderr
