"""`logwatch rules` and the config's [rules] table: every number, its value and its source."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import json_lines

from logwatch.engine import RuleSettings


def logwatch(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ZIPNET_", "XDG_"))}
    return subprocess.run(
        [sys.executable, "-m", "logwatch", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={**clean, "HOME": str(home), **(env or {})},
    )  # fmt: skip


def rules_json(home: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = logwatch("rules", "-o", "json", *args, home=home, env=env)
    assert done.returncode == 0, done.stderr
    (obj,) = json_lines(done.stdout)
    return obj


def test_each_number_says_where_it_comes_from(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "logwatch").mkdir(parents=True)
    (xdg / "logwatch" / "config.toml").write_text(
        '[rules]\nsplit_brain_for = "90s"\nparticipants_low_rounds = 5\nround_deadline = "3s"\n'
    )
    obj = rules_json(
        tmp_path, "--round-deadline", "1s",
        env={"XDG_CONFIG_HOME": str(xdg), "ZIPNET_ROUND_PERIOD": "2s"},
    )  # fmt: skip
    got = {s["key"]: (s["value"], s["source"]) for s in obj["settings"]}
    assert got["round_period"] == (2.0, "env")
    assert got["round_deadline"] == (1.0, "flag")  # the flag beats the config file
    assert got["split_brain_for"] == (90.0, "config")
    assert got["participants_low_rounds"] == (5, "config")
    assert got["participants_zero_rounds"] == (2, "default")
    assert (obj["round_period_s"], obj["round_deadline_s"], obj["window_s"]) == (2.0, 1.0, 7.0)
    stall = next(r for r in obj["rules"] if r["alert"] == "round_stall")
    assert stall["severity"] == "critical" and "W = 7s" in stall["condition"]
    split = next(r for r in obj["rules"] if r["alert"] == "split_brain")
    assert "held for 90s" in split["condition"]


def test_every_rule_setting_is_listed_and_configurable(tmp_path: Path) -> None:
    # Read off the dataclass: a field the engine adds is listed and settable with no edit.
    fields = [f.name for f in dataclasses.fields(RuleSettings)]
    obj = rules_json(tmp_path)
    keys = [s["key"] for s in obj["settings"]]
    assert keys == [f.removesuffix("_s") for f in fields]
    config = tmp_path / "c.toml"
    sample = {"duration": '"5s"', "int": "4", "bool": "true", "number": "1.5", "text": '"x"'}
    lines = ["[rules]"] + [f"{s['key']} = {sample[s['kind']]}" for s in obj["settings"]]
    config.write_text("\n".join(lines) + "\n")
    configured = rules_json(tmp_path, "--config", str(config))
    assert all(s["source"] == "config" for s in configured["settings"]), configured["settings"]


def test_text_output_names_each_alert_and_setting(tmp_path: Path) -> None:
    done = logwatch("rules", "--round-period", "2s", "--round-deadline", "1s", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("P = 2s (set), D = 1s, W = 3P + D = 7s\n")
    for alert in ("round_stall", "split_brain", "participants_zero", "aggregator_silent"):
        assert f"\n{alert} " in done.stdout
    assert "  split_brain_for " in done.stdout and " default " in done.stdout
    assert "None" not in done.stdout  # what is unset is said in words


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("patterns = [1]", "patterns must be a list of directories"),
        ("[rules]\nfallback_window = '0s'", "[rules] fallback_window: fallback window must be > 0"),
        ("[rules]\nperiod_samples = 'x'", "[rules] period_samples: must be a whole number"),
        ("[rules]\nsplit_brain_for = 'soon'", "[rules] split_brain_for: not a duration"),
        ("[rules]\nexpect_aggregator = 1", "[rules] expect_aggregator: must be true or false"),
        ("[rules]\nclok = 1", "[rules]: unknown key(s) clok"),
        ("rules = 3", "rules must be a table"),
        ("round_period = '2s'\n[rules]\nround_period = '2s'", "round_period is set twice"),
        ("aliases = 3", "aliases must be a table of strings"),
        ("round_period = [", "cannot read config"),
    ],
)  # fmt: skip
def test_every_config_error_is_one_line_exit_2(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text + "\n")
    for args in (("rules",), ("replay", "/dev/null"), ("check", "acme-mainnet", "-D", "/tmp")):
        done = logwatch(*args, "--config", str(config), home=tmp_path)
        assert (done.returncode, done.stdout) == (2, ""), (args, done.stderr)
        assert done.stderr.startswith(f"logwatch: {config}: ")
        assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr
