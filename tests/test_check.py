"""`logwatch check`: Nagios exit codes from the recent journal (real journal, written now)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

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
        time.sleep(5.5)  # W = 3P + D = 4 s without a finalization
        stalled = check(journal.directory, "acme-mainnet", "ghost-net")
    assert stalled.returncode == 2, stalled.stdout + stalled.stderr
    (line,) = stalled.stdout.splitlines()
    assert line.startswith("CRITICAL acme-mainnet: round_stall since ")
    assert "; UNKNOWN ghost-net: no entries" in line
    assert {d.split("=")[0] for d in perfdata(line)} == {
        "'acme-mainnet_rounds_per_min'", "'acme-mainnet_last_round_age'",
        "'ghost-net_rounds_per_min'", "'ghost-net_last_round_age'",
    }  # fmt: skip
    assert "Traceback" not in stalled.stderr


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
