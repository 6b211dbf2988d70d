"""The replay benchmark: every reader on the same data in one run, and the issue's targets."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dataset import Dataset, log, warm_cache
from probe import measure
from readers import STARTUP_RUNS, Reader
from results import MB, Row, Target, format_table, format_targets

JOURNAL_RATIO = 2.0
"""Noise mixes (issue 17): journal replay at most this many times `journalctl -o cat`."""
EVENTS_RATIO = 3.0
"""The events mix: journal replay at most this many times `journalctl -o cat`."""
WINDOW_SHARE = 0.25
"""`--since` the last tenth (issue 17), and `--until` the first: at most this share of the
whole replay, start-up aside."""
INSTANCE_RATIO = 3.0
"""One instance of four: at most this many times `journalctl -u ... -o cat`, start-up aside."""
TEXT_RATE = 300_000
JSON_SPEEDUP = 2.0
ANON_LIMIT = 100 * MB
TEXT_RSS_LIMIT = 150 * MB
STARTUP_LIMIT_S = 0.3
_TEXT = ("lw-short-iso", "lw-with-unit")


def run_replay(
    dataset: Dataset, readers: Sequence[Reader], repeat: int, mix: str = "others"
) -> dict[str, Any]:
    """Time `readers` on `dataset` (of the noise `mix`), the best of `repeat` runs each
    (interleaved, so a busy minute hits them alike); prints the table and targets,
    returns them as JSON."""
    readers = [r for r in readers if r.runs_on(mix)]
    captures = sorted({r.capture for r in readers if r.capture})
    dataset.ensure(captures)
    log("warming the page cache")
    warm_cache([dataset.journal, *(dataset.capture(c) for c in captures)])
    rows = {r.name: Row(r.name, r.command, 0 if r.startup else dataset.entries) for r in readers}
    with tempfile.TemporaryDirectory(prefix="logwatch-bench-") as tmp:
        work = Path(tmp)
        for k in range(1, repeat + 1):
            for reader in readers:
                row, step = rows[reader.name], f"{k}/{repeat}"
                if not reader.startup:
                    run_reader(reader, dataset, work, row, step)
                    continue
                for _ in range(STARTUP_RUNS):
                    run_reader(reader, dataset, work, row, step, quiet=True)
                if row.wall_s is not None:
                    log(f"[{step}] {reader.name}: best of {len(row.runs)} {row.wall_s:.3f} s")
    ratios(list(rows.values()))
    table = format_table(list(rows.values()))
    targets = replay_targets(rows, mix)
    print(f"\nreplay, {mix} mix, {dataset.entries:,} entries ({dataset.root}), best of {repeat}:\n")
    print(table)
    print(f"\ntargets ({mix} mix):")
    print(format_targets(targets))
    for line in _notes(rows):
        print(line)
    return {
        "mode": "replay",
        "mix": mix,
        "entries": dataset.entries,
        "repeat": repeat,
        "dataset": dataset.manifest,
        "rows": [r.to_json() for r in rows.values()],
        "targets": [t.to_json() for t in targets],
    }


def run_reader(
    reader: Reader, dataset: Dataset, work: Path, row: Row, step: str, *, quiet: bool = False
) -> None:
    """Run `reader` once and fold the run into `row`: best wall time, worst memory."""
    argv = reader.argv(dataset, work)
    if argv is None:
        row.status = "not installed"
        return
    out = work / f"{reader.name}.out" if reader.check else None
    run = measure(argv, out)
    if not quiet:
        log(f"[{step}] {reader.name}: {run.wall_s:.2f} s, anon {run.peak_anon / MB:.1f} MB")
    if not run.ok:
        last = run.stderr.splitlines()[-1] if run.stderr else "no message"
        row.status = f"failed (exit {run.exit_code}): {last}"
        return
    row.runs.append(round(run.wall_s, 4))
    # Time: the best run; memory: the worst, so a lucky sample cannot hide a peak.
    if row.wall_s is None or run.wall_s < row.wall_s:
        row.wall_s = run.wall_s
        row.cpu_s = run.cpu_s
    row.peak_rss = max(row.peak_rss or 0, run.peak_rss)
    row.peak_anon = max(row.peak_anon or 0, run.peak_anon)
    if reader.check is not None and out is not None:
        text, ok = reader.check(dataset, out)
        row.check = text
        if not ok and row.status == "ok":
            row.status = "WRONG"


def ratios(rows: list[Row]) -> None:
    cat = next((r for r in rows if r.name == "cat" and r.wall_s), None)
    if cat is None or cat.wall_s is None:
        return
    for r in rows:
        if r.wall_s is not None and r.entries:
            r.ratio_cat = r.wall_s / cat.wall_s


def replay_targets(rows: dict[str, Row], mix: str = "others") -> list[Target]:
    """The issue's replay targets for `mix`, each PASS, FAIL or SKIP (not measured)."""
    targets = []
    journal = rows.get("lw-journal")
    ratio = journal.ratio_cat if journal else None
    limit = EVENTS_RATIO if mix == "events" else JOURNAL_RATIO
    targets.append(
        Target(
            f"journal replay ≤ {limit}× journalctl -o cat",
            "-" if ratio is None else f"{ratio:.2f}× (lw-journal)",
            None if ratio is None else ratio <= limit,
        )
    )
    if mix in ("events", "collector"):
        targets += _selection_targets(rows, mix)
        targets += _common_targets(rows)
        return targets
    for name in _TEXT:
        row = rows.get(name)
        rate = row.rate if row else None
        targets.append(
            Target(
                f"text replay ({name[3:]}) ≥ {TEXT_RATE:,} lines/s",
                "-" if rate is None else f"{rate:,.0f} entries/s",
                None if rate is None else rate >= TEXT_RATE,
            )
        )
    lw_json, json_row = rows.get("lw-json"), rows.get("json")
    speedup = None
    if lw_json and json_row and lw_json.wall_s and json_row.wall_s:
        speedup = json_row.wall_s / lw_json.wall_s
    targets.append(
        Target(
            f"JSON replay ≥ {JSON_SPEEDUP:g}× faster than journalctl -o json",
            "-" if speedup is None else f"{speedup:.1f}× (lw-json)",
            None if speedup is None else speedup >= JSON_SPEEDUP,
        )
    )
    return targets + _common_targets(rows)


