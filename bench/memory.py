"""The memory benchmark: journal replay at two sizes, anonymous memory must not grow."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from dataset import Dataset, log, warm_cache
from readers import READERS
from replay import ANON_LIMIT, ratios, run_reader
from results import MB, Row, Target, format_table, format_targets

GROWTH = 0.10
"""The larger input may use this much more anonymous memory (noise of the allocator)..."""
GROWTH_MIN = 5 * MB
"""... or this much, whichever is more."""
_READERS = ("cat", "lw-journal")


def run_memory(small: Dataset, large: Dataset) -> dict[str, Any]:
    """journalctl -o cat and logwatch replay on both journals; compares logwatch's
    RssAnon peaks. Prints the table and targets, returns them as JSON."""
    readers = [r for r in READERS if r.name in _READERS]
    tables: list[list[Row]] = []
    with tempfile.TemporaryDirectory(prefix="logwatch-bench-") as tmp:
        for dataset in (small, large):
            dataset.ensure(captures=())
            log(f"warming the page cache ({dataset.entries:,} entries)")
            warm_cache([dataset.journal])
            rows = [Row(r.name, r.command, dataset.entries) for r in readers]
            for reader, row in zip(readers, rows, strict=True):
                run_reader(reader, dataset, Path(tmp), row, f"{dataset.entries:,}")
            ratios(rows)
            tables.append(rows)
    for dataset, rows in zip((small, large), tables, strict=True):
        print(f"\njournal replay, {dataset.entries:,} entries:\n")
        print(format_table(rows))
    anon = [next(r for r in rows if r.name == "lw-journal").peak_anon for rows in tables]
    targets = memory_targets(anon[0], anon[1], small.entries, large.entries)
    print("\ntargets:")
    print(format_targets(targets))
    return {
        "mode": "memory",
        "sizes": [small.entries, large.entries],
        "datasets": [small.manifest, large.manifest],
        "rows": {
            str(ds.entries): [r.to_json() for r in rows]
            for ds, rows in zip((small, large), tables, strict=True)
        },
        "targets": [t.to_json() for t in targets],
    }


def memory_targets(
    small: int | None, large: int | None, small_n: int, large_n: int
) -> list[Target]:
    """RssAnon below the limit at both sizes, and no growth from the small to the large."""
    if small is None or large is None:
        return [
            Target(f"RssAnon peak < {ANON_LIMIT // MB} MB", "-", None),
            Target("no growth with input length", "-", None),
        ]
    peak = max(small, large)
    allowed = max(small * GROWTH, GROWTH_MIN)
    return [
        Target(
            f"RssAnon peak < {ANON_LIMIT // MB} MB at {small_n:,} and {large_n:,} entries",
            f"{small / MB:.1f} MB and {large / MB:.1f} MB",
            peak < ANON_LIMIT,
        ),
        Target(
            f"no growth: {large_n:,} entries within {GROWTH:.0%} (or {GROWTH_MIN // MB} MB) "
            f"of {small_n:,}",
            f"{(large - small) / MB:+.1f} MB",
            large - small <= allowed,
        ),
    ]
