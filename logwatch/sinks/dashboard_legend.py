"""The dashboard's legend: what the columns on the screen and their colours mean, in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from logwatch.engine.rules import human
from logwatch.sinks.dashboard_text import wrap
from logwatch.times import US

if TYPE_CHECKING:
    from logwatch.sinks.dashboard_view import Frame

KEY_W = 13
WIDE_ONLY = frozenset(("P, ~", "rounds", "leader"))
"""Columns shown from the wide layout on only: described only when they are shown."""


def _span(seconds: float) -> str:
    return human(round(seconds * US))


def legend(frame: Frame, width: int, *, wide: bool) -> list[Text]:
    """What the columns and colours mean, with this frame's P and W: only the columns the
    screen shows (`wide`: the wide layout's too), each meaning wrapped to `width`."""
    known = [v for v in frame.views if v.round_period_s is not None and v.window_s is not None]
    if known:
        p = _span(known[0].round_period_s or 0)
        w = _span(known[0].window_s or 0)
    else:
        p, w = "P", f"W ({_span(frame.fallback_window_s)} until P is known)"
    words = [
        ("legend", "press ? again to go back, q to quit"),
        ("round", "the last round finalized"),
        ("age / W", "time since the last round finalized, against W = 3P + D"),
        ("", f"green: on time, within one round period ({p})"),
        ("", f"yellow: late, over one round period ({p})"),
        ("", f"red: stalled, no round for W ({w})"),
        ("no entries", "a named instance of which nothing was read (a typo? the note names "
         "the instances the journal holds)"),
        ("/min", "rounds finalized in the last minute"),
        ("P, ~", "the round period; ~ when estimated from the rounds seen"),
        ("rounds", "rounds finalized since the watch started"),
        ("leader", "who finalized the last round; during a split-brain every leader, in red"),
        ("reg / act", "clients registered / clients active in the last W"),
        ("participants", "client envelopes per round, one bar per round for the last N "
         "rounds (the header says N), then the latest round's count"),
        ("committee", "★ leader: opened or finalized a round in the last W; ● follower: "
         "wrote in the last W; ○ silent: nothing in the last W"),
        ("alerts", "CRIT pages, WARN tells; pending waits for its hold time (docs/alerts.md)"),
    ]  # fmt: skip
    lines = []
    room = max(8, width - KEY_W)
    for key, meaning in words:
        if key in WIDE_ONLY and not wide:
            continue
        for i, part in enumerate(wrap(meaning, room, 4)):
            lines.append(Text(f"{key if i == 0 else '':<{KEY_W}}", style="bold") + Text(part))
    return lines
