"""The dashboard's screen, a pure function of the engine's views and the clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.text import Text

from logwatch.engine.outputs import AlertTransition
from logwatch.engine.rules import human
from logwatch.engine.views import ActiveAlert, InstanceView, ServerView
from logwatch.sinks.dashboard_legend import legend
from logwatch.sinks.dashboard_text import fit, visible, wrap
from logwatch.sinks.report import SEVERITY_STYLE, sparkline
from logwatch.times import US, format_time

RECENT_TRANSITIONS = 20
WIDE = 120  # from this width on, the rounds table adds P, the round count and the leader
ALERT_FIXED = (4, 17, 13)  # sev, alert and state columns of the alerts table
NOTE_LINES = 3  # a note wraps to this many lines at most (the typo hint ends with the names)
SEVERITY_RANK = {"critical": 0, "warning": 1}
STATE_STYLE = {"leader": "bold green", "follower": "green", "silent": "yellow"}
STATE_WORD = {"leader": "★ leader", "follower": "follower", "silent": "silent"}
STATE_MARK = {"leader": "★", "follower": "●", "silent": "○"}
Justify = Literal["left", "right"]
Column = tuple[str | Text, int, Justify]  # title, width in cells, justification


@dataclass(frozen=True, slots=True)
class Frame:
    """What one screen shows: the engine's views at `now_us`, the caller's notes, the
    latest alert transitions (newest last) and how many there were in all."""

    views: tuple[InstanceView, ...]
    now_us: int
    notes: tuple[str, ...]
    recent: tuple[AlertTransition, ...]
    transitions: int
    fallback_window_s: float
    legend: bool = False


def _safe(value: str, style: str = "", width: int | None = None) -> Text:
    # Text never parses markup; visible() makes control, escape and bidi characters visible,
    # and fit() cuts between escapes, never inside one.
    text = visible(value)
    return Text(text if width is None else fit(text, width), style=style)


def _note_lines(note: str, width: int) -> list[Text]:
    """A note in whole words over up to NOTE_LINES lines: the end of the typo hint (the
    instances the journal holds) is its useful part."""
    head = "note: "
    parts = wrap(visible(note), max(8, width - len(head)), NOTE_LINES)
    return [
        Text(head if i == 0 else " " * len(head), style="dim") + Text(part)
        for i, part in enumerate(parts)
    ]


def _table(columns: Sequence[Column], rows: Sequence[Sequence[str | Text]]) -> list[Text]:
    """A header line and one line per row, every cell cut or padded to its column."""

    def line(cells: Sequence[str | Text]) -> Text:
        out = []
        for value, (_, width, justify) in zip(cells, columns, strict=True):
            text = value.copy() if isinstance(value, Text) else Text(value)
            text.truncate(width, overflow="ellipsis")
            text.align(justify, width)
            out.append(text)
        return Text(" ").join(out)

    head = line([title for title, _, _ in columns])
    head.stylize("bold dim")
    return [head, *(line(row) for row in rows)]


def _rest(width: int, *fixed: int) -> int:
    """The width left for a last column after `fixed` ones and the spaces between them."""
    return max(8, width - sum(fixed) - len(fixed))


def _age(seconds: float) -> str:
    """`3.1s`, `42s`, `1m12s`, `2h05m`, `3d04h`: short for a column, precise where it matters."""
    s = max(0.0, seconds)
    if s < 10:
        return f"{s:.1f}s"
    if s < 60:
        return f"{int(s)}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    if s < 100 * 3600:
        return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
    return f"{int(s // 86400)}d{int(s % 86400 // 3600):02d}h"


def _span(seconds: float) -> str:
    """A configured or estimated duration (P, W) as the alert summaries say it: `8s`, `1m30s`."""
    return human(round(seconds * US))


def _rank(view: InstanceView) -> int:
    """How much an instance needs eyes: critical firing, warning firing, pending, fine."""
    firing = [SEVERITY_RANK[a.severity] for a in view.active_alerts if a.state == "firing"]
    if firing:
        return min(firing)
    return 2 if view.active_alerts else 3


def _held_since(view: InstanceView, alert: ActiveAlert) -> int:
    # A held alert's since is its pending start; the operator asks how long it has paged.
    if alert.state == "firing":
        for t in reversed(view.timeline):
            if t.alert == alert.alert and t.state == "firing":
                return t.at_us
    return alert.since_us


def _server_state(view: InstanceView, server: ServerView, now_us: int, fallback_s: float) -> str:
    """leader (a leader-only event in W), follower (an entry in W), or silent."""
    if server.host in view.leaders_in_window:
        return "leader"
    window_us = round((view.window_s or fallback_s) * US)
    return "follower" if now_us - server.last_seen_us <= window_us else "silent"


@dataclass(frozen=True, slots=True)
class HostColumns:
    """The committee grid's host columns: cells in words or marks, the hosts shown with
    their labels and widths, and the hosts that did not fit."""

    words: bool
    shown: list[tuple[str, str, int]]
    hidden: list[str]


def _shared(texts: list[str]) -> int:
    """The length of the prefix all `texts` share (that of the first and last in order)."""
    first, last, n = min(texts), max(texts), 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return n


def _distinct(labels: list[str]) -> list[str]:
    """The labels without the prefix and suffix all share (`server-`, `.example`)."""
    if len(labels) < 2:
        return labels
    head, tail = _shared(labels), _shared([label[::-1] for label in labels])
    tail = min(tail, min(len(label) for label in labels) - head)
    return [label[head : len(label) - tail] or label for label in labels]


def _host_columns(hosts: list[str], room: int) -> HostColumns:
    """Words (`★ leader`) when every host fits, else marks (`★ ● ○`), else as many hosts as
    fit and a `+N` column counting the rest's leaders and silent ones. Names too long for
    their column lose what they all share, which is what truncation would keep."""
    full = [visible(h) for h in hosts]
    short = _distinct(full)
    cols: list[tuple[str, str, int]] = []
    for words, low, high in ((True, 8, 18), (False, 3, 10), (False, 3, 6)):
        labels = full if all(cell_len(label) <= high for label in full) else short
        cols = [
            (h, t, max(low, min(cell_len(t), high))) for h, t in zip(hosts, labels, strict=True)
        ]
        if sum(w + 1 for _, _, w in cols) <= room:
            return HostColumns(words, cols, [])
    shown: list[tuple[str, str, int]] = []
    used = 7  # room for the "+N" column
    for col in cols:
        if used + col[2] + 1 > room:
            break
        shown.append(col)
        used += col[2] + 1
    return HostColumns(False, shown, hosts[len(shown) :])


class Layout:
    """Column widths and how many rows of each section fit, for one frame and screen size.

    Priority when space is short: the header and footer, one instance and three alerts,
    then more instances (troubled ones first), the other alerts, recent transitions, notes.
    """

    def __init__(self, frame: Frame, width: int, height: int) -> None:
        self.frame, self.width = frame, width
        views = frame.views
        self.names = {v.instance: visible(v.instance) for v in views}
        longest = max((cell_len(name) for name in self.names.values()), default=8)
        self.name_w = max(9, min(longest, 28 if width >= WIDE else 16))
        self.alerts = sorted(
            ((v, a) for v in views for a in v.active_alerts),
            key=lambda va: (va[1].state != "firing", SEVERITY_RANK[va[1].severity], va[1].since_us),
        )
        has_hosts = any(v.servers for v in views)
        n, spare = len(views), height - 2  # the header and the footer line
        self.summary_w = max(1, _rest(width, *ALERT_FIXED, self.name_w))
        # A summary wraps rather than losing its end (host names come last), up to 3 lines.
        lines_of = [
            min(3, max(1, -(-cell_len(visible(a.summary)) // self.summary_w)))
            for _, a in self.alerts
        ]
        self.alert_lines = lines_of

        def needed(shown: int, alert_rows: int) -> int:
            if not n:
                return 2  # "waiting for entries" and "no active alerts"
            rounds = 1 + shown + (1 if shown < n else 0)
            committee = 1 + shown if has_hosts else 1
            alerts = 1 + sum(lines_of[:alert_rows]) + (1 if alert_rows < len(self.alerts) else 0)
            return rounds + committee + (alerts if self.alerts else 1)

        shown, alert_rows = min(n, 1), min(len(self.alerts), 3)
        while shown < n and needed(shown + 1, alert_rows) <= spare:
            shown += 1
        while alert_rows < len(self.alerts) and needed(shown, alert_rows + 1) <= spare:
            alert_rows += 1
        self.alert_rows = alert_rows
        # The hidden instances are the healthiest; the shown ones keep their name order.
        chosen = sorted(views, key=lambda v: (_rank(v), v.instance))[:shown]
        self.shown = sorted(chosen, key=lambda v: v.instance)
        self.hidden = n - shown
        rest = spare - needed(shown, alert_rows)
        # Notes come before recent transitions: the typo hint says which instances exist.
        self.note_lines: list[Text] = []
        self.note_rows = 0
        for note in frame.notes:
            lines = _note_lines(note, width)
            if len(self.note_lines) + len(lines) > rest:
                break
            self.note_lines += lines
            self.note_rows += 1
        rest -= len(self.note_lines)
        self.recent_rows = min(len(frame.recent), max(0, rest - 1), 12)
        rest -= self.recent_rows + (1 if self.recent_rows else 0)
        self.gaps = rest >= 3  # a blank line between sections when there is room
        hosts = sorted({s.host for v in self.shown for s in v.servers})
        self.hosts = _host_columns(hosts, width - self.name_w)

    def name(self, view: InstanceView) -> Text:
        rank = _rank(view)
        style = "bold red" if rank == 0 else "yellow" if rank == 1 else "bold"
        return Text(fit(self.names[view.instance], self.name_w), style=style)


def render(frame: Frame, width: int, height: int) -> list[Text]:
    """The frame as at most `height` lines of at most `width` cells, log text escaped."""
    lay = Layout(frame, width, height)
    gap = [Text()] if lay.gaps else []
    lines = [_header(lay)]
    if frame.legend:
        lines += legend(frame, width, wide=width >= WIDE)[: max(0, height - 2)]
        lines.append(_footer(lay))
        for line in lines:
            line.truncate(width, overflow="ellipsis")
            line.no_wrap, line.overflow = True, "ellipsis"
        return lines[:height]
    if frame.views:
        lines += _rounds(lay) + gap + _committee(lay)
    else:
        lines.append(Text("waiting for zipnet entries…", style="dim"))
    lines += gap + _alerts(lay)
    if lay.recent_rows:
        lines += gap + _recent(lay)
    lines += lay.note_lines
    lines.append(_footer(lay))
    for line in lines:
        line.truncate(width, overflow="ellipsis")
        line.no_wrap, line.overflow = True, "ellipsis"
    return lines[:height]


def _header(lay: Layout) -> Text:
    frame = lay.frame
    out = Text("logwatch follow", style="bold")
    if frame.now_us:
        out.append(f"  {format_time(frame.now_us)[:19].replace('T', ' ')}Z")
    out.append(f"  {len(frame.views)} instance{'' if len(frame.views) == 1 else 's'}")
    empty = sum(not v.entries_seen for v in frame.views)
    if empty:
        # A named instance with nothing to show is never "all clear"; said first, as a
        # stall of an instance that never wrote is no news about it.
        out.append(f"  {empty} with no entries", style="yellow")
    firing = [a for _, a in lay.alerts if a.state == "firing"]
    for severity in ("critical", "warning"):
        if count := sum(a.severity == severity for a in firing):
            out.append(f"  {count} {severity}", style=SEVERITY_STYLE[severity])
    if pending := len(lay.alerts) - len(firing):
        out.append(f"  {pending} pending", style="dim")
    if frame.views and not lay.alerts and not empty:
        out.append("  all clear", style="green")
    return out


def _age_text(view: InstanceView, now_us: int) -> Text:
    """Age of the last round (of the watch when none) against W: green, yellow past P, red
    past W, the stall rule's own thresholds; "no entries" when nothing was read at all."""
    if not view.entries_seen:
        return Text("no entries", style="yellow")
    start = view.last_round_at_us if view.last_round_at_us is not None else view.watch_start_us
    age = (now_us - start) / US
    period, window = view.round_period_s, view.window_s
    style = "dim"
    if period is not None and window is not None:
        style = "green" if age <= period else "yellow" if age <= window else "bold red"
    return Text(_age(age), style=style) + Text(" / " + ("?" if window is None else _span(window)))


