"""contrib/prometheus: the rules load in Prometheus' own checker and pass their unit tests
(`promtool test rules`), and they only use metrics logwatch exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from fleet_parts import need

from logwatch.sinks import metric_families

RULES = Path(__file__).parent.parent / "contrib" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need("promtool", "prometheus"), *args],
        cwd=RULES, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_rules_load() -> None:
    done = promtool("check", "rules", "logwatch.rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_pass_their_promtool_unit_tests() -> None:
    done = promtool("test", "rules", "logwatch.rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_rules_name_only_metrics_logwatch_exports() -> None:
    # A typo in a metric name makes a rule that never fires and a promtool test that
    # still passes on the same typo: check the names against the exporter's source.
    exported = set(re.findall(r'"(logwatch_[a-z_]+)"', Path(metric_families.__file__).read_text()))
    suffixes = ("_total", "_bucket", "_count", "_sum")
    text = (RULES / "logwatch.rules.yml").read_text()
    # Not the middle of a recorded name (`instance:logwatch_leaders:count`).
    used = set(re.findall(r"(?<![:\w])(logwatch_[a-z_]+)\b(?!:)", text))
    assert "logwatch_leader_is_local" in used
    for name in used:
        base = next((name[: -len(s)] for s in suffixes if name.endswith(s)), name)
        assert name in exported or base in exported, name
