"""`logwatch demo`: the README's first command shows a stall, a split-brain and recovery."""

from __future__ import annotations

import subprocess
import sys

from conftest import json_lines


def test_demo_plays_the_incident_live_and_exits_cleanly() -> None:
    # At 2x the stall (10 s of silence, W = 4 s of wall time at P = 1 s) still shows.
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "demo", "--speed", "2", "--output", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Before the quiet healthy start, one line says what comes and when.
    assert done.stderr.startswith(
        "logwatch demo: plays 28s of two instances: acme-mainnet healthy, silent from 6s "
        "(round_stall at about 10s), back at 11s, split-brain from 15s to 20s"
    )
    # The follow starts once the journal holds both instances: no hint about a typo.
    assert "no entries of instance" not in done.stderr, done.stderr
    objs = json_lines(done.stdout)
    acme = [(o["alert"], o["state"]) for o in objs if o.get("instance") == "acme-mainnet"]
    assert ("round_stall", "firing") in acme and ("round_stall", "resolved") in acme
    assert ("split_brain", "firing") in acme and ("split_brain", "resolved") in acme
    # The healthy instance beside it never fires, and the demo leaves no alert firing.
    assert not [o for o in objs if o.get("instance") == "preview-alpha"]
    summary = objs[-1]
    assert summary["type"] == "summary"
    assert all(not i["firing"] for i in summary["instances"].values())
    assert summary["errors"] == 0