def _leaders(view: InstanceView) -> Text:
    """The leader; during a split-brain every host that acted as leader in W, in red."""
    if len(view.leaders_in_window) >= 2:
        return Text(visible(", ".join(view.leaders_in_window)), style="bold red")
    return _safe(view.leader or "-", "" if view.leader else "dim")


def _tail(view: InstanceView) -> str:
    last = view.recent_rounds[-1].participants if view.recent_rounds else None
    return f" {'-' if last is None else last}"


def _spark_room(view: InstanceView, width: int) -> int:
    return max(1, width - len(_tail(view)))


def _participants(view: InstanceView, width: int) -> Text:
    """Participants of the recent rounds, one character per round, then the latest."""
    points = view.recent_rounds
    if not points:
        return Text("-", style="dim")
    values: list[float | None] = [
        None if p.participants is None else float(p.participants)
        for p in points[-_spark_room(view, width) :]
    ]
    return sparkline(values) + Text(_tail(view))


def _rounds(lay: Layout) -> list[Text]:
    wide = lay.width >= WIDE
    leader_w = max([6] + [min(cell_len(_leaders(v).plain), 30) for v in lay.shown])
    columns: list[Column] = [("instance", lay.name_w, "left"), ("round", 7, "right")]
    columns += [("age / W", 13, "left"), ("/min", 5, "right")]
    if wide:
        columns += [("P", 6, "right"), ("rounds", 7, "right"), ("leader", leader_w, "left")]
    columns += [("reg", 5, "right"), ("act", 5, "right")]
    spark_w = _rest(lay.width, *(w for _, w, _ in columns))
    # The bars are a history: say how many rounds they hold.
    kept = max((min(len(v.recent_rounds), _spark_room(v, spark_w)) for v in lay.shown), default=0)
    header = f"participants, last {kept} rounds"
    if cell_len(header) > spark_w:
        header = f"last {kept} rounds"
    columns.append((header, spark_w, "left"))
    rows = []
    for v in lay.shown:
        row: list[str | Text] = [
            lay.name(v),
            "-" if v.last_round is None else str(v.last_round),
            _age_text(v, lay.frame.now_us),
            f"{v.round_rate_1m:.1f}",
        ]
        if wide:
            period = "?" if v.round_period_s is None else _span(v.round_period_s)
            period += "~" if v.round_period_estimated and v.round_period_s is not None else ""
            leaders = _leaders(v)
            leaders.plain = fit(leaders.plain, leader_w)
            row += [period, str(v.rounds_finalized), leaders]
        row += [str(v.clients_registered), str(v.clients_active), _participants(v, spark_w)]
        rows.append(row)
    lines = _table(columns, rows)
    if lay.hidden:
        troubled = sum(_rank(v) < 3 for v in lay.frame.views) - sum(_rank(v) < 3 for v in lay.shown)
        more = f"+{lay.hidden} more instance(s), " + (
            f"{troubled} with alerts (see below)" if troubled else "all without alerts"
        )
        lines.append(Text(more, style="yellow" if troubled else "dim"))
    return lines


