"""The soak (issue 19): logwatch follows a collector's directory for an hour while
systemd-journal-remote writes 20,000 entries/s into it, rotates and vacuums, and is
killed (`kill -9`) and restarted half-way; then: rounds lost or repeated, latency,
descriptors and memory at the start and at the end.

    .venv/bin/python bench/soak.py                        # 60 min at 20,000 entries/s
    .venv/bin/python bench/soak.py --minutes 1 --rate 2000 --rotate-every 10

The writer is soakwrite.py; what is measured and the targets are in soakreport.py and
bench/README.md. tests/test_soak.py runs the one-minute version.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dataset import log
from env import DATA, INSTANCE, BenchError, logwatch_binary
from probe import cpu_seconds, read_status
from soakreport import Arrival, Sample, Soak, report
from soakwrite import POOL_S, Vacuum, Writer
from workload import MIXES

from logwatch.livefeed import LiveJournal

LIVE_WAIT_S = 120.0
"""How long a follower may take to say it is live before the soak is given up."""
DRAIN_S = 15.0


@dataclass(frozen=True, slots=True)
class Settings:
    """One soak: how long, how fast, how the journal is rotated and vacuumed, when the
    follower is killed and for how long it stays down, how often it is looked at."""

    seconds: float = 3600.0
    rate: float = 20_000.0
    rotate_every_s: float = 30.0
    keep_files: int = 3
    kill_at: float = 0.5
    down_s: float = 5.0
    sample_s: float = 5.0
    mix: str = "zipnet"


@dataclass(slots=True)
class Follower:
    """One `logwatch follow` process and what it printed, read by threads as it comes."""

    index: int
    proc: subprocess.Popen[bytes]
    arrivals: list[Arrival]
    alerts: list[str] = field(default_factory=list)
    stderr: list[tuple[float, str]] = field(default_factory=list)
    live: threading.Event = field(default_factory=threading.Event)
    live_at: float = 0.0
    threads: list[threading.Thread] = field(default_factory=list)

    def read_stdout(self, stream: IO[bytes]) -> None:
        for line in stream:
            mono, wall = time.monotonic(), time.time()
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("type") == "round":
                self.arrivals.append(Arrival(int(obj["round"]), self.index, mono, wall))
            elif obj.get("type") == "alert":
                self.alerts.append(f"{obj.get('alert')} {obj.get('state')}")

    def read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            text = raw.decode(errors="replace").rstrip("\n")
            self.stderr.append((time.monotonic(), text))
            if text.startswith("logwatch: live from ") and not self.live.is_set():
                self.live_at = time.monotonic()
                self.live.set()


def start_follower(
    index: int, argv: list[str], arrivals: list[Arrival], *, wait_live: bool = True
) -> Follower:
    """Start a follower; with `wait_live`, return once it says it is live (the backlog
    read), else at once (a restart prints what it reads of its backlog meanwhile)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    f = Follower(index, proc, arrivals)
    assert proc.stdout is not None and proc.stderr is not None
    for target, stream in ((f.read_stdout, proc.stdout), (f.read_stderr, proc.stderr)):
        t = threading.Thread(target=target, args=(stream,), daemon=True)
        t.start()
        f.threads.append(t)
    if not wait_live:
        return f
    if not f.live.wait(LIVE_WAIT_S) or proc.poll() is not None:
        last = f.stderr[-1][1] if f.stderr else "no message"
        proc.kill()
        proc.wait()
        raise BenchError(f"logwatch follow did not go live within {LIVE_WAIT_S:g} s: {last}")
    return f


class Sampler:
    """Looks at the running follower every `every_s`: descriptors (and those on deleted
    files), anonymous memory, CPU."""

    def __init__(self, every_s: float) -> None:
        self.samples: list[Sample] = []
        self.current: Follower | None = None
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            f = self.current
            if f is not None and f.proc.poll() is None:
                sample = look_at(f.proc.pid, f.index)
                if sample is not None:
                    self.samples.append(sample)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10.0)


def look_at(pid: int, index: int) -> Sample | None:
    fds, deleted = 0, 0
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        fds += 1
        deleted += target.endswith("(deleted)") and ".journal" in target
    memory = read_status(pid)
    cpu = cpu_seconds(pid)
    if memory is None or cpu is None:
        return None
    return Sample(time.monotonic(), index, fds, deleted, memory.anon, cpu)


