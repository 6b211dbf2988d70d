"""The post-incident report: the replay's report object rendered for a terminal with rich."""

from __future__ import annotations

from typing import Any, Literal

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from logwatch.config import runbook_url
from logwatch.escape import escape_text
from logwatch.words import counted, duration

BLOCKS = "▁▂▃▄▅▆▇█"
ZERO = "·"  # an empty round stands out from a merely small one
LEADER_CHANGES_SHOWN = 5
SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow"}
PANEL_FRAME = 4  # "│ " and " │"
FACT_LABEL = len("participants") + 2  # the widest fact's name and the gap after it
SUMMARY_WHOLE = 2000  # characters of a summary kept when wrapping: hostile text stays bounded


def sparkline(values: list[float | None], top: float | None = None) -> Text:
    """One character per value, scaled to `top` (default: the largest); zero is `·` in red,
    a gap (None) a space."""
    peak = top if top else max((v for v in values if v is not None), default=0.0)
    out = Text()
    for v in values:
        if v is None:
            out.append(" ")
        elif v <= 0:
            out.append(ZERO, style="bold red")
        else:
            level = min(len(BLOCKS) - 1, int(v / peak * (len(BLOCKS) - 1))) if peak else 0
            out.append(BLOCKS[level], style="green" if level >= 3 else "yellow")
    return out


def _safe(value: object, limit: int = 120) -> Text:
    # Text never parses markup; escape_text removes control and bidi characters.
    return Text(escape_text(str(value), limit=limit))


