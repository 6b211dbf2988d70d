"""The logwatch benchmark (issue 6): `make bench ARGS="..."` or `.venv/bin/python bench/run.py`.

    bench/run.py generate --entries 1M      # make (or reuse) the workload in bench/.data/
    bench/run.py [replay] --entries 1M      # time every reader on it, targets PASS/FAIL
    bench/run.py memory --entries 1M --large 10M
    bench/run.py follow --rate 5000 --duration 30 --idle-seconds 60
    bench/run.py budgets --budget-entries 100k   # per-entry budgets (also after replay)

See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dataset import CAPTURES, Dataset, log
from env import DATA, BenchError
from results import write_json
from workload import MIXES, Shape

MODES = ("generate", "replay", "memory", "follow", "budgets")
MIN_ENTRIES = 10_000
_SUFFIXES = {"k": 1_000, "m": 1_000_000}


def count(text: str) -> int:
    """`1000000`, `1_000_000`, `100k` or `10M` as a number."""
    cleaned = text.strip().lower().replace("_", "").replace(",", "")
    scale = _SUFFIXES.get(cleaned[-1:], 1)
    digits = cleaned[:-1] if scale != 1 else cleaned
    try:
        value = float(digits) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count: {text!r}") from None
    if value < MIN_ENTRIES or value != int(value):
        raise argparse.ArgumentTypeError(f"a whole number, at least {MIN_ENTRIES:,}: {text!r}")
    return int(value)


def positive(text: str) -> float:
    """A number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero: {text!r}")
    return value


def not_negative(text: str) -> float:
    """A number, zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark logwatch against journalctl and friends (issue 6).",
    )
    p.add_argument("mode", nargs="?", default="replay", choices=MODES, help="default: replay")
    p.add_argument(
        "--entries", type=count, default=1_000_000, help="workload size (1000000, 100k, 10M)"
    )
    p.add_argument("--large", type=count, help="memory: the larger size [10 × --entries]")
    p.add_argument("--data-dir", type=Path, default=DATA, help="cache [bench/.data]")
    p.add_argument("--regenerate", action="store_true", help="make the workload again")
    p.add_argument("--journal-only", action="store_true", help="generate: no captures")
    p.add_argument(
        "--mix",
        default=",".join(MIXES),
        help="the mixes, comma-separated (memory and follow take the first): `others` "
        "(other programs' noise), `zipnet` (zipnet's own unclaimed lines), `events` (nearly "
        "all zipnet events), `collector` (four instances) [all four]",
    )
    p.add_argument("--only", help="replay: these readers only, comma-separated")
    p.add_argument("--repeat", type=int, default=1, help="replay: best of K runs [1]")
    p.add_argument(
        "--budget-entries",
        type=count,
        default=100_000,
        help="budgets (and replay without --only): entries of each budget journal [100k]",
    )
    p.add_argument("--json", type=Path, help="results file [DATA/results-MODE-N.json]")
    p.add_argument("--rate", type=positive, default=5000.0, help="follow: entries/s [5000]")
    p.add_argument("--duration", type=positive, default=30.0, help="follow: seconds [30]")
    p.add_argument(
        "--idle-seconds", type=not_negative, default=60.0, help="follow: silent seconds [60]"
    )
    p.add_argument(
        "--journalctl", action="store_true", help="follow: through `journalctl --follow`"
    )
    return p


def mixes(args: argparse.Namespace) -> list[str]:
    """The mixes asked for, in MIXES order."""
    wanted = {m.strip() for m in str(args.mix).split(",") if m.strip()}
    unknown = wanted - set(MIXES)
    if unknown or not wanted:
        raise BenchError(f"--mix: one or more of {', '.join(MIXES)}, not {args.mix!r}")
    return [m for m in MIXES if m in wanted]


def dataset(args: argparse.Namespace, entries: int, mix: str = "others") -> Dataset:
    """The cached workload of `entries` in `mix`, emptied first with --regenerate."""
    # The issue-6 mix keeps its directory name, so its caches stay valid.
    name = str(entries) if mix == "others" else f"{entries}-{mix}"
    ds = Dataset(args.data_dir / name, Shape.of(entries, mix))
    if args.regenerate:
        ds.clear()
    return ds


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    """Run the chosen mode; the results to write as JSON (None for generate)."""
    if args.mode == "generate":
        for mix in mixes(args):
            ds = dataset(args, args.entries, mix)
            ds.ensure(() if args.journal_only else CAPTURES)
            _print_dataset(ds)
        return None
    if args.mode == "replay":
        from readers import select
        from replay import run_replay

        if args.repeat < 1:
            raise BenchError("--repeat must be at least 1")
        try:
            readers = select(args.only)
        except ValueError as e:
            raise BenchError(str(e)) from None
        results = {
            mix: run_replay(dataset(args, args.entries, mix), readers, args.repeat, mix)
            for mix in mixes(args)
        }
        content: dict[str, Any] = {"mode": "replay", "entries": args.entries, "mixes": results}
        if not args.only:
            content["budgets"] = _budgets(args)
        return content
    if args.mode == "budgets":
        return {"mode": "budgets", **_budgets(args)}
    if args.mode == "memory":
        from memory import run_memory

        large = args.large or 10 * args.entries
        if large <= args.entries:
            raise BenchError("--large must be more than --entries")
        (mix, *_) = mixes(args)
        return run_memory(dataset(args, args.entries, mix), dataset(args, large, mix))
    from follow import run_follow

    (mix, *_) = mixes(args)
    return run_follow(args.rate, args.duration, args.idle_seconds, mix, args.journalctl)


def _budgets(args: argparse.Namespace) -> dict[str, Any]:
    from budgets import run_budgets

    return run_budgets(args.data_dir, args.budget_entries, max(3, args.repeat))


def _print_dataset(ds: Dataset) -> None:
    m = ds.manifest
    plan = m["plan"]
    print(
        f"{ds.root} ({ds.shape.mix} mix): {m['entries']:,} entries, {plan['rounds']:,} rounds, "
        f"{plan['instance_entries']:,} of {ds.shape.clients} clients' instance "
        f"({plan['instance_entries'] / m['entries']:.0%})"
    )
    journal = m["journal"]
    print(
        f"  journal/          {journal['bytes'] / 1e6:9,.0f} MB in {journal['files']} files, "
        f"made in {journal['seconds']:.1f} s"
    )
    for fmt, c in m.get("captures", {}).items():
        print(
            f"  capture.{fmt:<10}{c['bytes'] / 1e6:9,.0f} MB, {c['lines']:,} lines, "
            f"made in {c['seconds']:.1f} s"
        )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        content = run(args)
        if content is not None:
            size = int(args.rate) if args.mode == "follow" else args.entries
            if args.mode == "budgets":
                size = args.budget_entries
            path = args.json or args.data_dir / f"results-{args.mode}-{size}.json"
            write_json(path, content)
            log(f"results written to {path}")
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
