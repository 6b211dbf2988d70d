"""A stall that says why: each of the operator page's three causes, and one the logs
leave open, replayed from real journal files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Captures
from typer.testing import CliRunner

from logwatch.cli import app
from logwatch.engine.diagnosis import StallEvidence, diagnose
from logwatch.events import Event
from logwatch.simulate import LogLine, Scenario

ISOLATED_ENV = {"HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"}
RULES = ("--round-period", "2s", "--round-deadline", "1s")


def broken_rounds(
    s: Scenario,
    n: int,
    *,
    sealers: int = 5,
    forward: bool = True,
    apply: bool = True,
    partials: bool = True,
) -> Scenario:
    """`n` rounds that never finalize: the leader opens each, `sealers` clients seal, and
    the aggregator forwards, the leader applies and the servers submit, as told."""
    for _ in range(n):
        number = s.next_round
        s.emit(s.leader, "opening round", ("round", number))
        for host in s.clients[:sealers]:
            s.emit(host, "sealed envelope", ("round", number), ("bytes", 16384))
        if forward:
            s.emit(s.aggregator, "forwarded aggregate", ("round", number), ("clients", sealers))
        if apply:
            s.emit(s.leader, "applying SubmitAggregate", ("round", number), ("clients", sealers))
        if partials:
            for host in s.servers:
                s.emit(host, "submitted partial", ("round", number))
        s.advance(s.period_us / 1e6)
        s.next_round += 1
    return s


def heartbeat_failed(s: Scenario, host: str) -> Scenario:
    return s.emit(
        host,
        "heartbeat failed: too many missed heartbeats",
        ("network", "0f1e2d3c4b"),
        ("peer", "9c1d2e3f4a"),
        ("group", "a1b2c3d4e5"),
        level="WARN",
        target="mosaik::groups::bond::worker",
    )


def stall_of(captures: Captures, lines: list[LogLine]) -> dict[str, Any]:
    path = captures.make(lines, "full", "journal")
    result = CliRunner().invoke(
        app, ["replay", str(path), "--output", "json", *RULES], env=ISOLATED_ENV
    )
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    stalls = [
        o for o in objs if o["type"] == "alert" and o["alert"] == "round_stall"
        and o["state"] == "firing"
    ]  # fmt: skip
    assert len(stalls) == 1, objs
    return stalls[0]


def test_a_committee_that_applies_nothing_is_stuck(captures: Captures) -> None:
    s = Scenario(clients=5).start().rounds(10)
    heartbeat_failed(s, "srv3")
    stall = stall_of(captures, broken_rounds(s, 6, apply=False, partials=False).lines())
    assert stall["cause"] == "committee_stuck"
    assert "likely committee stuck" in stall["summary"]
    assert "heartbeats failed (1 server(s))" in stall["summary"]
    texts = [e["text"] for e in stall["evidence"]]
    assert any(t.startswith("heartbeat_failed") and "peer=9c1d2e3f4a" in t for t in texts)
    assert {e["host"] for e in stall["evidence"]} >= {"srv1", "srv3"}


def test_clients_sealing_with_no_forwarded_aggregate_is_the_aggregator(
    captures: Captures,
) -> None:
    s = Scenario(clients=5).start().rounds(10)
    stall = stall_of(captures, broken_rounds(s, 6, forward=False, apply=False).lines())
    assert stall["cause"] == "aggregator_down"
    assert "no forwarded aggregate while 5 client(s) sealed envelopes" in stall["summary"]
    assert [e["host"] for e in stall["evidence"]][-1].startswith(("client", "srv1"))
    assert all(
        e["text"].split()[0] in {"sealed_envelope", "opening_round"} for e in stall["evidence"]
    )


def test_too_few_clients_for_a_round_is_min_participants(captures: Captures) -> None:
    s = Scenario(clients=5).start().rounds(8).rounds(2, participants=2)
    stall = stall_of(captures, broken_rounds(s, 6, sealers=1).lines())
    assert stall["cause"] == "min_participants_unmet"
    assert "the aggregator forwards 1 client(s)' envelopes, fewer than the 5" in stall["summary"]
    assert {e["text"].split()[0] for e in stall["evidence"]} == {
        "forwarded_aggregate",
        "sealed_envelope",
    }


def test_every_step_of_a_round_but_its_finalization_is_a_stuck_committee(
    captures: Captures,
) -> None:
    # Opened, aggregate forwarded and applied, partials submitted by every server, as many
    # clients as ever: the committee does its part but the leader never finalizes.
    s = Scenario(clients=5).start().rounds(10)
    stall = stall_of(captures, broken_rounds(s, 6).lines())
    assert stall["cause"] == "committee_stuck"
    assert "3 server(s) submit partials, but none is finalized" in stall["summary"]
    assert {e["text"].split()[0] for e in stall["evidence"]} >= {
        "opening_round",
        "applying_aggregate",
        "submitted_partial",
    }


def test_logs_that_point_two_ways_say_unknown_with_both_evidences(captures: Captures) -> None:
    s = Scenario(clients=5).start().rounds(10)
    heartbeat_failed(s, "srv2")
    stall = stall_of(captures, broken_rounds(s, 6, forward=False, apply=False).lines())
    assert stall["cause"] == "unknown"
    assert "committee stuck or aggregator down" in stall["summary"]
    kinds = {e["text"].split()[0] for e in stall["evidence"]}
    assert {"heartbeat_failed", "sealed_envelope"} <= kinds


def test_silence_from_everyone_is_unknown_without_evidence(captures: Captures) -> None:
    stall = stall_of(captures, Scenario(clients=5).start().rounds(10).silence(20).rounds(1).lines())
    assert (stall["cause"], stall["evidence"]) == ("unknown", [])
    assert stall["summary"].endswith("cause unknown: the logs since the last round do not tell")


@pytest.mark.parametrize("kept", [1, 3, 10])
def test_the_evidence_kept_is_bounded(kept: int) -> None:
    evidence = StallEvidence()
    for i in range(kept * 100):
        evidence.note(Event("sealed_envelope", i, "acme", "client", f"client{i}", {"round": i}))
    why = diagnose(evidence, [])
    assert why.cause == "aggregator_down"
    assert len(why.evidence) == 3  # the last three lines of that kind
    assert "64 client(s)" in why.reason  # hosts are counted up to 64