def _startup(rows: dict[str, Row]) -> float:
    """What a replay costs before it reads anything (the best empty replay), else 0."""
    row = rows.get("startup-empty")
    return row.wall_s if row is not None and row.wall_s is not None else 0.0


def _selection_targets(rows: dict[str, Row], mix: str) -> list[Target]:
    """A window, and one instance of a collector: each costs what it holds."""
    startup = _startup(rows)
    targets = []
    whole = rows.get("lw-journal")
    for name, window in (
        ("lw-journal-since", "--since the last"),
        ("lw-journal-last", "--since -S, the last"),
        ("lw-journal-until", "--until the first"),
    ):
        part = rows.get(name)
        share = None
        if whole and part and whole.wall_s and part.wall_s:
            share = max(0.0, part.wall_s - startup) / max(1e-9, whole.wall_s - startup)
        targets.append(
            Target(
                f"{window} tenth ≤ {WINDOW_SHARE:g} of the whole replay, start-up aside",
                "-" if share is None else f"{share:.3f} ({name} / lw-journal)",
                None if share is None else share <= WINDOW_SHARE,
            )
        )
    if mix == "collector":
        one, units = rows.get("lw-journal-i"), rows.get("cat-u")
        ratio = None
        if one and units and one.wall_s and units.wall_s:
            ratio = max(0.0, one.wall_s - startup) / units.wall_s
        targets.append(
            Target(
                f"one instance of four ≤ {INSTANCE_RATIO:g}× journalctl -u ... -o cat, "
                "start-up aside",
                "-" if ratio is None else f"{ratio:.2f}× (lw-journal-i / cat-u)",
                None if ratio is None else ratio <= INSTANCE_RATIO,
            )
        )
    return targets


def _common_targets(rows: dict[str, Row]) -> list[Target]:
    """Memory and start-up, the same in every mix."""
    targets = []
    measured = [r for r in rows.values() if r.name.startswith("lw-") and r.peak_anon]
    top = max(measured, key=lambda r: r.peak_anon or 0, default=None)
    targets.append(
        Target(
            f"RssAnon peak < {ANON_LIMIT // MB} MB (logwatch replay, every form)",
            "-" if top is None else f"{(top.peak_anon or 0) / MB:.1f} MB ({top.name})",
            None if top is None else (top.peak_anon or 0) < ANON_LIMIT,
        )
    )
    text = [rows[n] for n in _TEXT if n in rows and rows[n].peak_rss]
    top = max(text, key=lambda r: r.peak_rss or 0, default=None)
    if top is not None:
        targets.append(
            Target(
                f"text replay peak RSS < {TEXT_RSS_LIMIT // MB} MB",
                f"{(top.peak_rss or 0) / MB:.1f} MB ({top.name})",
                (top.peak_rss or 0) < TEXT_RSS_LIMIT,
            )
        )
    for name in ("startup-help", "startup-empty"):
        row = rows.get(name)
        limit = f"start-up ({name[8:]}) < {STARTUP_LIMIT_S * 1000:.0f} ms"
        if row is None or row.wall_s is None:
            targets.append(Target(limit, "-", None))
            continue
        best = f"{row.wall_s * 1000:.0f} ms (best of {len(row.runs)})"
        targets.append(Target(limit, best, row.wall_s < STARTUP_LIMIT_S))
    return targets


def _notes(rows: dict[str, Row]) -> list[str]:
    """Figures the issue quotes without a target of their own."""
    notes = []
    journal, json_row = rows.get("lw-journal"), rows.get("json")
    if journal and json_row and journal.wall_s and json_row.wall_s:
        speedup = json_row.wall_s / journal.wall_s
        notes.append(f"\n  info  journal replay is {speedup:.1f}× faster than journalctl -o json")
    return notes
