"""docs/ and the README: links stay inside the repository, the schema is what json.md says,
and the schema catches a line that breaks the contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import SCHEMA_PATH, _schema_errors, check_line

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve_inside_the_repository(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "#")):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT.resolve()), f"{page.name} links outside: {target}"
        assert path.exists(), f"{page.name}: broken link {target}"


def test_the_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_json_md_documents_every_line_type_and_key_of_the_schema() -> None:
    text = (ROOT / "docs" / "json.md").read_text()
    schema = json.loads(SCHEMA_PATH.read_text())
    for kind in schema["properties"]["type"]["enum"]:
        assert f"`{kind}`" in text, kind
        for key in schema["$defs"][kind].get("properties", {}):
            assert f"`{key}`" in text, f"{kind}.{key} is not in docs/json.md"


def test_alerts_md_documents_every_alert_of_the_schema() -> None:
    text = (ROOT / "docs" / "alerts.md").read_text()
    schema = json.loads(SCHEMA_PATH.read_text())
    for name in schema["$defs"]["alert_name"]["enum"]:
        assert f"| `{name}` |" in text, name
    assert "W = 3P + D" in text


GOOD = {
    "type": "alert", "alert": "round_stall", "state": "firing", "severity": "critical",
    "instance": "acme-mainnet", "at": "2026-11-25T10:05:07.000000Z",
    "since": "2026-11-25T10:05:07.000000Z", "summary": "no round finalized for 7s",
    "labels": {"alertname": "round_stall", "instance": "acme-mainnet", "severity": "critical"},
    "values": {"last_round": 812, "silent_s": 7.0},
}  # fmt: skip


@pytest.mark.parametrize(
    "broken",
    [
        {k: v for k, v in GOOD.items() if k != "since"},
        {**GOOD, "state": "paging"},
        {**GOOD, "at": "2026-11-25 10:05:07"},
        {**GOOD, "extra": 1},
        {**GOOD, "type": "alerts"},
    ],
)
def test_the_schema_refuses_a_broken_line(broken: dict[str, object]) -> None:
    assert check_line(GOOD) == GOOD
    with pytest.raises(pytest.fail.Exception, match=r"logwatch-lines\.schema\.json"):
        check_line(broken)


def test_lines_written_in_process_are_checked_too() -> None:
    from logwatch.sinks.json_output import dumps

    dumps({**GOOD, "state": "paging"})
    assert _schema_errors, "conftest's check of dumps() saw nothing"
    _schema_errors.clear()  # this test's broken line is on purpose
