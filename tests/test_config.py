"""Config file, environment and flags, in that order of precedence."""

from pathlib import Path

import pytest

from logwatch.config import DEFAULT_TEMPLATE, load_config, resolve_duration
from logwatch.errors import UsageError


def test_config_file_values(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(
        'round_period = "2s"\nround_deadline = 1\n[aliases]\n"acme.mainnet" = "acme-mainnet"\n'
    )
    c = load_config(f)
    assert (c.round_period_s, c.round_deadline_s) == (2.0, 1.0)
    assert c.aliases == {"acme.mainnet": "acme-mainnet"}
    assert c.unit_template == DEFAULT_TEMPLATE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("round_period = [", "cannot read config"),
        ("colour = 'blue'", "unknown config key"),
        ("unit_template = 'zipnet.service'", "unit_template"),
        ("round_period = 'soon'", "not a duration"),
    ],
)
def test_bad_config_is_one_line_usage_error(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(UsageError, match=message) as e:
        load_config(f)
    assert "\n" not in str(e.value)


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_flag_beats_environment_beats_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIPNET_ROUND_PERIOD", "3s")
    assert resolve_duration("2s", "ZIPNET_ROUND_PERIOD", 5.0) == 2.0
    assert resolve_duration(None, "ZIPNET_ROUND_PERIOD", 5.0) == 3.0
    monkeypatch.delenv("ZIPNET_ROUND_PERIOD")
    assert resolve_duration(None, "ZIPNET_ROUND_PERIOD", 5.0) == 5.0
    assert resolve_duration(None, "ZIPNET_ROUND_PERIOD", None) is None
