"""Byte-for-byte the same outputs as before issue 13's faster reading: every fixture
replayed with the commands of tests/golden.py, compared with what the commit before that
work (7d47a88) printed (tests/golden-outputs.json.gz; see tests/golden.py for how it
is made)."""

from __future__ import annotations

import gzip
import json

import pytest
from golden import GOLDEN, every_command, key, run

_RECORDED: dict[str, dict[str, object]] = json.loads(gzip.decompress(GOLDEN.read_bytes()))
_COMMANDS = every_command()


def test_every_fixture_has_recorded_outputs() -> None:
    # A fixture added since the recording must be recorded too, or it is not compared.
    assert sorted(key(c) for c in _COMMANDS) == sorted(_RECORDED)


@pytest.mark.parametrize("args", _COMMANDS, ids=key)
def test_outputs_unchanged(args: tuple[str, ...]) -> None:
    assert run(args) == _RECORDED[key(args)]
