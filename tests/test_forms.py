"""Every rendering in every capture format gives the same events (issue: the foundation).

The scenario is written once by the simulator, turned into real journal files by
systemd-journal-remote, and printed by journalctl in each output format; logwatch must
read the same events out of all of them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from functools import cache

import pytest
from conftest import CAPTURE_FORMATS, Captures, json_lines

from logwatch.decode import Decoder, DecodeSettings
from logwatch.match import Matcher
from logwatch.pattern_files import default_patterns_dir, load_patterns
from logwatch.pipeline import Selection, Step, Tally, read_steps
from logwatch.simulate import STYLES, LogLine, Scenario
from logwatch.sources import open_inputs

ROUNDS = 150
INSTANCE = "acme-mainnet"
# Text captures keep only MESSAGE: the native journald rendering's F_ fields are gone
# there, so that rendering can only be compared in formats that carry every field.
FIELD_FORMATS = ("journal", "export-sim", "export", "json", "json-seq")
HOSTLESS = ("cat",)


@cache
def scenario() -> tuple[LogLine, ...]:
    s = Scenario(INSTANCE, servers=3, clients=4, seed=7).start()
    s.rounds(ROUNDS // 2).rival_leader().rounds(ROUNDS - ROUNDS // 2)
    return tuple(s.lines())


def combos() -> list[tuple[str, str]]:
    return [
        (style, fmt)
        for style in STYLES
        for fmt in CAPTURE_FORMATS
        if style != "journald" or fmt in FIELD_FORMATS
    ]


Signature = tuple[str, int, str | None, tuple[tuple[str, object], ...]]


def events_of(paths: Sequence[str], with_host: bool) -> tuple[list[Signature], Tally]:
    patterns = load_patterns([default_patterns_dir()])
    tally = Tally()
    steps = read_steps(
        open_inputs(paths),
        Decoder(DecodeSettings(instance=INSTANCE)),
        Matcher(patterns),
        Selection(),
        tally,
    )
    out: list[Signature] = []
    for step in steps:
        if isinstance(step, Step) and step.event is not None:
            e = step.event
            assert e.instance == INSTANCE
            host = e.host if with_host else None
            out.append((e.name, e.time_us, host, tuple(sorted(e.fields.items()))))
    return out, tally


@pytest.fixture(scope="module")
def reference(captures: Captures) -> list[Signature]:
    path = captures.make(scenario(), "full", "export-sim")
    events, tally = events_of([str(path)], with_host=True)
    assert tally.errors == 0
    assert sum(1 for e in events if e[0] == "round_finalized") == ROUNDS
    assert any(e[0] == "rival_leader" for e in events)
    return events


@pytest.mark.parametrize(("style", "fmt"), combos())
def test_same_events_in_every_rendering_and_format(
    captures: Captures, reference: list[Signature], style: str, fmt: str
) -> None:
    path = captures.make(scenario(), style, fmt)
    with_host = fmt not in HOSTLESS
    events, tally = events_of([str(path)], with_host=with_host)
    expected = reference if with_host else [(n, t, None, f) for n, t, _, f in reference]
    assert tally.errors == 0, dict(tally.unreadable)
    # Sorted: entries of several hosts at the same µs may come in either order.
    assert sorted(events) == sorted(expected)


@pytest.mark.parametrize("compress", ["gz", "xz"])
@pytest.mark.parametrize("fmt", ["journal", "json", "short-iso", "cat"])
def test_compressed_captures_read_the_same(
    captures: Captures, reference: list[Signature], fmt: str, compress: str
) -> None:
    lines = scenario()
    if fmt == "journal":
        # One host's journal file compressed: compare with that host's events only.
        path = captures.make(lines, "full", fmt, compress=compress)
        events, _ = events_of([str(path)], with_host=True)
        host = events[0][2]
        assert sorted(events) == sorted(e for e in reference if e[2] == host)
        return
    path = captures.make(lines, "full", fmt, compress=compress)
    events, tally = events_of([str(path)], with_host=fmt not in HOSTLESS)
    assert tally.errors == 0
    assert len(events) == len(reference)


def test_several_inputs_are_merged_by_time(captures: Captures, reference: list[Signature]) -> None:
    # The same scenario split by host into separate json captures reads as one stream.
    lines = scenario()
    hosts = sorted({line.host for line in lines})
    paths = [
        str(captures.make(tuple(x for x in lines if x.host == h), "full", "json")) for h in hosts
    ]
    events, _ = events_of(paths, with_host=True)
    assert sorted(events) == sorted(reference)
    times = [e[1] for e in events]
    assert times == sorted(times)


@pytest.mark.parametrize("fmt", CAPTURE_FORMATS)
def test_patterns_test_counts_every_finalized_round(captures: Captures, fmt: str) -> None:
    path = captures.make(scenario(), "full-ansi", fmt)
    result = subprocess.run(
        [sys.executable, "-m", "logwatch", "patterns", "test", str(path), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json_lines(result.stdout)[0]
    assert report["matched"]["round_finalized"] == ROUNDS
    assert report["errors"] == 0
    assert report["entries"] == sum(report["matched"].values()) + report["unmatched"]
