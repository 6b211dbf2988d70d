"""An instance the journal has never seen is said at start, with the ones it holds."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Captures

from logwatch import simulate
from logwatch.journal_units import journal_units, known_instances, missing_instances_note
from logwatch.simulate import Scenario
from logwatch.units import UnitTemplate


@pytest.fixture(scope="module")
def journal(captures: Captures) -> Path:
    acme = Scenario("acme-mainnet", seed=8).start().rounds(3).lines()
    preview = Scenario("preview-alpha", seed=9, clients=2).start().rounds(3).lines()
    foreign = simulate.noise(simulate.DEFAULT_START_US, 5, per_second=1, hosts=("srv1",))
    return captures.journal(tuple(simulate.merge(acme, preview, foreign)), "full")


@pytest.mark.parametrize("journalctl", [False, True], ids=["sd-journal", "journalctl"])
def test_the_units_of_a_journal_and_their_instances(journal: Path, journalctl: bool) -> None:
    units = journal_units(str(journal), journalctl=journalctl)
    assert units is not None
    assert "zipnet-server@acme-mainnet.service" in units
    assert known_instances(units, UnitTemplate()) == ["acme-mainnet", "preview-alpha"]
    note = missing_instances_note(["acme-mainet", "acme-mainnet"], units, UnitTemplate())
    assert note == [
        "no entries of instance 'acme-mainet' in the journal; it holds instances "
        "acme-mainnet, preview-alpha"
    ]


def test_follow_says_at_start_that_a_named_instance_has_no_entries(journal: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "logwatch", "follow", "acme-mainet", "-D", str(journal),
         "-o", "json", "--round-period", "2s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # waits for the line, however long start-up takes
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert first == (
        "logwatch: no entries of instance 'acme-mainet' in the journal; it holds instances "
        "acme-mainnet, preview-alpha\n"
    )
    assert proc.returncode == 0