def scrape(port: int) -> dict[str, float]:
    """The follower's /metrics, name{labels} → value (gaps, files changed, cursor saves)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_soak(settings: Settings, workdir: Path | None = None) -> Soak:
    """Run the soak; returns what was measured (soakreport.report prints it)."""
    log(f"rendering {POOL_S:g} s of {settings.mix} noise at {settings.rate:,.0f} entries/s")
    writer = Writer(settings.rate, settings.seconds, settings.rotate_every_s, settings.mix)
    with tempfile.TemporaryDirectory(prefix="logwatch-soak-", dir=workdir) as tmp:
        root = Path(tmp)
        with LiveJournal(root / "journal") as journal:
            return _soak(settings, writer, journal, root / "state")


def _soak(settings: Settings, writer: Writer, journal: LiveJournal, state: Path) -> Soak:
    port = free_port()
    argv = [
        logwatch_binary(), "follow", INSTANCE, "--directory", str(journal.directory),
        "--output", "json", "--events", "rounds", "--round-period", "1s",
        "--state-dir", str(state), "--metrics", f"127.0.0.1:{port}",
    ]  # fmt: skip
    arrivals: list[Arrival] = []
    soak = Soak(
        settings.seconds, settings.rate, settings.rotate_every_s, settings.keep_files, settings.mix
    )
    sampler = Sampler(settings.sample_s).start()
    vacuum = Vacuum(journal.directory, settings.keep_files).start()
    followers: list[Follower] = []
    stop = threading.Event()
    try:
        followers.append(start_follower(1, argv, arrivals))
        sampler.current = followers[0]
        thread = threading.Thread(
            target=writer.run, args=(journal.write, lambda: not stop.is_set()), daemon=True
        )
        cpu0 = {"remote": cpu_seconds(journal.pid) or 0.0}
        log(
            f"writing {settings.rate:,.0f} entries/s for {settings.seconds:g} s, rotating "
            f"every {settings.rotate_every_s:g} s, vacuuming to {settings.keep_files} files"
        )
        thread.start()
        started = time.monotonic()
        kill_at = started + settings.seconds * settings.kill_at
        _wait_until(kill_at, followers[0])
        soak.cpu_follower_s += cpu_seconds(followers[0].proc.pid) or 0.0
        soak.killed_at = time.monotonic()
        soak.killed_wall = time.time()
        os.kill(followers[0].proc.pid, signal.SIGKILL)
        followers[0].proc.wait()
        soak.cursor_saved_wall = _mtime(state)
        log(f"kill -9 after {soak.killed_at - started:.0f} s; down for {settings.down_s:g} s")
        time.sleep(settings.down_s)
        followers.append(start_follower(2, argv, arrivals, wait_live=False))
        sampler.current = followers[1]
        _wait_until(started + settings.seconds, followers[1])
        stop.set()
        thread.join(30.0)
        soak.written = writer.written
        _drain(arrivals, writer.written.marker_times, followers[1])
        # Never live: every round it printed was its backlog's.
        soak.restarted_live_at = followers[1].live_at or time.monotonic()
        log(f"restarted: live {soak.restarted_live_at - soak.killed_at:.1f} s after the kill")
        soak.metrics = scrape(port)
        soak.cpu_follower_s += cpu_seconds(followers[1].proc.pid) or 0.0
        soak.cpu_remote_s = (cpu_seconds(journal.pid) or 0.0) - cpu0["remote"]
        soak.cpu_writer_s = writer.written.cpu_s
    finally:
        stop.set()
        for f in followers:
            if f.proc.poll() is None:
                f.proc.terminate()
                try:
                    f.proc.wait(20.0)
                except subprocess.TimeoutExpired:
                    f.proc.kill()
                    f.proc.wait()
            for t in f.threads:
                t.join(5.0)
        sampler.stop()
        vacuum.stop()
    soak.arrivals = arrivals
    soak.samples = sampler.samples
    soak.followers = [(f.index, f.live_at, [t for _, t in f.stderr], f.alerts) for f in followers]
    soak.rotations_seen, soak.vacuum_runs = vacuum.rotations, vacuum.runs
    soak.files_deleted, soak.vacuum_errors = vacuum.deleted, vacuum.errors
    soak.exit_code = followers[-1].proc.returncode if followers else None
    return soak


def _wait_until(deadline: float, follower: Follower) -> None:
    while (left := deadline - time.monotonic()) > 0:
        if follower.proc.poll() is not None:
            last = follower.stderr[-1][1] if follower.stderr else "no message"
            raise BenchError(f"logwatch follow ended (exit {follower.proc.returncode}): {last}")
        time.sleep(min(left, 1.0))


def _drain(arrivals: list[Arrival], written: dict[int, float], follower: Follower) -> None:
    """Wait (a little) for the last rounds written to come out."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        shown = {a.round for a in arrivals}
        if all(r in shown for r in written) or follower.proc.poll() is not None:
            return
        time.sleep(0.05)


def _mtime(state: Path) -> float | None:
    found = sorted(state.glob("*.cursor"))
    return found[0].stat().st_mtime if found else None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/soak.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=60.0, help="how long to write [60]")
    p.add_argument("--rate", type=float, default=20_000.0, help="entries/s [20000]")
    p.add_argument("--rotate-every", type=float, default=30.0, help="seconds [30]")
    p.add_argument("--keep-files", type=int, default=3, help="vacuum to this many files [3]")
    p.add_argument("--kill-at", type=float, default=0.5, help="kill -9 at this share of the run")
    p.add_argument("--down", type=float, default=5.0, help="seconds logwatch stays down [5]")
    p.add_argument("--mix", choices=MIXES, default="zipnet", help="the noise [zipnet]")
    p.add_argument("--sample-every", type=float, help="seconds between looks [5; 1 under 10 min]")
    p.add_argument("--json", type=Path, help="results file [bench/.data/results-soak-RATE.json]")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    seconds = args.minutes * 60
    settings = Settings(
        seconds=seconds,
        rate=args.rate,
        rotate_every_s=args.rotate_every,
        keep_files=args.keep_files,
        kill_at=args.kill_at,
        down_s=args.down,
        sample_s=args.sample_every or (5.0 if seconds >= 600 else 1.0),
        mix=args.mix,
    )
    try:
        soak = run_soak(settings)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    result: dict[str, Any] = report(soak)
    path = args.json or DATA / f"results-soak-{args.rate:.0f}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    log(f"results in {path}")
    return 0 if all(t["result"] == "PASS" for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
