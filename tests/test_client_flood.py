"""Untrusted clients cannot page a storm: client lines from as many made-up hosts as there
are lines, one in seven an hour ahead, raise one clock_skew for the instance's clients
(naming how many, and the worst) and no participants alert, in bounded memory.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from logwatch.simulate import LogLine, Scenario, export_stream, merge
from logwatch.times import US

FAKE_HOSTS = 15_000  # half as many again as the hosts whose clocks are measured at once
RULES = ("--round-period", "2s", "--round-deadline", "1s")


def flood(tmp_path: Path) -> Path:
    s = Scenario(clients=5, seed=21).start()
    s.rounds(60)
    real = s.lines()
    first = real[0].time_us
    fakes = []
    for i in range(FAKE_HOSTS):
        number = 1 + i * 60 // FAKE_HOSTS
        at = first + round((number - 1 + 0.6) * 2 * US) + (3600 * US if i % 7 == 0 else 0)
        fakes.append(
            LogLine(at, "acme-mainnet", "client", f"made-up-{i}", "INFO", "zipnet::client",
                    "sealed envelope", (("round", number), ("bytes", 16384)))
        )  # fmt: skip
    path = tmp_path / "flood.export"
    with path.open("wb") as f:
        for chunk in export_stream(merge(real, fakes), "full"):
            f.write(chunk)
    return path


def test_a_flood_of_made_up_client_hosts_pages_once(tmp_path: Path) -> None:
    path = flood(tmp_path)
    code = (
        "import resource, sys\n"
        "from logwatch.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "replay", str(path), "-o", "json", *RULES],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    objs = [json.loads(line) for line in done.stdout.splitlines()]
    alerts = [o for o in objs if o["type"] == "alert"]
    skews = [a for a in alerts if a["alert"] == "clock_skew"]
    assert [(a["state"], a["labels"]["host"]) for a in skews] == [("firing", "clients")], skews
    assert skews[0]["values"]["offset_s"] > 3590
    assert skews[0]["values"]["worst"].startswith("made-up-")
    assert not [a for a in alerts if a["alert"].startswith("participants")], alerts
    assert not [a for a in alerts if a["alert"] != "clock_skew"], alerts
    peak_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
    print(f"\npeak RSS {peak_mb:.0f} MB for {FAKE_HOSTS} made-up client hosts")
    assert peak_mb < 200, peak_mb
    _ = resource  # the child measures itself with it
