"""--since as journalctl takes it: each time form keeps the same first entry in
`logwatch replay` as in `journalctl --since`, on a journal with an entry every second,
in a zone that is not UTC (times without a zone are local time, as for journalctl)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import json_lines, write_journal

from logwatch.simulate import LogLine
from logwatch.times import US

TZ = "Europe/Berlin"
ZONE = ZoneInfo(TZ)


def _lines() -> list[LogLine]:
    """20 s of one round finalized per second around each instant the forms name."""
    today = datetime.now(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    centres = [
        datetime(2026, 11, 25, 10, 0, 30, tzinfo=ZoneInfo("UTC")),  # "... UTC", @EPOCH
        datetime(2026, 11, 25, 10, 0, 30, tzinfo=ZONE),  # the same text, local time
        today.replace(hour=10, minute=0, second=30),  # "10:00:30": today, local
        today,  # "today"
        today - timedelta(days=1),  # "yesterday"
    ]
    seconds = sorted({int(c.timestamp()) + d for c in centres for d in range(-10, 11)})
    return [_finalized(n, s * US + 250_000) for n, s in enumerate(seconds, start=1)]


def _finalized(round_: int, time_us: int) -> LogLine:
    return LogLine(
        time_us=time_us, instance="acme-mainnet", role="server", host="srv1",
        level="INFO", target="zipnet::server::round", message="round finalized",
        fields=(("round", round_), ("participants", 1)),
    )  # fmt: skip


def _finalized(round_: int, time_us: int) -> LogLine:
    return LogLine(
        time_us=time_us,
        instance="acme-mainnet",
        role="server",
        host="srv1",
        level="INFO",
        target="zipnet::server::round",
        message="round finalized",
        fields=(("round", round_), ("participants", 1)),
    )


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_journal(tmp_path_factory.mktemp("every-second") / "j", _lines(), "full")


FORMS = [
    "2026-11-25 10:00:30 UTC",
    "2026-11-25 10:00:30",
    "2026-11-25 10:00",
    "2026-11-25 10:00:30 Europe/Berlin",
    "@1795600830",
    "@1795600830.5",
    "10:00:30",
    "today",
    "yesterday",
]


def _env() -> dict[str, str]:
    return {**os.environ, "TZ": TZ}


@pytest.mark.parametrize("form", FORMS)
def test_since_keeps_the_same_first_entry_as_journalctl(journal: Path, form: str) -> None:
    jc = subprocess.run(
        ["journalctl", f"--directory={journal}", f"--since={form}", "-o", "json", "-n", "+1",
         "--no-pager"],
        capture_output=True, text=True, timeout=60, check=False, env=_env(),
    )  # fmt: skip
    lw = subprocess.run(
        [sys.executable, "-m", "logwatch", "replay", str(journal), "--since", form,
         "--events", "rounds", "-o", "json", "--round-period", "1s"],
        capture_output=True, text=True, timeout=60, check=False, env=_env(),
    )  # fmt: skip
    if jc.returncode != 0:
        # journalctl refuses it (a form systemd 252 lacks): logwatch must not guess either.
        assert lw.returncode == 2 and lw.stderr.startswith("logwatch: not a time"), lw.stderr
        return
    first_us = int(json.loads(jc.stdout.splitlines()[0])["__REALTIME_TIMESTAMP"])
    assert lw.returncode == 0, lw.stderr
    rounds = [o for o in json_lines(lw.stdout) if o["type"] == "round"]
    expected = datetime.fromtimestamp(first_us / US, ZoneInfo("UTC"))
    assert rounds[0]["at"] == expected.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), form


def test_a_zone_less_time_is_local_time(journal: Path) -> None:
    def first(tz: str) -> str:
        lw = subprocess.run(
            [sys.executable, "-m", "logwatch", "replay", str(journal), "--since",
             "2026-11-25 10:00:30", "--events", "rounds", "-o", "json"],
            capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "TZ": tz},
        )  # fmt: skip
        return str(next(o["at"] for o in json_lines(lw.stdout) if o["type"] == "round"))

    assert first("UTC") == "2026-11-25T10:00:30.250000Z"
    assert first(TZ) == "2026-11-25T09:00:30.250000Z"
