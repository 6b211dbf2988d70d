"""The post-incident report's content: engine views and the read tally as one JSON object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from logwatch.engine import AlertTransition, InstanceView
from logwatch.pipeline import Tally
from logwatch.sinks.report_history import ReportHistory
from logwatch.times import US, format_time

RATE_WINDOW_S = 600.0
"""The window of the engine's recent round rate (InstanceView.round_rate_10m)."""


def _at(us: int | None) -> str | None:
    return None if us is None else format_time(us)


def alert_episodes(timeline: Sequence[AlertTransition], end_us: int) -> list[dict[str, Any]]:
    """Each alert's pending → firing → resolved run as one row (one per host for an alert
    labelled with one, as clock_skew is); `seconds` is how long it fired (up to `end_us`
    when still firing at the end). A firing row carries its cause and evidence when the
    rule names them, and its numbers (`values`)."""
    open_runs: dict[tuple[str, str | None], dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for t in timeline:
        host = t.labels.get("host")
        key = (t.alert, host)
        run = open_runs.get(key)
        if run is None:
            run = {
                "alert": t.alert,
                "severity": t.severity,
                "pending_at": None,
                "firing_at": None,
                "resolved_at": None,
                "seconds": None,
                "summary": t.summary,
                "_firing_us": None,
            }
            if host is not None:
                run["host"] = host
            open_runs[key] = run
            rows.append(run)
        if t.state == "pending":
            run["pending_at"] = format_time(t.at_us)
            run["values"] = dict(t.values)
        elif t.state == "firing":
            run["firing_at"] = format_time(t.at_us)
            run["_firing_us"] = t.at_us
            run["summary"] = t.summary
            run["values"] = dict(t.values)
            if t.cause is not None:
                run["cause"] = t.cause
                run["evidence"] = [e.to_json() for e in t.evidence]
        else:
            run["resolved_at"] = format_time(t.at_us)
            if run["_firing_us"] is not None:
                run["seconds"] = (t.at_us - run["_firing_us"]) / US
            del open_runs[key]
    for run in open_runs.values():
        if run["_firing_us"] is not None:
            run["seconds"] = (end_us - run["_firing_us"]) / US
    for row in rows:
        del row["_firing_us"]
    return rows


def instance_report(view: InstanceView, history: ReportHistory) -> dict[str, Any]:
    """One instance's part of the report."""
    gap = view.longest_gap
    series = [
        {
            "from": format_time(b.start_us),
            "to": format_time(b.end_us),
            "first_round": b.first_round,
            "last_round": b.last_round,
            "rounds": b.rounds,
            "min": b.low,
            "max": b.high,
            "mean": round(b.mean, 2),
        }
        for b in view.participants_series
    ]
    watched_s = max((view.at_us - view.watch_start_us) / US, 0.0)
    leadership = history.instance(view.instance)
    changes, episodes, changes_dropped, episodes_dropped = leadership.leadership()
    return {
        "instance": view.instance,
        "watch_start": format_time(view.watch_start_us),
        "watch_s": watched_s,
        "rounds": {
            "finalized": view.rounds_finalized,
            "last": view.last_round,
            "last_at": _at(view.last_round_at_us),
            "rate_per_min": round(view.round_rate_10m, 2),
            "rate_window_s": min(RATE_WINDOW_S, max(watched_s, 1.0)),
            "overall_per_min": round(view.rounds_finalized * 60 / max(watched_s, 1.0), 2),
            "period_s": view.round_period_s,
            "period_estimated": view.round_period_estimated,
            "window_s": view.window_s,
            "longest_gap": None
            if gap is None
            else {"at": format_time(gap.start_us), "seconds": gap.length_us / US, "open": gap.open},
        },
        "leaders": {
            "now": view.leader,
            "seen": sorted(leadership.seen),
            "changes": [
                {"at": format_time(c.at_us), "from": c.from_host, "to": c.to_host} for c in changes
            ],
            "changes_dropped": changes_dropped,
            "split_episodes": [e.to_json() for e in episodes],
            "split_episodes_dropped": episodes_dropped,
        },
        "servers": [s.host for s in view.servers],
        "clients": {"registered": view.clients_registered, "active": view.clients_active},
        "participants": {
            "series": series,
            "min": min((b.low for b in view.participants_series), default=None),
            "max": max((b.high for b in view.participants_series), default=None),
        },
        "timeline": history.timeline_json(view.instance),
        "alerts": alert_episodes(view.timeline, view.at_us),
        "alerts_dropped": view.timeline_dropped,
    }


def build_report(
    views: Sequence[InstanceView], tally: Tally, notes: Sequence[str], history: ReportHistory
) -> dict[str, Any]:
    """The whole report: time span, instances, what was read, notes."""
    first, last = tally.first_us, tally.last_us
    return {
        "type": "report",
        "span": {
            "from": _at(first),
            "to": _at(last),
            "seconds": None if first is None or last is None else (last - first) / US,
        },
        "axis": history.axis_json(),
        "instances": [instance_report(v, history) for v in views],
        "read": tally.to_json(),
        "notes": list(notes),
    }