def _committee(lay: Layout) -> list[Text]:
    cols = lay.hosts
    if not cols.shown and not cols.hidden:
        return [Text("committee: no server seen yet", style="dim")]
    columns: list[Column] = [("committee", lay.name_w, "left")]
    columns += [(Text(fit(label, w)), w, "left") for _, label, w in cols.shown]
    if cols.hidden:
        columns.append((f"+{len(cols.hidden)}", 6, "left"))
    now, fallback = lay.frame.now_us, lay.frame.fallback_window_s
    rows = []
    for v in lay.shown:
        servers = {s.host: s for s in v.servers}
        two = len(v.leaders_in_window) >= 2
        row: list[str | Text] = [lay.name(v)]
        for h, _, _ in cols.shown:
            server = servers.get(h)
            if server is None:
                row.append(Text("" if cols.words else "·", style="dim"))
                continue
            state = _server_state(v, server, now, fallback)
            style = "bold red" if state == "leader" and two else STATE_STYLE[state]
            row.append(Text((STATE_WORD if cols.words else STATE_MARK)[state], style=style))
        if cols.hidden:
            states = [
                _server_state(v, servers[h], now, fallback) for h in cols.hidden if h in servers
            ]
            count = Text()
            for state in ("leader", "silent"):
                if states.count(state):
                    count.append(f"{states.count(state)}{STATE_MARK[state]}", STATE_STYLE[state])
            row.append(count)
        rows.append(row)
    return _table(columns, rows)


