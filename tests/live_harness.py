"""Plays a capture through `follow` on a stepped wall clock, and through `replay`: the two
sides of the live-equals-replay property (tests/test_live_replay.py).

A capture is simulated lines whose hosts may have wrong clocks: each line is stamped by its
host's clock (`skew`), and reaches logwatch at its true time, plus a transport delay.
`replayed()` runs `logwatch replay` on the export text of the stamped lines;
`followed()` opens `logwatch follow` (the FollowRun the command runs) on a source that
hands each entry over when the stepped clock reaches its arrival, and steps the clock
tick by tick to the end. The fake source stands for the journal only where no real part
can be: a real journal is read on real time, and this property runs hundreds of times.
The real sources are played the same way in test_live_replay.py, fewer times.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import io
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from logwatch.commands.follow import LATENESS_US, FollowOptions, FollowRun
from logwatch.commands.replay import run_replay
from logwatch.commands.source_options import SourceOptions
from logwatch.livefeed import LiveJournal
from logwatch.records import Entry, RawItem, Unreadable
from logwatch.run.clock import SteppedClock
from logwatch.simulate import LogLine, to_export
from logwatch.sources.export import read_export
from logwatch.sources.live import StartPoint, triaged
from logwatch.sources.stdin import StdinFollower
from logwatch.times import US
from logwatch.triage import Triage

STYLE = "full"
TICK_S = 0.25


@dataclasses.dataclass(frozen=True, slots=True)
class Capture:
    """Lines as their hosts stamped them, when each reached logwatch (µs), and each one's
    journal export entries."""

    stamped: tuple[LogLine, ...]
    arrivals: tuple[int, ...]
    chunks: tuple[bytes, ...]

    @property
    def end_us(self) -> int:
        """When the last line reached logwatch."""
        return max(self.arrivals)

    def export(self) -> bytes:
        """The export text of the stamped lines, in the order a journal merged by time
        would hold them."""
        order = sorted(range(len(self.stamped)), key=lambda i: self.stamped[i].time_us)
        return b"".join(self.chunks[i] for i in order)

    def in_arrival_order(self) -> list[tuple[int, LogLine, bytes]]:
        """(arrival µs, line, its export entries), as they reach logwatch."""
        triples = zip(self.arrivals, self.stamped, self.chunks, strict=True)
        return sorted(triples, key=lambda t: t[0])


def capture(
    lines: Sequence[LogLine],
    skew: Mapping[str, float] | None = None,
    delay: Callable[[int], float] | None = None,
) -> Capture:
    """`lines` (true times) stamped by hosts off by `skew` seconds, arriving `delay(i)`
    seconds after their true time."""
    skew = skew or {}
    stamped, arrivals, chunks = [], [], []
    seq = 1
    for i, line in enumerate(lines):
        off = round(skew.get(line.host, 0.0) * US)
        stamped.append(dataclasses.replace(line, time_us=line.time_us + off))
        arrivals.append(line.time_us + round((delay(i) if delay else 0.0) * US))
        chunks.append(to_export(stamped[-1], STYLE, seq))
        seq += chunks[-1].count(b"\n\n")
    return Capture(tuple(stamped), tuple(arrivals), tuple(chunks))


def alerts(objs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objs if o.get("type") == "alert"]


def replayed(cap: Capture, *args: str, instances: Sequence[str] = ()) -> list[dict[str, Any]]:
    """`logwatch replay` of the capture: its JSON lines."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.export"
        path.write_bytes(cap.export())
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            run_replay(
                inputs=[str(path)], fmt=None, instances=list(instances), since=None,
                until=None, round_period=_opt(args, "--round-period"),
                round_deadline=_opt(args, "--round-deadline"), expect_clients=None,
                events="alerts", output="json", report=False, pattern_dirs=[],
                config_path=None,
            )  # fmt: skip
    return [json.loads(line) for line in out.getvalue().splitlines()]


class PlayedSource:
    """A live source whose entries arrive when the stepped clock reaches their arrival."""

    def __init__(self, cap: Capture, clock: SteppedClock) -> None:
        self.clock = clock
        pairs: list[tuple[int, Entry | Unreadable]] = []
        for arrival, _, chunk in cap.in_arrival_order():
            for entry in read_export(io.BytesIO(chunk), "played"):
                pairs.append((arrival, entry))
        self._arrivals = [a for a, _ in pairs]
        self._entries = [e for _, e in pairs]
        self._next = 0

    @property
    def exhausted(self) -> bool:
        return self._next >= len(self._entries)

    def start(self, **_: Any) -> StartPoint:
        # Nothing before the start: the clock starts before the first arrival.
        self._next = bisect.bisect_left(self._arrivals, self.clock.now_us())
        return StartPoint("since", self.clock.now_us())

    def poll(self, timeout_s: float, triage: Triage | None = None) -> list[RawItem]:
        end = bisect.bisect_right(self._arrivals, self.clock.now_us())
        batch = self._entries[self._next : end]
        self._next = max(self._next, end)
        return triaged(batch, triage)

    @property
    def cursor(self) -> str | None:
        return None

    def take_notices(self) -> list[str]:
        return []

    def close(self) -> None:
        return None


