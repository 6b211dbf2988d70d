"""The live dashboard: what it shows of each instance, that it fits, that log text is inert."""

from __future__ import annotations

import io
import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import Captures
from rich.console import Console
from rich.text import Text

from logwatch.engine import AlertTransition, Engine, InstanceView, Output, RuleSettings
from logwatch.events import Event, FieldValue
from logwatch.sinks import Sink
from logwatch.sinks.dashboard import Dashboard
from logwatch.sinks.dashboard_view import Frame, render
from logwatch.times import US

T0 = 1_795_600_800 * US  # 2026-11-25T10:00:00Z
END_S = 120.0
HOSTILE_HOST = "[bold red]x\x1b[2J"
HOSTILE_HOST_SHOWN = "[bold red]x\\e[2J"
HOSTILE_INSTANCE = "evil\x1b]0;pwned\x07"
HOSTILE_INSTANCE_SHOWN = "evil\\e]0;pwned\\x07"
HOSTILE_LEADER = "\x1b[31mfake\x1b[0m[link=http://x]y[/link]"
SGR = re.compile(r"\x1b\[[0-9;]*m")


def at(s: float) -> int:
    return T0 + round(s * US)


def ev(
    name: str, at_s: float, instance: str, host: str, role: str = "server", **fields: FieldValue
) -> Event:
    leader_only = name in ("opening_round", "round_finalized")
    return Event(name, at(at_s), instance, role, host, fields, leader_only)


def committee_rounds(
    instance: str, leaders: list[str], followers: list[str], start_s: float, end_s: float
) -> Iterator[Event]:
    """A round every 2 s finalized by the leaders in turn; the followers submit partials."""
    k, t = 0, start_s
    while t < end_s:
        for host in followers:
            yield ev("submitted_partial", t + 0.2, instance, host, round=100 + k)
        leader = leaders[k % len(leaders)]
        yield ev(
            "round_finalized", t + 0.5, instance, leader, round=100 + k, participants=30 + k % 8
        )
        k, t = k + 1, t + 2


def scenario_events() -> list[Event]:
    """acme-mainnet healthy, preview-alpha stalled since 60 s, beta-split with two leaders,
    and an instance whose names and fields are escape sequences and rich markup."""
    acme = "acme-mainnet"
    events = [ev("registering_client", 0.1, acme, "agg", "aggregator", client=i) for i in range(40)]
    events += [ev("sealed_envelope", END_S - 3, acme, f"c{i}", "client") for i in range(37)]
    events += [
        ev("forwarded_aggregate", t + 0.4, acme, "agg", "aggregator", round=100 + k, clients=37)
        for k, t in enumerate(range(0, int(END_S), 2))
    ]
    events += committee_rounds("acme-mainnet", ["srv1"], ["srv2", "srv3"], 0, END_S)
    events += committee_rounds("preview-alpha", ["srv1"], ["srv2", "srv3"], 0, 60)
    events += committee_rounds("beta-split", ["srv1", "srv2"], ["srv3"], 0, END_S)
    events += committee_rounds(HOSTILE_INSTANCE, [HOSTILE_HOST], ["srv1"], 0, END_S)
    events.append(
        ev("rival_leader", 116, HOSTILE_INSTANCE, "srv1", term=7, other_leader=HOSTILE_LEADER)
    )
    return sorted(events, key=lambda e: e.time_us)


def build(extra_instances: int = 0) -> tuple[list[InstanceView], list[Output], int]:
    """The scenarios fed to a real engine: its views at END_S and every output on the way."""
    engine = Engine(RuleSettings(round_period_s=2, round_deadline_s=2))
    events = scenario_events()
    for i in range(extra_instances):
        events += committee_rounds(f"quiet-{i:02d}", ["srv1"], ["srv2"], 0, END_S)
    outputs: list[Output] = []
    for event in sorted(events, key=lambda e: e.time_us):
        outputs += engine.feed(event)
    outputs += engine.advance(at(END_S))
    return list(engine.instances()), outputs, at(END_S)