def _alerts(lay: Layout) -> list[Text]:
    if not lay.alerts:
        return [Text("✓ no active alerts", style="green")]
    sev_w, alert_w, state_w = ALERT_FIXED
    columns: list[Column] = [("sev", sev_w, "left"), ("alert", alert_w, "left")]
    columns += [("instance", lay.name_w, "left"), ("state", state_w, "left")]
    columns.append(("summary", lay.summary_w, "left"))
    rows: list[list[str | Text]] = []
    for (view, a), count in zip(lay.alerts[: lay.alert_rows], lay.alert_lines, strict=False):
        style = SEVERITY_STYLE[a.severity] if a.state == "firing" else "dim"
        held = _age((lay.frame.now_us - _held_since(view, a)) / US)
        sev = "CRIT" if a.severity == "critical" else "WARN"
        state = Text(f"{a.state} {held}", style=style)
        parts = [Text(part) for part in wrap(visible(a.summary), lay.summary_w, count)]
        rows.append([Text(sev, style), _safe(a.alert, style), lay.name(view), state, parts[0]])
        rows += [["", "", "", "", part] for part in parts[1:]]
    lines = _table(columns, rows)
    if lay.alert_rows < len(lay.alerts):
        lines.append(Text(f"+{len(lay.alerts) - lay.alert_rows} more alert(s)", style="dim"))
    return lines


