"""The follow benchmark: delay from journal write to logwatch's JSON line, and CPU, live.

systemd-journal-remote appends to a journal in a temporary directory from a pipe
(logwatch.livefeed.LiveJournal); `logwatch follow` follows that directory with
`--output json --events rounds`; this process writes the workload at `--rate` and notes
when each `round finalized` line was written and when its round's JSON line came out.
The measured window opens at the first round line out (the follower is live) and lasts
`--duration`; then nothing is written for `--idle-seconds`, the follower's idle CPU.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from dataset import log
from env import INSTANCE, BenchError, logwatch_command
from livewrite import Prepared, Written, prepare, write_paced
from probe import MemorySampler, cpu_seconds
from results import MB, Target, format_targets
from workload import Shape, lines_per_round, plan

from logwatch.errors import LogwatchError
from logwatch.livefeed import LiveJournal

PREROLL_S = 10.0
"""How long the follower may take to show its first round before the run is given up."""
DRAIN_S = 2.0
P50_LIMIT_S, P99_LIMIT_S = 0.100, 0.250
CPU_LIMIT, IDLE_LIMIT = 0.5, 0.01


@dataclass(slots=True)
class Output:
    """What the follower printed, read by a thread as it comes."""

    arrivals: dict[int, float] = field(default_factory=dict)
    alerts: list[tuple[float, str]] = field(default_factory=list)
    """(arrival, "alert state") of each alert line."""
    summary: dict[str, Any] | None = None
    bad_lines: int = 0
    first_round: threading.Event = field(default_factory=threading.Event)
    first_round_at: float = 0.0

    def read(self, stream: IO[bytes]) -> None:
        for line in stream:
            at = time.monotonic()
            try:
                obj = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                continue
            kind = obj.get("type")
            if kind == "round":
                self.arrivals.setdefault(int(obj["round"]), at)
                if not self.first_round.is_set():
                    self.first_round_at = at
                    self.first_round.set()
            elif kind == "alert":
                self.alerts.append((at, f"{obj.get('alert')} {obj.get('state')}"))
            elif kind == "summary":
                self.summary = obj


def live_plan(rate: float, seconds: float, mix: str = "others") -> tuple[Shape, float]:
    """The workload shape of `mix` for `seconds` at `rate` entries/s, with the round
    period that keeps the instance at its usual share of them."""
    probe = Shape.of(0, mix)
    _, per_round = lines_per_round(probe)
    period = round(per_round / (probe.instance_share * rate), 3)
    return replace(probe, entries=math.ceil(rate * seconds), period_s=period), period


def run_follow(
    rate: float, duration_s: float, idle_s: float, mix: str = "others", journalctl: bool = False
) -> dict[str, Any]:
    """Run the follow benchmark (the native follower, or `--journalctl`'s); prints figures
    and targets, returns them as JSON."""
    shape, period = live_plan(rate, duration_s + PREROLL_S + DRAIN_S, mix)
    log(f"rendering {shape.entries:,} entries, {mix} mix (round period {period * 1000:.0f} ms)")
    started = time.perf_counter()
    prepared = prepare(plan(shape))
    log(f"rendered in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="logwatch-bench-follow-") as tmp:
        try:
            with LiveJournal(Path(tmp) / "journal") as journal:
                how = ["--journalctl"] if journalctl else []
                result = _measure(journal, prepared, period, duration_s, idle_s, rate, how)
                return {"mix": mix, "journalctl": journalctl, **result}
        except LogwatchError as e:
            raise BenchError(str(e)) from None


def _measure(
    journal: LiveJournal,
    prepared: Prepared,
    period: float,
    duration_s: float,
    idle_s: float,
    rate: float,
    how: list[str],
) -> dict[str, Any]:
    argv = [
        *logwatch_command(),
        "follow",
        INSTANCE,
        "--directory",
        str(journal.directory),
        "--output",
        "json",
        "--events",
        "rounds",
        "--round-period",
        f"{period * 1000:.0f}ms",
        *how,
    ]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        try:
            return _observe(proc, journal, prepared, duration_s, idle_s, rate, err)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@dataclass(slots=True)
class Observed:
    """What one follow run measured."""

    rate: float
    idle_s: float
    written_rate: float = 0.0
    entries_written: int = 0
    delays: list[float] = field(default_factory=list)
    """Write-to-output delays of the markers written in the window, sorted."""
    missing: int = 0
    """Markers written in the window that never came out."""
    busy: dict[str, float] = field(default_factory=dict)
    """CPU over the window, in cores: the follower, journal-remote, this writer."""
    idle: float = 0.0
    peak_rss: int = 0
    peak_anon: int = 0
    alerts_live: list[str] = field(default_factory=list)
    alerts_idle: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of the delays."""
        if not self.delays:
            return None
        return self.delays[max(0, math.ceil(p / 100 * len(self.delays)) - 1)]


def _observe(
    proc: subprocess.Popen[bytes],
    journal: LiveJournal,
    prepared: Prepared,
    duration_s: float,
    idle_s: float,
    rate: float,
    err: IO[bytes],
) -> dict[str, Any]:
    assert proc.stdout is not None
    output = Output()
    reader = threading.Thread(target=output.read, args=(proc.stdout,), daemon=True)
    reader.start()
    sampler = MemorySampler(proc.pid).start()
    window: dict[str, float] = {}
    launched = time.monotonic()

    def keep_going() -> bool:
        now = time.monotonic()
        if proc.poll() is not None:
            return False
        if not output.first_round.is_set():
            return now - launched <= PREROLL_S
        if not window:
            window.update(
                start=output.first_round_at,
                at=now,
                follower=follower_cpu() or 0.0,
                journal_remote=cpu_seconds(journal.pid) or 0.0,
                writer=time.thread_time(),
                entries=journal.entries,
            )
        return now - window["start"] < duration_s

    def follower_cpu() -> float | None:
        # With the journalctl runs it has waited for (`--journalctl`).
        return cpu_seconds(proc.pid, children=True)

    log(f"writing at {rate:,.0f} entries/s for {duration_s:g} s after the first round shows")
    written = write_paced(prepared, journal.write, keep_going)
    if proc.poll() is not None or not window:
        sampler.stop()
        reason = _last_line(err) if proc.poll() is not None else "no round line came out"
        raise BenchError(f"logwatch follow did not go live within {PREROLL_S:g} s: {reason}")
    end = time.monotonic()
    span = end - window["at"]
    seen = Observed(rate, idle_s, (journal.entries - window["entries"]) / span, written.entries)
    seen.busy = {
        "follower": ((follower_cpu() or 0.0) - window["follower"]) / span,
        "journal_remote": ((cpu_seconds(journal.pid) or 0.0) - window["journal_remote"]) / span,
        "writer": (time.thread_time() - window["writer"]) / span,
    }
    _drain(output, written, window["start"])
    log(f"silent for {idle_s:g} s")
    idle_from, idle_cpu = time.monotonic(), follower_cpu() or 0.0
    time.sleep(idle_s)
    seen.idle = ((follower_cpu() or 0.0) - idle_cpu) / (time.monotonic() - idle_from)
    sampler.stop()
    proc.terminate()
    try:
        proc.wait(10.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5.0)
    seen.peak_rss, seen.peak_anon = sampler.peak_hwm, sampler.peak_anon
    seen.summary = output.summary
    seen.alerts_live = [a for at, a in output.alerts if at <= end]
    seen.alerts_idle = [a for at, a in output.alerts if at > end]
    for number, at in written.marker_times.items():
        if at >= window["start"]:
            arrived = output.arrivals.get(number)
            if arrived is None:
                seen.missing += 1
            else:
                seen.delays.append(arrived - at)
    seen.delays.sort()
    return _report(seen)


def _drain(output: Output, written: Written, since: float) -> None:
    """Wait (a little) for the last written markers to come out."""
    wanted = [r for r, at in written.marker_times.items() if at >= since]
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline and any(r not in output.arrivals for r in wanted):
        time.sleep(0.02)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def _alerts(alerts: list[str]) -> str:
    counts = Counter(alerts)
    return ", ".join(f"{a} ×{n}" for a, n in counts.items()) or "none"


def _report(seen: Observed) -> dict[str, Any]:
    p50, p99 = seen.percentile(50), seen.percentile(99)
    low, top = (seen.delays[0], seen.delays[-1]) if seen.delays else (None, None)
    busy = seen.busy
    print(f"\nfollow at {seen.rate:,.0f} entries/s (written: {seen.written_rate:,.0f}/s):\n")
    print(f"  markers        {len(seen.delays)} arrived, {seen.missing} missing")
    print(f"  delay          p50 {_ms(p50)}, p99 {_ms(p99)}, min {_ms(low)}, max {_ms(top)}")
    print(
        f"  CPU (cores)    follower {busy['follower']:.3f}, "
        f"journal-remote {busy['journal_remote']:.3f}, writer {busy['writer']:.3f}"
    )
    print(f"  idle CPU       {seen.idle:.2%} of a core over {seen.idle_s:g} s")
    print(
        f"  follower       RSS peak {seen.peak_rss / MB:.1f} MB, "
        f"RssAnon peak {seen.peak_anon / MB:.1f} MB"
    )
    print(f"  alerts         while writing: {_alerts(seen.alerts_live)}")
    print(f"                 while silent: {_alerts(seen.alerts_idle)}")
    targets = [
        _below(f"p50 < {P50_LIMIT_S * 1000:.0f} ms", _ms(p50), p50, P50_LIMIT_S),
        _below(f"p99 < {P99_LIMIT_S * 1000:.0f} ms", _ms(p99), p99, P99_LIMIT_S),
        _below(f"CPU < {CPU_LIMIT} core", f"{busy['follower']:.3f}", busy["follower"], CPU_LIMIT),
        _below(f"idle CPU < {IDLE_LIMIT:.0%} of a core", f"{seen.idle:.2%}", seen.idle, IDLE_LIMIT),
        Target("every round line comes out", f"{seen.missing} missing", seen.missing == 0),
    ]
    print("\ntargets:")
    print(format_targets(targets))
    result: dict[str, Any] = {"mode": "follow", **asdict(seen)}
    result["delay_s"] = {"p50": p50, "p99": p99, "min": low, "max": top}
    result["targets"] = [t.to_json() for t in targets]
    return result


def _below(text: str, measured: str, value: float | None, limit: float) -> Target:
    return Target(text, measured, None if value is None else value < limit)


def _last_line(err: IO[bytes]) -> str:
    err.seek(0)
    lines = err.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"
