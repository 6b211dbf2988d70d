"""No host's clock may cause a false page or hide a real one (docs/clock.md), in captures.

Each case is a simulated zipnet instance whose truth is known (healthy, or stalled at a
known time) with one host's clock made wrong: every entry of that host, zipnet's and
other programs' alike, stamped ahead or behind. The captures are real: journal files
made by systemd-journal-remote, one per host as a collector keeps them, and what
journalctl prints of them (merged by time, so a host an hour ahead comes after
everyone else has stopped, and one an hour behind before anyone has started).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import Captures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from logwatch.cli import app
from logwatch.simulate import LogLine, Scenario
from logwatch.simulate.lines import DEFAULT_START_US
from logwatch.simulate.scenario import noise
from logwatch.times import US, format_time, iso_to_us

ISOLATED_ENV = {"HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"}
RULES = ("--round-period", "2s", "--round-deadline", "1s")
W_US = 7 * US
CRITICAL = {"round_stall", "split_brain", "participants_zero"}
# One host of each kind, and other programs on a client host (only theirs are off: a
# process with a clock of its own, or stamps from a container).
HOSTS = {
    "client": "client2",
    "follower": "srv2",
    "leader": "srv1",
    "aggregator": "agg1",
    "other programs": "client3",
}
OFFSETS_S = (1, -1, 60, -60, 3600, -3600)
FORMS = (("full", "journal"), ("journald", "export"), ("json", "json"), ("full", "with-unit"))
Objects = list[dict[str, Any]]


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=ISOLATED_ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    return result.stdout


def replay(path: object, *args: str) -> Objects:
    out = cli("replay", str(path), "--output", "json", *RULES, *args)
    return [json.loads(line) for line in out.splitlines()]


def alerts(objs: Objects) -> list[tuple[str, str, str]]:
    return [(o["alert"], o["state"], o["at"]) for o in objs if o["type"] == "alert"]


def rounds_counted(objs: Objects) -> int:
    return int(objs[-1]["instances"]["acme-mainnet"]["rounds"])


def with_noise(lines: Sequence[LogLine], *, seconds: float) -> list[LogLine]:
    """The instance's lines, and other programs writing on every host meanwhile."""
    hosts = sorted({x.host for x in lines})
    others = noise(DEFAULT_START_US, int(seconds * 4), per_second=4, hosts=hosts, seed=7)
    return sorted([*lines, *others], key=lambda x: x.time_us)


def healthy(rounds: int = 40) -> list[LogLine]:
    lines = Scenario(clients=5).start().rounds(rounds).lines()
    return with_noise(lines, seconds=rounds * 2 + 5)


def skew(
    lines: Sequence[LogLine],
    host: str,
    offset_s: float,
    *,
    between: tuple[float, float] | None = None,
    others_only: bool = False,
) -> list[LogLine]:
    """Every entry of `host` stamped `offset_s` off (only those written within `between`,
    seconds from the start, for a clock that steps and comes back; only other programs'
    with `others_only`)."""
    start = lines[0].time_us

    def wrong(x: LogLine) -> bool:
        if x.host != host or (others_only and x.unit is None):
            return False
        return between is None or start + between[0] * US <= x.time_us < start + between[1] * US

    return [
        dataclasses.replace(x, time_us=x.time_us + round(offset_s * US)) if wrong(x) else x
        for x in lines
    ]


def skew_alerts(objs: Objects, host: str) -> list[tuple[str, str, str]]:
    """The clock_skew transitions about `host`: its own alert, or for a client the
    instance's clients' alert while it names the host (firing) or resolves."""
    out = []
    for o in objs:
        if o["type"] != "alert" or o["alert"] != "clock_skew":
            continue
        label = o["labels"]["host"]
        if label == host or (
            label == "clients" and (o["state"] == "resolved" or o["values"].get("worst") == host)
        ):
            out.append((o["alert"], o["state"], host))
    return out


HEALTHY = healthy()
HEALTHY_ROUNDS = 40


