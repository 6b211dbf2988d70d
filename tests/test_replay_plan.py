"""The replay's plan (logwatch/run/replay_plan.py) reads what its selection holds (issue 17).

Counted, not timed: every item the sources hand the plan is counted, pass by pass, on
real journal files made by systemd-journal-remote: one file per host as a collector
keeps them (sd-journal merges them by time), or one file of every host written in the
order the entries arrived (a host behind is written among the others, its stamps
earlier). What a narrowed read selects must be what a whole read selects.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import JOURNAL_REMOTE, Captures
from hypothesis import given, settings
from hypothesis import strategies as st

import logwatch.run.replay_plan
import logwatch.sources.journal
import logwatch.sources.journal_index
from logwatch.commands.common import build_reading, rule_settings
from logwatch.engine.first_look import FirstLook
from logwatch.engine.host_offsets import ROUND_LINES
from logwatch.pipeline import Step, Tally
from logwatch.records import Entry, Glance
from logwatch.run.replay_plan import ReplayPlan
from logwatch.simulate import LogLine, Scenario, export_bytes
from logwatch.simulate.lines import DEFAULT_START_US
from logwatch.simulate.scenario import noise
from logwatch.sources.journal import PAST_RUN
from logwatch.times import US, format_time
from logwatch.triage import Triage

ROUNDS = 240
PERIOD_US = 2 * US
Seen = tuple[int, str | None, str | None, str | None]
"""What a step selected: (time, host, instance, event name)."""


@functools.cache
def healthy() -> tuple[LogLine, ...]:
    """One instance of 20 clients, a round every 2 s for 8 minutes, and other programs
    on every host meanwhile."""
    lines = Scenario(clients=20, seed=17).start().rounds(ROUNDS).lines()
    hosts = sorted({x.host for x in lines})
    others = noise(DEFAULT_START_US, ROUNDS * 4, per_second=2, hosts=hosts, seed=17)
    return tuple(sorted([*lines, *others], key=lambda x: x.time_us))


def behind(lines: Sequence[LogLine], host: str, offset_s: float) -> list[LogLine]:
    """Every entry of `host` stamped `offset_s` behind, in the order written."""
    shift = round(offset_s * US)
    return [
        dataclasses.replace(x, time_us=x.time_us - shift) if x.host == host else x for x in lines
    ]


def one_file(directory: Path, lines: Sequence[LogLine]) -> Path:
    """One journal file of every host's `lines`, written by systemd-journal-remote in the
    order given (the order they arrived), as a collector writing one file does."""
    directory.mkdir(parents=True)
    export = directory / "all.export.tmp"
    export.write_bytes(export_bytes(lines, "full"))
    output = f"--output={directory / 'remote.journal'}"
    subprocess.run([JOURNAL_REMOTE, output, str(export)], check=True, capture_output=True)
    export.unlink()
    return directory


class Counted:
    """Counts the items the sources hand the plan, one count per pass (open)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.passes: list[int] = []
        opened = logwatch.run.replay_plan.open_inputs

        def counting(*args: Any, **kwargs: Any) -> Iterator[Any]:
            self.passes.append(0)
            at = len(self.passes) - 1
            for item in opened(*args, **kwargs):
                self.passes[at] += 1
                yield item

        monkeypatch.setattr(logwatch.run.replay_plan, "open_inputs", counting)


def replayed(
    path: Path, *, until_us: int | None = None, instances: Sequence[str] = ()
) -> tuple[list[Seen], Tally]:
    """What the plan's first look and main read select of `path`, in order, and the main
    read's tally."""
    reading = build_reading(
        instances=instances,
        pattern_dirs_opt=(),
        config_path=None,
        until=None if until_us is None else format_time(until_us),
    )
    settings = rule_settings(reading, "2s", None, None)
    plan = ReplayPlan(reading, [str(path)], None)
    offsets = plan.first_look(settings.clock_tolerance_us)
    tally = Tally()
    seen = []
    for step in plan.steps(tally, offsets):
        if isinstance(step, Step):
            record, event = step
            name = None if event is None else event.name
            seen.append((record.time_us, record.host, record.instance, name))
    return seen, tally


