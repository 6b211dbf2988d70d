"""What the soak measured: rounds lost and repeated, latency, descriptors, memory, CPU;
printed as figures and the issue's targets with PASS or FAIL."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from results import MB, Target, format_targets
from soakwrite import Written

P99_LIMIT_S = 0.250
RATE_SHARE = 0.95
"""The soak counts only if the writer kept up: journal-remote writing this share of the
rate asked (on a busy machine it cannot, and the figures say so)."""
CURSOR_AGE_LIMIT_S = 1.25
"""The follow loop saves the cursor every second, on its 250 ms tick: after a kill -9 at
most this much was shown and not yet saved, and is shown again."""
FDS_SLACK = 2
ANON_SLACK = 5 * MB


@dataclass(frozen=True, slots=True)
class Arrival:
    """A round's JSON line read from a follower: when (monotonic and wall time)."""

    round: int
    follower: int
    at: float
    wall: float


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at a follower: descriptors, those on deleted journal files, RssAnon, CPU."""

    at: float
    follower: int
    fds: int
    deleted: int
    anon: int
    cpu_s: float


@dataclass(slots=True)
class Soak:
    """Everything one soak recorded (soak.py fills it in)."""

    seconds: float
    rate: float
    rotate_every_s: float
    keep_files: int
    mix: str = "zipnet"
    written: Written = field(default_factory=Written)
    arrivals: list[Arrival] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    killed_at: float = 0.0
    killed_wall: float = 0.0
    cursor_saved_wall: float | None = None
    restarted_live_at: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    cpu_follower_s: float = 0.0
    cpu_remote_s: float = 0.0
    cpu_writer_s: float = 0.0
    followers: list[tuple[int, float, list[str], list[str]]] = field(default_factory=list)
    """(index, live at, stderr lines, alert lines) of each follower."""
    rotations_seen: int = 0
    vacuum_runs: int = 0
    files_deleted: int = 0
    vacuum_errors: list[str] = field(default_factory=list)
    exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Descriptors and anonymous memory over one stretch of samples."""

    name: str
    fds_median: float
    fds_max: int
    anon_median: float
    anon_max: int
    samples: int

    def flat_against(self, first: Window) -> bool:
        """No more descriptors, and no more memory than noise, than in `first`."""
        return (
            self.fds_median <= first.fds_median + FDS_SLACK
            and self.fds_max <= first.fds_max + FDS_SLACK
            and self.anon_median <= first.anon_median + max(ANON_SLACK, 0.1 * first.anon_median)
        )

    def text(self) -> str:
        return (
            f"{self.name}: fds {self.fds_median:.0f} (max {self.fds_max}), anon "
            f"{self.anon_median / MB:.1f} MB (max {self.anon_max / MB:.1f}), {self.samples} looks"
        )


