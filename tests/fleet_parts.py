"""Real parts for the fleet tests: an Alertmanager process, a live follow with its metrics.

Everything here waits for an event (an endpoint that answers, a line printed, a state
reached in Alertmanager's API), polling with a generous deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logwatch.livefeed import LiveJournal, restamp, timeline
from logwatch.simulate import Scenario
from logwatch.times import wall_clock_us

T = TypeVar("T")
INSTANCE = "acme-mainnet"
P, D = 1.0, 1.0  # W = 3P + D = 4 s
ALERTMANAGER = "prometheus-alertmanager"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """Calls `probe` until it returns something true (a non-empty list, a match)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def need(binary: str, package: str) -> str:
    """The path of `binary`; a missing one fails in CI (setup installs it) and skips
    elsewhere with how to get it."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} not found: apt install {package} (scripts/setup.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


class Alertmanager:
    """A real Alertmanager on 127.0.0.1, alone (no cluster), with its storage in a
    temporary directory; `resolve_timeout_s` is what it gives an alert without endsAt."""

    def __init__(self, resolve_timeout_s: float = 1.0) -> None:
        binary = need(ALERTMANAGER, "prometheus-alertmanager")
        self._dir = tempfile.TemporaryDirectory(prefix="alertmanager-")
        config = Path(self._dir.name) / "alertmanager.yml"
        config.write_text(
            f"global:\n  resolve_timeout: {resolve_timeout_s:g}s\n"
            "route:\n  receiver: nobody\n  group_wait: 0s\n"
            "receivers:\n  - name: nobody\n"
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(Path(self._dir.name) / "log", "wb")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={Path(self._dir.name) / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            stdout=self._log,
            stderr=self._log,
        )
        try:
            poll(self._ready, 20, "Alertmanager to be ready")
        except BaseException:
            self.close()
            raise

    def _ready(self) -> bool:
        if self._proc.poll() is not None:
            raise RuntimeError(f"alertmanager exited: {self.log()[-800:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds as active (resolved ones it leaves out), those
        with all of `labels`."""
        found: list[dict[str, Any]] = get_json(f"{self.url}/api/v2/alerts")
        return [a for a in found if all(a["labels"].get(k) == v for k, v in labels.items())]

    def log(self) -> str:
        return (Path(self._dir.name) / "log").read_text(errors="replace")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        self._dir.cleanup()

    def __enter__(self) -> Alertmanager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Follower:
    """`logwatch follow INSTANCE -D DIR -o json --events rounds` as a process, with its
    JSON lines read as they come and, with `metrics=True`, its endpoint scraped."""

    def __init__(self, directory: Path, *extra: str, metrics: bool = True) -> None:
        self.metrics_port = free_port() if metrics else None
        more = ["--metrics", f"127.0.0.1:{self.metrics_port}"] if metrics else []
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "logwatch", "follow", INSTANCE, "--directory",
                str(directory), "--output", "json", "--events", "rounds",
                "--round-period", f"{P}s", "--round-deadline", f"{D}s", *more, *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        self.final_err = ""  # stderr, once stopped
        self._buffer = b""
        self._consumed = 0
        os.set_blocking(self._stdout.fileno(), False)
        if metrics:
            # The endpoint answers before the follow reads anything; the watch starts
            # after the warm-up, and what is written before then is warm-up, not shown.
            # So: live once the watch start is published.
            poll(lambda: self._alive() and self.scrape_text(), 20, "the metrics endpoint")
            poll(self._live, 20, "the follow to go live")

    def _live(self) -> bool:
        self._alive()
        started = value(self.scrape(), "logwatch_watch_start_timestamp_seconds", instance=INSTANCE)
        return bool(started)

    @property
    def _stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def _alive(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"follow exited {self.proc.returncode}: {self.err()}")
        return True

    def scrape_text(self) -> str | None:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
            ) as r:
                return str(r.read().decode())
        except (urllib.error.URLError, ConnectionError):
            return None

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample, parsed by prometheus_client's parser: {(name, labels): value}."""
        text = self.scrape_text()
        assert text is not None, "metrics endpoint did not answer"
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def read(self) -> list[dict[str, Any]]:
        """JSON lines printed since the last call (also kept in `lines`)."""
        fresh: list[dict[str, Any]] = []
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self._stdout.fileno(), 65536):
                self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\n")
        for line in complete:
            fresh.append(json.loads(line))
        self.lines += fresh
        return fresh

    def wait_line(self, pred: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """The next line (after the one the last call returned) that `pred` accepts."""

        def probe() -> dict[str, Any] | None:
            self._alive()
            self.read()
            for i in range(self._consumed, len(self.lines)):
                if pred(self.lines[i]):
                    self._consumed = i + 1
                    return self.lines[i]
            return None

        return poll(probe, timeout, "a follow output line")

    def err(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self) -> tuple[int, str]:
        """SIGINT; (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.read()
        self.final_err = self.err()
        self.stderr.close()
        return self.proc.returncode, self.final_err


@contextlib.contextmanager
def following(directory: Path, *extra: str, metrics: bool = True) -> Iterator[Follower]:
    follower = Follower(directory, *extra, metrics=metrics)
    try:
        yield follower
    finally:
        code, err = follower.stop()
    assert code == 0, err
    assert "Traceback" not in err, err


def write_rounds(journal: LiveJournal, rounds: int, first_round: int = 1) -> None:
    """`rounds` healthy rounds of INSTANCE (3 servers, 3 clients), stamped now."""
    s = Scenario(INSTANCE, wall_clock_us(), period_s=P, servers=3, clients=3,
                 first_round=first_round)  # fmt: skip
    for _, export in timeline(s.start().rounds(rounds).lines(), "full"):
        journal.write(restamp(export, wall_clock_us()))


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))