def _columns(series: list[dict[str, Any]], width: int) -> list[float | None]:
    """The participants series squeezed into at most `width` marks, oldest first: each
    mark the mean of its buckets' rounds, or 0 when one of its rounds had none."""
    groups: list[list[dict[str, Any]]] = [[] for _ in range(min(width, len(series)))]
    for i, bucket in enumerate(series):
        groups[i * len(groups) // len(series)].append(bucket)
    marks: list[float | None] = []
    for group in groups:
        rounds = sum(b["rounds"] for b in group)
        empty = any(b["min"] == 0 for b in group)
        marks.append(0.0 if empty else sum(b["mean"] * b["rounds"] for b in group) / rounds)
    return marks


def _short_time(at: str | None) -> str:
    # RFC 3339 → "10:05:07.123" keeps the columns narrow; the date is in the header.
    if not at:
        return "-"
    return at[11:23]


def _period_text(rounds: dict[str, Any]) -> str:
    period = rounds.get("period_s")
    if period is None:
        return "not known (too few rounds to estimate it)"
    if rounds.get("period_estimated"):
        return f"{period:g}s (estimated from the rounds seen)"
    return f"{period:g}s"


def _rate_text(inst: dict[str, Any]) -> str:
    """Every rate with its window: over the whole watch, and over its last 10 minutes."""
    rounds, watched = inst["rounds"], inst.get("watch_s", 0.0)
    text = f"{rounds.get('overall_per_min', 0):.1f}/min over the {duration(watched)} watched"
    window = rounds.get("rate_window_s", 0.0)
    if window and window < watched:
        text += f", {rounds.get('rate_per_min', 0):.1f}/min in the last {duration(window)}"
    return text


def _leader_facts(leaders: dict[str, Any]) -> Text:
    changed = len(leaders["changes"]) + leaders.get("changes_dropped", 0)
    episodes = len(leaders.get("split_episodes", [])) + leaders.get("split_episodes_dropped", 0)
    words = [counted(changed, "change") if changed else "no change"]
    if episodes:
        words.append(counted(episodes, "split episode"))
    return _safe(", ".join(leaders["seen"]) or "-") + Text(f"  ({', '.join(words)})")


def _alert_times(a: dict[str, Any]) -> tuple[str, str, str]:
    """(since, firing, for): when it began (pending since, for a held alert), when it
    fired, and for how long (`+`: still firing at the end)."""
    since = _short_time(a.get("pending_at") or a.get("firing_at"))
    if not a.get("firing_at"):
        return since, "pending", "-"
    held = duration(a.get("seconds")) + ("+" if a.get("resolved_at") is None else "")
    return since, _short_time(a["firing_at"]), held


def _instance_panel(inst: dict[str, Any], width: int, whole: bool = False) -> Panel:
    rounds = inst["rounds"]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    last = rounds.get("last")
    facts.add_row(
        "rounds",
        f"{rounds['finalized']} finalized" + ("" if last is None else f", last {last}"),
    )
    facts.add_row("rate", _rate_text(inst))
    facts.add_row("round period", _period_text(rounds))
    gap = rounds.get("longest_gap")
    if gap:
        facts.add_row(
            "longest gap",
            Text(f"{duration(gap['seconds'])} from {_short_time(gap['at'])}"),
        )
    leaders = inst["leaders"]
    facts.add_row("leaders", _leader_facts(leaders))
    clients = inst["clients"]
    facts.add_row("clients", f"{clients['registered']} registered, {clients['active']} active")
    series = inst["participants"]["series"]
    if series:
        span = Text(f" {inst['participants']['min']}–{inst['participants']['max']}")
        # The whole capture on one line next to its range, so an early incident stays in view.
        room = width - PANEL_FRAME - FACT_LABEL - span.cell_len
        facts.add_row("participants", sparkline(_columns(series, max(10, room))) + span)
    parts: list[RenderableType] = [facts]
    # On a terminal a row is cut to the screen; in a file or a pipe (an incident ticket)
    # it wraps, so the text is whole.
    overflow: Literal["fold", "ellipsis"] = "fold" if whole else "ellipsis"
    limit = SUMMARY_WHOLE if whole else 120
    if leaders.get("split_episodes"):
        splits = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
        splits.add_column("split episode", no_wrap=True, min_width=13)
        splits.add_column("until", no_wrap=True, min_width=12)
        splits.add_column("leaders", overflow=overflow, no_wrap=not whole)
        splits.add_column("changes", no_wrap=True, justify="right")
        if leaders.get("split_episodes_dropped"):
            splits.add_row(f"(+{leaders['split_episodes_dropped']} earlier)", "", "", "")
        for e in leaders["split_episodes"]:
            splits.add_row(
                _short_time(e["from"]),
                _short_time(e["to"]) if e["to"] else "the end",
                _safe(", ".join(e["leaders"]), limit=limit),
                str(e["changes"]),
            )
        parts.append(splits)
    if leaders["changes"]:
        changes = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
        changes.add_column("leader change", no_wrap=True, min_width=13)
        changes.add_column("from", overflow=overflow, no_wrap=not whole)
        changes.add_column("to", overflow=overflow, no_wrap=not whole)
        shown = leaders["changes"][-LEADER_CHANGES_SHOWN:]
        dropped = len(leaders["changes"]) - len(shown) + leaders.get("changes_dropped", 0)
        if dropped:
            changes.add_row(f"(+{dropped} earlier)", "", "")
        for c in shown:
            changes.add_row(_short_time(c["at"]), _safe(c["from"] or "-"), _safe(c["to"]))
        parts.append(changes)
    if inst["alerts"]:
        alerts = Table(box=None, pad_edge=False, show_header=True, header_style="dim", expand=True)
        alerts.add_column("alert", no_wrap=True, min_width=17)
        # When an alert was held, when it began; without one the column is the firing one.
        held = any(a.get("pending_at") for a in inst["alerts"])
        if held:
            alerts.add_column("since", no_wrap=True, min_width=12)
        alerts.add_column("firing", no_wrap=True, min_width=12)
        alerts.add_column("for", no_wrap=True, justify="right", min_width=7)
        alerts.add_column("summary", overflow=overflow, no_wrap=not whole, ratio=1)
        for a in inst["alerts"]:
            style = SEVERITY_STYLE.get(a["severity"], "")
            since, firing, fired_for = _alert_times(a)
            alerts.add_row(
                Text(a["alert"], style=style),
                *((since, firing) if held else (firing,)),
                fired_for,
                _safe(a.get("summary", ""), limit=limit),
            )
        if inst.get("alerts_dropped"):
            # The engine keeps the last transitions only; say that the table starts late.
            parts.append(Text(f"({inst['alerts_dropped']} earlier transitions not kept)"))
        parts.append(alerts)
    else:
        parts.append(Text("no alerts", style="green"))
    title = Text(escape_text(inst["instance"]), style="bold")
    return Panel(Group(*parts), title=title, title_align="left", expand=True)


def render_report(
    report: dict[str, Any],
    console: Console,
    *,
    whole: bool = False,
    runbook_base: str | None = None,
) -> None:
    """Print the report: time span, per-instance panels, alert timelines, what was not read.

    whole: wrap long cells instead of cutting them (output to a file or a pipe).
    runbook_base: the config's runbook_base, for absolute runbook links."""
    span = report["span"]
    head = Text("logwatch replay report", style="bold")
    if span.get("from"):
        head.append(f"\n{span['from']} → {span['to']} ({duration(span['seconds'])})")
    console.print(head)
    for inst in report["instances"]:
        console.print(_instance_panel(inst, console.width, whole))
    read = report["read"]
    if not report["instances"]:
        window = report.get("window") or {}
        if read["entries"] == 0:
            empty = "no entries in the input"
        elif (window.get("since") or window.get("until")) and read["outside"] == read["entries"]:
            empty = f"{read['entries']} entries, all outside --since/--until"
        else:
            empty = "no zipnet instance found in the input"
        console.print(Text(empty, style="yellow"))
    line = Text(
        f"read {read['entries']} entries: {sum(read['matched'].values())} matched, "
        f"{read['unmatched']} matched no pattern, {read['errors']} unreadable"
    )
    if read.get("unreadable"):
        line.append(
            " (" + ", ".join(f"{escape_text(r)} ×{n}" for r, n in read["unreadable"].items()) + ")"
        )
    if read.get("outside"):
        line.append(f", {read['outside']} outside the selection")
    console.print(line)
    for note in report.get("notes", []):
        console.print(Text("note: ", style="dim") + _safe(note, limit=400))
    alerts = sorted({a["alert"] for inst in report["instances"] for a in inst["alerts"]})
    if alerts:
        where = "" if runbook_base else " (in logwatch's repository; runbook_base: docs/config.md)"
        console.print(Text("runbooks:", style="dim") + Text(where))
        for alert in alerts:
            # One link a line, never wrapped: it is copied and opened whole.
            console.print(_safe(runbook_url(alert, runbook_base), limit=4000), soft_wrap=True)
