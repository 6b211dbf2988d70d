"""`replay --report -o html` in a real browser: every scenario's page loaded in headless
Chromium (two launches for all of them, one more to print), read and photographed."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from browser import PageRead, read_pages, run_chromium, screenshot_grid
from PIL import Image
from test_report import held
from typer.testing import CliRunner

from logwatch import simulate
from logwatch.cli import app
from logwatch.simulate import Scenario
from logwatch.simulate.incidents import INCIDENTS

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")

ENV = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None}
SHORT = ("--minutes", "1", "--clients", "2")
HOSTILE_HOST = "<script>alert(1)</script>\x1b[2J"
HOSTILE_HOST_SHOWN = "<script>alert(1)</script>\\e[2J"
HOSTILE_OTHER = '"><img src=x onerror=alert(1)>'
RED = (198, 40, 40)  # firing, critical (report.css)
AMBER = (249, 168, 37)  # firing, warning
GREEN = (46, 125, 50)  # rounds per minute, and a server that leads


def cli(*args: str, home: Path) -> bytes:
    result = CliRunner().invoke(app, list(args), env={**ENV, "HOME": str(home)})
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@dataclasses.dataclass(frozen=True)
class Scenario_:
    name: str
    page: Path
    report: dict[str, Any]


def _hostile_capture(path: Path) -> Path:
    scenario = Scenario("x", seed=11).start().rounds(4)
    scenario.rival_leader("srv2", other=HOSTILE_OTHER).silence(20).rounds(3)
    lines = [
        dataclasses.replace(x, host=HOSTILE_HOST) if x.host == "srv1" else x
        for x in scenario.lines()
    ]
    path.write_bytes(simulate.export_bytes(lines, "full-ansi"))
    return path


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> list[Scenario_]:
    """Every incident `logwatch simulate` plays, all of them on one page, a page of hostile
    names, and a page of a capture without zipnet: each rendered as HTML and as JSON."""
    work = tmp_path_factory.mktemp("html")
    captures: dict[str, Path] = {}
    for name in INCIDENTS:
        captures[name] = work / f"{name}.export"
        captures[name].write_bytes(cli("simulate", name, *SHORT, home=work))
    captures["all"] = work / "all.export"
    captures["all"].write_bytes(
        cli("simulate", *(f"{n}@{n}-x" for n in INCIDENTS), *SHORT, home=work)
    )
    captures["hostile"] = _hostile_capture(work / "hostile.export")
    captures["foreign"] = work / "foreign.export"
    foreign = simulate.noise(simulate.DEFAULT_START_US, 20, per_second=5)
    captures["foreign"].write_bytes(simulate.export_bytes(foreign, "full"))
    made = []
    for name, capture in captures.items():
        page = work / f"{name}.html"
        page.write_bytes(cli("replay", str(capture), "--report", "-o", "html", home=work))
        report = json.loads(cli("replay", str(capture), "--report", "-o", "json", home=work))
        made.append(Scenario_(name, page, report))
    return made


@pytest.fixture(scope="module")
def browser_read(
    scenarios: list[Scenario_], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, PageRead], list[str], Path]:
    """One Chromium run over every page, and a canary page whose inline script the page's
    own policy refuses: proof that a console error would be seen."""
    work = tmp_path_factory.mktemp("read")
    canary = work / "canary.html"
    canary.write_text(
        scenarios[0].page.read_text().replace("</body>", "<script>var x = 1;</script></body>")
    )
    reads, messages = read_pages([s.page for s in scenarios] + [canary], work)
    by_src = {r.src: r for r in reads}
    return {s.name: by_src[s.page.resolve().as_uri()] for s in scenarios}, messages, canary


def clock(at: str) -> str:
    return at[11:23]  # every scenario lies within one day


def expected_row(alert: dict[str, Any]) -> list[str]:
    """An alert row as the page shows it, from the JSON report's times."""
    name = alert["alert"] + (f" {alert['host']}" if alert.get("host") else "")
    firing, resolved = alert["firing_at"], alert["resolved_at"]
    fired_for = "-"
    if firing:
        fired_for = held(alert["seconds"], False)
        if resolved is None:
            fired_for += " (still firing at the end)"
    return [
        f"{name}\n{alert['severity']}",
        clock(alert["pending_at"] or firing),
        clock(firing) if firing else "never (pending only)",
        clock(resolved) if resolved else "not resolved",
        fired_for,
    ]


def test_every_page_shows_every_alert_with_the_json_times(
    scenarios: list[Scenario_], browser_read: tuple[dict[str, PageRead], list[str], Path]
) -> None:
    reads, _, _ = browser_read
    for s in scenarios:
        read = reads[s.name]
        alerts = [a for inst in s.report["instances"] for a in inst["alerts"]]
        assert [row[:5] for row in read.alerts] == [expected_row(a) for a in alerts], s.name
        for row, alert in zip(read.alerts, alerts, strict=True):
            assert row[5].startswith(alert["summary"].replace("\x1b", "\\e")), row
        promised = {a for inc in INCIDENTS.values() if inc.name == s.name for a in inc.fires}
        assert promised <= {a["alert"] for a in alerts if a["firing_at"]}, s.name
        for inst in s.report["instances"]:
            assert inst["instance"] in read.text
        assert f"{s.report['read']['entries']}: " in read.text  # what was read
        assert read.title.startswith("logwatch replay report: ")


