"""The post-incident report as one self-contained HTML page (Jinja2 template, hand-made SVG)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import jinja2

from logwatch.config import runbook_url
from logwatch.escape import escape_text
from logwatch.sinks.html_charts import Axis, Chart, TimeScale, instance_chart, to_us
from logwatch.times import US
from logwatch.words import duration

TEXT_LIMIT = 2000  # characters of one log-derived text shown: hostile text stays bounded
NAME_LIMIT = 200
CHANGES_SHOWN = 20


@dataclass(frozen=True, slots=True)
class AlertRow:
    alert: str
    severity: str
    host: str
    since: str
    firing: str
    resolved: str
    fired_for: str
    summary: str
    cause: str
    evidence: tuple[str, ...]
    runbook: str
    runbook_is_link: bool


@dataclass(frozen=True, slots=True)
class InstancePage:
    name: str
    anchor: str
    facts: tuple[tuple[str, str], ...]
    chart: Chart
    alerts: tuple[AlertRow, ...]
    alerts_dropped: int
    episodes: tuple[tuple[str, str, str, str, str], ...]
    episodes_dropped: int
    changes: tuple[tuple[str, str, str], ...]
    changes_dropped: int
    skews: tuple[tuple[str, str, str, str], ...]


def _safe(value: object, limit: int = TEXT_LIMIT) -> str:
    # Jinja escapes HTML; this makes control, escape and bidi characters visible.
    return escape_text(str(value), limit=limit)


class Clock:
    """Times as the page shows them: `10:05:59.000`, the date only when it is not the
    capture's first day."""

    def __init__(self, first: str | None) -> None:
        self.day = first[:10] if first else ""

    def __call__(self, at: str | None) -> str:
        if not at:
            return "-"
        shown = at[11:23]
        return shown if at[:10] == self.day else f"{at[:10]} {shown}"


def _alert_rows(
    inst: dict[str, Any], clock: Clock, runbook_base: str | None
) -> tuple[AlertRow, ...]:
    rows = []
    for a in inst["alerts"]:
        fired = a.get("firing_at")
        held = duration(a.get("seconds"))
        if fired and a.get("resolved_at") is None:
            held += " (still firing at the end)"
        evidence = tuple(
            f"{clock(e['at'])} {_safe(e['host'], NAME_LIMIT)}: {_safe(e['text'])}"
            for e in a.get("evidence", ())
        )
        rows.append(
            AlertRow(
                alert=a["alert"],
                severity=a["severity"],
                host=_safe(a.get("host", ""), NAME_LIMIT),
                since=clock(a.get("pending_at") or fired),
                firing=clock(fired) if fired else "never (pending only)",
                resolved=clock(a.get("resolved_at")) if a.get("resolved_at") else "not resolved",
                fired_for=held if fired else "-",
                summary=_safe(a.get("summary", "")),
                cause=(a.get("cause") or "").replace("_", " "),
                evidence=evidence,
                runbook=runbook_url(a["alert"], runbook_base),
                runbook_is_link=runbook_base is not None,
            )
        )
    return tuple(rows)


def _facts(inst: dict[str, Any], clock: Clock) -> tuple[tuple[str, str], ...]:
    rounds, leaders, clients = inst["rounds"], inst["leaders"], inst["clients"]
    watched = inst.get("watch_s", 0.0)
    last = rounds.get("last")
    facts = [
        (
            "rounds",
            f"{rounds['finalized']} finalized"
            + ("" if last is None else f", the last {last} at {clock(rounds.get('last_at'))}"),
        ),
        ("watched", f"{duration(watched)} from {clock(inst['watch_start'])}"),
    ]
    rate = f"{rounds.get('overall_per_min', 0):.1f}/min over the {duration(watched)} watched"
    window = rounds.get("rate_window_s") or 0
    if window and window < watched:
        rate += f"; {rounds.get('rate_per_min', 0):.1f}/min in the last {duration(window)}"
    facts.append(("rate", rate))
    period = rounds.get("period_s")
    if period is None:
        facts.append(("round period", "not known (too few rounds to estimate it)"))
    else:
        how = " (estimated from the rounds seen)" if rounds.get("period_estimated") else ""
        facts.append(("round period", f"{period:g}s{how}; W = {rounds.get('window_s'):g}s"))
    gap = rounds.get("longest_gap")
    if gap:
        still = " (still going at the end)" if gap["open"] else ""
        facts.append(("longest gap", f"{duration(gap['seconds'])} from {clock(gap['at'])}{still}"))
    seen = ", ".join(_safe(h, NAME_LIMIT) for h in leaders["seen"]) or "none seen"
    now = leaders.get("now")
    facts.append(("leaders", seen + (f"; {_safe(now, NAME_LIMIT)} at the end" if now else "")))
    facts.append(("clients", f"{clients['registered']} registered, {clients['active']} active"))
    low, high = inst["participants"]["min"], inst["participants"]["max"]
    if low is not None:
        facts.append(("participants", f"{low} to {high} per round"))
    return tuple(facts)


