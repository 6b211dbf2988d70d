"""`logwatch patterns list|test`: the patterns, and what they make of captured logs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logwatch.commands.common import build_reading
from logwatch.escape import escape_text
from logwatch.pipeline import Step, Tally
from logwatch.records import Record, Unreadable
from logwatch.run.replay_plan import ReplayPlan
from logwatch.sinks.json_output import dumps
from logwatch.times import format_time

MISSED_WIDTH = 300
MISSED_JSON_MAX = 1000  # JSON is one object, so it holds at most this many missed lines


def run_list(*, pattern_dirs: Sequence[Path], config_path: Path | None, output: str) -> None:
    """Print every loaded pattern with its roles, message, fields and origin."""
    reading = build_reading(instances=(), pattern_dirs_opt=pattern_dirs, config_path=config_path)
    rows = [
        {
            "name": p.name,
            "roles": list(p.roles),
            "message": p.message,
            "fields": dict(p.fields),
            "leader_only": p.leader_only,
            "examples": len(p.examples),
            "origin": p.origin,
            "overrides": list(p.overrides),
        }
        for p in reading.patterns.patterns
    ]
    if output == "json":
        print(dumps({"type": "patterns", "patterns": rows, "files": list(reading.patterns.files)}))
        return
    for p in reading.patterns.patterns:
        fields = " ".join(f"{k}:{v}" for k, v in p.fields.items())
        leader = " leader-only" if p.leader_only else ""
        print(f"{p.name:<24} {','.join(p.roles):<10} {p.message!r} {fields}{leader}")
        note = f"  from {p.origin}"
        if p.overrides:
            note += f" (overrides {', '.join(p.overrides)})"
        print(note)


def run_test(
    *,
    inputs: Sequence[str],
    fmt: str | None,
    instances: Sequence[str],
    show_missed: bool,
    pattern_dirs: Sequence[Path],
    config_path: Path | None,
    output: str,
) -> None:
    """Run every pattern over the inputs and print, per pattern, what it matched."""
    reading = build_reading(
        instances=instances, pattern_dirs_opt=pattern_dirs, config_path=config_path
    )
    tally = Tally()
    missed: list[str] = []
    missed_dropped = 0
    steps = ReplayPlan(reading, inputs, fmt).steps(tally, screened=not show_missed)
    for step in steps:
        if not show_missed:
            continue
        if isinstance(step, Unreadable):
            missed.append(f"unreadable ({step.reason}) {step.origin}: {step.sample}")
        elif isinstance(step, Step) and step.event is None:
            missed.append(_describe(step.record))
        if output == "text" and len(missed) >= 1000:
            _flush_missed(missed)
        elif len(missed) > MISSED_JSON_MAX:
            missed.pop()
            missed_dropped += 1
    counts = reading.matcher.counts()
    if tally.entries == 0:
        print(f"logwatch: no entries in {', '.join(inputs)}", file=sys.stderr)
    if output == "json":
        result: dict[str, Any] = {
            "type": "pattern_test",
            "entries": tally.entries,
            "matched": {name: c.matched for name, c in counts.items()},
            "unmatched": tally.unmatched,
            "errors": tally.errors,
            "rejected": {name: c.rejected for name, c in counts.items() if c.rejected},
            "timeouts": {name: c.timeouts for name, c in counts.items() if c.timeouts},
            "unreadable": dict(sorted(tally.unreadable.items())),
            "outside": tally.outside,
        }
        if show_missed:
            result["missed"] = [escape_text(m, limit=MISSED_WIDTH) for m in missed]
            result["missed_dropped"] = missed_dropped
        print(dumps(result))
        return
    _flush_missed(missed)
    print(f"entries: {tally.entries}")
    width = max((len(n) for n in counts), default=10)
    for name, c in counts.items():
        extra = ""
        if c.rejected:
            extra += f"  (rejected {c.rejected}: message matched, fields missing or ill-typed)"
        if c.timeouts:
            extra += f"  (timed out {c.timeouts})"
        print(f"  {name:<{width}} {c.matched:>9}{extra}")
    print(f"unmatched: {tally.unmatched}")
    reasons = ", ".join(f"{r} ×{n}" for r, n in sorted(tally.unreadable.items()))
    print(f"unreadable: {tally.errors}" + (f" ({reasons})" if reasons else ""))
    if tally.outside:
        print(f"outside the selection: {tally.outside}")


def _describe(record: Record) -> str:
    who = " ".join(x for x in (record.host, record.unit) if x)
    fields = " ".join(f"{k}={v}" for k, v in record.fields.items())
    text = f"{record.message} {fields}" if fields else record.message
    return f"{format_time(record.time_us)} {who}: {text}"


def _flush_missed(missed: list[str]) -> None:
    for line in missed:
        print("missed: " + escape_text(line, limit=MISSED_WIDTH))
    missed.clear()
    sys.stdout.flush()
