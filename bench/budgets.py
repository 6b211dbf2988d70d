"""The per-entry budgets (issue 17): what a line costs logwatch beyond reading it.

Two journals of one kind of line each, made once and cached (bench/.data/budgets-N/):

- `rejected/`: zipnet's own lines no pattern claims (mosaik at debug, the `zipnet` mix's
  noise), every one of them rejected by the triage;
- `matched/`: an instance's round lines only (`sealed envelope`, `submitted partial`,
  ...), every one of them an event.

On each, budget_probe.py (in a process of its own, so the tree under test is the one
imported) times the floor (every entry's time and MESSAGE through the binding's
low-level calls, nothing else), the replay's main read taken into the engine, and its
first look. A budget is (main read - floor) / entries: what logwatch spends on a line
beyond reading it. Targets: a rejected line under 1 µs, a matched event from read to
engine under 6 µs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dataset import feed_journal_remote, log
from env import BENCH, INSTANCE, REPO, TREE, BenchError
from results import Target, format_targets
from workload import Shape, chunks_of, zipnet_noise

from logwatch.simulate import LogLine, Scenario

REJECTED_US = 1.0
MATCHED_US = 6.0
KINDS = ("rejected", "matched")
_ROUNDS_AT_ONCE = 50


def matched_lines(count: int) -> Iterator[LogLine]:
    """At least `count` round lines of one instance (5 servers, 200 clients, a round
    every 2 s), no chatter: each one an event."""
    scenario = Scenario(INSTANCE, servers=5, clients=200, seed=17, mosaik=False)
    made = 0
    first = True
    while made < count:
        if first:
            scenario.start()
            first = False
        lines = scenario.rounds(_ROUNDS_AT_ONCE, chatter=False).lines()
        yield from lines
        made += len(lines)
        scenario = Scenario(
            INSTANCE,
            scenario.now_us,
            servers=5,
            clients=200,
            seed=17,
            mosaik=False,
            first_round=scenario.next_round,
        )


def rejected_lines(count: int) -> Iterator[LogLine]:
    """`count` lines of zipnet's units that no pattern claims."""
    return zipnet_noise(Shape.of(count, "zipnet"), count, 20_000.0)


def journal_of(data: Path, kind: str, entries: int) -> Path:
    """The cached journal of `kind` (KINDS), made when missing."""
    root = data / f"budgets-{entries}" / kind
    if root.is_dir():
        return root
    partial = root.with_name(kind + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    log(f"generating {entries:,} {kind} entries into {root}")
    lines = rejected_lines(entries) if kind == "rejected" else matched_lines(entries)
    feed_journal_remote(chunks_of(_first(lines, entries), 1 << 18), partial / "remote.journal")
    partial.rename(root)
    return root


def _first(lines: Iterator[LogLine], count: int) -> Iterator[LogLine]:
    for i, line in enumerate(lines):
        if i >= count:
            return
        yield line


def probe(journal: Path, repeat: int) -> dict[str, Any]:
    """budget_probe.py's figures on `journal`, with the tree under test imported."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.environ.get(TREE) or str(REPO)
    python = str(REPO / ".venv" / "bin" / "python")
    argv = [python, "-P", str(BENCH / "budget_probe.py"), str(journal), "--repeat", str(repeat)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()
        raise BenchError(f"budget probe failed on {journal}: {last[-1] if last else '?'}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_budgets(data: Path, entries: int, repeat: int) -> dict[str, Any]:
    """Time both journals, print the budgets and their targets, return them as JSON."""
    figures = {}
    for kind in KINDS:
        journal = journal_of(data, kind, entries)
        log(f"budgets: timing {kind} ({entries:,} entries, best of {repeat})")
        figures[kind] = probe(journal, repeat)
    print(f"\nper-entry budgets, {entries:,} entries each, best of {repeat}:\n")
    print(
        f"  {'journal':<9}{'floor µs':>10}{'main µs':>10}{'beyond µs':>11}{'look µs':>10}"
        f"   {'of main: triage':>15}{'decode':>8}{'engine':>8}"
    )
    budgets = {}
    for kind, f in figures.items():
        n = f["entries"]
        floor, main, look, read, steps = (
            f[k] * 1e6 / n for k in ("floor", "main", "look", "read", "steps")
        )
        budgets[kind] = main - floor
        print(
            f"  {kind:<9}{floor:>10.2f}{main:>10.2f}{main - floor:>11.2f}{look:>10.2f}"
            f"   {read:>15.2f}{steps - read:>8.2f}{main - steps:>8.2f}"
        )
    targets = [
        Target(
            f"a rejected line ≤ {REJECTED_US:g} µs beyond reading it",
            f"{budgets['rejected']:.2f} µs",
            budgets["rejected"] <= REJECTED_US,
        ),
        Target(
            f"a matched event from read to engine ≤ {MATCHED_US:g} µs",
            f"{budgets['matched']:.2f} µs",
            budgets["matched"] <= MATCHED_US,
        ),
    ]
    print("\ntargets (budgets):")
    print(format_targets(targets))
    print(
        "  (floor: every entry's time and MESSAGE read; main: the replay's main read into "
        "the engine; look: its first look;\n   of main: the read up to the triage, then "
        "decoding and matching, then the driver and the engine)"
    )
    return {
        "entries": entries,
        "figures": figures,
        "budgets_us": budgets,
        "targets": [t.to_json() for t in targets],
    }