def test_pages_draw_their_charts_and_load_nothing(
    scenarios: list[Scenario_], browser_read: tuple[dict[str, PageRead], list[str], Path]
) -> None:
    reads, _, _ = browser_read
    for s in scenarios:
        read = reads[s.name]
        assert read.loaded == [], s.name  # no element that loads anything
        if s.report["instances"]:
            assert read.rects >= 10, s.name
        else:
            assert "No zipnet instance in the input." in read.text
    # The split's committee grid shows both leaders at once, and its episode is listed.
    split = next(s for s in scenarios if s.name == "split")
    (episode,) = split.report["instances"][0]["leaders"]["split_episodes"]
    assert "Split episodes" in reads["split"].text
    assert f"{clock(episode['from'])}\t{clock(episode['to'])}" in reads["split"].text
    assert "says it leads (so does another)" in split.page.read_text()


def test_no_page_logs_a_console_message(
    scenarios: list[Scenario_], browser_read: tuple[dict[str, PageRead], list[str], Path]
) -> None:
    _, messages, canary = browser_read
    # The canary's refused script is logged: the check below can see an error.
    assert any(canary.resolve().as_uri() in m and "Content Security Policy" in m for m in messages)
    for s in scenarios:
        assert [m for m in messages if s.page.resolve().as_uri() in m] == [], s.name


def test_hostile_names_are_text_in_the_page(
    scenarios: list[Scenario_], browser_read: tuple[dict[str, PageRead], list[str], Path]
) -> None:
    reads, _, _ = browser_read
    text = reads["hostile"].text
    assert HOSTILE_HOST_SHOWN in text  # the markup is text, the ESC visible
    # The rival's "leader" (as far as the line's fields go: up to a space) too, as text.
    assert 'other leader "><img (term 1)' in text
    page = next(s for s in scenarios if s.name == "hostile").page.read_text()
    assert "<script>" not in page and "<img" not in page and "\x1b" not in page


def test_the_page_has_no_network_reference(scenarios: list[Scenario_]) -> None:
    for s in scenarios:
        html = s.page.read_text()
        assert not re.search(r"<script|<link|<img|<iframe|@import|url\(|\ssrc=", html), s.name
        # The SVG namespace is a name, not an address: nothing else names one.
        assert set(re.findall(r"https?://[^\s\"'<>]*", html)) <= {"http://www.w3.org/2000/svg"}
        assert "default-src 'none'" in html  # and the browser refuses any load anyway


def _colour_share(cell: Image.Image, rgb: tuple[int, int, int]) -> float:
    colours = cell.getcolors(cell.width * cell.height) or []
    return sum(n for n, c in colours if c == rgb) / (cell.width * cell.height)


def test_screenshots_show_the_charts(scenarios: list[Scenario_], tmp_path: Path) -> None:
    png = tmp_path / "grid.png"
    boxes = screenshot_grid([s.page for s in scenarios], png)
    with Image.open(png) as shot:
        image = shot.convert("RGB")
    for s, box in zip(scenarios, boxes, strict=True):
        cell = image.crop(box)
        colours = cell.getcolors(cell.width * cell.height) or []
        white = sum(n for n, c in colours if c == (255, 255, 255)) / (cell.width * cell.height)
        assert white < 0.99, f"{s.name}: blank"  # text at least
        if not s.report["instances"]:
            continue
        first = s.report["instances"][0]
        assert _colour_share(cell, GREEN) > 0.002, s.name  # bars and the leader's row
        firing = {a["severity"] for a in first["alerts"] if a["firing_at"]}
        assert ("critical" in firing) == (_colour_share(cell, RED) > 0.0005), s.name
        assert ("warning" in firing) == (_colour_share(cell, AMBER) > 0.0002), s.name


@functools.cache
def _pdf_boxes(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (float(w), float(h)) for w, h in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    ]


def test_the_page_prints_on_a4(scenarios: list[Scenario_], tmp_path: Path) -> None:
    page = next(s for s in scenarios if s.name == "all").page
    pdf = tmp_path / "report.pdf"
    done = run_chromium([f"--print-to-pdf={pdf}", "--no-pdf-header-footer"], page.as_uri())
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    boxes = _pdf_boxes(pdf.read_bytes())
    # A4 is 595 × 842 points; one page per instance at least (each starts a page).
    assert len(boxes) >= len(INCIDENTS)
    assert all(abs(w - 595.3) < 1.5 and abs(h - 841.9) < 1.5 for w, h in boxes), boxes


def test_html_is_a_form_of_the_report_only(tmp_path: Path) -> None:
    capture = tmp_path / "h.export"
    capture.write_bytes(cli("simulate", "healthy", *SHORT, home=tmp_path))
    done = CliRunner().invoke(app, ["replay", str(capture), "-o", "html"], env=ENV)
    assert done.exit_code == 2
    assert "html is a form of the report: add --report" in done.output
    for command in (["check", "acme-mainnet"], ["rules"]):
        refused = CliRunner().invoke(app, [*command, "-o", "html"], env=ENV)
        assert refused.exit_code == 2 and "html" in refused.output
