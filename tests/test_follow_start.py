"""Starting mid-outage: a follow or a check started after an instance fell silent reports
the stall at once (critical), whether the instance is named or followed with --all;
no_data is for a name with no entries at all.

The journal is real (systemd-journal-remote files, one per host); the follow runs on a
stepped clock set to where the story needs it (no real part can be started "35 s into
a silence" on demand), and reads the journal through its real followers.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Captures

from logwatch.commands.check import prepare_check, run_check
from logwatch.commands.follow import FollowOptions, FollowRun
from logwatch.commands.source_options import SourceOptions
from logwatch.run.clock import SteppedClock
from logwatch.simulate import Scenario
from logwatch.times import US, iso_to_us

P, D = 2.0, 1.0
W_US = round((3 * P + D) * US)
RULES = {"round_period": f"{P}s", "round_deadline": f"{D}s"}


def silent_instance(captures: Captures) -> tuple[Path, int]:
    """A collector's journal (a file per host): acme-mainnet finalizes 15 rounds, then
    every one of its units falls silent; and the time of its last finalization."""
    lines = Scenario("acme-mainnet", clients=3, seed=5, mosaik=False).start().rounds(15).lines()
    last = max(x.time_us for x in lines if x.message == "round finalized")
    return captures.journal(lines, "full"), last


def follow_at(directory: Path, now_us: int, **options: Any) -> list[dict[str, Any]]:
    """The JSON lines a follow started at `now_us` prints while it opens (its warm-up)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        run = FollowRun(
            FollowOptions(
                source=SourceOptions(directory=directory, journalctl=options.pop("journalctl")),
                output="json",
                **RULES,
                **options,
            ),
            clock=SteppedClock(now_us),
        )
        run.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("journalctl", [False, True], ids=["native", "journalctl"])
@pytest.mark.parametrize("named", [True, False], ids=["named", "all"])
def test_a_follow_started_35s_into_a_silence_fires_the_stall_at_once(
    captures: Captures, journalctl: bool, named: bool
) -> None:
    directory, last = silent_instance(captures)
    which: dict[str, Any] = {"instances": ("acme-mainnet",)} if named else {"all_instances": True}
    objs = follow_at(directory, last + 35 * US, journalctl=journalctl, **which)
    alerts = [o for o in objs if o["type"] == "alert"]
    assert [(a["alert"], a["state"], a["instance"]) for a in alerts] == [
        ("round_stall", "firing", "acme-mainnet")
    ], alerts
    assert alerts[0]["severity"] == "critical"
    assert iso_to_us(alerts[0]["since"]) == last + W_US  # W after the last round, not after start


def test_a_check_started_35s_into_a_silence_is_critical(captures: Captures) -> None:
    directory, last = silent_instance(captures)
    plan = prepare_check(
        instances=["acme-mainnet"], since="-10s", expect_clients=None, pattern_dirs=[],
        config_path=None, now_us=last + 35 * US, **RULES,
    )  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_check(plan, source=SourceOptions(directory=directory), output="text")
    assert code == 2, out.getvalue()
    assert out.getvalue().startswith("CRITICAL acme-mainnet: round_stall since "), out.getvalue()
    assert "last round 15 " in out.getvalue()


def test_no_data_is_for_a_name_with_no_entries_at_all(captures: Captures) -> None:
    directory, last = silent_instance(captures)
    objs = follow_at(directory, last + 35 * US, journalctl=False, instances=("acme-mainet",))
    assert [o for o in objs if o["type"] == "alert"] == []  # not yet: W from the start
    summary = objs[-1]
    assert summary["type"] == "summary" and set(summary["instances"]) == {"acme-mainet"}


def test_sighup_reloads_patterns_and_says_which_settings_wait_for_a_restart(
    captures: Captures, tmp_path: Path
) -> None:
    directory, last = silent_instance(captures)
    config = tmp_path / "config.toml"
    config.write_text('[rules]\nround_period = "2s"\n')
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        run = FollowRun(
            FollowOptions(
                instances=("acme-mainnet",), source=SourceOptions(directory=directory),
                output="json", config_path=config,
            ),
            clock=SteppedClock(last + 5 * US),
        )  # fmt: skip
        try:
            run.reload()
            config.write_text('[rules]\nround_period = "5s"\n')
            run.reload()
            config.write_text("[rules\n")
            run.reload()
        finally:
            run.close()
    said = [line for line in err.getvalue().splitlines() if "reload" in line]
    assert said == [
        "logwatch: patterns and config reloaded",
        "logwatch: patterns reloaded; the rules' numbers changed in the config and apply at "
        "the next start (kept as they were)",
        said[2],
    ]
    assert said[2].startswith("logwatch: reload failed, keeping the old patterns: ")
    assert run.engine.settings.round_period_s == 2.0
