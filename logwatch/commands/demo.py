"""`logwatch demo`: a simulated zipnet written live into a real journal, and `follow` on it."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

from logwatch.commands.follow import run_follow
from logwatch.commands.source_options import SourceOptions
from logwatch.livefeed import LiveJournal, play, timeline
from logwatch.simulate import LogLine, Scenario, merge
from logwatch.times import wall_clock_us

PERIOD_S = 1.0
LINGER_S = 3.0
"""How long the dashboard stays up after the last line, so the recovery shows."""


def demo_lines(start_us: int) -> list[LogLine]:
    """About a minute of two instances: acme-mainnet goes healthy → stall → split-brain →
    recovery; preview-alpha stays healthy alongside it, on the same journal."""
    acme = Scenario("acme-mainnet", start_us, period_s=PERIOD_S, servers=3, clients=6, seed=1)
    acme.start().rounds(12).silence(10).rounds(8)
    acme.split_brain("srv2", 10, same_rounds=True).rounds(15)
    preview = Scenario("preview-alpha", start_us, period_s=PERIOD_S, servers=4, clients=3, seed=2)
    preview.start().rounds(55)
    return merge(acme.lines(), preview.lines())


def run_demo(*, output: str | None, speed: float) -> int:
    """Play the demo into a temporary journal and follow it; cleans up after itself."""
    directory = Path(tempfile.mkdtemp(prefix="logwatch-demo-"))
    done = threading.Event()
    try:
        with LiveJournal(directory) as journal:
            lines = demo_lines(wall_clock_us())
            items = list(timeline(lines, "full-ansi"))

            def feed() -> None:
                play(journal.write, items, speed=speed, stop=done)
                # Keep the dashboard up a little after the last line, then stop.
                done.wait(LINGER_S / speed)
                done.set()

            player = threading.Thread(target=feed, name="demo-feed", daemon=True)
            player.start()
            if output != "tui" and not sys.stdout.isatty():
                print(f"logwatch demo: following {directory}", file=sys.stderr)
            code = run_follow(
                instances=["acme-mainnet", "preview-alpha"],
                all_instances=False,
                source=SourceOptions(directory=directory),
                fmt=None,
                since=None,
                state_dir=None,
                round_period=f"{PERIOD_S}s",
                round_deadline=f"{PERIOD_S}s",
                expect_clients=None,
                events="alerts",
                output=output,
                exec_argv=[],
                exec_timeout_s=10.0,
                pattern_dirs=[],
                config_path=None,
                done=done,
            )
            done.set()
            player.join(timeout=5)
            return code
    finally:
        shutil.rmtree(directory, ignore_errors=True)