@pytest.mark.parametrize("offset_s", OFFSETS_S)
@pytest.mark.parametrize("kind", HOSTS)
def test_one_skewed_host_of_any_kind_pages_nobody_in_a_collectors_journal(
    captures: Captures, kind: str, offset_s: int
) -> None:
    host = HOSTS[kind]
    lines = skew(HEALTHY, host, offset_s, others_only=kind == "other programs")
    objs = replay(captures.make(lines, "full", "journal"))
    shown = alerts(objs)
    assert [a for a in shown if a[0] != "clock_skew"] == [], shown
    assert rounds_counted(objs) == HEALTHY_ROUNDS
    # Off by more than the tolerance (2 s), the host is named; by 1 s it is in line. Other
    # programs' entries come without a host through the fast path: never named.
    named = skew_alerts(objs, host)
    if abs(offset_s) > 2 and kind != "other programs":
        assert named[:1] == [("clock_skew", "firing", host)], shown
    else:
        assert named == [], shown


@pytest.mark.parametrize("form", FORMS, ids=["-".join(f) for f in FORMS])
@pytest.mark.parametrize("offset_s", (3600, -3600, 60))
@pytest.mark.parametrize("kind", ("client", "follower", "other programs"))
def test_every_capture_form_places_a_skewed_host(
    captures: Captures, form: tuple[str, str], kind: str, offset_s: int
) -> None:
    host = HOSTS[kind]
    lines = skew(HEALTHY, host, offset_s, others_only=kind == "other programs")
    objs = replay(captures.make(lines, *form))
    assert [a for a in alerts(objs) if a[0] != "clock_skew"] == []
    assert rounds_counted(objs) == HEALTHY_ROUNDS


@pytest.mark.parametrize("offset_s", (3600, -3600, 60, -60))
@pytest.mark.parametrize("kind", ("client", "follower", "aggregator", "other programs"))
def test_a_clock_that_steps_once_and_comes_back(
    captures: Captures, kind: str, offset_s: int
) -> None:
    host = HOSTS[kind]
    lines = skew(HEALTHY, host, offset_s, between=(30, 55), others_only=kind == "other programs")
    objs = replay(captures.make(lines, "full", "journal"))
    assert [a for a in alerts(objs) if a[0] != "clock_skew"] == []
    assert rounds_counted(objs) == HEALTHY_ROUNDS
    if kind != "other programs":
        assert [s for _, s, _ in skew_alerts(objs, host)] == ["firing", "resolved"]


def test_one_cron_entry_an_hour_ahead_on_a_client_host_is_no_stall(captures: Captures) -> None:
    # The first row: a healthy instance, and ONE other-program entry stamped by a
    # client host whose clock jumped an hour ahead.
    cron = next(x for x in HEALTHY if x.unit == "cron.service" and x.host == "client2")
    lines = [*HEALTHY, dataclasses.replace(cron, time_us=HEALTHY[-1].time_us + 3600 * US)]
    for form in FORMS:
        objs = replay(captures.make(lines, *form))
        assert alerts(objs) == [], form


def dead_committee() -> tuple[list[LogLine], int]:
    """Rounds up to 50, then the committee and the aggregator stop; one client retries its
    registration every 5 s for 5 minutes. Returns the lines and the last round's time."""
    scenario = Scenario(clients=5).start().rounds(50)
    lines = scenario.lines()
    last = max(x.time_us for x in lines if x.message == "round finalized")
    retry = next(x for x in lines if x.host == "client1" and x.role == "client")
    for i in range(1, 61):
        lines.append(
            dataclasses.replace(
                retry,
                time_us=last + i * 5 * US,
                level="WARN",
                message="registration failed",
                fields=(("error", "ticket expired"),),
            )
        )
    return lines, last


@pytest.mark.parametrize("form", FORMS, ids=["-".join(f) for f in FORMS])
def test_a_dead_committee_stalls_while_only_a_client_writes(
    captures: Captures, form: tuple[str, str]
) -> None:
    lines, last = dead_committee()
    objs = replay(captures.make(lines, *form))
    assert ("round_stall", "firing", format_time(last + W_US)) in alerts(objs)


