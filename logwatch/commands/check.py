"""`logwatch check`: the recent journal evaluated up to now, Nagios-style status and exit code."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.commands.common import Reading, build_reading, rule_settings
from logwatch.commands.source_options import SourceOptions, open_live, units_for
from logwatch.engine import Engine, InstanceView, RuleSettings
from logwatch.escape import escape_text
from logwatch.pipeline import read_steps
from logwatch.run.driver import Driver
from logwatch.sinks.json_output import dumps
from logwatch.times import US, format_time, parse_time, wall_clock_us
from logwatch.view_facts import has_entries

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


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """What the user asked for, validated: the reading side, the rules and the period."""

    reading: Reading
    settings: RuleSettings
    since_us: int
    now_us: int


def prepare_check(
    *,
    instances: Sequence[str],
    since: str,
    round_period: str | None,
    round_deadline: str | None,
    expect_clients: int | None,
    pattern_dirs: Sequence[Path],
    config_path: Path | None,
) -> CheckPlan:
    """Config, patterns, names, times and rule numbers: what the user typed, checked before
    anything is read (a bad one is a usage error, 2; what cannot be read is UNKNOWN, 3)."""
    reading = build_reading(
        instances=instances, pattern_dirs_opt=pattern_dirs, config_path=config_path
    )
    settings = rule_settings(reading, round_period, round_deadline, expect_clients)
    now = wall_clock_us()
    return CheckPlan(reading, settings, parse_time(since, now), now)


def run_check(plan: CheckPlan, *, source: SourceOptions, output: str) -> int:
    """Evaluate each instance over [since, now]; print one status line (text) or one JSON
    line per instance; return the worst code."""
    reading, settings, since_us, now = plan.reading, plan.settings, plan.since_us, plan.now_us
    names = sorted(reading.selection.instances or ())
    engine = Engine(settings)
    live = open_live(source, units_for(names, reading.config.unit_template), None)
    driver = Driver(engine, _Discard())
    decoder = reading.new_decoder()
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
            driver.take(
                read_steps(items, decoder, reading.matcher, reading.selection, driver.tally)
            )
        engine.advance(now)
    finally:
        live.close()
    seen = {v.instance: v for v in engine.instances()}
    results = [_Result(name, *_status(seen.get(name), now, settings)) for name in names]
    results.append(_Result("", OK, "", {}))  # so max() has something for no instances
    worst = max(results, key=lambda r: _RANK[r.code]).code
    results.pop()
    if output == "json":
        for r in results:
            print(
                dumps(
                    {
                        "type": "check",
                        "instance": r.instance,
                        "status": STATUS[r.code],
                        "code": r.code,
                        "text": r.text,
                        "perfdata": dict(r.perfdata),
                    }
                )
            )
    else:
        print(status_line(results, settings))
    return worst


@dataclass(frozen=True, slots=True)
class _Result:
    instance: str
    code: int
    text: str
    perfdata: Mapping[str, float | None]


def status_line(results: Sequence[_Result], settings: RuleSettings) -> str:
    """The one line Nagios shows: worst instance first, each `STATUS name: text`, then
    `|` and the performance data (labels prefixed by the instance when there are several).
    Log-derived text is escaped and holds no `|`, which would start the perfdata."""
    ordered = sorted(results, key=lambda r: -_RANK[r.code])
    text = "; ".join(f"{STATUS[r.code]} {_plain(r.instance)}: {_plain(r.text)}" for r in ordered)
    perf = []
    for r in results:
        prefix = f"{r.instance}_" if len(results) > 1 else ""
        for name, value in r.perfdata.items():
            perf.append(_perf(prefix + name, value, settings))
    return f"{text} | {' '.join(perf)}" if perf else text


def _perf(label: str, value: float | None, settings: RuleSettings) -> str:
    """One Nagios performance datum: 'label'=value[UOM];warn;crit;min."""
    shown = "U" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")
    quoted = "'" + label.replace("'", "''") + "'"
    if label.endswith("last_round_age"):
        period = settings.period_us
        warn = crit = ""
        if period is not None:
            warn = f"{period / US:g}"
            crit = f"{settings.window_us(period) / US:g}"
        unit = "" if value is None else "s"
        return f"{quoted}={shown}{unit};{warn};{crit};0"
    return f"{quoted}={shown};;;0"


def _plain(text: str) -> str:
    return escape_text(text).replace("|", "/")


def _status(
    view: InstanceView | None, now_us: int, settings: RuleSettings
) -> tuple[int, str, dict[str, float | None]]:
    age = None
    if view is not None and view.last_round_at_us is not None:
        age = max(0, now_us - view.last_round_at_us) / US
    perfdata: dict[str, float | None] = {
        "rounds_per_min": round(view.round_rate_1m, 2) if view is not None else None,
        "last_round_age": None if age is None else round(age, 3),
    }
    if view is None or not has_entries(view):
        # No view at all: the engine holds one only because check started its watch, and
        # the alerts of that watch (a stall counted from --since) are about nothing seen.
        return UNKNOWN, "no entries for this instance in the journal over the period", perfdata
    facts = []
    if view.last_round is not None and age is not None:
        facts.append(f"last round {view.last_round} {age:.0f}s ago")
    facts.append(f"{view.round_rate_1m:.1f} rounds/min")
    if view.leader:
        facts.append(f"leader {view.leader}")
    # Firing alerts decide first: whatever else is unknown, they are known.
    firing = [a for a in view.active_alerts if a.state == "firing"]
    if firing:
        code = CRITICAL if any(a.severity == "critical" for a in firing) else WARNING
        alerts = "; ".join(
            f"{a.alert} since {format_time(a.since_us)} ({a.summary})" for a in firing
        )
        return code, f"{alerts} - {', '.join(facts)}", perfdata
    if view.round_period_s is None and view.last_round is None:
        # Without P the stall rule has no window, and no round was seen: OK would be a guess.
        return (
            UNKNOWN,
            "round period unknown and no round finalized over the period "
            "(set --round-period or [rules] round_period)",
            perfdata,
        )
    return OK, ", ".join(facts), perfdata
