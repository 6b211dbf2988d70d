"""The HTML report's pictures as shapes on one time axis, for the template to draw as SVG."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from logwatch.escape import escape_text
from logwatch.times import US

WIDTH = 1000
LEFT = 170  # the row labels' gutter
RIGHT = 990
TICKS_H = 16
RATE_H = 46
BAND_H = 10
HEAT_MAX_H = 64
ROW_H = 12
ROW_GAP = 3
PANEL_GAP = 10
LABEL_CHARS = 26
TITLE_CHARS = 500
RATE_STEP_S = 30
RATE_STEPS = 120
TICK_STEPS_S = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 86400)
MAX_TICKS = 8


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: str = ""
    opacity: float | None = None


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    cls: str = ""
    anchor: str = "start"


@dataclass(slots=True)
class Chart:
    """One instance's picture: shapes in a WIDTH-wide coordinate space, `height` high."""

    height: float = 0.0
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    width: int = WIDTH


def to_us(text: str) -> int:
    """µs of an RFC 3339 time as the report writes it."""
    return round(datetime.fromisoformat(text).timestamp() * US)


def _short(text: str) -> str:
    return (
        escape_text(text, limit=LABEL_CHARS - 1) if len(text) >= LABEL_CHARS else escape_text(text)
    )


def _text(text: str) -> str:
    """Log-derived text for a tooltip: control, escape and bidi characters made visible."""
    return escape_text(text, limit=TITLE_CHARS)


