"""Live, logwatch's own wall clock is the reference (docs/clock.md): a host whose entries
are stamped far from "now" neither fires nor hides a stall, and is named in clock_skew.

The journal is written while logwatch follows it, by systemd-journal-remote; every entry
is stamped with the wall clock when it is written, and the skewed host's with the wall
clock plus its offset, as a host with a wrong clock would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from test_follow import INSTANCE, W_US, D, P, read_json, start_follow, stop, wait_for_stderr

from logwatch.livefeed import LiveJournal, restamp
from logwatch.simulate import Scenario, to_export
from logwatch.simulate.export import entry_count
from logwatch.times import US, iso_to_us, wall_clock_us


def alerts_until(stream: IO[str], until: float) -> Iterator[dict[str, Any]]:
    return (obj for obj in read_json(stream, until) if obj["type"] == "alert")


# On the real wall clock, end to end: a client an hour ahead, a server a minute behind.
# Every role and magnitude, both signs, is played on a stepped clock in test_live_replay.
@pytest.mark.parametrize(("host", "offset_s"), [("client2", 3600), ("srv2", -60)])
def test_a_host_off_the_wall_clock_is_named_and_a_real_stall_still_fires_on_time(
    tmp_path: Path, host: str, offset_s: int
) -> None:
    with LiveJournal(tmp_path / "journal") as journal:
        proc = start_follow(journal.directory)
        assert proc.stdout is not None
        try:
            lines = Scenario(INSTANCE, wall_clock_us(), period_s=P, clients=3).start()
            lines = lines.rounds(4).lines()
            seq = 1
            last_final = 0
            for line in lines:
                # Written as their time comes (the gaps kept), stamped by their host's clock.
                while (ahead := line.time_us - wall_clock_us()) > 0:
                    time.sleep(ahead / US)
                now = wall_clock_us()
                stamp = now + offset_s * US if line.host == host else now
                journal.write(restamp(to_export(line, "full", seq), stamp))
                seq += entry_count(line, "full")
                if line.message == "round finalized":
                    last_final = now
            # Then silence from everyone: the stall must fire on the wall clock, on time.
            seen = []
            for alert in alerts_until(proc.stdout, time.monotonic() + W_US / US + 10):
                seen.append(alert)
                if alert["alert"] == "round_stall":
                    break
        finally:
            stop(proc)
    named = [a for a in seen if a["alert"] == "clock_skew"]
    # A client's clock is in the instance's one alert for its clients, naming the host.
    label = "clients" if host.startswith("client") else host
    assert named and named[0]["labels"]["host"] == label and named[0]["state"] == "firing"
    assert host in named[0]["summary"]
    assert abs(named[0]["values"]["offset_s"] - offset_s) < 2
    stalls = [a for a in seen if a["alert"] == "round_stall"]
    assert [a["state"] for a in stalls] == ["firing"], seen
    at = iso_to_us(stalls[0]["at"])
    assert at is not None
    # Within 1 s of the real deadline: the last finalization as written, plus W.
    assert abs(at - (last_final + W_US)) < US, (at - last_final) / US
    assert [a["alert"] for a in seen if a["alert"] not in ("clock_skew", "round_stall")] == []


def test_a_misspelt_instance_is_no_data_after_w_never_all_clear(tmp_path: Path) -> None:
    with LiveJournal(tmp_path / "journal") as journal:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "logwatch", "follow", "acme-mainet", "--directory",
                str(journal.directory), "--output", "json", "--round-period", f"{P}s",
                "--round-deadline", f"{D}s",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            live = wait_for_stderr(proc, "logwatch: live from ", 30)
            started = iso_to_us(live.split("live from ")[1].strip())
            assert started is not None
            # The real instance writes on; the misspelt one shows nothing at all.
            lines = Scenario(INSTANCE, wall_clock_us(), period_s=P, clients=3).start()
            seq = 1
            for line in lines.rounds(2).lines():
                journal.write(restamp(to_export(line, "full", seq), wall_clock_us()))
                seq += entry_count(line, "full")
            alert = next(alerts_until(proc.stdout, time.monotonic() + W_US / US + 10))
        finally:
            stop(proc)
    assert (alert["alert"], alert["state"], alert["instance"]) == (
        "no_data",
        "firing",
        "acme-mainet",
    )
    assert alert["severity"] == "warning"
    at = iso_to_us(alert["at"])
    # W after the watch started (said just after it, in "live from").
    assert at is not None and abs(at - (started + W_US)) < US
