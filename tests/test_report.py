"""`logwatch replay --report`: the post-incident report in real terminals (tmux, 80 and 200
columns) and as one JSON object; log-derived names shown escaped, never interpreted."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import Captures, json_lines
from rich.cells import cell_len
from typer.testing import CliRunner

from logwatch import simulate
from logwatch.cli import app
from logwatch.simulate import LogLine, Scenario
from logwatch.times import US, format_time

LOGWATCH = str(Path(sys.executable).with_name("logwatch"))
RULES = ("--round-period", "2s", "--round-deadline", "1s")
W = 7 * US
ENV = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None}
DONE = "--logwatch-exited--"
HOSTILE_HOST = "\x1b]0;pwned\x07[bold red]"
HOSTILE_HOST_SHOWN = "\\e]0;pwned\\x07[bold red]"
HOSTILE_INSTANCE = "evil\x1b]2;pwned\x07[link=http://x]y[/link]"
HOSTILE_INSTANCE_SHOWN = "evil\\e]2;pwned\\x07[link=http://x]y[/link]"
HOSTILE_OTHER = "\u202eevil[/]"
HOSTILE_OTHER_SHOWN = "\\u202eevil[/]"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


# -- the incident ---------------------------------------------------------------------


@functools.cache
def incident() -> tuple[LogLine, ...]:
    """acme-mainnet (40 clients): empty rounds early on, a 40 s stall, five failovers, a
    rival leader report, then a long healthy run; preview-alpha healthy, then it stops
    while acme-mainnet goes on (its stall still firing when the capture ends)."""
    acme = Scenario("acme-mainnet", clients=40, seed=12)
    acme.start().rounds(30).rounds(3, participants=0).rounds(20, sealing=acme.clients[:12])
    acme.silence(40).rounds(10)
    for new, old in (("srv2", "srv1"), ("srv3", "srv2"), ("srv1", "srv3"), ("srv2", "srv1")):
        acme.failover(new).rounds(6).recover(old)
    acme.failover("srv3").rounds(6).rival_leader().rounds(80)
    preview = Scenario("preview-alpha", seed=13).start().rounds(30)
    return tuple(simulate.merge(acme.lines(), preview.lines()))


def fins(lines: Sequence[LogLine], instance: str) -> list[LogLine]:
    return [x for x in lines if x.message == "round finalized" and x.instance == instance]


def participants(line: LogLine) -> int:
    value = dict(line.fields)["participants"]
    assert isinstance(value, int)
    return value


def iso(us: int) -> str:
    return format_time(us)


def clock(at: str) -> str:
    """`10:05:07.123`, as the report prints a time."""
    return at[11:23]


def held(seconds: float, still_firing: bool) -> str:
    """How long an alert fired, as the report prints it: `35.0s`, `5m29s+`."""
    if seconds < 60:
        text = f"{seconds:.1f}s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    else:
        text = f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    return text + ("+" if still_firing else "")


def cli(*args: str, home: Path) -> str:
    result = CliRunner().invoke(app, list(args), env={**ENV, "HOME": str(home)})
    assert result.exit_code == 0, result.output
    return result.stdout


def report_json(path: Path, home: Path, *args: str) -> dict[str, Any]:
    out = cli("replay", str(path), "--report", "--output", "json", *args, home=home)
    assert out.count("\n") == 1 and out.endswith("\n")  # one object, one line
    report: dict[str, Any] = json_lines(out)[0]
    assert report["type"] == "report"
    return report


@dataclasses.dataclass(frozen=True)
class Pane:
    lines: list[str]
    title: str

    def panels(self) -> dict[str, list[str]]:
        """Each panel's inner lines by the title in its top border."""
        out: dict[str, list[str]] = {}
        inner: list[str] | None = None
        for line in self.lines:
            if line.startswith("╭"):
                title = line.strip("╭╮─ ")
                inner = out.setdefault(title, [])
            elif line.startswith("╰"):
                inner = None
            elif inner is not None:
                inner.append(line)
        return out


