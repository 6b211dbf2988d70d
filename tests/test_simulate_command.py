"""`logwatch simulate`: every incident in every form, each replayed to the alerts it promises."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from logwatch.cli import app, main
from logwatch.simulate.incidents import INCIDENTS, SKEWED_HOSTS
from logwatch.times import US, parse_time

ENV = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None}
# Short runs: every incident still plays its whole story (each has a minimum length).
SHORT = ("--minutes", "1", "--clients", "2")
FORMS = ("json", "short-iso", "with-unit", "journal")


def run(*args: str) -> bytes:
    result = CliRunner().invoke(app, list(args), env=ENV)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def fired(objs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(o["alert"], o["state"], o["at"]) for o in objs if o["type"] == "alert"]


def replay(path: Path, *args: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run("replay", str(path), "-o", "json", *args).splitlines()]


@functools.cache
def exported(incident: str, directory: Path) -> Path:
    path = directory / f"{incident}.export"
    path.write_bytes(run("simulate", incident, *SHORT))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("simulate")


@pytest.mark.parametrize("incident", list(INCIDENTS))
def test_each_incident_replays_to_the_alerts_it_promises(incident: str, work: Path) -> None:
    objs = replay(exported(incident, work))
    alerts = fired(objs)
    promised = INCIDENTS[incident].fires
    assert {a for a, state, _ in alerts if state == "firing"} == set(promised), alerts
    assert {o["instance"] for o in objs if o["type"] == "alert"} <= {incident}
    by_state = {(a, s): at for a, s, at in alerts}
    if incident == "stall":
        assert ("round_stall", "resolved") in by_state  # rounds come back
    if incident == "split":
        # Held: pending when the second leader shows, firing 60 s later, then resolved.
        assert [s for a, s, _ in alerts if a == "split_brain"] == ["pending", "firing", "resolved"]
        pending = parse_time(by_state["split_brain", "pending"], 0)
        assert parse_time(by_state["split_brain", "firing"], 0) - pending == 60 * US
    if incident == "skew":
        # A server is named on its own; the clients are one alert naming the worst.
        skews = {
            o["labels"]["host"]: o["values"]
            for o in objs
            if o["type"] == "alert" and o["alert"] == "clock_skew"
        }
        servers = {host: off for host, off in SKEWED_HOSTS if host.startswith("srv")}
        clients = {host: off for host, off in SKEWED_HOSTS if not host.startswith("srv")}
        assert skews.keys() == set(servers) | ({"clients"} if clients else set())
        # A server's offset is read off the rounds it shares; a client's off its envelopes,
        # sealed somewhere within the round: within a period or two.
        for host, offset in servers.items():
            assert abs(skews[host]["offset_s"] - offset) < 1.0
        worst = max(clients, key=lambda host: abs(clients[host]))
        assert skews["clients"]["worst"] == worst
        assert skews["clients"]["hosts"] == len(clients)
        assert abs(skews["clients"]["offset_s"] - clients[worst]) < 4.0
    if incident == "dead-committee":
        (stall,) = [o for o in objs if o["type"] == "alert" and o["alert"] == "round_stall"]
        assert stall["cause"] == "committee_stuck"
        assert "heartbeats failed" in stall["summary"]


@functools.cache
def everything(directory: Path) -> tuple[tuple[str, str, str], ...]:
    """The alerts of every incident side by side in one export capture."""
    path = directory / "all.export"
    path.write_bytes(run("simulate", *INCIDENTS, *SHORT))
    objs = replay(path)
    assert set(objs[-1]["instances"]) == set(INCIDENTS)
    return tuple(fired(objs))


@pytest.mark.parametrize("form", FORMS)
def test_every_form_replays_as_the_export_does(form: str, work: Path) -> None:
    if form == "short-iso":
        # No unit names, so one instance, named as an operator would: a dead committee.
        target = work / "dead.short-iso"
        target.write_bytes(run("simulate", "dead-committee", *SHORT, "-o", form))
        alone = fired(replay(exported("dead-committee", work)))
        assert fired(replay(target, "-i", "dead-committee")) == alone
        return
    expected = list(everything(work))
    assert {a for a, _, _ in expected} >= {a for i in INCIDENTS.values() for a in i.fires}
    if form == "journal":
        target = work / "all-journal"
        run("simulate", *INCIDENTS, *SHORT, "-D", str(target))
        # Each host's file, as a collector keeps them: servers, aggregator, clients.
        assert len(list(target.glob("remote-*.journal"))) == 3 + 1 + 2
    else:
        target = work / f"all.{form}"
        target.write_bytes(run("simulate", *INCIDENTS, *SHORT, "-o", form))
    assert fired(replay(target)) == expected


def test_several_incidents_are_named_as_asked(tmp_path: Path) -> None:
    path = tmp_path / "two.export"
    path.write_bytes(run("simulate", "healthy@acme-mainnet", "stall", *SHORT, "--seed", "3"))
    objs = replay(path)
    assert set(objs[-1]["instances"]) == {"acme-mainnet", "stall"}
    assert {o["instance"] for o in objs if o["type"] == "alert"} >= {"stall"}
    assert run("simulate", "healthy", *SHORT, "--seed", "3") == run(
        "simulate", "healthy", *SHORT, "--seed", "3"
    )
    assert run("simulate", "healthy", *SHORT, "--seed", "3") != run(
        "simulate", "healthy", *SHORT, "--seed", "4"
    )


def test_options_shape_the_run(tmp_path: Path) -> None:
    path = tmp_path / "h.export"
    path.write_bytes(
        run("simulate", "healthy", "--minutes", "1", "--period", "1s", "--clients", "7")
    )
    objs = replay(path)
    summary = objs[-1]["instances"]["healthy"]
    assert summary["round_period_s"] == 1.0
    assert 58 <= summary["rounds"] <= 60
    report = json.loads(run("replay", str(path), "--report", "-o", "json"))
    assert report["instances"][0]["clients"]["registered"] == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no incident 'nope': one of healthy, stall, split, skew, dead-committee"),
        (["stall", "stall"], "instance 'stall' is named twice"),
        (["stall@a/b"], "'a/b' cannot be an instance name"),
        (["stall", "--minutes", "0"], "--minutes must be > 0"),
        (["stall", "--period", "0s"], "--period must be > 0"),
        (["stall", "--period", "soon"], "not a duration"),
        (["stall", "--minutes", "100000"], "rounds: fewer minutes or a longer --period"),
        (["stall", "--clients", "-1"], "--clients must be between 0 and"),
        (["stall", "-o", "journal"], "cannot write -o journal: one of export, json"),
        (["stall", "--style", "xml"], "no style 'xml': one of full"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The console entry point itself, in process: what a user's shell sees.
    monkeypatch.setattr(sys, "argv", ["logwatch", "simulate", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("logwatch: ") and message in line, line


def test_bad_input_from_a_shell_has_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "simulate", "stall", "--minutes", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "logwatch: --minutes must be > 0\n",
    )


def test_a_journal_directory_is_never_appended_to(tmp_path: Path) -> None:
    run("simulate", "healthy", *SHORT, "-D", str(tmp_path))
    result = CliRunner().invoke(app, ["simulate", "healthy", *SHORT, "-D", str(tmp_path)], env=ENV)
    assert result.exit_code != 0
    assert "exists: give -D an empty or new directory" in str(result.exception)


def test_docs_say_what_every_incident_plays_and_fires() -> None:
    page = (Path(__file__).parent.parent / "docs" / "simulate.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line for line in page.splitlines() if line.startswith("| `")
    }
    assert set(rows) == set(INCIDENTS)
    for name, incident in INCIDENTS.items():
        assert incident.story in rows[name]
        for alert in incident.fires:
            assert f"`{alert}`" in rows[name]
