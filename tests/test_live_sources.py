"""Live equals replay through the real sources: a collector's directory (a journal file per
host, written by systemd-journal-remote while logwatch follows it) read natively and
with --journalctl, and export text piped into `follow -`; the follow's clock is stepped
(tests/live_harness.py), the entries written when it reaches their time.

And what an operator meets on such a collector: a healthy instance pages nobody, a
client 30 s ahead is named (30 ± 1 s) in follow, check and replay alike and hides no
round, an aggregator that goes down pages once, with its cause.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from live_harness import alerts, capture, followed_for_real, replayed
from scenarios import SCENARIOS
from test_live_replay import ROUND_US, RULES, assert_same_alerts

from logwatch.commands.check import prepare_check, run_check
from logwatch.commands.source_options import SourceOptions
from logwatch.livefeed import LiveJournal
from logwatch.sources import live
from logwatch.times import US

KINDS = ("native", "journalctl", "stdin")
TICK_US = 500_000
CLIENT_AHEAD = {"client1": 30.0}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("name", "skew"),
    [
        ("healthy", None),
        ("healthy", CLIENT_AHEAD),
        ("aggregator_down", None),
        ("committee_stuck", {"srv2": -60.0}),
    ],
    ids=["healthy", "client-30s-ahead", "aggregator-down", "stuck-with-a-server-behind"],
)
def test_a_real_source_followed_alerts_as_replay_does(
    tmp_path: Path, kind: str, name: str, skew: dict[str, float] | None
) -> None:
    cap = capture(SCENARIOS[name](), skew)
    replay = alerts(replayed(cap, *RULES, instances=["acme-mainnet"]))
    live = alerts(followed_for_real(cap, kind, tmp_path, *RULES))
    # One journalctl run per file hands each host's entries over on its own, so a host's
    # round lines may come a batch after the others' and its offset be measured a few
    # rounds later (seen once in 40 runs on a loaded machine: 6 s).
    skew_us = 4 * ROUND_US if kind == "journalctl" else ROUND_US
    assert_same_alerts(replay, live, TICK_US, skew_us)
    if name == "healthy":
        assert [a["alert"] for a in live] == (["clock_skew"] if skew else [])


def _client_ahead(objs: list[dict[str, Any]]) -> float:
    """The offset the one clock_skew names for client1, checked to be that one alone."""
    (skew,) = [a for a in alerts(objs) if a["alert"] == "clock_skew"]
    assert skew["labels"]["host"] == "clients" and skew["values"]["worst"] == "client1"
    assert skew["values"]["hosts"] == 1
    return float(skew["values"]["offset_s"])


@pytest.mark.parametrize("kind", ["native", "journalctl"])
def test_a_client_30s_ahead_is_named_alike_by_follow_check_and_replay(
    tmp_path: Path, kind: str
) -> None:
    lines = SCENARIOS["healthy"]()
    cap = capture(lines, CLIENT_AHEAD)
    rounds = sum(1 for x in lines if x.message == "round finalized")
    replay = replayed(cap, *RULES, instances=["acme-mainnet"])
    live = followed_for_real(cap, kind, tmp_path, *RULES)
    assert abs(_client_ahead(replay) - 30) < 1
    assert abs(_client_ahead(live) - 30) < 1
    assert [a["alert"] for a in alerts(live)] == ["clock_skew"]  # no stall
    assert live[-1]["instances"]["acme-mainnet"]["rounds"] == rounds  # no round hidden
    # check, at the end, over the collector's files the follow read.
    plan = prepare_check(
        instances=["acme-mainnet"], since="-1m", round_period="2s", round_deadline="1s",
        expect_clients=None, pattern_dirs=[], config_path=None, now_us=cap.end_us + US,
    )  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_check(
            plan,
            source=SourceOptions(directory=tmp_path / "journal", journalctl=kind == "journalctl"),
            output="text",
        )
    text = out.getvalue()
    assert code == 1, text  # WARNING: the one clock_skew
    said = re.search(r"clock_skew since \S+ \(clock of client1 is ([0-9.]+)s ahead", text)
    assert said is not None and abs(float(said.group(1)) - 30) < 1, text


def test_an_aggregator_going_down_pages_once_through_exec_with_its_cause(
    tmp_path: Path,
) -> None:
    pages = tmp_path / "pages"
    script = tmp_path / "page.py"
    script.write_text(
        "import sys\n"
        f"with open({str(pages)!r}, 'a') as f:\n"
        "    f.write(sys.stdin.read().strip() + '\\n')\n"
    )
    cap = capture(SCENARIOS["aggregator_down"]())
    live = followed_for_real(
        cap, "native", tmp_path, *RULES, exec_argv=(sys.executable, str(script))
    )
    sent = [json.loads(line) for line in pages.read_text().splitlines()]
    assert [(p["alert"], p["state"], p["cause"]) for p in sent] == [
        ("round_stall", "firing", "aggregator_down")
    ]
    assert [a["alert"] for a in alerts(live)] == ["round_stall"]


def test_the_collector_journal_is_real(tmp_path: Path) -> None:
    # The harness writes through systemd-journal-remote: a file per host, as collected.
    cap = capture(SCENARIOS["healthy"]()[:50])
    followed_for_real(cap, "native", tmp_path, *RULES)
    files = sorted(p.name for p in (tmp_path / "journal").glob("*.journal"))
    assert files == sorted(f"remote-{h}.journal" for h in {x.host for x in cap.stamped})
    assert all((tmp_path / "journal" / f).stat().st_size > 4096 for f in files)
    _ = LiveJournal  # the writer behind them


MAX = live.MAX_BATCH


def test_a_live_source_drains_at_most_every_50_ms_while_entries_trickle_in() -> None:
    # The pace answers at times the test steps: how long to wait before the next drain.
    pace = live.Pace()
    now = 1000.0
    assert pace.pause(now, now + 1) == 0  # nothing drained yet: at once
    pace.drained(10, MAX, now)
    now += 0.01
    assert pace.pause(now, now + 1) == pytest.approx(live.DRAIN_EVERY_S - 0.01)
    now += live.DRAIN_EVERY_S - 0.01
    pace.drained(10, MAX, now)
    # The caller's deadline comes first (a poll that must not wait).
    assert pace.pause(now, now) == 0
    assert pace.pause(now, now + 0.02) == pytest.approx(0.02)
    now += 0.02
    pace.drained(0, MAX, now)  # an empty drain changes nothing: still due in 30 ms
    assert pace.pause(now, now + 1) == pytest.approx(0.03)
    now += 0.03
    pace.drained(MAX, MAX, now)  # a full batch: a backlog, drained again at once
    assert pace.pause(now, now + 1) == 0
    pace.drained(10, MAX, now)
    now += 1.0  # a quiet spell: the first entry after it waits for nothing
    assert pace.pause(now, now + 1) == 0