def followed(
    cap: Capture,
    *args: str,
    instances: Sequence[str] = ("acme-mainnet",),
    tick_s: float = TICK_S,
    until_us: int | None = None,
    slow_s: float = 0.0,
) -> list[dict[str, Any]]:
    """`logwatch follow` of the capture as it arrives, the clock stepped `tick_s` at a
    time from just before the first arrival to `until_us` (default: the capture's end,
    and the lateness after it): its JSON lines.
    slow_s: how long taking in each batch takes (the engine and sinks of a loaded
    machine); the clock is stepped that much after each. A stand-in: real work cannot
    take a stepped clock's time."""
    clock = SteppedClock(min(cap.arrivals) - round(tick_s * US))
    source = PlayedSource(cap, clock)
    options = FollowOptions(
        instances=tuple(instances),
        all_instances=not instances,
        source=SourceOptions(directory=Path("/nonexistent")),
        round_period=_opt(args, "--round-period"),
        round_deadline=_opt(args, "--round-deadline"),
        output="json",
    )
    end = cap.end_us if until_us is None else until_us
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        run = FollowRun(options, clock=clock, source=source)  # type: ignore[arg-type]
        if slow_s:
            take = run.driver.take

            def slow_take(steps: Any) -> None:
                take(steps)
                clock.step(slow_s)

            run.driver.take = slow_take  # type: ignore[method-assign]
        try:
            for _ in _steps(clock, end, tick_s):
                run.step(0.0)
        finally:
            run.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _steps(clock: SteppedClock, end_us: int, tick_s: float) -> Iterator[int]:
    # Until the clock, which runs the lateness behind the wall clock, has taken in what
    # arrived last (a replay takes in everything at its end).
    while clock.now_us() < end_us + LATENESS_US:
        yield clock.step(tick_s)
    yield clock.step(tick_s)


def _opt(args: Sequence[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def followed_for_real(
    cap: Capture,
    kind: str,
    tmp_path: Path,
    *args: str,
    instances: Sequence[str] = ("acme-mainnet",),
    tick_s: float = 0.5,
    exec_argv: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """`follow` of the capture through a real source, its entries written when the stepped
    clock reaches their arrival: `native` or `journalctl` on a collector's directory (a
    journal file per host, written by systemd-journal-remote), or `stdin` (export text
    through a pipe). After each step the follow reads until it has every entry written
    (it waits for them, not for time). Its JSON lines."""
    clock = SteppedClock(min(cap.arrivals) - round(tick_s * US))
    directory = tmp_path / "journal"
    directory.mkdir()
    writers: dict[str, LiveJournal] = {}
    pipe_r = pipe_w = None
    source: Any = None
    if kind == "stdin":
        pipe_r, pipe_w = os.pipe()
        source = StdinFollower("export", os.fdopen(pipe_r, "rb"))
        out_pipe = os.fdopen(pipe_w, "wb")
    else:
        # Every host's file exists from the start, as on a collector that ran before.
        for host in sorted({line.host for line in cap.stamped}):
            writers[host] = LiveJournal(directory, f"remote-{host}.journal")
    options = FollowOptions(
        instances=tuple(instances),
        all_instances=not instances,
        source=SourceOptions(directory=directory, journalctl=kind == "journalctl"),
        round_period=_opt(args, "--round-period"),
        round_deadline=_opt(args, "--round-deadline"),
        output="json",
        exec_argv=tuple(exec_argv),
    )
    pending = cap.in_arrival_order()
    written = 0
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            run = FollowRun(options, clock=clock, source=source)
            try:
                for now in _steps(clock, cap.end_us, tick_s):
                    while pending and pending[0][0] <= now:
                        _, line, chunk = pending.pop(0)
                        if kind == "stdin":
                            out_pipe.write(chunk)
                            out_pipe.flush()
                        else:
                            writers[line.host].write(chunk)
                        written += chunk.count(b"\n\n")
                    run.step(0.0)
                    waited = time.monotonic()
                    while run.driver.tally.entries < written:
                        assert time.monotonic() - waited < 30, (
                            "follow did not read what was written"
                        )
                        run.step(0.2)
            finally:
                if kind == "stdin":
                    out_pipe.close()
                run.close()
    finally:
        for writer in writers.values():
            writer.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]
