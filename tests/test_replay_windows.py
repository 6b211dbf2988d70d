"""replay --since/--until relative to the capture's end, and inputs with nothing to show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import json_lines

from logwatch.times import US, iso_to_us

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURE = FIXTURES / "healthy.export"  # 15 rounds, 2 s apart


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logwatch", "replay", *args, "--round-period", "2s"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def rounds(out: str) -> list[int]:
    return [o["round"] for o in json_lines(out) if o["type"] == "round"]


def test_relative_since_and_until_count_back_from_the_last_entry() -> None:
    whole = replay(str(CAPTURE), "--events", "rounds", "-o", "json")
    objs = json_lines(whole.stdout)
    end = iso_to_us(objs[-1]["at"])  # the summary's clock: the last entry
    assert end is not None
    every = [(o["round"], iso_to_us(o["at"])) for o in objs if o["type"] == "round"]
    last_5s = replay(str(CAPTURE), "--since", "-5s", "--events", "rounds", "-o", "json")
    assert rounds(last_5s.stdout) == [r for r, t in every if t is not None and t >= end - 5 * US]
    assert 0 < len(rounds(last_5s.stdout)) < len(every)
    but_last_10s = replay(str(CAPTURE), "--until", "10 s ago", "--events", "rounds", "-o", "json")
    assert rounds(but_last_10s.stdout) == [
        r for r, t in every if t is not None and t <= end - 10 * US
    ]


def test_the_help_says_relative_times_count_from_the_capture() -> None:
    text = subprocess.run(
        [sys.executable, "-m", "logwatch", "replay", "-h"],
        capture_output=True, text=True, timeout=60, check=False,
    ).stdout  # fmt: skip
    assert "count back from the capture's last entry" in " ".join(text.split())


def test_every_entry_outside_the_window_is_said_on_stderr_and_in_the_report() -> None:
    done = replay(str(CAPTURE), "--since", "2030-01-01 00:00 UTC", "--report")
    assert done.returncode == 0
    assert done.stderr == (
        "logwatch: all 172 entries are outside --since/--until "
        "(or of other programs and instances)\n"
    )
    assert "172 entries, all outside --since/--until" in done.stdout
    assert "no zipnet instance found" not in done.stdout


def test_an_empty_input_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.export"
    empty.write_bytes(b"")
    for path in (str(empty), "/dev/null"):
        done = replay(path, "--report")
        assert done.returncode == 0
        assert done.stderr == f"logwatch: no entries in {path}\n"
        assert "no entries in the input" in done.stdout


def test_stdin_cannot_count_back_from_its_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "replay", "-", "--since", "-1h"],
        input=CAPTURE.read_bytes(), capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1


def test_patterns_test_says_an_empty_input_is_empty() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "patterns", "test", "/dev/null"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "logwatch: no entries in /dev/null\n"