def dashboard(width: int, height: int, color: bool = False, extra: int = 0) -> str:
    """The scenarios' dashboard printed on a console of that size (colour: 8 ANSI colours)."""
    console = Console(
        file=io.StringIO(),
        width=width,
        height=height,
        force_terminal=True,
        color_system="standard" if color else None,
        legacy_windows=False,
    )
    views, outputs, now = build(extra)
    board = Dashboard(console)
    for o in outputs:
        board.emit(o)
    board.update(views, now, ["round period P = 2s (configured)", "note \x1b[2J [b]x[/b]"])
    console.print(board)
    out: str = console.file.getvalue()  # type: ignore[attr-defined]
    return out


def assert_fits(out: str, width: int, height: int) -> list[str]:
    lines = out.rstrip("\n").split("\n")
    assert len(lines) <= height
    too_long = [line for line in lines if len(SGR.sub("", line)) > width]
    assert too_long == []
    return lines


def test_80x24_answers_the_three_questions() -> None:
    out = dashboard(80, 24)
    assert_fits(out, 80, 24)
    assert "\x1b" not in out  # no colour asked: nothing but text may reach the terminal
    # Are rounds finalizing: the last round and its age against W, coloured by the rule.
    assert re.search(r"acme-mainnet\s+159\s+1\.5s / 8s", out)
    assert re.search(r"preview-alpha\s+129\s+1m01s / 8s", out)
    # Is the committee healthy: leader, follower and silent cells.
    (acme_row,) = [line for line in out.splitlines() if line.startswith("acme-mainnet ")][1:]
    assert "★ leader" in acme_row and "follower" in acme_row
    alpha_row = [line for line in out.splitlines() if line.startswith("preview-alpha ")][1]
    assert alpha_row.count("silent") == 3
    split_row = [line for line in out.splitlines() if line.startswith("beta-split ")][1]
    assert split_row.count("★ leader") == 2
    # Are clients reaching it: registered, active, participants.
    assert re.search(r"acme-mainnet .* 40\s+37 [▁▂▃▄▅▆▇█]+ \d+", out)
    # Active alerts with how long they have been firing.
    assert re.search(r"CRIT round_stall\s+preview-alpha\s+firing 53s", out)
    assert "split_brain" in out


def style_of(line: Text, part: str) -> str:
    """The style of the span that covers `part` of a rendered line."""
    start = line.plain.index(part)
    styles = [str(s.style) for s in line.spans if s.start <= start < s.end]
    return styles[-1] if styles else ""


def test_the_age_of_the_last_round_turns_yellow_past_p_and_red_past_w() -> None:
    views, _, now = build()
    frame = Frame(tuple(views), now, (), (), 0, 30.0)

    def acme_age(later_s: float) -> str:
        lines = render(replace(frame, now_us=now + round(later_s * US)), 80, 24)
        acme = next(line for line in lines if line.plain.startswith("acme-mainnet"))
        age = re.search(r"\d\S*s(?= / 8s)", acme.plain)
        assert age is not None
        return style_of(acme, age.group())

    assert acme_age(0) == "green"  # 1.5 s, within P = 2 s
    assert acme_age(3) == "yellow"  # 4.5 s, past P
    assert acme_age(7) == "bold red"  # 8.5 s, past W = 8 s


def test_a_large_committee_turns_to_marks_then_counts_the_hosts_that_do_not_fit() -> None:
    engine = Engine(RuleSettings(round_period_s=2, round_deadline_s=2))
    hosts = [f"server-{i:02d}.example" for i in range(30)]
    events = [ev("submitted_partial", 1 + i / 100, "big", h, round=1) for i, h in enumerate(hosts)]
    events.append(ev("round_finalized", 2, "big", hosts[-1], round=1, participants=3))
    for event in events:
        engine.feed(event)
    frame = Frame(engine.instances(), at(3), (), (), 0, 30.0)
    lines = [line.plain for line in render(frame, 80, 24)]
    head = next(line for line in lines if line.startswith("committee"))
    row = next(line for line in lines if line.startswith("big ") and "●" in line)
    # The names lose what they share ("server-", ".example") rather than what tells them apart.
    assert re.match(r"committee 00\s+01\s+02", head) and re.search(r"\+\d+\s*$", head)
    assert all(len(line) <= 80 for line in lines)
    hidden = int(re.findall(r"\+(\d+)", head)[0])
    assert row.count("●") == 30 - hidden  # the leader is among the hosts that did not fit
    assert row.rstrip().endswith("1★")
    assert "★ leader ● follower ○ silent" in lines[-1]


