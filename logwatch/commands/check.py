"""`logwatch check`: the recent journal evaluated up to now, Nagios-style status and exit code."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from logwatch.commands.common import build_reading, rule_settings
from logwatch.commands.follow import (
    Follow,
    SourceOptions,
    open_live,
    units_for,
)
from logwatch.engine import Engine, InstanceView
from logwatch.escape import escape_text
from logwatch.sinks.json_output import dumps
from logwatch.times import US, format_time, parse_time, wall_clock_us

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
# Which status wins when instances differ: a critical one is what must wake someone.
_RANK = {OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3}
CATCH_UP_S = 30.0


class _Discard:
    """check prints statuses, not transitions."""

    def emit(self, output: object) -> None:
        return None

    def close(self, summary: object) -> None:
        return None


def run_check(
    *,
    instances: Sequence[str],
    source: SourceOptions,
    since: str,
    round_period: str | None,
    round_deadline: str | None,
    expect_clients: int | None,
    output: str,
    pattern_dirs: Sequence[Path],
    config_path: Path | None,
) -> int:
    """Evaluate each instance over [since, now]; print one line each; return the worst code."""
    reading = build_reading(
        instances=instances, pattern_dirs_opt=pattern_dirs, config_path=config_path
    )
    names = sorted(reading.selection.instances or ())
    settings = rule_settings(reading, round_period, round_deadline, expect_clients)
    engine = Engine(settings)
    now = wall_clock_us()
    since_us = parse_time(since, now)
    live = open_live(source, units_for(names, reading.config.unit_template), None)
    follow = Follow(live, reading, engine, _Discard(), names, want_rounds=False)
    try:
        live.start(since_us=since_us, now_us=now)
        for name in names:
            engine.start_watch(name, since_us)
        deadline = time.monotonic() + CATCH_UP_S
        # Read until the journal has nothing more up to now.
        while time.monotonic() < deadline:
            items = live.poll(0.2)
            if not items:
                break
            follow.feed(items, quiet=True)
        engine.advance(now)
    finally:
        live.close()
    seen = {v.instance: v for v in engine.instances()}
    worst = OK
    lines = []
    for name in names:
        view = seen.get(name)
        code, text = _status(view, name, now)
        if _RANK[code] > _RANK[worst]:
            worst = code
        if output == "json":
            lines.append(
                dumps(
                    {
                        "type": "check",
                        "instance": name,
                        "status": STATUS[code],
                        "code": code,
                        "text": text,
                    }
                )
            )
        else:
            lines.append(f"{STATUS[code]} {escape_text(name)}: {escape_text(text)}")
    print("\n".join(lines))
    return worst


def _status(view: InstanceView | None, name: str, now_us: int) -> tuple[int, str]:
    if view is None or (
        view.rounds_finalized == 0 and view.last_round is None and not view.servers
    ):
        return UNKNOWN, "no entries for this instance in the journal over the period"
    firing = [a for a in view.active_alerts if a.state == "firing"]
    facts = []
    if view.last_round is not None and view.last_round_at_us is not None:
        age = (now_us - view.last_round_at_us) / US
        facts.append(f"last round {view.last_round} {age:.0f}s ago")
    facts.append(f"{view.round_rate_1m:.1f} rounds/min")
    if view.leader:
        facts.append(f"leader {view.leader}")
    if not firing:
        return OK, ", ".join(facts)
    code = CRITICAL if any(a.severity == "critical" for a in firing) else WARNING
    alerts = "; ".join(f"{a.alert} since {format_time(a.since_us)} ({a.summary})" for a in firing)
    return code, f"{alerts} | {', '.join(facts)}"
