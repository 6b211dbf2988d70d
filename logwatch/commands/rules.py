"""`logwatch rules`: the active rules, their thresholds for this P and D, and their sources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logwatch.commands.common import active_rules
from logwatch.config import load_config
from logwatch.engine import RuleSettings
from logwatch.engine.alerts import SEVERITY
from logwatch.rule_settings import Setting
from logwatch.sinks.json_output import dumps
from logwatch.times import US


@dataclass(frozen=True, slots=True)
class _Words:
    condition: str
    resolves: str


def _window(settings: RuleSettings) -> tuple[str, float | None]:
    """W in words and seconds: `W = 7s`, or the fallback window while P is unknown."""
    period_us = settings.period_us
    if period_us is None:
        return f"W (3P + D; {_s(settings.fallback_window_s)} until P is known)", None
    w = settings.window_us(period_us) / US
    return f"W = {_s(w)}", w


def _conditions(settings: RuleSettings) -> dict[str, _Words]:
    """Each alert's condition in words, with this run's numbers in it."""
    w, _ = _window(settings)
    hold = _s(settings.split_brain_for_s)
    expect = (
        f"{settings.expect_clients} clients expected (--expect-clients)"
        if settings.expect_clients is not None
        else "clients expected (registrations or envelopes seen)"
    )
    aggregator = (
        "from the watch start"
        if settings.expect_aggregator
        else "once the instance's aggregator has been seen"
    )
    return {
        "round_stall": _Words(
            f"no round finalized for {w} since the last one or the watch start",
            "the next round finalized",
        ),
        "split_brain": _Words(
            f"two or more servers act as leader within {w}, held for {hold}; at once on "
            "'rival group leader detected' or one round finalized by two servers",
            f"one leader only for {w}",
        ),
        "participants_zero": _Words(
            f"0 participants in {settings.participants_zero_rounds} consecutive rounds "
            f"while {expect}",
            "a round with participants",
        ),
        "participants_low": _Words(
            "participants below half of the clients active in the last W for "
            f"{settings.participants_low_rounds} rounds",
            "a round back above half",
        ),
        "aggregator_silent": _Words(
            f"no forwarded aggregate for {w} while the instance is alive, armed {aggregator}",
            "the next forwarded aggregate",
        ),
        "round_regression": _Words(
            "a round number repeats or goes backwards (restart or fork)",
            "the next round in order",
        ),
        "clock_skew": _Words(
            "a host's clock is off by more than the tolerance against what the other hosts "
            "agree on",
            "the host is back in line",
        ),
        "no_data": _Words(
            f"an instance named on the command line has no entries for {w}",
            "an entry of the instance",
        ),
    }


def run_rules(
    *,
    round_period: str | None,
    round_deadline: str | None,
    expect_clients: int | None,
    output: str,
    config_path: Path | None,
) -> None:
    """Print the rules and settings the options, environment and config file make."""
    active = active_rules(load_config(config_path), round_period, round_deadline, expect_clients)
    settings = active.settings
    words = _conditions(settings)
    rows = [
        {
            "alert": name,
            "severity": severity,
            "condition": words[name].condition if name in words else "see docs/alerts.md",
            "resolves": words[name].resolves if name in words else "see docs/alerts.md",
        }
        for name, severity in SEVERITY.items()
    ]
    described = active.describe()
    w_text, w_s = _window(settings)
    deadline = settings.round_deadline_s
    if deadline is None and settings.round_period_s is not None:
        deadline = settings.round_period_s
    if output == "json":
        print(
            dumps(
                {
                    "type": "rules",
                    "round_period_s": settings.round_period_s,
                    "round_deadline_s": deadline,
                    "window_s": w_s,
                    "rules": rows,
                    "settings": [_setting_json(s) for s in described],
                }
            )
        )
        return
    p = "estimated from the rounds seen" if settings.round_period_s is None else "set"
    head = [
        f"P = {_value(settings.round_period_s, 'duration')} ({p}), "
        f"D = {_value(deadline, 'duration')}, {w_text.replace('W = ', 'W = 3P + D = ')}",
        "",
    ]
    width = max(len(r["alert"]) for r in rows)
    body = [
        f"{r['alert']:<{width}}  {r['severity']:<8}  {r['condition']}\n"
        f"{'':<{width}}  {'':<8}  resolves: {r['resolves']}"
        for r in rows
    ]
    key_width = max(len(s.key) for s in described)
    value_width = max(len(_value(s.value, s.kind)) for s in described)
    tail = ["", "settings (config.toml [rules]; docs/config.md):"] + [
        f"  {s.key:<{key_width}}  {_value(s.value, s.kind):<{value_width}}  "
        f"{s.source:<7}  {s.meaning}"
        for s in described
    ]
    print("\n".join(head + body + tail))


def _setting_json(s: Setting) -> dict[str, Any]:
    return {
        "key": s.key,
        "value": s.value,
        "kind": s.kind,
        "source": s.source,
        "meaning": s.meaning,
    }


def _value(value: object, kind: str) -> str:
    if value is None:
        return "unset"
    if kind == "duration" and isinstance(value, int | float):
        return _s(float(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _s(seconds: float) -> str:
    return f"{seconds:g}s"