def test_hostile_text_is_shown_escaped_never_interpreted() -> None:
    for color in (False, True):
        out = dashboard(200, 50, color=color)
        assert_fits(out, 200, 50)
        assert SGR.sub("", out).count("\x1b") == 0  # only rich's own colours
        text = SGR.sub("", out)
        assert HOSTILE_HOST_SHOWN in text
        assert HOSTILE_INSTANCE_SHOWN in text
        assert "\\e[31mfake\\e[0m[link=http://x]y[/link]" in text
        assert "note \\e[2J [b]x[/b]" in text
        assert "\x07" not in out


@pytest.mark.parametrize(("width", "height"), [(80, 24), (40, 12), (100, 30), (200, 50)])
def test_many_instances_fit_and_say_how_many_are_hidden(width: int, height: int) -> None:
    out = dashboard(width, height, color=True, extra=30)
    assert_fits(out, width, height)
    text = SGR.sub("", out)
    hidden = re.search(r"\+(\d+) more instance", text)
    assert hidden is not None
    table = text.split("\ncommittee")[0].splitlines()[2:-1]  # the rounds table's rows
    assert len(table) + int(hidden.group(1)) == 34
    shown = {line.split()[0] for line in table}
    if any(name.startswith("quiet-") for name in shown):
        # The instances with alerts are shown before any quiet one.
        assert {"beta-split", "preview-alpha"} <= shown


def test_a_wide_terminal_shows_more() -> None:
    narrow = dashboard(80, 24)
    wide = dashboard(200, 50)
    assert_fits(wide, 200, 50)
    assert "leader" in wide.splitlines()[1] and "leader" not in narrow.splitlines()[1]
    spark = re.compile(r"[▁▂▃▄▅▆▇█]+")
    longest = {
        name: max(len(m) for m in spark.findall(o)) for name, o in [("n", narrow), ("w", wide)]
    }
    assert longest["w"] > longest["n"] + 20
    assert re.search(r"recent\s+transitions", wide)


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_update_draws_at_most_four_frames_a_second_and_close_leaves_the_last() -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=80, height=24, force_terminal=True, color_system=None)
    views, outputs, now = build()
    ticks = Ticks()
    board = Dashboard(console, clock=ticks)
    board.update(views, now)
    assert stream.getvalue() == ""  # not started: nothing drawn
    board.start()
    drawn = [len(stream.getvalue())]
    for step in (0.1, 0.1, 0.06, 0.3):
        ticks.now += step
        board.update(views, now + round(ticks.now * US))
        drawn.append(len(stream.getvalue()))
    # Drawn at start, skipped at +0.1 and +0.2, drawn at +0.26 and +0.56.
    assert [b > a for a, b in itertools.pairwise(drawn)] == [False, False, True, True]
    assert "\x1b[?1049h" in stream.getvalue()  # the alternate screen
    for o in outputs:
        board.emit(o)
    board.close({"entries": 7, "instances": {"acme-mainnet": {"rounds": 60}}, "notes": []})
    board.close({})  # a second close does nothing
    tail = stream.getvalue().split("\x1b[?1049l")[-1]  # what stays on the normal screen
    assert "acme-mainnet" in tail and re.search(r"recent\s+transitions", tail)
    assert "summary: 7 entries" in tail and tail.count("summary:") == 1