@pytest.mark.parametrize("offset_s", (60, 3600, -3600))
def test_a_real_stall_still_fires_on_time_beside_a_skewed_client(
    captures: Captures, offset_s: int
) -> None:
    lines = Scenario(clients=5).start().rounds(20).silence(30).rounds(10).lines()
    finals = sorted(x.time_us for x in lines if x.message == "round finalized")
    gap_start = next(a for a, b in itertools.pairwise(finals) if b - a > W_US)
    objs = replay(
        captures.make(skew(with_noise(lines, seconds=80), "client2", offset_s), "full", "journal")
    )
    stalls = [a for a in alerts(objs) if a[0] == "round_stall"]
    assert stalls[0] == ("round_stall", "firing", format_time(gap_start + W_US))
    assert [s for _, s, _ in stalls] == ["firing", "resolved"]


def test_the_hosts_alerts_name_the_offset(captures: Captures) -> None:
    objs = replay(captures.make(skew(HEALTHY, "srv2", 600), "full", "journal"))
    (firing,) = [o for o in objs if o["type"] == "alert" and o["alert"] == "clock_skew"]
    assert firing["severity"] == "warning"
    assert firing["labels"] == {
        "alertname": "clock_skew",
        "instance": "acme-mainnet",
        "severity": "warning",
        "host": "srv2",
    }
    assert abs(firing["values"]["offset_s"] - 600) < 2
    assert "srv2" in firing["summary"] and "10m ahead" in firing["summary"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    host=st.sampled_from(sorted({x.host for x in HEALTHY})),
    offset_s=st.floats(min_value=-7200, max_value=7200),
    stalled=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_any_single_host_skew_neither_pages_falsely_nor_hides_a_stall(
    tmp_path_factory: pytest.TempPathFactory,
    host: str,
    offset_s: float,
    stalled: bool,
    seed: int,
) -> None:
    # Export text in the order a collector merges it (by each entry's own time): no journal
    # files here, so that hypothesis can try many cases quickly.
    from logwatch.simulate import export_bytes

    scenario = Scenario(clients=5, seed=seed).start().rounds(15)
    if stalled:
        scenario.silence(30)
    lines = scenario.rounds(10).lines()
    truth = sorted(x.time_us for x in lines if x.message == "round finalized")
    gaps = [a for a, b in itertools.pairwise(truth) if b - a > W_US]
    wrong = sorted(skew(with_noise(lines, seconds=90), host, offset_s), key=lambda x: x.time_us)
    path = tmp_path_factory.mktemp("prop") / f"{random.Random(seed).random()}.export"
    path.write_bytes(export_bytes(wrong, "full"))
    objs = replay(path)
    critical = [a for a in alerts(objs) if a[0] in CRITICAL and a[1] == "firing"]
    if stalled:
        # Fired within a second of the true deadline (a host off by less than the
        # tolerance is corrected, as measured from the rounds, to a few ms).
        assert [a[:2] for a in critical[:1]] == [("round_stall", "firing")], critical
        at = iso_to_us(critical[0][2])
        assert at is not None and abs(at - (gaps[0] + W_US)) < US, critical
    else:
        assert critical == []


def test_round_numbers_going_back_are_a_restart_not_a_clock(captures: Captures) -> None:
    # Rounds are the shared clock only where they move on: a restart (round numbers
    # repeat) must not make every host look an hour off.
    lines = Scenario(clients=5).start().rounds(20).jump(5).rounds(20).lines()
    objs = replay(captures.make(lines, "full", "journal"))
    assert [a for a in alerts(objs) if a[0] == "clock_skew"] == []
    assert ("round_regression", "firing") in [a[:2] for a in alerts(objs)]


def test_the_tolerance_is_a_rule_setting(captures: Captures, tmp_path: Path) -> None:
    path = captures.make(skew(HEALTHY, "srv2", 60), "full", "journal")
    config = tmp_path / "config.toml"
    config.write_text('[rules]\nclock_tolerance = "90s"\n')
    assert skew_alerts(replay(path), "srv2") == [("clock_skew", "firing", "srv2")]
    assert skew_alerts(replay(path, "--config", str(config)), "srv2") == []
