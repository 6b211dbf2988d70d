"""Runbook links: relative (docs/alerts.md#ALERT) until the config's runbook_base makes them
absolute, in the replay report (text and HTML) and in Alertmanager's runbook_url."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logwatch.cli import app
from logwatch.config import load_config, runbook_url
from logwatch.engine.outputs import AlertTransition
from logwatch.errors import UsageError
from logwatch.sinks.alertmanager import RUNBOOK_BASE, alert_annotations

BASE = "https://git.example.com/ops/logwatch/-/blob/main/docs/alerts.md"
ENV = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None}
ROOT = Path(__file__).parent.parent


def config(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(line + "\n")
    return path


def test_runbook_base_is_read_from_the_config(tmp_path: Path) -> None:
    assert load_config(config(tmp_path, f'runbook_base = "{BASE}"')).runbook_base == BASE
    assert load_config(config(tmp_path, "")).runbook_base is None
    assert runbook_url("round_stall", BASE) == f"{BASE}#round_stall"
    assert runbook_url("round_stall", None) == "docs/alerts.md#round_stall"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"docs/alerts.md"', "runbook_base must be an http(s) URL"),
        ('"javascript:alert(1)"', "runbook_base must be an http(s) URL"),
        ("3", "runbook_base must be an http(s) URL"),
        (f'"{BASE}#top"', "runbook_base takes no #fragment"),
    ],
)
def test_a_bad_runbook_base_is_one_line(tmp_path: Path, value: str, message: str) -> None:
    path = config(tmp_path, f"runbook_base = {value}")
    with pytest.raises(UsageError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: {message}")
    assert "\n" not in str(error.value)


def test_alertmanager_annotations_link_the_base() -> None:
    t = AlertTransition(
        "round_stall", "firing", "critical", "acme-mainnet", 1, 1, "no round", {}, {}
    )
    assert alert_annotations(t, BASE)["runbook_url"] == f"{BASE}#round_stall"
    assert alert_annotations(t, RUNBOOK_BASE)["runbook_url"] == "docs/alerts.md#round_stall"


@pytest.fixture(scope="module")
def stall(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runbook") / "stall.export"
    made = CliRunner().invoke(app, ["simulate", "stall", "--minutes", "1"], env=ENV)
    path.write_bytes(made.stdout_bytes)
    return path


def report(stall: Path, *args: str) -> str:
    done = CliRunner().invoke(app, ["replay", str(stall), "--report", *args], env=ENV)
    assert done.exit_code == 0, done.output
    return done.stdout


def test_the_report_links_the_runbook_absolutely_once_the_base_is_set(
    stall: Path, tmp_path: Path
) -> None:
    cfg = config(tmp_path, f'runbook_base = "{BASE}"')
    lines = report(stall, "--config", str(cfg)).splitlines()
    runbooks = lines.index("runbooks:")
    # The stall is one page: the aggregator's silence inside it is held back with it.
    assert lines[runbooks + 1 :] == [f"{BASE}#round_stall"]
    html = report(stall, "--config", str(cfg), "-o", "html")
    assert set(re.findall(r'<a href="(http[^"]+)"', html)) == {f"{BASE}#round_stall"}
    # Unset, the page names the path in logwatch's repository and links nothing.
    plain = report(stall, "-o", "html")
    assert '<a href="http' not in plain
    assert "docs/alerts.md#round_stall in logwatch's repository" in plain
    assert "runbook_base" in " ".join(report(stall).split())


def test_the_contrib_rules_say_where_to_set_the_base() -> None:
    rules = (ROOT / "contrib" / "prometheus" / "logwatch.rules.yml").read_text()
    head = "".join(line for line in rules.splitlines(keepends=True) if line.startswith("#"))
    assert "runbook_base" in head and "docs/config.md" in head
    assert "runbook_base" in (ROOT / "docs" / "config.md").read_text()