def test_in_place_the_frame_leaves_room_for_the_cursor_and_is_not_repeated() -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=80, height=24, force_terminal=True, color_system=None)
    views, _, now = build()
    board = Dashboard(console, screen=False)
    sink: Sink = board  # the follow command closes it as any sink
    board.start()
    board.update(views, now, [f"note {i}" for i in range(30)])  # more than fits
    sink.close({"entries": 1})
    out = stream.getvalue()
    assert "\x1b[?1049h" not in out
    # The last frame as Live left it, one line short of the terminal, then the summary once.
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out).rsplit("logwatch follow", 1)[1]
    frame, summary = last.split("\nsummary: ")
    assert len(frame.split("\n")) == 23 and "+" in frame.split("\n")[-1]  # "+N note(s)"
    assert summary.startswith("1 entries") and out.count("summary:") == 1


def test_before_any_entry_it_says_it_is_waiting() -> None:
    console = Console(file=io.StringIO(), width=80, height=24, color_system=None)
    board = Dashboard(console)
    console.print(board)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "waiting for zipnet entries" in out and "no active alerts" in out


LIVE_SCRIPT = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from rich.console import Console
from logwatch.sinks.dashboard import Dashboard
from test_dashboard import build

print("BEFORE-DASHBOARD", flush=True)
views, outputs, now = build()
board = Dashboard(Console())
for o in outputs:
    board.emit(o)
board.start()
end = time.monotonic() + 60  # or sooner, when the test has seen enough
while time.monotonic() < end and not Path({stop!r}).exists():
    board.update(views, now, ["hostile note \\x1b]0;pwned\\x07 [bold]x[/bold]"])
    time.sleep(0.05)
