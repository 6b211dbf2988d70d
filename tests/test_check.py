"""`logwatch check`: Nagios exit codes from the recent journal (real journal, written now)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from logwatch.livefeed import LiveJournal, restamp, timeline
from logwatch.simulate import Scenario
from logwatch.times import wall_clock_us


def check(directory: Path, *instances: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "logwatch", "check", *instances, "--directory", str(directory),
            "--since", "-1m", "--round-period", "1s", "--round-deadline", "1s",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_ok_then_critical_then_unknown(tmp_path: Path) -> None:
    with LiveJournal(tmp_path / "j") as journal:
        s = Scenario("acme-mainnet", wall_clock_us(), period_s=1.0, servers=3, clients=3)
        for _, export in timeline(s.start().rounds(3).lines(), "full"):
            journal.write(restamp(export, wall_clock_us()))
        fresh = check(journal.directory, "acme-mainnet")
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr
        assert fresh.stdout.startswith("OK acme-mainnet: last round 3")
        time.sleep(5.5)  # W = 3P + D = 4 s without a finalization
        stalled = check(journal.directory, "acme-mainnet", "ghost-net")
    assert stalled.returncode == 2, stalled.stdout + stalled.stderr
    lines = stalled.stdout.splitlines()
    assert lines[0].startswith("CRITICAL acme-mainnet: round_stall since ")
    assert lines[1].startswith("UNKNOWN ghost-net: no entries")
    assert "Traceback" not in stalled.stderr
