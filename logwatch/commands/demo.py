"""`logwatch demo`: a simulated zipnet written live into a real journal, and `follow` on it."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

from logwatch.commands.follow import FollowOptions, run_follow
from logwatch.commands.source_options import SourceOptions
from logwatch.livefeed import LiveJournal, play, timeline
from logwatch.simulate import LogLine, Scenario, merge
from logwatch.times import wall_clock_us

PERIOD_S = 1.0
LINGER_S = 3.0
"""How long the dashboard stays up after the last line, so the recovery shows."""
# The acme-mainnet story, in rounds (one per PERIOD_S): healthy, silent, back, split-brain
# (two leaders finalizing the same rounds), back.
HEALTHY, SILENT, BACK, SPLIT, AFTER = 12, 10, 8, 10, 15
WINDOW_S = 4 * PERIOD_S  # W = 3P + D with D = P, in the wall time the journal is stamped with


def demo_lines(start_us: int) -> list[LogLine]:
    """About a minute of two instances: acme-mainnet goes healthy → stall → split-brain →
    recovery; preview-alpha stays healthy alongside it, on the same journal."""
    acme = Scenario("acme-mainnet", start_us, period_s=PERIOD_S, servers=3, clients=6, seed=1)
    acme.start().rounds(HEALTHY).silence(SILENT).rounds(BACK)
    acme.split_brain("srv2", SPLIT, same_rounds=True).rounds(AFTER)
    preview = Scenario("preview-alpha", start_us, period_s=PERIOD_S, servers=4, clients=3, seed=2)
    preview.start().rounds(55)
    return merge(acme.lines(), preview.lines())


def plan(speed: float) -> str:
    """What the demo plays and when, in one line (times at this speed)."""

    def at(rounds: float, plus_s: float = 0.0) -> str:
        return f"{rounds * PERIOD_S / speed + plus_s:.0f}s"

    stall = HEALTHY
    split = HEALTHY + SILENT + BACK
    end = split + SPLIT + AFTER
    return (
        f"plays {at(end)} of two instances: acme-mainnet healthy, silent from {at(stall)} "
        f"(round_stall at about {at(stall, WINDOW_S)}), back at "
        f"{at(stall + SILENT)}, split-brain from {at(split)} to {at(split + SPLIT)}, then "
        "healthy; preview-alpha healthy throughout"
    )


def run_demo(*, output: str | None, speed: float) -> int:
    """Play the demo into a temporary journal and follow it; cleans up after itself."""
    directory = Path(tempfile.mkdtemp(prefix="logwatch-demo-"))
    done = threading.Event()
    try:
        with LiveJournal(directory) as journal:
            lines = demo_lines(wall_clock_us())
            items = list(timeline(lines, "full-ansi"))

            first_written = threading.Event()
            # The line by which every instance has written once.
            firsts: dict[str, int] = {}
            for i, line in enumerate(lines):
                firsts.setdefault(line.instance, i)
            every_one = max(firsts.values(), default=0) + 1
            written = [0]

            def write(export: bytes) -> None:
                journal.write(export)
                written[0] += 1
                if written[0] >= every_one:
                    first_written.set()

            def feed() -> None:
                play(write, items, speed=speed, stop=done)
                # Keep the dashboard up a little after the last line, then stop.
                done.wait(LINGER_S / speed)
                done.set()

            player = threading.Thread(target=feed, name="demo-feed", daemon=True)
            player.start()
            # The journal holds every instance before the follow asks it which it holds (it
            # warned about its own demo instances, now and then, otherwise).
            first_written.wait(5.0)
            # Said first, so the quiet healthy start is not mistaken for a hang.
            print(f"logwatch demo: {plan(speed)} (journal: {directory})", file=sys.stderr)
            code = run_follow(
                FollowOptions(
                    instances=("acme-mainnet", "preview-alpha"),
                    source=SourceOptions(directory=directory),
                    round_period=f"{PERIOD_S}s",
                    round_deadline=f"{PERIOD_S}s",
                    output=output,
                ),
                done=done,
            )
            done.set()
            player.join(timeout=5)
            return code
    finally:
        shutil.rmtree(directory, ignore_errors=True)