def _recent(lay: Layout) -> list[Text]:
    columns: list[Column] = [("", 8, "left"), ("", 8, "left"), ("", 17, "left")]
    columns.append(("", lay.name_w, "left"))
    columns.append(("", _rest(lay.width, *(w for _, w, _ in columns)), "left"))
    rows: list[list[str | Text]] = []
    for t in reversed(lay.frame.recent[-lay.recent_rows :]):
        style = SEVERITY_STYLE[t.severity] if t.state == "firing" else "dim"
        style = "green" if t.state == "resolved" else style
        at = format_time(t.at_us)[11:19]
        widths = [w for _, w, _ in columns]
        rows.append(
            [
                at,
                Text(t.state, style),
                _safe(t.alert, width=widths[2]),
                _safe(t.instance, width=widths[3]),
                _safe(t.summary, width=widths[4]),
            ]
        )
    return [Text("recent transitions", style="bold dim"), *_table(columns, rows)[1:]]


def _footer(lay: Layout) -> Text:
    frame = lay.frame
    rounds = sum(v.rounds_finalized for v in frame.views)
    out = Text(f"{rounds} rounds · {frame.transitions} transitions", style="dim")
    if hidden_notes := len(frame.notes) - lay.note_rows:
        out.append(f" · +{hidden_notes} note(s)")
    if not lay.hosts.words:
        out.append(" · ★ leader ● follower ○ silent")
    out.append(" · ? legend · q quit")
    return out