def window(name: str, samples: list[Sample]) -> Window | None:
    if not samples:
        return None
    return Window(
        name,
        statistics.median(s.fds for s in samples),
        max(s.fds for s in samples),
        statistics.median(s.anon for s in samples),
        max(s.anon for s in samples),
        len(samples),
    )


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted `values`."""
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def analyse(soak: Soak) -> dict[str, Any]:
    """The figures, as a JSON-ready dict."""
    w = soak.written
    shown: dict[int, list[Arrival]] = {}
    for a in soak.arrivals:
        shown.setdefault(a.round, []).append(a)
    markers = w.marker_times
    lost = sorted(r for r in markers if r not in shown)
    repeated = sorted(r for r, arr in shown.items() if len(arr) > 1)
    twice_by_one = sorted(
        r for r, arr in shown.items() if max(Counter(a.follower for a in arr).values()) > 1
    )
    saved = soak.cursor_saved_wall
    # Shown again though shown before the last save: the saved cursor did not cover it.
    covered = [r for r in repeated if saved is not None and min(a.wall for a in shown[r]) <= saved]
    first_repeat = min((min(a.at for a in shown[r]) for r in repeated), default=None)
    delays: list[float] = []
    worst: list[tuple[float, int, int, float]] = []
    excluded = 0
    for r, at in markers.items():
        first = min(shown.get(r, []), key=lambda a: a.at, default=None)
        if first is None:
            continue
        live = (first.follower == 1 and at < soak.killed_at) or (
            first.follower == 2 and at >= soak.restarted_live_at
        )
        if live:
            delays.append(first.at - at)
            worst.append((first.at - at, r, first.follower, at - w.started))
        else:
            excluded += 1
    delays.sort()
    sixth = soak.seconds / 6
    by = {i: [s for s in soak.samples if s.follower == i] for i in (1, 2)}
    windows = {
        "run": (
            window("first sixth", [s for s in soak.samples if s.at <= w.started + sixth]),
            window("last sixth", [s for s in soak.samples if s.at >= w.stopped - sixth]),
        ),
    }
    for i, own in by.items():
        if own:
            span = (own[-1].at - own[0].at) / 3  # a third of its life: a sixth of the run
            windows[f"follower {i}"] = (
                window("first third", [s for s in own if s.at <= own[0].at + span]),
                window("last third", [s for s in own if s.at >= own[-1].at - span]),
            )
    run_s = max(1e-9, w.stopped - w.started)
    streak, longest = 0, 0
    for s in soak.samples:
        streak = streak + 1 if s.deleted else 0
        longest = max(longest, streak)
    return {
        "rate_written": w.entries / run_s,
        "entries_written": w.entries,
        "rounds_written": len(markers),
        "rounds_lost": lost,
        "rounds_repeated": repeated,
        "repeated_though_saved": covered,
        "shown_twice_by_one_follower": twice_by_one,
        "cursor_age_at_kill_s": None if saved is None else soak.killed_wall - saved,
        "repeat_span_s": None if first_repeat is None else soak.killed_at - first_repeat,
        "down_s": soak.restarted_live_at - soak.killed_at,
        "delay_s": {
            "p50": percentile(delays, 50),
            "p99": percentile(delays, 99),
            "max": delays[-1] if delays else None,
            "rounds": len(delays),
            "left_out": excluded,
            "worst": [
                {"round": r, "ms": round(d * 1000, 1), "follower": i, "written_at_s": round(t, 1)}
                for d, r, i, t in sorted(worst, reverse=True)[:5]
            ],
        },
        "windows": {k: [_window_json(x) for x in pair] for k, pair in windows.items()},
        "flat": {k: _flat(pair) for k, pair in windows.items()},
        "deleted_held_longest_looks": longest,
        "cpu_cores": {
            "follower": soak.cpu_follower_s
            / max(1e-9, run_s - (soak.restarted_live_at - soak.killed_at)),
            "journal_remote": soak.cpu_remote_s / run_s,
            "writer": soak.cpu_writer_s / run_s,
        },
        "rotations": {
            "asked": w.rotations_asked,
            "seen": soak.rotations_seen,
            "vacuums": soak.vacuum_runs,
            "files_deleted": soak.files_deleted,
            "vacuum_errors": soak.vacuum_errors[:3],
        },
        "metrics": soak.metrics,
        "alerts": {str(i): Counter(a).most_common() for i, _, _, a in soak.followers},
        "notices": {
            str(i): [x for x in err if not x.startswith("logwatch: live from")][:10]
            for i, _, err, _ in soak.followers
        },
    }


def _window_json(x: Window | None) -> dict[str, Any] | None:
    if x is None:
        return None
    return {
        "name": x.name,
        "fds_median": x.fds_median,
        "fds_max": x.fds_max,
        "anon_median": x.anon_median,
        "anon_max": x.anon_max,
        "samples": x.samples,
    }


def _flat(pair: tuple[Window | None, Window | None]) -> bool | None:
    first, last = pair
    if first is None or last is None:
        return None
    return last.flat_against(first)


def targets(soak: Soak, f: dict[str, Any]) -> list[Target]:
    p99 = f["delay_s"]["p99"]
    age = f["cursor_age_at_kill_s"]
    flat = [v for v in f["flat"].values() if v is not None]
    gaps = f["metrics"].get("logwatch_journal_gaps_total")
    written = f["rate_written"]
    return [
        Target(
            f"journal-remote wrote the rate asked (at least {RATE_SHARE:.0%})",
            f"{written:,.0f} of {soak.rate:,.0f} entries/s",
            written >= RATE_SHARE * soak.rate,
        ),
        Target(
            "every round written comes out (0 lost)",
            f"{len(f['rounds_lost'])} lost of {f['rounds_written']}",
            f["rounds_written"] > 0 and not f["rounds_lost"],
        ),
        Target(
            f"only what the saved cursor did not cover comes out again (at most the last "
            f"{CURSOR_AGE_LIMIT_S:g} s before the kill)",
            f"{len(f['rounds_repeated'])} repeated, {len(f['repeated_though_saved'])} of them "
            f"covered, {len(f['shown_twice_by_one_follower'])} twice by one follower; cursor "
            f"{'-' if age is None else f'{age:.2f} s'} old at the kill",
            not f["repeated_though_saved"]
            and not f["shown_twice_by_one_follower"]
            and age is not None
            and age <= CURSOR_AGE_LIMIT_S,
        ),
        Target(
            f"p99 < {P99_LIMIT_S * 1000:.0f} ms",
            "-" if p99 is None else f"{p99 * 1000:.1f} ms",
            None if p99 is None else p99 < P99_LIMIT_S,
        ),
        Target(
            "descriptors and anonymous memory flat, no deleted file held",
            f"flat {sum(flat)}/{len(flat)}, a deleted file held at most "
            f"{f['deleted_held_longest_looks']} looks in a row",
            bool(flat) and all(flat) and f["deleted_held_longest_looks"] <= 1,
        ),
        Target(
            "no journal gone before it was read (logwatch_journal_gaps_total)",
            "-" if gaps is None else f"{gaps:g}",
            None if gaps is None else gaps == 0,
        ),
    ]


def ms(seconds: float | None) -> str:
    """`seconds` in milliseconds, or `-` when not measured."""
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def report(soak: Soak) -> dict[str, Any]:
    """Print the figures and targets; return them as JSON."""
    f = analyse(soak)
    d, cpu, rot = f["delay_s"], f["cpu_cores"], f["rotations"]
    print(f"\nsoak: {soak.seconds / 60:g} min at {soak.rate:,.0f} entries/s of {soak.mix} "
          f"noise (written {f['rate_written']:,.0f}/s, {f['entries_written']:,})\n")  # fmt: skip
    print(f"  journal        rotated {rot['seen']} times ({rot['asked']} asked, every "
          f"{soak.rotate_every_s:g} s; the rest journal-remote's own), {rot['vacuums']} "
          f"vacuums to {soak.keep_files} files deleted {rot['files_deleted']}")  # fmt: skip
    print(f"  rounds         {f['rounds_written']} written, {len(f['rounds_lost'])} lost, "
          f"{len(f['rounds_repeated'])} repeated {f['rounds_repeated'][:10]}")  # fmt: skip
    age = f["cursor_age_at_kill_s"]
    span = f["repeat_span_s"]
    print(f"  kill -9        cursor saved {'-' if age is None else f'{age:.2f} s'} before it; "
          f"repeats from {'-' if span is None else f'{span:.2f} s'} before it; live again "
          f"{f['down_s']:.1f} s after it")  # fmt: skip
    print(f"  delay          p50 {ms(d['p50'])}, p99 {ms(d['p99'])}, max {ms(d['max'])} over "
          f"{d['rounds']} rounds ({d['left_out']} written while down left out)")  # fmt: skip
    print(f"  worst          {d['worst']}")
    for name, pair in f["windows"].items():
        cells = [
            "-" if x is None else
            f"{x['name']}: fds {x['fds_median']:.0f} (max {x['fds_max']}), anon "
            f"{x['anon_median'] / MB:.1f} MB (max {x['anon_max'] / MB:.1f})"
            for x in pair
        ]  # fmt: skip
        print(f"  {name:<14} {cells[0]}  |  {cells[1]}")
    print(f"  CPU (cores)    follower {cpu['follower']:.3f}, journal-remote "
          f"{cpu['journal_remote']:.3f}, writer {cpu['writer']:.3f}")  # fmt: skip
    gaps = {k: v for k, v in f["metrics"].items() if "journal_" in k or "cursor_save" in k}
    print(f"  /metrics       {gaps}")
    print(f"  alerts         {f['alerts']}")
    print(f"  notices        {f['notices']}")
    found = targets(soak, f)
    print("\ntargets:")
    print(format_targets(found))
    f["targets"] = [t.to_json() for t in found]
    f["settings"] = {
        "seconds": soak.seconds,
        "rate": soak.rate,
        "rotate_every_s": soak.rotate_every_s,
        "keep_files": soak.keep_files,
        "mix": soak.mix,
    }
    return f
