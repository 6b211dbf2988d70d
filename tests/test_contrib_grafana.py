"""contrib/grafana: the dashboard is valid JSON that Grafana can lay out (unique panel ids,
no two panels on the same cells), and every PromQL expression in it is accepted by
promtool once Grafana's own variables are substituted."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fleet_parts import need

from logwatch.sinks import metric_families

DASHBOARD = Path(__file__).parent.parent / "contrib" / "grafana" / "zipnet-logwatch.json"
GRID_WIDTH = 24
# What Grafana puts in place of its built-in interval variables, and a value for ours.
BUILT_IN = {"__rate_interval": "1m", "__interval": "30s", "__range": "1h"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_panels_have_unique_ids_and_cells(dashboard: dict[str, Any]) -> None:
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), ids
    taken: dict[tuple[int, int], str] = {}
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= GRID_WIDTH, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in taken, f"{p['title']} overlaps {taken[x, y]}"
                taken[x, y] = p["title"]


def test_the_panels_the_issue_asks_for(dashboard: dict[str, Any]) -> None:
    kinds = {p["type"] for p in dashboard["panels"]}
    assert {"status-history", "heatmap", "table", "timeseries"} <= kinds
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert "instance" in names
    text = " ".join(exprs(dashboard))
    for metric in ("logwatch_rounds_finalized_total", "logwatch_leader_is_local",
                   "logwatch_round_participants_bucket", "logwatch_alert_firing"):  # fmt: skip
        assert metric in text, metric


def test_every_variable_used_is_defined(dashboard: dict[str, Any]) -> None:
    names = {v["name"] for v in dashboard["templating"]["list"]}
    used = {a or b for e in exprs(dashboard) for a, b in VARIABLE.findall(e)}
    assert used - set(BUILT_IN) <= names, used - names


def test_every_expression_is_promql_that_promtool_accepts(
    dashboard: dict[str, Any], tmp_path: Path
) -> None:
    def substitute(expr: str) -> str:
        return VARIABLE.sub(lambda m: BUILT_IN.get(m[1] or m[2], "acme-mainnet"), expr)

    queries = exprs(dashboard) + [
        v["definition"].removeprefix("label_values(").rpartition(",")[0]
        for v in dashboard["templating"]["list"]
        if v["type"] == "query"
    ]
    assert queries
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:expr_{i}", "expr": substitute(q)}
                    for i, q in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard.rules.json"  # JSON is YAML: promtool reads it
    path.write_text(json.dumps(rules))
    done = subprocess.run(
        [need("promtool", "prometheus"), "check", "rules", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout


def test_logwatch_metrics_named_are_exported(dashboard: dict[str, Any]) -> None:
    exported = set(re.findall(r'"(logwatch_[a-z_]+)"', Path(metric_families.__file__).read_text()))
    for name in set(re.findall(r"\b(logwatch_[a-z_]+)\b", " ".join(exprs(dashboard)))):
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert name in exported or base in exported, name
