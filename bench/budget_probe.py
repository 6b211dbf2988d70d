"""Run by budgets.py in a process of its own (the tree under test first on sys.path):
times one journal read three ways and prints the figures as one JSON object.

    python -P bench/budget_probe.py JOURNAL_DIR

- `floor`: a plain loop over the journal with the binding's low-level calls, every
  entry's time and MESSAGE: what reading an entry costs at the least;
- `main`: the replay's main read (ReplayPlan.steps) taken by the driver into the engine,
  everything a replay does per entry after its first look;
- `read`: the same read up to the triage (each entry read, or glanced at, or passed by),
  and `steps`: up to decoding and matching (ReplayPlan.steps, nothing taken into the
  engine): where `main`'s time goes, stage by stage;
- `look`: the replay's first look (ReplayPlan.first_look), the clock's read.

Each is the best of `--repeat` runs, in seconds; `entries` is what the journal holds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque
from pathlib import Path

from logwatch.commands.common import build_reading, rule_settings
from logwatch.engine import Engine
from logwatch.engine.hostclock import HostTime
from logwatch.pipeline import Tally
from logwatch.run.driver import Driver
from logwatch.run.replay_plan import ReplayPlan
from logwatch.sources import open_inputs
from logwatch.triage import Triage


class _Discard:
    def emit(self, output: object) -> None:
        return None

    def close(self, summary: object) -> None:
        return None


def floor(directory: Path) -> tuple[float, int]:
    """(seconds, entries) of reading every entry's time and MESSAGE, nothing else."""
    from systemd import journal

    files = sorted(str(p) for p in directory.glob("*.journal"))
    started = time.perf_counter()
    reader = journal.Reader(files=files)
    nxt, get, realtime = reader._next, reader._get, reader._get_realtime
    n = 0
    while nxt():
        realtime()
        get("MESSAGE")
        n += 1
    reader.close()
    return time.perf_counter() - started, n


def main_read(directory: Path) -> tuple[float, float, int]:
    """(seconds of the first look, seconds of the main read into the engine, entries)."""
    reading = build_reading(instances=(), pattern_dirs_opt=(), config_path=None)
    settings = rule_settings(reading, "1s", None, None)
    plan = ReplayPlan(reading, [str(directory)], None)
    started = time.perf_counter()
    offsets = plan.first_look(settings.clock_tolerance_us)
    looked = time.perf_counter()
    engine = Engine(settings, HostTime(settings.clock_tolerance_us, offsets))
    driver = Driver(engine, _Discard())
    tally = Tally()
    driver.take(plan.steps(tally, offsets))
    driver.finish()
    return looked - started, time.perf_counter() - looked, tally.entries


def stages(directory: Path) -> tuple[float, float]:
    """(seconds of the main read up to the triage, seconds up to decoding and matching)."""
    reading = build_reading(instances=(), pattern_dirs_opt=(), config_path=None)
    settings = rule_settings(reading, "1s", None, None)
    plan = ReplayPlan(reading, [str(directory)], None)
    offsets = plan.first_look(settings.clock_tolerance_us)
    triage = Triage(reading.writers, reading.matcher.screen())
    started = time.perf_counter()
    deque(open_inputs([str(directory)], triage=triage), maxlen=0)
    read = time.perf_counter() - started
    started = time.perf_counter()
    deque(plan.steps(Tally(), offsets), maxlen=0)
    return read, time.perf_counter() - started


def run() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("journal", type=Path)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    best: dict[str, float] = {}
    entries = 0
    for _ in range(args.repeat):
        seconds, entries = floor(args.journal)
        best["floor"] = min(best.get("floor", seconds), seconds)
        look, main, read = main_read(args.journal)
        best["look"] = min(best.get("look", look), look)
        best["main"] = min(best.get("main", main), main)
        if read != entries:
            raise SystemExit(f"the main read counted {read} entries, the floor {entries}")
        read_s, steps_s = stages(args.journal)
        best["read"] = min(best.get("read", read_s), read_s)
        best["steps"] = min(best.get("steps", steps_s), steps_s)
    print(json.dumps({"entries": entries, **best}))


if __name__ == "__main__":
    run()
