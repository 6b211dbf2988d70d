"""What a benchmark run found: measured rows, targets with PASS/FAIL, the table and the JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from env import BenchError

MB = 1_000_000


@dataclass(slots=True)
class Row:
    """One reader's best run on the workload (or why there is none)."""

    name: str
    command: str
    entries: int
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss: int | None = None
    peak_anon: int | None = None
    ratio_cat: float | None = None
    status: str = "ok"
    """ok, not installed, failed (exit N), or a note on what was checked and found wrong."""
    check: str = ""
    """What the reader reported, checked against the workload (rounds, entries)."""
    runs: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Entries per second of wall time."""
        return self.entries / self.wall_s if self.wall_s and self.entries else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["entries_per_s"] = self.rate
        return out


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's targets and how this run did: ok None means not measured."""

    text: str
    measured: str
    ok: bool | None

    @property
    def mark(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.ok]

    def to_json(self) -> dict[str, Any]:
        return {"target": self.text, "measured": self.measured, "result": self.mark}


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / MB:,.1f}"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table, one line each."""
    head = ("reader", "wall s", "entries/s", "× cat", "cpu s", "RSS MB", "anon MB", "status")
    lines = [head]
    for r in rows:
        lines.append(
            (
                r.name,
                _num(r.wall_s, ".2f"),
                _num(r.rate, ",.0f"),
                _num(r.ratio_cat, ".2f"),
                _num(r.cpu_s, ".2f"),
                _mb(r.peak_rss),
                _mb(r.peak_anon),
                r.status + (f"; {r.check}" if r.check else ""),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head) - 1)]
    out = []
    for line in lines:
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=False))
        ]
        out.append("  ".join([*cells, line[-1]]))
    return "\n".join(out)


def format_targets(targets: Sequence[Target]) -> str:
    """One line per target: the mark, the target, what was measured."""
    return "\n".join(f"  {t.mark}  {t.text}: {t.measured}" for t in targets)


def write_json(path: Path, content: dict[str, Any]) -> None:
    """The results as one JSON document at `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
    except OSError as e:
        raise BenchError(f"cannot write {path}: {e.strerror or e}") from None