board.close({{"entries": 42, "notes": []}})
"""


class Tmux:
    """A private tmux server (its socket in the test's directory), so the test touches no
    one else's sessions and leaves nothing behind."""

    def __init__(self, directory: Path) -> None:
        self.socket = str(directory / "tmux.sock")

    def __call__(self, *args: str) -> str:
        cmd = ["tmux", "-S", self.socket, "-f", "/dev/null", *args]
        # An explicit environment: something under pytest putenv()s COLUMNS=80 and LINES=24,
        # which rich would trust over the pane's real size.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        run = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=10, env=env)
        return run.stdout

    def screen(self, history: bool = False) -> str:
        return self("capture-pane", "-p", "-t", "dash", *(["-S", "-"] if history else []))

    def wait_for(self, predicate: str, timeout: float = 15.0) -> str:
        """The screen once `predicate` (a format that expands to 1) holds, or fail."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self("display-message", "-p", "-t", "dash", predicate).strip() == "1":
                return self.screen()
            time.sleep(0.1)
        pytest.fail(f"tmux: {predicate} never held; screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(
            ["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10, check=False
        )


def wait_for_text(tmux: Tmux, text: str, timeout: float = 15.0, also: str = "") -> str:
    """The first screen showing `text` (and `also`, if given), or fail."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        screen = tmux.screen()
        if text in screen and also in screen:
            return screen
        time.sleep(0.1)
    pytest.fail(f"{text!r} never appeared; screen:\n{tmux.screen()}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 50)])
def test_live_in_a_real_terminal(tmp_path: Path, width: int, height: int) -> None:
    script = tmp_path / "live.py"
    tests = str(Path(__file__).parent)
    stop = tmp_path / "stop"
    script.write_text(LIVE_SCRIPT.format(tests=tests, stop=str(stop)))
    tmux = Tmux(tmp_path)
    try:
        size = ["-x", str(width), "-y", str(height)]
        # remain-on-exit: the pane outlives the script, to show what it leaves on the screen.
        keep = ["set-option", "-t", "dash", "remain-on-exit", "on"]
        tmux("new-session", "-d", "-s", "dash", *size, sys.executable, str(script), ";", *keep)
        # The board is redrawn every 50 ms, erased from the bottom up and written from the
        # top down: a screen holding its first instance and its last alert is whole.
        screen = wait_for_text(tmux, "acme-mainnet", also="CRIT round_stall")
        lines = screen.splitlines()
        assert lines[0].startswith("logwatch follow  2026-11-25 10:02:00Z")  # never cleared
        assert len(lines) <= height and max(len(line) for line in lines) <= width
        assert re.search(r"acme-mainnet\s+159\s+1\.5s / 8s", screen)
        assert "★ leader" in screen
        assert re.search(r"CRIT round_stall\s+preview-alpha\s+firing 53s", screen)
        assert HOSTILE_HOST_SHOWN in screen  # literally, the markup and the ESC inert
        assert "pwned" not in tmux("display-message", "-p", "-t", "dash", "#{pane_title}")
        if width >= 200:
            assert HOSTILE_INSTANCE_SHOWN in screen
            assert "leader" in lines[1]  # the wide columns
            assert "hostile note \\e]0;pwned\\x07 [bold]x[/bold]" in screen
            assert "other leader \\e[31mfake\\e[0m[link=http://x]y[/link]" in screen
        stop.touch()
        # Once closed, the normal screen keeps what was above, the last frame, the summary.
        tmux.wait_for("#{pane_dead}")
        final = tmux.screen(history=True)
        assert final.startswith("BEFORE-DASHBOARD\nlogwatch follow  2026-11-25 10:02:00Z")
        assert "acme-mainnet" in final and "summary: 42 entries" in final
        assert "pwned" not in tmux("display-message", "-p", "-t", "dash", "#{pane_title}")
    finally:
        tmux.kill()


HOSTILE_CORPUS = Path(__file__).parent / "fixtures" / "hostile" / "escapes.export"
LOGWATCH = str(Path(sys.executable).with_name("logwatch"))


@pytest.mark.parametrize(("width", "height"), [(80, 24), (200, 50)])
def test_the_follow_dashboard_shows_hostile_log_text_inert(
    tmp_path: Path, width: int, height: int
) -> None:
    # The real `logwatch follow` on a terminal, fed the hostile corpus (OSC title change,
    # screen clear, CSI, C1 CSI, rich markup, U+202E in a leader's host name, a rival
    # report and client lines; tests/fixtures/hostile): the title stays, what was on the
    # screen stays, and the text shows escaped.
    follow = shlex.join(
        [LOGWATCH, "follow", "-", "--since", "2026-11-25T00:00:00Z", "--round-period", "2s",
         "--round-deadline", "1s"]
    )  # fmt: skip
    corpus = shlex.quote(str(HOSTILE_CORPUS))
    script = f"sleep 0.5; echo BEFORE-LOGWATCH; {follow} < {corpus}; echo exit=$?"
    tmux = Tmux(tmp_path)
    try:
        size = ["-x", str(width), "-y", str(height)]
        keep = ["set-option", "-t", "dash", "remain-on-exit", "on"]
        title = ["select-pane", "-t", "dash", "-T", "the title before"]
        tmux("new-session", "-d", "-s", "dash", *size, "sh", "-c", script, ";", *keep, ";", *title)
        tmux.wait_for("#{pane_dead}", timeout=30)
        final = tmux.screen(history=True)
        assert tmux("display-message", "-p", "-t", "dash", "#{pane_title}") == "the title before\n"
    finally:
        tmux.kill()
    lines = final.rstrip("\n").splitlines()
    assert lines[0] == "BEFORE-LOGWATCH"  # no screen clear reached the terminal
    assert lines[1].startswith("logwatch follow  ") and "summary: 73 entries" in final
    assert "exit=0" in lines
    assert max(len(line) for line in lines) <= width
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(final)
    assert "[blink]srv1\\e]0;p" in final  # the leader's host name, cut to fit
    if width >= 200:
        assert "\\u202e" in final
        rival = "other leader [bold red]alarm[/bold red]\\u202egnp.exe\\x9b31m (term 1)"
        assert rival in final
        # The leader column shows more of the name, escaped (the whole name showed in
        # split_brain's resolution when the wall clock moved a piped capture on; piped
        # old entries now end as their replay does, the split still firing).
        assert "[blink]srv1\\e]0;pwned\\x07" in final


def _render(views: list[InstanceView], now: int, width: int, height: int, **kw: bool) -> str:
    frame = Frame(tuple(views), now, (), (), 0, 30.0, **kw)
    return "\n".join(line.plain for line in render(frame, width, height))


def test_during_split_brain_the_leader_column_shows_every_leader() -> None:
    views, _, now = build()
    out = _render(views, now, 200, 50)
    (row,) = [line for line in out.splitlines() if line.startswith("beta-split ")][:1]
    assert "srv1, srv2" in row or "srv2, srv1" in row


def test_at_80_columns_alert_summaries_wrap_and_keep_the_names() -> None:
    views, _, now = build()
    split = next(v for v in views if v.instance == "beta-split")
    (alert,) = [a for a in split.active_alerts if a.alert == "split_brain"]
    assert "srv1" in alert.summary and "srv2" in alert.summary  # the names come last
    out = _render(views, now, 80, 40)
    assert all(len(line) <= 80 for line in out.splitlines())
    words = " ".join(" ".join(out.split("\n")).split())
    assert " ".join(alert.summary.split()) in words


def test_the_participants_column_says_it_is_the_last_n_rounds() -> None:
    views, _, now = build()
    out = _render(views, now, 80, 24)
    header = next(line for line in out.splitlines() if line.startswith("instance"))
    m = re.search(r"last (\d+) rounds", header)
    assert m is not None, header
    acme = next(line for line in out.splitlines() if line.startswith("acme-mainnet "))
    bars = re.search(r"[▁▂▃▄▅▆▇█]+", acme)
    assert bars is not None and len(bars.group()) <= int(m.group(1))


def test_a_named_instance_with_no_entries_is_never_all_clear() -> None:
    engine = Engine(RuleSettings(round_period_s=2, round_deadline_s=2))
    for event in committee_rounds("acme-mainnet", ["srv1"], ["srv2"], 0, 20):
        engine.feed(event)
    engine.start_watch("acme-mainet", at(0))  # a typo, as the command line named it
    engine.advance(at(20))
    out = _render(list(engine.instances()), at(20), 80, 24)
    first = out.splitlines()[0]
    assert "1 with no entries" in first and "all clear" not in first
    assert re.search(r"acme-mainet\s+-\s+no entries", out)


def test_the_legend_says_in_words_what_the_colours_mean() -> None:
    views, _, now = build()
    out = _render(views, now, 80, 24, legend=True)
    assert "yellow: late, over one round period (2s)" in out
    assert "red: stalled, no round for W (8s)" in out
    assert "age / W" in out and "participants" in out
    assert "? legend · q quit" in out.splitlines()[-1]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_in_follow_question_mark_shows_the_legend_and_q_quits(
    tmp_path: Path, captures: Captures
) -> None:
    from logwatch.simulate import Scenario

    journal = captures.journal(Scenario("acme-mainnet", seed=1).start().rounds(5).lines(), "full")
    follow = shlex.join(
        [LOGWATCH, "follow", "acme-mainnet", "-D", str(journal), "--since", "2026-11-25 UTC",
         "--round-period", "2s"]
    )  # fmt: skip
    # A journal directory is followed until stopped: only q ends this run.
    script = f"{follow}; echo exit=$?"
    tmux = Tmux(tmp_path)
    try:
        keep = ["set-option", "-t", "dash", "remain-on-exit", "on"]
        size = ["-x", "80", "-y", "24"]
        tmux("new-session", "-d", "-s", "dash", *size, "sh", "-c", script, ";", *keep)
        wait_for_text(tmux, "acme-mainnet")
        tmux("send-keys", "-t", "dash", "?")
        legend = wait_for_text(tmux, "yellow: late, over one round period")
        assert "press ? again to go back" in legend
        tmux("send-keys", "-t", "dash", "?")
        wait_for_text(tmux, "committee")
        tmux("send-keys", "-t", "dash", "q")
        final = wait_for_text(tmux, "exit=")
        assert "exit=0" in final and "summary:" in tmux.screen(history=True)
    finally:
        tmux.kill()


TYPO_NOTE = (
    "no entries of instance 'acme-mainet' in the journal; it holds instances acme-mainnet, "
    "beta-split, preview-alpha"
)
ESCAPE = re.compile(r"\\(e|\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4})")


def _frame_text(width: int, height: int, notes: tuple[str, ...] = (), **kw: bool) -> list[str]:
    views, outputs, now = build()
    recent = tuple(o for o in outputs if isinstance(o, AlertTransition))[-20:]
    frame = Frame(tuple(views), now, notes, recent, len(recent), 30.0, **kw)
    return [line.plain for line in render(frame, width, height)]


@pytest.mark.parametrize(("width", "height"), [(80, 24), (80, 40)])
def test_at_80_columns_the_typo_hint_keeps_the_instances_it_names(width: int, height: int) -> None:
    lines = _frame_text(width, height, (TYPO_NOTE,))
    assert all(len(line) <= width for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("note: "))
    note = " ".join(line.strip() for line in lines[start : start + 3])
    assert f"note: {TYPO_NOTE}" in note


def test_the_legend_describes_only_the_columns_shown() -> None:
    for width, wide in ((80, False), (200, True)):
        screen = _frame_text(width, 40)
        header = next(line for line in screen if line.startswith("instance "))
        legend = _frame_text(width, 40, legend=True)
        keys = {line[:13].strip() for line in legend[1:-1]} - {""}
        assert ("leader" in header.split()) == wide == ("leader" in keys)
        assert ("P" in header.split()) == wide == ("P, ~" in keys)
        for column in ("round", "age / W", "/min", "reg", "act", "rounds"):
            assert column in header  # the bars: "participants, last N rounds", or shorter
        assert {"round", "age / W", "/min", "reg / act", "participants", "committee"} <= keys
        # Every meaning is whole: wrapped under its key, never cut.
        assert not [line for line in legend if line.endswith("…")]
        assert all(len(line) <= width for line in legend)


@pytest.mark.parametrize("width", [40, 80, 200])
def test_a_cut_never_splits_an_escape(width: int) -> None:
    # Names, hosts and summaries of the hostile instance are cut to their columns: always
    # between two escapes, so what shows of `\e]0;pwned\x07` is never a lone backslash.
    lines = _frame_text(width, 50, ("note \x1b[2J [b]x[/b]",))
    for line in lines:
        for i, ch in enumerate(line):
            if ch == "\\" and (i == 0 or line[i - 1] != "\\"):
                assert ESCAPE.match(line, i), line
    assert any("\\e]0;pwned" in line for line in lines)
    assert any("note \\e[2J [b]x[/b]" in line for line in lines)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_in_follow_at_80_columns_a_typo_says_which_instances_exist(
    tmp_path: Path, captures: Captures
) -> None:
    from logwatch.simulate import Scenario

    journal = captures.journal(Scenario("acme-mainnet", seed=1).start().rounds(5).lines(), "full")
    follow = shlex.join(
        [LOGWATCH, "follow", "acme-mainet", "-D", str(journal), "--since", "2026-11-25 UTC",
         "--round-period", "2s"]
    )  # fmt: skip
    tmux = Tmux(tmp_path)
    try:
        keep = ["set-option", "-t", "dash", "remain-on-exit", "on"]
        tmux(
            "new-session",
            "-d",
            "-s",
            "dash",
            "-x",
            "80",
            "-y",
            "24",
            "sh",
            "-c",
            follow,
            ";",
            *keep,
        )
        screen = wait_for_text(tmux, "note: ")
        words = " ".join(screen.split())
        assert "no entries of instance 'acme-mainet' in the journal; it holds instances" in words
        assert "holds instances acme-mainnet" in words
        tmux("send-keys", "-t", "dash", "?")
        legend = wait_for_text(tmux, "press ? again to go back")
        assert "P, ~" not in legend and "leader       who" not in legend
        tmux("send-keys", "-t", "dash", "q")
        tmux.wait_for("#{pane_dead}")
    finally:
        tmux.kill()
