"""The post-incident report's content: engine views and the read tally as one JSON object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from logwatch.engine import AlertTransition, InstanceView
from logwatch.pipeline import Tally
from logwatch.times import US, format_time


def _at(us: int | None) -> str | None:
    return None if us is None else format_time(us)


def alert_episodes(timeline: Sequence[AlertTransition], end_us: int) -> list[dict[str, Any]]:
    """Each alert's pending → firing → resolved run as one row; `seconds` is how long it
    fired (up to `end_us` when still firing at the end)."""
    open_runs: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for t in timeline:
        run = open_runs.get(t.alert)
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
            open_runs[t.alert] = run
            rows.append(run)
        if t.state == "pending":
            run["pending_at"] = format_time(t.at_us)
        elif t.state == "firing":
            run["firing_at"] = format_time(t.at_us)
            run["_firing_us"] = t.at_us
            run["summary"] = t.summary
        else:
            run["resolved_at"] = format_time(t.at_us)
            if run["_firing_us"] is not None:
                run["seconds"] = (t.at_us - run["_firing_us"]) / US
            del open_runs[t.alert]
    for run in open_runs.values():
        if run["_firing_us"] is not None:
            run["seconds"] = (end_us - run["_firing_us"]) / US
    for row in rows:
        del row["_firing_us"]
    return rows


def instance_report(view: InstanceView) -> dict[str, Any]:
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
    return {
        "instance": view.instance,
        "watch_start": format_time(view.watch_start_us),
        "rounds": {
            "finalized": view.rounds_finalized,
            "last": view.last_round,
            "last_at": _at(view.last_round_at_us),
            "rate_per_min": round(view.round_rate_10m, 2),
            "period_s": view.round_period_s,
            "period_estimated": view.round_period_estimated,
            "window_s": view.window_s,
            "longest_gap": None
            if gap is None
            else {"at": format_time(gap.start_us), "seconds": gap.length_us / US, "open": gap.open},
        },
        "leaders": {
            "now": view.leader,
            "seen": sorted({c.to_host for c in view.leader_changes}),
            "changes": [
                {"at": format_time(c.at_us), "from": c.from_host, "to": c.to_host}
                for c in view.leader_changes
            ],
            "changes_dropped": view.leader_changes_dropped,
        },
        "servers": [s.host for s in view.servers],
        "clients": {"registered": view.clients_registered, "active": view.clients_active},
        "participants": {
            "series": series,
            "min": min((b.low for b in view.participants_series), default=None),
            "max": max((b.high for b in view.participants_series), default=None),
        },
        "alerts": alert_episodes(view.timeline, view.at_us),
        "alerts_dropped": view.timeline_dropped,
    }


def build_report(
    views: Sequence[InstanceView], tally: Tally, notes: Sequence[str]
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
        "instances": [instance_report(v) for v in views],
        "read": tally.to_json(),
        "notes": list(notes),
    }
