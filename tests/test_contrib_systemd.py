"""contrib/systemd: the unit passes `systemd-analyze verify` without a warning (where that
runs: it needs no running systemd, but a container may lack parts of it), sandboxes
logwatch as the issue asks, and runs a `follow` command line logwatch accepts."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_parts import free_port

UNIT = Path(__file__).parent.parent / "contrib" / "systemd" / "logwatch@.service"
LOGWATCH = str(Path(sys.executable).parent / "logwatch")


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    return subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def instance(tmp_path: Path, text: str) -> Path:
    """The template as the instance `acme-mainnet`, its logwatch the one under test
    (verify checks that ExecStart's binary exists)."""
    path = tmp_path / "logwatch@acme-mainnet.service"
    path.write_text(text.replace("/usr/local/bin/logwatch", LOGWATCH))
    return path


def test_the_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    plain = tmp_path / "plain.service"
    plain.write_text("[Service]\nExecStart=/bin/true\n")
    if verify(plain).returncode != 0:
        pytest.skip("systemd-analyze verify does not run here")
    done = verify(instance(tmp_path, UNIT.read_text()))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_verify_would_see_a_typo(tmp_path: Path) -> None:
    # Proves the test above can fail: systemd only warns about an unknown key.
    broken = UNIT.read_text().replace("NoNewPrivileges=", "NoNewPrivilege=")
    done = verify(instance(tmp_path, broken))
    if done.returncode != 0 and "Unknown key" not in done.stderr:
        pytest.skip("systemd-analyze verify does not run here")
    assert "Unknown key 'NoNewPrivilege'" in done.stderr


def test_the_sandbox_the_issue_asks_for() -> None:
    settings = {
        line.partition("=")[0]: line.partition("=")[2]
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert settings["DynamicUser"] == "yes"
    assert "systemd-journal" in settings["SupplementaryGroups"].split()
    assert settings["StateDirectory"].startswith("logwatch")
    assert settings["ProtectSystem"] == "strict"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["Restart"] == "on-failure"


def test_its_command_line_is_one_logwatch_accepts(tmp_path: Path) -> None:
    # The ExecStart line, as systemd would run it for acme-mainnet with a few options,
    # reaches the follow itself: it stops at the missing journal, not at an option.
    args = f"--metrics 127.0.0.1:{free_port()} --directory {tmp_path / 'none'}"
    exec_start = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    line = (
        exec_start.removeprefix("ExecStart=")
        .replace("%i", "acme-mainnet")
        .replace("${STATE_DIRECTORY}", str(tmp_path / "state"))
        .replace("$LOGWATCH_ARGS", args)
    )
    argv = shlex.split(line)
    argv[0] = LOGWATCH
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "see logwatch --help" not in done.stderr, done.stderr
    assert str(tmp_path / "none") in done.stderr
