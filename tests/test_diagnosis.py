"""A stall that says why (logwatch/engine/diagnosis.py): one simulated incident per cause
and two that the logs cannot decide, replayed from real journals through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from conftest import Captures

from logwatch.simulate import Scenario
from logwatch.times import US, iso_to_us

W_US = 7 * US  # P = 2 s, D = 1 s


def stall_of(captures: Captures, s: Scenario) -> dict[str, Any]:
    """The round_stall firing of replaying `s`, as JSON."""
    directory = captures.journal(s.lines(), "full")
    done = subprocess.run(
        [
            sys.executable, "-m", "logwatch", "replay", str(directory), "--output", "json",
            "--round-period", "2s", "--round-deadline", "1s",
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stalls = [
        o
        for o in map(json.loads, done.stdout.splitlines())
        if o.get("alert") == "round_stall" and o["state"] == "firing"
    ]
    assert len(stalls) == 1, stalls
    stall: dict[str, Any] = stalls[0]
    # Every line of evidence is the instance's, and from before the stall fired.
    fired = iso_to_us(stall["at"])
    assert fired is not None
    for line in stall["evidence"]:
        at = iso_to_us(line["at"])
        assert at is not None and at <= fired, line
        assert line["host"] and line["text"]
    return stall


def texts(stall: dict[str, Any]) -> list[str]:
    return [f"{e['host']}: {e['text']}" for e in stall["evidence"]]


def healthy(clients: int = 5) -> Scenario:
    return Scenario("acme-mainnet", clients=clients).start().rounds(5)


def test_committee_stuck_a_rival_leader_and_a_round_opened_that_goes_nowhere(
    captures: Captures,
) -> None:
    s = healthy().rival_leader("srv1", other="srv2").stuck_round(15)
    stall = stall_of(captures, s)
    assert stall["cause"] == "committee_stuck"
    found = texts(stall)
    assert any(t.startswith("srv1: rival group leader detected term=1") for t in found), found
    assert "srv1: opening round round=6" in found


def test_aggregator_down_clients_seal_and_nothing_is_forwarded(captures: Captures) -> None:
    s = healthy().crash("agg1")
    for _ in range(6):
        number = s.next_round
        s.emit(s.leader, "opening round", ("round", number))
        for client in s.clients:
            s.emit(client, "sealed envelope", ("round", number), ("bytes", 16384),
                   at_us=s.now_us + 200_000)  # fmt: skip
        s.advance(2.0)
    stall = stall_of(captures, s)
    assert stall["cause"] == "aggregator_down"
    assert all("sealed envelope round=6" in t for t in texts(stall)), texts(stall)


def test_min_participants_unmet_falling_rounds_then_too_few_to_finalize(
    captures: Captures,
) -> None:
    s = healthy()
    for n in (4, 3, 2):
        s.rounds(1, sealing=s.clients[:n])
    for _ in range(5):
        number = s.next_round
        s.emit(s.leader, "opening round", ("round", number))
        s.emit("client1", "sealed envelope", ("round", number), ("bytes", 16384),
               at_us=s.now_us + 200_000)  # fmt: skip
        s.emit("agg1", "forwarded aggregate", ("round", number), ("clients", 1),
               at_us=s.now_us + 800_000)  # fmt: skip
        s.advance(2.0)
    stall = stall_of(captures, s)
    assert stall["cause"] == "min_participants_unmet"
    found = texts(stall)
    assert "agg1: forwarded aggregate round=9 clients=1" in found, found
    # The falling rounds are the evidence too.
    assert [t.rpartition("participants=")[2] for t in found if "finalized" in t] == ["4", "3", "2"]


def test_complete_silence_is_unknown_without_evidence(captures: Captures) -> None:
    # (A round after the silence moves replay's clock past the stall.)
    stall = stall_of(captures, healthy().silence(20).rounds(1))
    assert (stall["cause"], stall["evidence"]) == ("unknown", [])


def test_two_causes_of_equal_weight_are_unknown_with_both_shown(captures: Captures) -> None:
    # A rival leader (committee) and clients sealing with nothing forwarded (aggregator):
    # the logs point both ways, so logwatch does not pick one.
    s = healthy().crash("agg1").rival_leader("srv1", other="srv2")
    for _ in range(5):
        for client in s.clients:
            s.emit(client, "sealed envelope", ("round", s.next_round), ("bytes", 16384))
        s.advance(2.0)
    s.rounds(1)  # clients cannot move the clock far: a server's line does
    stall = stall_of(captures, s)
    assert stall["cause"] == "unknown"
    found = texts(stall)
    assert any("rival group leader detected" in t for t in found), found
    assert any("sealed envelope" in t for t in found), found