def test_until_stops_the_read_of_a_collectors_journal(
    captures: Captures, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = healthy()
    path = captures.journal(lines, "full")
    until = DEFAULT_START_US + ROUNDS * PERIOD_US // 4
    whole, _ = replayed(path)
    counted = Counted(monkeypatch)
    window, tally = replayed(path, until_us=until)
    assert window == [s for s in whole if s[0] <= until]
    assert window and max(s[0] for s in window) > until - PERIOD_US
    # The first look and the main read each stop past the window's end: its quarter of
    # the entries, then one run of entries past the end.
    within = sum(1 for x in lines if x.time_us <= until + 2 * US)
    assert counted.passes == [tally.entries, tally.entries]
    assert within < tally.entries <= within + PAST_RUN
    assert tally.entries < len(lines) / 2


@pytest.mark.parametrize("run", [1, PAST_RUN])
def test_until_reads_on_for_a_host_behind_in_a_file_written_as_entries_came(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: int
) -> None:
    # srv2's clock is a minute behind: its entries stamped within the window are written
    # for a minute after everyone else's have passed its end. srv2 writes often enough
    # to break any run of entries past the end; with a run of 1, the first entry past
    # the end and the offset the first look measured decide alone.
    monkeypatch.setattr(logwatch.sources.journal, "PAST_RUN", run)
    lines = behind(healthy(), "srv2", 60)
    path = one_file(tmp_path / "journal", lines)
    until = DEFAULT_START_US + ROUNDS * PERIOD_US // 4
    whole, _ = replayed(path)
    counted = Counted(monkeypatch)
    window, tally = replayed(path, until_us=until)
    expected = [s for s in whole if s[0] <= until]
    assert sorted(window) == sorted(expected)
    late = [s for s in expected if s[1] == "srv2" and s[0] > until - 60 * US]
    assert late, "the case must hold srv2 entries written after the others' end"
    # The main read went on for the minute the first look measured srv2 behind by, and
    # stopped after it.
    written = [x.time_us + (60 * US if x.host == "srv2" else 0) for x in lines]
    within = sum(1 for t in written if t <= until + 60 * US)
    assert within <= counted.passes[1] == tally.entries < len(lines) * 3 / 4


INSTANCES = ("acme-mainnet", "beta-mainnet", "gamma-testnet", "delta-preview")


@functools.cache
def collected() -> tuple[LogLine, ...]:
    """Four instances on the same hosts, a round every 2 s for a minute each, and other
    programs on every host meanwhile, as a collector's journal holds them."""
    each = [
        Scenario(name, clients=5, seed=30 + i).start().rounds(30).lines()
        for i, name in enumerate(INSTANCES)
    ]
    hosts = sorted({x.host for lines in each for x in lines})
    others = noise(DEFAULT_START_US, 600, per_second=10, hosts=hosts, seed=30)
    return tuple(sorted([*others, *(x for lines in each for x in lines)], key=lambda x: x.time_us))


class ReadInFull:
    """The units of the entries the sources read in full (not only glanced at or passed
    by their unit), one list per pass."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.passes: list[list[str | None]] = []
        opened = logwatch.run.replay_plan.open_inputs

        def watching(*args: Any, **kwargs: Any) -> Iterator[Any]:
            units: list[str | None] = []
            self.passes.append(units)
            for item in opened(*args, **kwargs):
                if isinstance(item, Entry):
                    units.append(item.fields.get("_SYSTEMD_UNIT"))
                yield item

        monkeypatch.setattr(logwatch.run.replay_plan, "open_inputs", watching)


def test_a_named_instance_of_four_is_the_only_one_read_in_full(
    captures: Captures, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = collected()
    path = captures.journal(lines, "full")
    whole, _ = replayed(path)
    read = ReadInFull(monkeypatch)
    one, tally = replayed(path, instances=["beta-mainnet"])
    assert one == [s for s in whole if s[2] == "beta-mainnet"]
    assert tally.entries == len(lines)
    # The first look and the main read: beta's lines only are read in full, no more of
    # them than beta wrote (the others' are glanced at, or passed by their unit).
    own = sum(1 for x in lines if x.instance == "beta-mainnet" and x.unit is None)
    assert len(read.passes) == 2
    for units in read.passes:
        assert 0 < len(units) <= own
        assert {u for u in units if u is not None} <= {
            f"zipnet-{role}@beta-mainnet.service" for role in ("server", "aggregator", "client")
        }


def ahead_and_behind() -> list[LogLine]:
    """healthy(), with one client 30 s ahead and one server a minute behind."""
    return behind(behind(healthy(), "client3", -30), "srv2", 60)


def looked(path: Path, monkeypatch: pytest.MonkeyPatch, *, thinned: bool) -> tuple[Any, int]:
    """(what the first look of `path` found, how many entries the sources handed it in
    full); thinned=False: every line decoded, as before the look passed over the lines of
    rounds it does not sample."""
    with monkeypatch.context() as patch:
        if not thinned:
            patch.setattr(logwatch.run.replay_plan, "rounds_from_fields", lambda _: False)
        full = 0
        opened = logwatch.run.replay_plan.open_inputs

        def counting(*args: Any, **kwargs: Any) -> Iterator[Any]:
            nonlocal full
            for item in opened(*args, **kwargs):
                full += isinstance(item, Entry)
                yield item

        patch.setattr(logwatch.run.replay_plan, "open_inputs", counting)
        reading = build_reading(instances=(), pattern_dirs_opt=(), config_path=None)
        plan = ReplayPlan(reading, [str(path)], None)
        found = plan.first_look(rule_settings(reading, "2s", None, None).clock_tolerance_us)
        return (found, plan.instances_held, plan.mixed), full


@pytest.mark.parametrize("fmt", ["journal", "export", "json"])
def test_the_first_look_passes_over_rounds_it_does_not_sample_and_finds_the_same(
    captures: Captures, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    # 240 rounds: past 64 a client's rounds are sampled one in two, then one in four, so
    # the look need not decode most clients' lines. What it finds must not change: the
    # offsets of the hosts off (segments, span, tied hosts), the instances held.
    path = captures.make(ahead_and_behind(), "full-ansi", fmt)
    thinned, decoded_thinned = looked(path, monkeypatch, thinned=True)
    whole, decoded_whole = looked(path, monkeypatch, thinned=False)
    assert thinned == whole
    offsets = thinned[0]
    assert offsets.skewed_hosts() == {"client3", "srv2"}
    assert round(offsets.offset("client3", DEFAULT_START_US) / US) == 30
    if fmt == "journal":
        # The journal reader glances at what is passed over, never reading it in full:
        # here a third of the lines, most clients' rounds sampled one in four by the end.
        assert decoded_thinned < decoded_whole * 2 / 3


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["srv1", "agg", "c1", "c2"]),
            st.sampled_from(sorted(ROUND_LINES)),
            st.integers(0, 3000),
        ),
        min_size=1,
        max_size=1500,
    )
)
def test_a_line_the_first_look_does_not_want_would_change_nothing_it_keeps(
    lines: list[tuple[str, str, int]],
) -> None:
    # FirstLook.wants is asked before decoding: when it says no, `see` must keep nothing
    # of that line whatever its kind (only the host's first and last times, which a
    # glance gives).
    look = FirstLook()
    for at, (host, kind, number) in enumerate(lines):
        wanted = look.wants(host, [number])
        before = copy.deepcopy((look._rounds, look._stride, look._hosts.get(host)))
        role = "server" if host.startswith("s") else "client"
        look.see(host, "acme", role, at, kind, number)
        if not wanted:
            after = look._hosts[host]
            assert before[2] is not None
            assert (look._rounds, look._stride) == before[:2]
            assert (after.samples, after.stride) == (before[2].samples, before[2].stride)


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    "capture",
    sorted(p.name for p in FIXTURES.iterdir() if p.is_file() and p.suffix not in (".md", ".py")),
)
def test_capture_end_glancing_at_lines_is_the_end_read_in_full(capture: str) -> None:
    # A relative --since/--until counts back from capture_end, which only glances at the
    # lines no pattern can claim; read in full and decoded, every line gives the same end.
    from logwatch.records import Passing, Unreadable
    from logwatch.sources import open_inputs

    reading = build_reading(instances=(), pattern_dirs_opt=(), config_path=None)
    path = str(FIXTURES / capture)
    decoder, whole = reading.new_decoder(), None
    for item in open_inputs([path], triage=Triage(reading.writers)):
        if isinstance(item, Unreadable):
            continue
        record = item if isinstance(item, Passing) else decoder(item)
        if not isinstance(record, Unreadable):
            whole = record.time_us if whole is None else max(whole, record.time_us)
    assert whole is not None
    assert ReplayPlan(reading, [path], None).capture_end() == whole


def walked_end(path: Path) -> int:
    """The latest time of any entry of the capture at `path`, every entry read."""
    from logwatch.sources import open_inputs

    return max(i.time_us for i in open_inputs([str(path)]) if isinstance(i, Entry))


@pytest.mark.parametrize("layout", ["a file per host", "one file as entries came"])
def test_capture_end_of_journal_files_is_read_from_their_index(
    captures: Captures, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    # A relative --since counts back from the capture's last entry: of journal files the
    # index tells it, each host's last entry looked up, without reading any entry. With a
    # client 30 s ahead its last entry is the latest, wherever the file holds it (in one
    # file written as entries came, among the others' last ones).
    lines = ahead_and_behind()
    if layout == "a file per host":
        path = captures.journal(lines, "full-ansi")
    else:
        path = one_file(tmp_path / "one", lines)  # in the order written
    reading = build_reading(instances=(), pattern_dirs_opt=(), config_path=None)
    plan = ReplayPlan(reading, [str(path)], None)
    opened = []
    monkeypatch.setattr(
        logwatch.run.replay_plan, "open_inputs", lambda *a, **k: opened.append(a) or iter(())
    )
    end = plan.capture_end()
    assert opened == []  # not read
    assert end == walked_end(path)
    assert end == max(x.time_us for x in lines if x.host == "client3")
    monkeypatch.setattr(logwatch.sources.journal_index, "HOSTS_LOOKED_UP", 3)
    assert plan.capture_end() is None  # too many hosts: read instead (nothing, here)
    assert len(opened) == 1


def first_looked(path: Path, instances: Sequence[str], window: dict[str, str]) -> tuple[Any, Any]:
    """(what the first look of `path` found, the instances it says the capture holds);
    `window`: since= and until= for build_reading."""
    reading = build_reading(instances=instances, pattern_dirs_opt=(), config_path=None, **window)
    plan = ReplayPlan(reading, [str(path)], None)
    found = plan.first_look(rule_settings(reading, "2s", None, None).clock_tolerance_us)
    return found, plan.instances_held


@pytest.mark.parametrize("layout", ["a file per host", "one file as entries came"])
@pytest.mark.parametrize("window", [None, "its last 40 s", "its first 40 s"])
@pytest.mark.parametrize("named", [(), ("beta-mainnet",)])
def test_the_first_look_of_journal_files_asks_their_index_what_other_lines_would_say(
    captures: Captures,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
    window: str | None,
    named: tuple[str, ...],
) -> None:
    # Of journal files, the look reads the round lines of the instances it measures
    # (the named ones through journal matches): which instances the capture holds and
    # each host's first and last entry (the span other entries move the clock in) are
    # asked of the index, and every other line passes by, its writer never looked up.
    # It finds what a look glancing at every line finds, a server a minute behind
    # included.
    lines = behind(collected(), "srv2", 60)
    if layout == "a file per host":
        path = captures.journal(lines, "full")
    else:
        path = one_file(tmp_path / "one", lines)
    bounds = {}
    if window == "its last 40 s":
        bounds["since"] = format_time(max(x.time_us for x in lines) - 40 * US)
    elif window == "its first 40 s":
        # (of the hosts in line: the server behind stamps its first entries a minute early)
        bounds["until"] = format_time(min(x.time_us for x in lines if x.host != "srv2") + 40 * US)
    told: list[Any] = []
    opened = logwatch.run.replay_plan.open_inputs

    def watching(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for item in opened(*args, **kwargs):
            told.append(item)
            yield item

    monkeypatch.setattr(logwatch.run.replay_plan, "open_inputs", watching)
    indexed = first_looked(path, named, bounds)
    assert not any(isinstance(i, Glance) for i in told)
    read = [i for i in told if isinstance(i, Entry)]
    assert read and all(i.fields["MESSAGE"] for i in read)
    if named:
        assert all("@beta-mainnet." in i.fields["_SYSTEMD_UNIT"] for i in read)
    told.clear()
    monkeypatch.setattr(logwatch.run.replay_plan, "index_of_inputs", lambda *_: None)
    walked = first_looked(path, named, bounds)
    assert any(isinstance(i, Glance) for i in told)
    assert sum(isinstance(i, Entry) for i in told) >= len(read)
    assert indexed == walked
    offsets, held = indexed
    assert held == set(INSTANCES)
    assert offsets.span is not None
    # In the last 40 s the server a minute behind writes nothing stamped in the window.
    assert offsets.skewed_hosts() == (set() if window == "its last 40 s" else {"srv2"})


def looked_along(
    path: Path, instances: Sequence[str], window: dict[str, str], fmt: str | None = None
) -> tuple[Any, Any, bool, dict[str, str]] | None:
    """(what the first look taken along the main read of `path` found, the instances it
    says the capture holds, whether the main read stands, the instances that seem
    mixed); None when no look is taken along."""
    reading = build_reading(instances=instances, pattern_dirs_opt=(), config_path=None, **window)
    plan = ReplayPlan(reading, [str(path)], fmt)
    look = plan.look_along(rule_settings(reading, "2s", None, None).clock_tolerance_us)
    if look is None:
        return None
    for _ in plan.steps(Tally(), look=look):
        pass
    found = plan.looked(look)
    return found, plan.instances_held, look.held(found), plan.mixed


@pytest.mark.parametrize("fmt", ["journal", "one journal file", "export", "json", "short-iso"])
@pytest.mark.parametrize("window", [None, "its last 40 s", "its first 40 s"])
@pytest.mark.parametrize("named", [(), ("beta-mainnet",)])
@pytest.mark.parametrize("skewed", [False, True])
def test_the_first_look_taken_along_the_main_read_finds_what_the_look_on_its_own_finds(
    captures: Captures,
    tmp_path: Path,
    fmt: str,
    window: str | None,
    named: tuple[str, ...],
    skewed: bool,
) -> None:
    # A replay reads a capture once when the first look, taken along the main read,
    # finds nothing that changes how that read placed the entries. Whatever it decides,
    # what the look finds is what a look on its own finds: the same offsets, span, tied
    # hosts and instances held. Its read stands exactly when the look finds no host off
    # (a server a minute behind makes it read again).
    lines = behind(collected(), "srv2", 60) if skewed else list(collected())
    if fmt == "one journal file":
        path = one_file(tmp_path / "one", lines)
    else:
        path = captures.make(lines, "full", fmt)
    bounds = {}
    if window == "its last 40 s":
        bounds["since"] = format_time(max(x.time_us for x in lines) - 40 * US)
    elif window == "its first 40 s":
        bounds["until"] = format_time(min(x.time_us for x in lines if x.host != "srv2") + 40 * US)
    instances = ("acme-mainnet",) if fmt == "short-iso" and not named else named
    along = looked_along(path, instances, bounds)
    if fmt in ("export", "json") and named:
        # Other instances' entries pass the main read by unread: no look along it.
        assert along is None
        return
    assert along is not None
    found, held, stands, mixed = along
    assert (found, held) == first_looked(path, instances, bounds)
    # short-iso names no units: the collector's four instances seem mixed under one name
    # (their committees' bonds show it), which mutes rules before the read, so it is read
    # again knowing it.
    if window is None:
        assert bool(mixed) == (fmt == "short-iso")
    assert stands == (not found.skewed_hosts() and not mixed)
    if fmt != "short-iso":
        assert stands == (not skewed or window == "its last 40 s")