class TimeScale:
    """Event time → x, over the capture's span."""

    def __init__(self, start_us: int, end_us: int) -> None:
        self.start_us = start_us
        self.end_us = max(end_us, start_us + US)

    def x(self, at_us: int) -> float:
        at = min(max(at_us, self.start_us), self.end_us)
        return LEFT + (at - self.start_us) / (self.end_us - self.start_us) * (RIGHT - LEFT)

    def ticks(self) -> list[tuple[int, str]]:
        """Round times across the span, at most MAX_TICKS, labelled HH:MM (HH:MM:SS when
        seconds matter)."""
        span_s = (self.end_us - self.start_us) / US
        step = next((s for s in TICK_STEPS_S if span_s / s <= MAX_TICKS), TICK_STEPS_S[-1])
        first = -(-self.start_us // (step * US)) * step * US
        fmt = "%H:%M:%S" if step < 60 else "%H:%M"
        return [
            (t, datetime.fromtimestamp(t / US, UTC).strftime(fmt))
            for t in range(first, self.end_us + 1, step * US)
        ]


@dataclass(frozen=True, slots=True)
class Axis:
    """The report's bins: where bin 0 starts, and how wide each is."""

    origin_us: int
    width_us: int

    def bin(self, i: int) -> tuple[int, int]:
        start = self.origin_us + i * self.width_us
        return start, start + self.width_us


def instance_chart(inst: dict[str, Any], scale: TimeScale, axis: Axis | None, end_us: int) -> Chart:
    """The picture of one instance of the report (report_content.instance_report)."""
    chart = Chart()
    chart.height = TICKS_H
    top = chart.height
    timeline = inst.get("timeline") or {}
    if axis is not None and timeline:
        watch = (to_us(inst["watch_start"]), end_us)
        _rates(chart, scale, axis, timeline["rounds"], watch)
        _heatmap(chart, scale, axis, timeline["participants"])
        _committee(chart, scale, axis, timeline["servers"])
    _alerts(chart, scale, inst["alerts"], end_us)
    for t, text in scale.ticks():
        x = scale.x(t)
        chart.lines.append(Line(x, top - 2, x, chart.height, "grid"))
        anchor = "end" if x > RIGHT - 20 else "start" if x < LEFT + 20 else "middle"
        chart.labels.append(Label(x, TICKS_H - 5, text, "tick", anchor))
    return chart


def _rates(
    chart: Chart,
    scale: TimeScale,
    axis: Axis,
    rounds: list[int],
    watch: tuple[int, int],
) -> None:
    top = chart.height + 4
    base = top + RATE_H
    # A rate over a few seconds flickers with the rounds that fall in it: steps of at
    # least RATE_STEP_S, and at most RATE_STEPS of them.
    k = 1
    span_us = scale.end_us - scale.start_us
    while k * axis.width_us < RATE_STEP_S * US or span_us / (k * axis.width_us) > RATE_STEPS:
        k *= 2
    steps: list[tuple[int, int, float | None]] = []
    for j in range(0, len(rounds), k):
        start, end = axis.bin(j)[0], axis.bin(min(j + k, len(rounds)) - 1)[1]
        seen_s = (min(end, watch[1]) - max(start, watch[0])) / US
        # A step the watch barely touches says nothing about the rate.
        count = sum(rounds[j : j + k])
        steps.append((start, end, count * 60 / seen_s if seen_s >= 1 else None))
    peak = max((r for _, _, r in steps if r is not None), default=0.0)
    for start, end, rate in steps:
        if rate is None:
            continue
        x1, x2 = scale.x(start), scale.x(end)
        if x2 - x1 <= 0:
            continue
        if rate == 0:
            chart.rects.append(Rect(x1, base - 3, x2 - x1, 3, "none", "no round finalized"))
            continue
        h = rate / peak * RATE_H if peak else 0.0
        chart.rects.append(Rect(x1, base - h, x2 - x1, h, "rate", f"{rate:.1f} rounds/min"))
    chart.lines.append(Line(LEFT, base, RIGHT, base, "baseline"))
    chart.labels.append(Label(LEFT - 6, top + 10, "rounds / min", "row", "end"))
    chart.labels.append(Label(LEFT - 6, top + 22, f"peak {peak:.1f}", "note", "end"))
    chart.height = base + PANEL_GAP


def _heatmap(chart: Chart, scale: TimeScale, axis: Axis, participants: dict[str, Any]) -> None:
    bins: list[list[int]] = participants["bins"]
    width = participants["band_width"]
    used = [b for b in range(len(bins[0]) if bins else 0) if any(row[b] for row in bins)]
    if not used:
        return
    top_band = max(*used, 1)
    h = min(BAND_H, HEAT_MAX_H / (top_band + 1))
    top = chart.height
    base = top + h * (top_band + 1)
    for i, row in enumerate(bins):
        total = sum(row)
        if not total:
            continue
        start, end = axis.bin(i)
        x1, x2 = scale.x(start), scale.x(end)
        for band, count in enumerate(row[: top_band + 1]):
            if not count:
                continue
            low, high = (0, 0) if band == 0 else ((band - 1) * width + 1, band * width)
            what = "0 participants" if band == 0 else f"{low}–{high} participants"
            if low == high and band:
                what = f"{low} participant{'' if low == 1 else 's'}"
            y = base - (band + 1) * h
            rounds = f"{count} round{'' if count == 1 else 's'}"
            cls = "p0" if band == 0 else "pn"
            chart.rects.append(
                Rect(x1, y, x2 - x1, h, cls, f"{rounds} with {what}", 0.2 + 0.8 * count / total)
            )
    chart.lines.append(Line(LEFT, base, RIGHT, base, "baseline"))
    chart.labels.append(Label(LEFT - 6, top + 9, "participants", "row", "end"))
    chart.labels.append(Label(LEFT - 6, top + 20, f"0 to {top_band * width}", "note", "end"))
    chart.height = base + PANEL_GAP


def _committee(chart: Chart, scale: TimeScale, axis: Axis, servers: dict[str, Any]) -> None:
    if not servers:
        return
    n = max(len(s["leads"]) for s in servers.values())
    leading = [sum(1 for s in servers.values() if s["leads"][i]) for i in range(n)]
    y = chart.height
    chart.labels.append(Label(LEFT - 6, y + 9, "committee", "head", "end"))
    y += ROW_H + ROW_GAP
    for host, track in servers.items():
        chart.labels.append(Label(LEFT - 6, y + ROW_H - 3, _short(host), "row", "end"))
        shown = _text(host)
        for i in range(n):
            start, end = axis.bin(i)
            x1, x2 = scale.x(start), scale.x(end)
            if track["leads"][i]:
                cls = "split" if leading[i] >= 2 else "lead"
                title = f"{shown} says it leads" + (" (so does another)" if cls == "split" else "")
            elif track["writes"][i]:
                cls, title = "follow", f"{shown} takes part"
            else:
                continue
            chart.rects.append(Rect(x1, y, x2 - x1, ROW_H, cls, title))
        y += ROW_H + ROW_GAP
    chart.height = y + PANEL_GAP - ROW_GAP


def _alerts(chart: Chart, scale: TimeScale, alerts: list[dict[str, Any]], end_us: int) -> None:
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in alerts:
        rows.setdefault((a["alert"], a.get("host", "")), []).append(a)
    if not rows:
        return
    y = chart.height
    chart.labels.append(Label(LEFT - 6, y + 9, "alerts", "head", "end"))
    y += ROW_H + ROW_GAP
    for (alert, host), episodes in rows.items():
        name = f"{alert} {host}" if host else alert
        chart.labels.append(Label(LEFT - 6, y + ROW_H - 3, _short(name), "row", "end"))
        for a in episodes:
            stop = to_us(a["resolved_at"]) if a["resolved_at"] else end_us
            fired = to_us(a["firing_at"]) if a["firing_at"] else None
            if a["pending_at"]:
                pending = to_us(a["pending_at"])
                until = fired if fired is not None else stop
                x1, x2 = scale.x(pending), scale.x(until)
                title = f"{alert} pending from {a['pending_at']}: {_text(a['summary'])}"
                chart.rects.append(Rect(x1, y, max(x2 - x1, 1.5), ROW_H, "pending", title))
            if fired is not None:
                x1, x2 = scale.x(fired), scale.x(stop)
                title = f"{alert} firing from {a['firing_at']}: {_text(a['summary'])}"
                cls = f"firing-{a['severity']}"
                chart.rects.append(Rect(x1, y, max(x2 - x1, 1.5), ROW_H, cls, title))
        y += ROW_H + ROW_GAP
    chart.height = y + PANEL_GAP - ROW_GAP