def _instance_page(
    inst: dict[str, Any],
    index: int,
    scale: TimeScale,
    axis: Axis | None,
    end_us: int,
    clock: Clock,
    runbook_base: str | None,
) -> InstancePage:
    leaders = inst["leaders"]
    episodes = tuple(
        (
            clock(e["from"]),
            clock(e["to"]) if e["to"] else "still split at the end",
            clock(e["fired_at"]) if e["fired_at"] else "never (pending only)",
            ", ".join(_safe(h, NAME_LIMIT) for h in e["leaders"]),
            str(e["changes"]),
        )
        for e in leaders.get("split_episodes", ())
    )
    shown = leaders["changes"][-CHANGES_SHOWN:]
    changes = tuple(
        (clock(c["at"]), _safe(c["from"] or "-", NAME_LIMIT), _safe(c["to"], NAME_LIMIT))
        for c in shown
    )
    skews = tuple(
        (
            _safe(a.get("host", ""), NAME_LIMIT),
            f"{a.get('values', {}).get('offset_s', 0):+.1f}s",
            clock(a.get("firing_at")),
            clock(a.get("resolved_at")) if a.get("resolved_at") else "not back in line",
        )
        for a in inst["alerts"]
        if a["alert"] == "clock_skew" and a.get("firing_at")
    )
    return InstancePage(
        name=_safe(inst["instance"], NAME_LIMIT),
        anchor=f"instance-{index}",
        facts=_facts(inst, clock),
        chart=instance_chart(inst, scale, axis, end_us),
        alerts=_alert_rows(inst, clock, runbook_base),
        alerts_dropped=inst.get("alerts_dropped", 0),
        episodes=episodes,
        episodes_dropped=leaders.get("split_episodes_dropped", 0),
        changes=changes,
        changes_dropped=len(leaders["changes"]) - len(shown) + leaders.get("changes_dropped", 0),
        skews=skews,
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("logwatch", "sinks/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _version() -> str:
    try:
        return version("logwatch")
    except PackageNotFoundError:
        return "unknown version"


def render_html(report: dict[str, Any], *, runbook_base: str | None = None) -> str:
    """The report (report_content.build_report) as one HTML page: inline CSS and SVG, no
    script, nothing loaded from anywhere; prints on A4."""
    span = report["span"]
    clock = Clock(span.get("from"))
    start = to_us(span["from"]) if span.get("from") else 0
    end = to_us(span["to"]) if span.get("to") else start
    scale = TimeScale(start, end)
    axis_json = report.get("axis") or {}
    axis = None
    if axis_json.get("from"):
        axis = Axis(to_us(axis_json["from"]), round(axis_json["bin_s"] * US))
    instances = [
        _instance_page(inst, i, scale, axis, end, clock, runbook_base)
        for i, inst in enumerate(report["instances"], 1)
    ]
    read = report["read"]
    window = report.get("window") or {}
    template = _environment().get_template("report.html.jinja")
    return template.render(
        span_text=(
            f"{span['from'][:10]} {clock(span['from'])} to {clock(span['to'])} UTC "
            f"({duration(span['seconds'])})"
            if span.get("from")
            else "no entries"
        ),
        instances=instances,
        read=read,
        matched=sum(read["matched"].values()),
        unreadable=[(_safe(reason, NAME_LIMIT), n) for reason, n in read["unreadable"].items()],
        since=window.get("since"),
        until=window.get("until"),
        notes=[_safe(n) for n in report.get("notes", ())],
        bin_text=duration(axis_json.get("bin_s")) if axis is not None else "",
        version=_version(),
    )