def in_tmux(tmp_path: Path, argv: Sequence[str], width: int, height: int = 50) -> Pane:
    """Runs `argv` in a fresh tmux server with a `width`×`height` window; returns the whole
    pane (history too, wrapped lines joined) once it exited, and the pane's title."""
    socket = tmp_path / f"tmux-{width}.sock"
    tmux = ["tmux", "-S", str(socket), "-f", "/dev/null"]
    # COLUMNS from the test's environment would override the terminal's width.
    command = shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", *argv])
    script = f"{command}; echo {DONE}; sleep 30"
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), script],
        check=True,
        timeout=10,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            captured = subprocess.run(
                [*tmux, "capture-pane", "-p", "-J", "-S", "-", "-t", "t"],
                capture_output=True,
                text=True,
                check=True,
                timeout=10,
            ).stdout
            lines = captured.rstrip("\n").split("\n")
            if DONE in lines:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"no {DONE} in the pane after 30 s:\n{captured}")
            time.sleep(0.1)
        title = subprocess.run(
            [*tmux, "display-message", "-p", "-t", "t", "#{pane_title}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=10, check=False)
    while lines and lines[-1] == "":
        lines.pop()
    assert lines.pop() == DONE
    return Pane(lines, title)


def assert_well_formed(pane: Pane, width: int) -> None:
    """Nothing wider than the terminal; every panel a closed box of full-width lines."""
    too_wide = [line for line in pane.lines if cell_len(line) > width]
    assert too_wide == []
    tops = [i for i, line in enumerate(pane.lines) if line.startswith("╭")]
    assert tops
    for top in tops:
        assert pane.lines[top].endswith("╮")
        assert cell_len(pane.lines[top]) == width
        i = top + 1
        while not pane.lines[i].startswith("╰"):
            line = pane.lines[i]
            assert line.startswith("│ ") and line.endswith(" │"), line
            assert cell_len(line) == width, line
            i += 1
        assert pane.lines[i].endswith("╯")
        assert cell_len(pane.lines[i]) == width


# -- the content, as JSON -------------------------------------------------------------


@pytest.fixture(scope="module")
def incident_journal(captures: Captures) -> Path:
    return captures.make(incident(), "journald", "journal")


def test_report_json_holds_the_incident(incident_journal: Path, tmp_path: Path) -> None:
    lines = incident()
    report = report_json(incident_journal, tmp_path, *RULES)
    assert report["span"] == {
        "from": iso(lines[0].time_us),
        "to": iso(lines[-1].time_us),
        "seconds": (lines[-1].time_us - lines[0].time_us) / US,
    }
    acme, preview = report["instances"]
    assert (acme["instance"], preview["instance"]) == ("acme-mainnet", "preview-alpha")

    acme_fins = fins(lines, "acme-mainnet")
    rounds = acme["rounds"]
    assert rounds["finalized"] == len(acme_fins) == 173
    assert rounds["last"] == 173
    assert rounds["last_at"] == iso(acme_fins[-1].time_us)
    assert (rounds["period_s"], rounds["period_estimated"], rounds["window_s"]) == (2.0, False, 7.0)
    # The longest gap is the stall: 40 s of silence between rounds 53 and 54.
    stall_from, stall_to = acme_fins[52].time_us, acme_fins[53].time_us
    assert rounds["longest_gap"] == {
        "at": iso(stall_from),
        "seconds": (stall_to - stall_from) / US,
        "open": False,
    }

    leaders = acme["leaders"]
    assert leaders["seen"] == ["srv1", "srv2", "srv3"]
    assert leaders["now"] == "srv3"
    # The first leader is no change; the failovers are, each a handover that split_brain
    # held pending and let go.
    assert [(c["from"], c["to"]) for c in leaders["changes"]] == [
        ("srv1", "srv2"),
        ("srv2", "srv3"),
        ("srv3", "srv1"),
        ("srv1", "srv2"),
        ("srv2", "srv3"),
    ]
    # Each change at the new leader's first `opening round` after the failover.
    for change in leaders["changes"]:
        first = min(
            x.time_us
            for x in lines
            if x.host == change["to"]
            and x.message == "opening round"
            and x.instance == "acme-mainnet"
            and iso(x.time_us) >= change["at"]
        )
        assert change["at"] == iso(first)
    assert acme["clients"] == {"registered": 40, "active": 40}

    series = acme["participants"]["series"]
    assert sum(b["rounds"] for b in series) == 173
    assert series[0]["from"] == iso(acme_fins[0].time_us)
    assert series[-1]["to"] == iso(acme_fins[-1].time_us)
    assert [b["first_round"] for b in series] == sorted(b["first_round"] for b in series)
    assert (acme["participants"]["min"], acme["participants"]["max"]) == (0, 40)
    empty = [b for b in series if b["min"] == 0]
    assert {r for b in empty for r in range(b["first_round"], b["last_round"] + 1)} >= {31, 32, 33}

    zeros = [x.time_us for x in acme_fins if participants(x) == 0]
    first_full = next(x.time_us for x in acme_fins if x.time_us > zeros[-1] and participants(x))
    rival_at = next(x.time_us for x in lines if x.message == "rival group leader detected")
    by_alert: dict[str, list[dict[str, Any]]] = {}
    for row in acme["alerts"]:
        by_alert.setdefault(row["alert"], []).append(row)
    assert by_alert["participants_zero"] == [
        {
            "alert": "participants_zero",
            "severity": "critical",
            "pending_at": None,
            "firing_at": iso(zeros[1]),
            "resolved_at": iso(first_full),
            "seconds": (first_full - zeros[1]) / US,
            "summary": by_alert["participants_zero"][0]["summary"],
            "values": by_alert["participants_zero"][0]["values"],
        }
    ]
    (stall,) = by_alert["round_stall"]
    assert (stall["firing_at"], stall["resolved_at"]) == (iso(stall_from + W), iso(stall_to))
    assert stall["seconds"] == (stall_to - stall_from - W) / US
    assert stall["summary"] == (
        "no round finalized for 7s (last round 53)"
        "; likely cause unknown: the logs since the last round do not tell"
    )
    *failovers, rival = by_alert["split_brain"]
    assert len(failovers) == 5
    assert all(r["firing_at"] is None and r["resolved_at"] for r in failovers)
    assert (rival["firing_at"], rival["resolved_at"], rival["seconds"]) == (
        iso(rival_at),
        iso(rival_at + W),
        7.0,
    )
    # The rival report is a split episode of its own: srv3 and the leader it reported.
    other = rival["values"]["other_leader"]
    assert leaders["split_episodes"] == [
        {
            "from": iso(rival_at),
            "to": iso(rival_at + W),
            "fired_at": iso(rival_at),
            "leaders": sorted([other, "srv3"]),
            "changes": 0,
        }
    ]

    pre_fins = fins(lines, "preview-alpha")
    assert preview["rounds"]["finalized"] == 30
    assert preview["leaders"]["changes"] == []
    assert preview["leaders"]["split_episodes"] == []
    assert preview["leaders"]["seen"] == ["srv1"]
    (pre_stall,) = [r for r in preview["alerts"] if r["alert"] == "round_stall"]
    assert pre_stall["firing_at"] == iso(pre_fins[-1].time_us + W)
    assert pre_stall["resolved_at"] is None  # still firing when the capture ends
    assert pre_stall["seconds"] == (lines[-1].time_us - pre_fins[-1].time_us - W) / US

    plain = json_lines(
        cli("replay", str(incident_journal), "--output", "json", *RULES, home=tmp_path)
    )[-1]
    assert report["read"] == {k: plain[k] for k in report["read"]}
    assert report["read"]["entries"] == len(lines)
    assert report["notes"] == []


def test_report_json_notes_an_estimated_period(incident_journal: Path, tmp_path: Path) -> None:
    report = report_json(incident_journal, tmp_path)
    for inst in report["instances"]:
        assert inst["rounds"]["period_s"] == 2.0
        assert inst["rounds"]["period_estimated"] is True
        assert inst["rounds"]["window_s"] == 8.0  # D = P when not given: W = 4P
    assert [n.split(":")[0] for n in report["notes"]] == ["acme-mainnet", "preview-alpha"]
    assert all("round period estimated at 2s" in n for n in report["notes"])


def test_a_report_without_zipnet_says_so(captures: Captures, tmp_path: Path) -> None:
    foreign = list(simulate.noise(simulate.DEFAULT_START_US, 20, per_second=5))
    path = captures.make(foreign, "journald", "journal")
    out = cli("replay", str(path), "--report", *RULES, home=tmp_path)
    assert "no zipnet instance found in the input" in out
    # Other programs' lines are read and counted, outside what is looked at.
    assert (
        "read 20 entries: 0 matched, 0 matched no pattern, 0 unreadable, 20 outside the selection"
    ) in " ".join(out.split())
    assert report_json(path, tmp_path, *RULES)["instances"] == []


# -- in a terminal --------------------------------------------------------------------


def _rows(panel: list[str], name: str) -> list[str]:
    return [line for line in panel if line.startswith(f"│ {name} ")]


@pytest.mark.parametrize("width", [80, 200])
def test_report_in_a_terminal(incident_journal: Path, tmp_path: Path, width: int) -> None:
    report = report_json(incident_journal, tmp_path, *RULES)
    argv = [LOGWATCH, "replay", str(incident_journal), "--report", *RULES]
    pane = in_tmux(tmp_path, argv, width)
    assert_well_formed(pane, width)
    assert pane.lines[0] == "logwatch replay report"
    span = report["span"]
    assert pane.lines[1] == f"{span['from']} → {span['to']} ({held(span['seconds'], False)})"
    panels = pane.panels()
    assert list(panels) == ["acme-mainnet", "preview-alpha"]

    for inst in report["instances"]:
        panel = panels[inst["instance"]]
        rounds = inst["rounds"]
        (row,) = _rows(panel, "rounds")
        assert f"{rounds['finalized']} finalized, last {rounds['last']}" in row
        (row,) = _rows(panel, "rate")
        # Every rate says its window.
        watched = held(inst["watch_s"], False)
        assert f"{rounds['overall_per_min']:.1f}/min over the {watched} watched" in row
        (row,) = _rows(panel, "round period")
        assert row.split()[3] == "2s" and "estimated" not in row
        for alert in inst["alerts"]:
            firing = alert["firing_at"]
            # A held alert says when it began and when it fired.
            since_shown = clock(alert["pending_at"] or firing)
            firing_shown = clock(firing) if firing else "pending"
            for_shown = held(alert["seconds"], alert["resolved_at"] is None) if firing else "-"
            # The since column is there when some alert of the instance was held.
            held_any = any(a["pending_at"] for a in inst["alerts"])
            shown = [alert["alert"], *([since_shown] if held_any else []), firing_shown, for_shown]
            matches = [
                row
                for row in _rows(panel, alert["alert"])
                if row.split()[1:][: len(shown)] == shown
            ]
            assert len(matches) == 1, (alert, panel)
            summary = matches[0].split(f" {for_shown} ", 1)[1].rstrip("│ ")
            if width == 200:
                assert summary.strip() == alert["summary"]
            else:
                assert alert["summary"].startswith(summary.strip().rstrip("…"))

    acme, preview = panels["acme-mainnet"], panels["preview-alpha"]
    assert _rows(acme, "round_stall")[0].split()[2:5] == ["10:01:53.400", "10:01:53.400", "35.0s"]
    assert _rows(preview, "round_stall")[0].split()[2:4] == ["10:01:07.400", "5m29s+"]
    assert "srv1, srv2, srv3  (5 changes, 1 split episode)" in _rows(acme, "leaders")[0]
    assert "srv1  (no change)" in _rows(preview, "leaders")[0]
    assert not any(line.startswith("│ (+") for line in acme)  # 5 changes, 5 shown
    (episode,) = [line for line in acme if line.startswith("│ split episode")]
    episode = acme[acme.index(episode) + 1]
    (split,) = report["instances"][0]["leaders"]["split_episodes"]
    assert episode.split()[1:3] == [clock(split["from"]), clock(split["to"])]
    # The participants line covers the whole capture, the empty rounds (·) included,
    # with its range on the same line.
    (spark,) = _rows(acme, "participants")
    assert spark.rstrip("│ ").endswith(" 0–40")
    assert "·" in spark
    assert "·" not in _rows(preview, "participants")[0]
    read = report["read"]
    matched = sum(read["matched"].values())
    assert (
        f"read {read['entries']} entries: {matched} matched, {read['unmatched']} matched no "
        f"pattern, {read['errors']} unreadable"
    ) in pane.lines


def test_the_report_notes_an_estimated_period(incident_journal: Path, tmp_path: Path) -> None:
    pane = in_tmux(tmp_path, [LOGWATCH, "replay", str(incident_journal), "--report"], 80)
    assert_well_formed(pane, 80)
    for panel in pane.panels().values():
        assert "2s (estimated from the rounds seen)" in _rows(panel, "round period")[0]
    notes = [line for line in pane.lines if line.startswith("note: ")]
    assert [n.split(":")[1].strip() for n in notes] == ["acme-mainnet", "preview-alpha"]
    assert all("round period estimated at 2s" in n for n in notes)


# -- hostile names --------------------------------------------------------------------


@functools.cache
def hostile() -> tuple[LogLine, ...]:
    """Instance `x` (units `zipnet-server@x.service`) whose leader's host name is an OSC
    title escape and rich markup; a rival report naming a bidi-override "leader"."""
    scenario = Scenario("x", seed=11).start().rounds(4)
    scenario.rival_leader("srv2", other=HOSTILE_OTHER).silence(20).rounds(3)
    return tuple(
        dataclasses.replace(x, host=HOSTILE_HOST) if x.host == "srv1" else x
        for x in scenario.lines()
    )


@pytest.fixture
def hostile_export(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.export"
    path.write_bytes(simulate.export_bytes(hostile(), "full-ansi"))
    assert HOSTILE_HOST.encode() in path.read_bytes()
    return path


def test_the_title_check_catches_a_raw_escape(tmp_path: Path) -> None:
    # The check below is only worth something if a raw escape would show in the title.
    pane = in_tmux(tmp_path, ["printf", f"{HOSTILE_HOST}\\n"], 80, 10)
    assert pane.title == "pwned"


@pytest.mark.parametrize("width", [80, 200])
def test_a_hostile_host_is_shown_escaped(hostile_export: Path, tmp_path: Path, width: int) -> None:
    argv = [LOGWATCH, "replay", str(hostile_export), "--report", *RULES]
    pane = in_tmux(tmp_path, argv, width)
    assert pane.title != "pwned"
    assert_well_formed(pane, width)
    panel = pane.panels()["x"]
    assert f"{HOSTILE_HOST_SHOWN}  (no change, 1 split episode)" in _rows(panel, "leaders")[0]
    # The rival report is a split episode; its leaders' names are shown escaped too.
    (episode,) = [line for line in panel if line.startswith("│ 10:00:09.")]
    assert HOSTILE_HOST_SHOWN[:20] in episode
    (rival,) = _rows(panel, "split_brain")
    assert "rival group leader detected by" in rival
    if width == 200:
        assert f"other leader {HOSTILE_OTHER_SHOWN} (term 1)" in rival


def test_the_report_never_writes_raw_escapes(hostile_export: Path, tmp_path: Path) -> None:
    text = cli("replay", str(hostile_export), "--report", *RULES, home=tmp_path)
    assert HOSTILE_HOST_SHOWN in text
    assert not set(text) & {"\x1b", "\x07", "\u202e"}
    report = report_json(hostile_export, tmp_path, *RULES)
    # JSON carries the name as it was, its control characters escaped by JSON.
    assert report["instances"][0]["leaders"]["seen"] == [HOSTILE_HOST]


def test_a_hostile_instance_name_is_refused_escaped(captures: Captures, tmp_path: Path) -> None:
    # Unit names cannot carry escapes (they are not zipnet's then), and --instance may
    # not either: it is no systemd instance name. The refusal shows it escaped.
    path = captures.make(Scenario(seed=14).start().rounds(5).lines(), "full-ansi", "cat")
    argv = [LOGWATCH, "replay", str(path), "--report", "--instance", HOSTILE_INSTANCE, *RULES]
    pane = in_tmux(tmp_path, argv, 80)
    assert pane.title != "pwned"
    text = "".join(pane.lines)  # the error line as tmux wrapped it
    assert f"'{HOSTILE_INSTANCE_SHOWN}' cannot be an instance name" in text


def test_a_long_flapping_capture_says_what_the_report_left_out(
    captures: Captures, tmp_path: Path
) -> None:
    # Each round pair goes backwards then in order: round_regression fires and resolves
    # 259 times, more transitions than the engine keeps per instance.
    scenario = Scenario(clients=1, seed=15).start()
    for _ in range(260):
        scenario.rounds(2, chatter=False).jump(scenario.next_round - 2)
    path = captures.make(scenario.lines(), "journald", "journal")
    (inst,) = report_json(path, tmp_path, *RULES)["instances"]
    assert inst["alerts_dropped"] > 0
    assert inst["alerts_dropped"] + 2 * len(inst["alerts"]) == 2 * 259
    text = cli("replay", str(path), "--report", *RULES, home=tmp_path)
    assert f"{inst['alerts_dropped']} earlier transitions not kept" in text
    assert text.count("│ round_regression ") == len(inst["alerts"])


def test_a_piped_report_wraps_instead_of_cutting() -> None:
    # `replay --report > incident.txt`: the ticket gets the whole summary, hosts included.
    capture = Path(__file__).parent / "fixtures" / "split-brain.json.gz"
    done = subprocess.run(
        [sys.executable, "-m", "logwatch", "replay", str(capture), "--report"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in done.stdout
    cells = " ".join(
        line.strip("│ ").split("  ")[-1].strip() for line in lines if line.startswith("│")
    )
    assert "rival group leader detected by srv1: other leader 6c26981910 (term 1)" in " ".join(
        cells.split()
    )


def test_the_text_says_what_is_not_known_in_words(tmp_path: Path) -> None:
    # One round: no period to estimate, no gap between rounds; words, never Python's.
    path = tmp_path / "one.export"
    lines = Scenario("acme-mainnet", clients=1, seed=16).start().rounds(1).silence(5).lines()
    path.write_bytes(simulate.export_bytes(lines, "full"))
    text = cli("replay", str(path), "--report", home=tmp_path)
    assert "round period  not known (too few rounds to estimate it)" in text
    assert re.search(r"rate +\d+\.\d/min over the \d+\.\ds watched", text)
    for python in ("None", "unknown (estimated)", "1 participants"):
        assert python not in text
