"""`logwatch replay`: incidents as real captures (journal files, `journalctl -o json` and
`-o with-unit` text), replayed through the CLI; every alert at its exact event time."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import Captures, json_lines
from scenarios import (
    failover,
    healthy,
    rival,
    same_rounds,
    second_leader,
    stall,
    two_instances,
    zero_participants,
)
from typer.testing import CliRunner

import logwatch.commands.replay
import logwatch.run.replay_plan
from logwatch import simulate
from logwatch.cli import app
from logwatch.simulate import LogLine, Scenario
from logwatch.times import US, format_time

LOGWATCH = str(Path(sys.executable).with_name("logwatch"))
RULES = ("--round-period", "2s", "--round-deadline", "1s")
W = 7 * US  # W = 3P + D with P = 2 s, D = 1 s
HOLD = 60 * US  # split_brain's `for`
FORMS = (("journald", "journal"), ("full-ansi", "json"), ("full-ansi", "with-unit"))
"""(zipnet's rendering, capture format): journald-native fields in journal files, and the
coloured text logs as an operator captures them with journalctl."""
FORM_IDS = [fmt for _, fmt in FORMS]
ISOLATED_ENV = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None}

Objects = list[dict[str, Any]]


# -- scenarios: tests/scenarios.py, shared with the live tests ----------------------------


# -- reading the scenario and the output ----------------------------------------------


def finalized(
    lines: Sequence[LogLine], *, instance: str | None = None, host: str | None = None
) -> list[int]:
    """Times of the `round finalized` lines (of one instance, one host)."""
    return [
        line.time_us
        for line in lines
        if line.message == "round finalized"
        and (instance is None or line.instance == instance)
        and (host is None or line.host == host)
    ]


def times_of(lines: Sequence[LogLine], message: str, *, host: str | None = None) -> list[int]:
    return [
        line.time_us
        for line in lines
        if line.message == message and (host is None or line.host == host)
    ]


def round_of(line: LogLine) -> int:
    value = dict(line.fields)["round"]
    assert isinstance(value, int)
    return value


def iso(us: int) -> str:
    return format_time(us)


def cli(*args: str, env: dict[str, str | None] | None = None) -> str:
    """stdout of `logwatch ARGS` run in-process; the run must succeed."""
    result = CliRunner().invoke(app, list(args), env={**ISOLATED_ENV, **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    return result.stdout


def replay(path: Path, *args: str) -> Objects:
    """The JSON lines of `logwatch replay PATH --output json` with P=2s, D=1s."""
    out = cli("replay", str(path), "--output", "json", *RULES, *args)
    return json_lines(out)


def alerts(
    objs: Objects, alert: str | None = None, instance: str = "acme-mainnet"
) -> list[tuple[str, str, str]]:
    """(alert, state, at) of the alert lines, in output order."""
    return [
        (o["alert"], o["state"], o["at"])
        for o in objs
        if o["type"] == "alert" and o["instance"] == instance and alert in (None, o["alert"])
    ]


def summary(objs: Objects) -> dict[str, Any]:
    last = objs[-1]
    assert last["type"] == "summary"
    assert [o for o in objs if o["type"] == "summary"] == [last]
    return last


def capture(captures: Captures, lines: Sequence[LogLine], form: tuple[str, str]) -> Path:
    style, fmt = form
    return captures.make(lines, style, fmt)


# -- the incidents, in every form -----------------------------------------------------


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_healthy_instance_raises_no_alert(captures: Captures, form: tuple[str, str]) -> None:
    objs = replay(capture(captures, healthy(), form))
    assert [o for o in objs if o["type"] == "alert"] == []
    info = summary(objs)["instances"]
    assert list(info) == ["acme-mainnet"]
    assert info["acme-mainnet"]["rounds"] == 20
    assert info["acme-mainnet"]["firing"] == {}
    assert info["acme-mainnet"]["pending"] == []


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_stall_fires_exactly_w_after_the_last_round_and_resolves_at_the_next(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines = stall()
    fins = finalized(lines)
    before, after = fins[4], fins[5]  # round 5, then round 6 after 90 s of nothing
    assert after - before > 90 * US
    objs = replay(capture(captures, lines, form))
    assert alerts(objs, "round_stall") == [
        ("round_stall", "firing", iso(before + W)),
        ("round_stall", "resolved", iso(after)),
    ]
    firing = next(o for o in objs if o.get("alert") == "round_stall")
    assert firing["since"] == iso(before + W)
    assert firing["values"] == {"last_round": 5, "silent_s": 7.0}
    # The aggregator fell silent with everything else: the stall says it all (a whole
    # instance that stopped is not also a silent aggregator, and while round_stall fires
    # aggregator_silent is held back).
    assert {a for a, _, _ in alerts(objs)} == {"round_stall"}
    assert summary(objs)["instances"]["acme-mainnet"]["firing"] == {}


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_one_round_number_finalized_by_two_servers_fires_split_brain_at_once(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines = same_rounds()
    srv1_rounds = {
        round_of(x) for x in lines if x.message == "round finalized" and x.host == "srv1"
    }
    srv2_fins = [x for x in lines if x.message == "round finalized" and x.host == "srv2"]
    assert {round_of(x) for x in srv2_fins} <= srv1_rounds
    objs = replay(capture(captures, lines, form))
    assert alerts(objs) == [
        # srv2's first `opening round` makes two leaders within W: pending ...
        ("split_brain", "pending", iso(times_of(lines, "opening round", host="srv2")[0])),
        # ... and its first copy of a round srv1 finalized fires it then and there.
        ("split_brain", "firing", iso(srv2_fins[0].time_us)),
        ("split_brain", "resolved", iso(srv2_fins[-1].time_us + W)),
    ]
    firing = next(o for o in objs if o.get("state") == "firing")
    assert firing["values"]["round"] == round_of(srv2_fins[0])
    assert "finalized by two servers: srv1 and srv2" in firing["summary"]


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_second_leader_with_its_own_rounds_is_pending_then_fires_after_60s(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines = second_leader()
    leader_only = ("opening round", "round finalized")
    srv2 = [x.time_us for x in lines if x.host == "srv2" and x.message in leader_only]
    assert srv2[-1] - srv2[0] > 85 * US
    objs = replay(capture(captures, lines, form))
    assert alerts(objs) == [
        ("split_brain", "pending", iso(srv2[0])),
        ("split_brain", "firing", iso(srv2[0] + HOLD)),
        ("split_brain", "resolved", iso(srv2[-1] + W)),
    ]
    pending = next(o for o in objs if o.get("state") == "pending")
    assert pending["values"]["leaders"] == "srv1,srv2"
    firing = next(o for o in objs if o.get("state") == "firing")
    assert firing["since"] == iso(srv2[0])


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_rival_leader_report_fires_split_brain_at_once(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines = rival()
    (line,) = [x for x in lines if x.message == "rival group leader detected"]
    warned, other = line.time_us, dict(line.fields)["other_leader"]
    assert isinstance(other, simulate.Display)
    objs = replay(capture(captures, lines, form))
    assert alerts(objs) == [
        ("split_brain", "firing", iso(warned)),
        ("split_brain", "resolved", iso(warned + W)),
    ]
    firing = objs[0]
    assert firing["summary"] == (
        f"rival group leader detected by srv1: other leader {other.text} (term 1)"
    )
    assert firing["values"]["other_leader"] == other.text
    assert firing["values"]["term"] == 1


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_zero_participants_fires_on_the_second_empty_round_and_resolves_on_the_next_full(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines = zero_participants()
    fins = [x for x in lines if x.message == "round finalized"]
    zeros = [x.time_us for x in fins if dict(x.fields)["participants"] == 0]
    assert len(zeros) == 3
    first_full_after = next(
        x.time_us for x in fins if x.time_us > zeros[-1] and dict(x.fields)["participants"]
    )
    objs = replay(capture(captures, lines, form))
    assert alerts(objs, "participants_zero") == [
        ("participants_zero", "firing", iso(zeros[1])),
        ("participants_zero", "resolved", iso(first_full_after)),
    ]
    # Three rounds below half the 5 active clients would be participants_low's too, but
    # it is held back while participants_zero fires: one thing said once.
    assert {a for a, _, _ in alerts(objs)} == {"participants_zero"}


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_failover_faster_than_w_fires_nothing(captures: Captures, form: tuple[str, str]) -> None:
    lines = failover()
    fins = finalized(lines)
    gaps = [b - a for a, b in itertools.pairwise(fins)]
    assert 2 * US < max(gaps) < W
    objs = replay(capture(captures, lines, form))
    assert [a for a in alerts(objs) if a[1] == "firing"] == []
    # Two leaders within W for a moment: pending, never held, resolved W after srv1's last.
    srv1_last = max(times_of(lines, "round finalized", host="srv1"))
    assert alerts(objs) == [
        ("split_brain", "pending", iso(times_of(lines, "opening round", host="srv2")[0])),
        ("split_brain", "resolved", iso(srv1_last + W)),
    ]
    with_rounds = replay(capture(captures, lines, form), "--events", "rounds")
    rounds = [o for o in with_rounds if o["type"] == "round"]
    assert [o["leader"] for o in rounds] == ["srv1"] * 5 + ["srv2"] * 6


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_of_two_instances_in_one_journal_only_the_silent_one_stalls(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines = two_instances()
    fins = finalized(lines, instance="preview-alpha")
    assert max(finalized(lines, instance="acme-mainnet")) > fins[-1] + W
    objs = replay(capture(captures, lines, form))
    assert alerts(objs, instance="acme-mainnet") == []
    assert alerts(objs, "round_stall", instance="preview-alpha") == [
        ("round_stall", "firing", iso(fins[4] + W)),
        ("round_stall", "resolved", iso(fins[5])),
        # It stops for good while acme-mainnet writes on: acme's entries move the clock.
        ("round_stall", "firing", iso(fins[-1] + W)),
    ]
    info = summary(objs)["instances"]
    assert info["acme-mainnet"] == {**info["acme-mainnet"], "rounds": 40, "alerts": {}}
    assert info["preview-alpha"]["rounds"] == 8
    assert info["preview-alpha"]["firing"]["round_stall"] == "critical"


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_the_installed_command_prints_the_same(captures: Captures, form: tuple[str, str]) -> None:
    lines = stall()
    path = capture(captures, lines, form)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIPNET_")}
    done = subprocess.run(
        [LOGWATCH, "replay", str(path), "--output", "json", *RULES, "--events", "rounds"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    assert done.stderr == ""
    objs = json_lines(done.stdout)
    before = finalized(lines)[4]
    assert ("round_stall", "firing", iso(before + W)) in alerts(objs)
    assert len([o for o in objs if o["type"] == "round"]) == 8
    assert objs == replay(path, "--events", "rounds")


def test_every_form_gives_the_same_alerts(captures: Captures) -> None:
    lines = two_instances()
    runs = [
        [o for o in replay(capture(captures, lines, form)) if o["type"] == "alert"]
        for form in FORMS
    ]
    assert runs[0]
    assert runs[1] == runs[0]
    assert runs[2] == runs[0]


# -- rounds and the summary -----------------------------------------------------------


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_events_rounds_prints_each_round_of_each_instance_once(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines = two_instances()
    expected = [
        {
            "type": "round",
            "instance": x.instance,
            "at": iso(x.time_us),
            "round": round_of(x),
            "participants": dict(x.fields)["participants"],
            "leader": x.host,
        }
        for x in lines
        if x.message == "round finalized"
    ]
    objs = replay(capture(captures, lines, form), "--events", "rounds")
    rounds = [o for o in objs if o["type"] == "round"]
    # Instants two hosts share may come in either order (journalctl's merge, ours).
    assert [o["at"] for o in rounds] == sorted(o["at"] for o in rounds)
    by_time = sorted(rounds, key=lambda o: (o["at"], o["instance"]))
    assert by_time == sorted(expected, key=lambda o: (o["at"], o["instance"]))
    assert {o["type"] for o in objs} == {"round", "alert", "summary"}
    assert objs[-1]["type"] == "summary"


def test_a_round_finalized_twice_is_one_round_line(captures: Captures) -> None:
    lines = same_rounds()
    numbers = sorted({round_of(x) for x in lines if x.message == "round finalized"})
    objs = replay(capture(captures, lines, FORMS[0]), "--events", "rounds")
    rounds = [o for o in objs if o["type"] == "round"]
    assert [o["round"] for o in rounds] == numbers
    assert {o["leader"] for o in rounds} == {"srv1"}
    assert summary(objs)["instances"]["acme-mainnet"]["rounds"] == len(numbers)


def _adds_up(info: dict[str, Any]) -> None:
    parts = sum(info["matched"].values()) + info["unmatched"] + info["errors"] + info["outside"]
    assert info["entries"] == parts
    assert info["errors"] == sum(info["unreadable"].values())


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_the_summary_counts_add_up(captures: Captures, form: tuple[str, str]) -> None:
    lines = two_instances()
    objs = replay(capture(captures, lines, form))
    info = summary(objs)
    _adds_up(info)
    assert info["entries"] == len(lines)  # one journal entry per line in these renderings
    assert info["matched"]["round_finalized"] == len(finalized(lines))
    # Other programs' lines are outside the selection; unmatched are zipnet's own lines
    # that no pattern claims.
    assert info["outside"] == sum(1 for x in lines if x.unit is not None) > 0
    assert sum(info["matched"].values()) + info["unmatched"] == sum(
        1 for x in lines if x.unit is None
    )
    assert info["errors"] == 0
    assert info["at"] == iso(max(x.time_us for x in lines))
    assert info["notes"] == []

    only = summary(replay(capture(captures, lines, form), "--instance", "acme-mainnet"))
    _adds_up(only)
    assert only["entries"] == info["entries"]
    assert only["outside"] == sum(1 for x in lines if x.instance != "acme-mainnet")
    assert list(only["instances"]) == ["acme-mainnet"]


def test_replaying_twice_prints_byte_identical_json(captures: Captures) -> None:
    path = capture(captures, two_instances(), FORMS[0])
    command = [LOGWATCH, "replay", str(path), "--output", "json", "--events", "all", *RULES]
    first, second = (
        subprocess.run(command, capture_output=True, timeout=60, check=True) for _ in range(2)
    )
    assert first.stdout.count(b"\n") > 600
    assert first.stdout == second.stdout
    assert first.stderr == second.stderr == b""


def test_text_output_says_the_same_in_lines(captures: Captures) -> None:
    lines = stall()
    before = finalized(lines)[4]
    out = cli("replay", str(capture(captures, lines, FORMS[0])), *RULES)
    assert f"{iso(before + W)} acme-mainnet FIRING   round_stall (critical): " in out
    assert "summary: " in out
    assert "acme-mainnet: 8 rounds, alerts round_stall×1" in out


# -- the round period ----------------------------------------------------------------


def test_without_a_round_period_it_is_estimated_and_said(
    captures: Captures, tmp_path: Path
) -> None:
    lines = stall()
    path = capture(captures, lines, FORMS[0])
    out = cli("replay", str(path), "--output", "json", env={"HOME": str(tmp_path)})
    objs = json_lines(out)
    info = summary(objs)
    inst = info["instances"]["acme-mainnet"]
    assert inst["round_period_estimated"] is True
    assert inst["round_period_s"] == 2.0
    assert len(info["notes"]) == 1
    assert "acme-mainnet: round period estimated at 2s" in info["notes"][0]
    assert "--round-period" in info["notes"][0]
    # With D = P by default, W = 4P = 8 s once P is estimated.
    before = finalized(lines)[4]
    assert alerts(objs, "round_stall")[0] == ("round_stall", "firing", iso(before + 8 * US))

    text = cli("replay", str(path), env={"HOME": str(tmp_path)})
    assert "note: acme-mainnet: round period estimated at 2s" in text

    given = summary(replay(path))
    assert given["instances"]["acme-mainnet"]["round_period_estimated"] is False
    assert given["notes"] == []


def test_the_round_period_comes_from_the_environment_too(captures: Captures) -> None:
    path = capture(captures, stall(), FORMS[0])
    out = cli(
        "replay",
        str(path),
        "--output",
        "json",
        env={"ZIPNET_ROUND_PERIOD": "2s", "ZIPNET_ROUND_DEADLINE": "1s"},
    )
    objs = json_lines(out)
    assert summary(objs)["notes"] == []
    before = finalized(stall())[4]
    assert alerts(objs, "round_stall")[0] == ("round_stall", "firing", iso(before + W))


def test_too_few_rounds_to_estimate_is_said(captures: Captures, tmp_path: Path) -> None:
    lines = Scenario(seed=10).start().rounds(2).lines()
    path = captures.make(lines, "journald", "journal")
    out = cli("replay", str(path), "--output", "json", env={"HOME": str(tmp_path)})
    info = summary(json_lines(out))
    assert info["instances"]["acme-mainnet"]["round_period_s"] is None
    assert any("too few finalizations" in note for note in info["notes"])


# -- bad usage and unreadable input --------------------------------------------------


def _bad_inputs(tmp: Path, good: Path) -> dict[str, list[str]]:
    garbage = tmp / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 20)
    cut = tmp / "cut.journal"
    cut.write_bytes(next(good.glob("*.journal")).read_bytes()[:3000])
    (tmp / "empty").mkdir()
    return {
        "missing file": [str(tmp / "no-such-capture.journal")],
        "unknown format": [str(good), "--format", "bogus"],
        "bad round period": [str(good), "--round-period", "fast"],
        "zero round period": [str(good), "--round-period", "0"],
        "bad round deadline": [str(good), "--round-deadline", "soon"],
        "bad since": [str(good), "--since", "yesterdayish"],
        "bad until": [str(good), "--until", "2026-13-45"],
        "binary garbage": [str(garbage)],
        "truncated journal": [str(cut)],
        "directory without journals": [str(tmp / "empty")],
    }


BAD = (
    "missing file",
    "unknown format",
    "bad round period",
    "zero round period",
    "bad round deadline",
    "bad since",
    "bad until",
    "binary garbage",
    "truncated journal",
    "directory without journals",
)


@pytest.mark.parametrize("case", BAD)
def test_bad_usage_or_unreadable_input_is_exit_2_and_one_line(
    captures: Captures, tmp_path: Path, case: str
) -> None:
    good = capture(captures, healthy(), FORMS[0])
    args = _bad_inputs(tmp_path, good)[case]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIPNET_")}
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [LOGWATCH, "replay", *args, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.endswith("\n")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("logwatch: ")


def test_a_bad_environment_variable_names_itself(captures: Captures, tmp_path: Path) -> None:
    good = capture(captures, healthy(), FORMS[0])
    env = {**os.environ, "HOME": str(tmp_path), "ZIPNET_ROUND_PERIOD": "often"}
    done = subprocess.run(
        [LOGWATCH, "replay", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "logwatch: ZIPNET_ROUND_PERIOD: not a duration: 'often' (try 500ms, 2s, 1m, 1h30m)"
    ]


def test_an_instance_selection_keeps_the_captures_clock(captures: Captures) -> None:
    # DESIGN: one clock for all instances; naming one instance must not stop it.
    lines = two_instances()
    fins = finalized(lines, instance="preview-alpha")
    path = capture(captures, lines, FORMS[0])
    every = alerts(replay(path), "round_stall", instance="preview-alpha")
    narrowed = alerts(replay(path, "--instance", "preview-alpha"), "round_stall", "preview-alpha")
    assert every[-1] == ("round_stall", "firing", iso(fins[-1] + W))
    assert narrowed == every


def test_a_reader_that_goes_away_ends_the_replay_quietly(captures: Captures) -> None:
    # `logwatch replay ... | head -1`: the pipe closes after the first line; that is how
    # such a run ends, not an error.
    path = capture(captures, two_instances(), FORMS[0])
    proc = subprocess.Popen(
        [LOGWATCH, "replay", str(path), "--output", "json", "--events", "all", *RULES],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert json_lines(first)[0]["type"] in ("event", "round", "alert")
    assert err == b""


def test_output_that_cannot_be_written_is_one_line_and_exit_2(captures: Captures) -> None:
    path = capture(captures, two_instances(), FORMS[0])
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [LOGWATCH, "replay", str(path), "--output", "json", "--events", "all", *RULES],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == ["logwatch: No space left on device"]


def test_a_cat_capture_starting_without_a_time_replays_the_same_from_a_file_and_a_pipe(
    captures: Captures, tmp_path: Path
) -> None:
    # `journalctl -o cat` cut in the middle of a multi-line message: its first line has no
    # time. It once made replay miss the stall from a file and fire one dated 1970 when
    # piped (the decoder's last time was shared between the replay's reads).
    lines = Scenario(seed=13, clients=3).start().rounds(5).silence(22).rounds(3).lines()
    body = captures.make(lines, "full", "cat").read_bytes()
    path = tmp_path / "cut.cat"
    path.write_bytes(b"    at zipnet::server::round (continued)\n" + body)
    from_file = replay(path, "-i", "acme-mainnet")
    piped = subprocess.run(
        [sys.executable, "-m", "logwatch", "replay", "-", "-o", "json", "-i", "acme-mainnet",
         *RULES], input=path.read_bytes(), capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    assert json_lines(piped.stdout.decode()) == from_file
    stalls = alerts(from_file, "round_stall")
    assert [s[:2] for s in stalls] == [("round_stall", "firing"), ("round_stall", "resolved")]
    assert all(at.startswith("2026-11-25T10:00") for _, _, at in stalls)
    assert summary(from_file)["unreadable"] == {
        "no time: a line without one before any line with one": 1
    }


def test_a_misspelt_instance_is_an_error_naming_the_instances_the_capture_holds() -> None:
    path = Path(__file__).parent / "fixtures" / "two-instances.with-unit"
    for source, stdin in ((str(path), None), ("-", path.read_bytes())):
        done = subprocess.run(
            [sys.executable, "-m", "logwatch", "replay", source, "-i", "acme-mainet", *RULES],
            input=stdin, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done
        err = done.stderr.decode()
        assert err.startswith("logwatch: no entries of instance 'acme-mainet' in ")
        assert err.count("\n") == 1 and b"no alerts" not in done.stdout
        if source != "-":  # read ahead: what it holds is known
            assert "it holds instances acme-mainnet, preview-alpha" in err


def test_lines_no_pattern_claims_do_not_decide_a_mix_whatever_the_capture_form(
    captures: Captures,
) -> None:
    # One instance, whose servers also log mosaik lines no pattern claims about other
    # groups (a node may take part in more than its committee's). What shows a mix is
    # what the patterns claim (bond established, heartbeats, a rival leader): those lines
    # are read in full in every form, where the others are only glanced at in some (the
    # triage) and decoded in others (-o cat), so the verdict would follow the form.
    scenario = Scenario("acme-mainnet", seed=8).start().rounds(12)
    lines = scenario.lines()
    other = simulate.Display("7e57ab1e00")
    joins = [
        LogLine(
            time_us=line.time_us + 1000,
            instance=line.instance,
            role=line.role,
            host=line.host,
            level="INFO",
            target="mosaik::groups",
            message="joining",
            fields=(("group", other), ("network", simulate.Display("0f1e2d3c4b"))),
            pid=line.pid,
        )
        for line in lines
        if line.message == "submitted partial"
    ]
    merged = simulate.merge(lines, joins)
    runs = {
        fmt: replay(captures.make(merged, "full", fmt), "-i", "acme-mainnet")
        for fmt in ("short-iso-precise", "cat", "json")
    }
    for fmt, objs in runs.items():
        assert not [n for n in summary(objs)["notes"] if "mixed" in n], fmt
        assert {a for a, _, _ in alerts(objs)} == set(), fmt
        assert summary(objs)["matched"]["round_finalized"] == 12, fmt


def test_two_instances_mixed_in_a_capture_without_unit_names_are_said_not_judged(
    captures: Captures,
) -> None:
    # short-iso names the binary, not the unit: the rounds of acme-mainnet (1, 2, ...) and
    # preview-alpha (its own 1, 2, ...) come under the one name given. Their numbers
    # going back and forth are no regression, and two leaders no split brain.
    acme = Scenario("acme-mainnet", seed=8).start().rounds(20).lines()
    preview = Scenario("preview-alpha", seed=9, clients=2).start().rounds(20, leader="srv2")
    path = captures.make(simulate.merge(acme, preview.lines()), "full", "short-iso-precise")
    result = CliRunner().invoke(
        app, ["replay", str(path), "-o", "json", "-i", "acme-mainnet", *RULES], env=ISOLATED_ENV
    )
    assert result.exit_code == 0, result.output
    objs = json_lines(result.stdout)
    assert {a for a, _, _ in alerts(objs)} & {"round_regression", "split_brain"} == set()
    (note,) = [n for n in summary(objs)["notes"] if "mixed" in n]
    assert "several instances seem mixed under one name" in note
    assert "its lines carry 2 committees' groups" in note  # what shows it
    assert "-o with-unit, json, export" in note
    assert "seem mixed" in result.stderr


# -- one read or two -------------------------------------------------------------------


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one at each read of the inputs a replay's plan makes."""
    passes: list[int] = []
    opened = logwatch.run.replay_plan.open_inputs

    def counting(*args: Any, **kwargs: Any) -> Any:
        passes.append(1)
        return opened(*args, **kwargs)

    monkeypatch.setattr(logwatch.run.replay_plan, "open_inputs", counting)
    return passes


def _skewed(lines: Sequence[LogLine]) -> list[LogLine]:
    """`lines` with srv2's clock a minute behind."""
    return [
        dataclasses.replace(line, time_us=line.time_us - 60 * US) if line.host == "srv2" else line
        for line in lines
    ]


@pytest.mark.parametrize(
    ("name", "fmt", "args"),
    [
        ("stall", "journal", ()),
        ("stall", "export-sim", ()),
        ("two_instances", "json", ("--events", "rounds")),
        ("two_instances", "journal", ("-i", "acme-mainnet", "--since", "2026-11-25 10:00:20")),
        ("stall", "short-iso", ("-i", "acme-mainnet", "--report", "-o", "json")),
        ("skewed", "journal", ()),
        ("skewed", "with-unit", ("--events", "rounds")),
    ],
)
def test_a_capture_read_once_replays_as_read_twice(
    captures: Captures, monkeypatch: pytest.MonkeyPatch, name: str, fmt: str, args: tuple[str, ...]
) -> None:
    # The first look taken along the main read: where it finds no host off, that read
    # is the replay, the capture read once; where it finds one (srv2 a minute behind),
    # the capture is read again, knowing it. Either way the output is the replay's
    # with a first look of its own before the main read, byte for byte.
    lines = (
        _skewed(stall())
        if name == "skewed"
        else {"stall": stall, "two_instances": two_instances}[name]()
    )
    path = captures.make(lines, "full", fmt)
    passes = _count_reads(monkeypatch)
    once = cli("replay", str(path), *RULES, *args)
    read_once = len(passes)
    passes.clear()
    monkeypatch.setattr(logwatch.run.replay_plan.ReplayPlan, "look_along", lambda *_: None)
    twice = cli("replay", str(path), *RULES, *args)
    assert once == twice
    assert "round_stall" in once or "round" in once
    if name == "skewed":
        assert read_once > len(passes) >= 2  # read along, then looked at and read again
    else:
        assert (read_once, len(passes)) == (1, 2)


def test_a_read_with_more_outputs_than_are_held_back_is_read_again(
    captures: Captures, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read whose outputs must wait for the look's result holds them back, up to a
    # bound: past it, the capture is read again as though no look had been taken along.
    path = captures.make(stall(), "full", "journal")
    whole = cli("replay", str(path), *RULES, "--events", "rounds")
    assert whole.count(" ROUND ") > 3
    passes = _count_reads(monkeypatch)
    monkeypatch.setattr(logwatch.commands.replay._Deferred, "HELD", 3)
    assert cli("replay", str(path), *RULES, "--events", "rounds") == whole
    assert len(passes) == 3  # read along until held back past 3, then looked at and read
