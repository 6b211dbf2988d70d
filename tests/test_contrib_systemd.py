"""contrib/systemd: the unit passes `systemd-analyze verify` as shipped, runs the production
install (/opt/logwatch, outside any clone), and its command runs as the unit would run it:
its user and group, its read-only file system, its hidden homes and /tmp, its state
directory (as far as a machine without systemd as PID 1 allows; docs/fleet.md says what
is left unproven)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_parts import free_port, poll
from test_follow import wait_for, wait_for_stderr

from logwatch.livefeed import LiveJournal, restamp
from logwatch.simulate import LogLine, to_export
from logwatch.times import wall_clock_us

UNIT = Path(__file__).parent.parent / "contrib" / "systemd" / "logwatch@.service"
LOGWATCH = str(Path(sys.executable).parent / "logwatch")
INSTALL = "/opt/logwatch/bin/logwatch"
"""Where the unit runs logwatch from (docs/fleet.md: the production install)."""
DYNAMIC_UID = 61234
"""A uid no account has, as systemd's DynamicUser= allocates one (61184-65519)."""


def settings() -> dict[str, str]:
    """The unit's `Key=value` lines (comments left out)."""
    return {
        line.partition("=")[0]: line.partition("=")[2]
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    return subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, check=False
    )
    return done.returncode == 0


def verify_as_installed(unit: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify UNIT` where the production install exists: in a mount
    namespace of its own, /opt/logwatch/bin/logwatch is the logwatch under test (verify
    checks that ExecStart's command is there). Without one, a copy of the unit runs the
    logwatch under test instead."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    if not can_unshare():
        copy = Path(os.environ.get("TMPDIR", "/tmp")) / f"logwatch-verify-{os.getpid()}"
        copy.mkdir(exist_ok=True)
        path = copy / unit.name
        path.write_text(unit.read_text().replace(INSTALL, LOGWATCH))
        return verify(path)
    script = (
        "mount -t tmpfs -o mode=0755 tmpfs /opt && mkdir -p /opt/logwatch/bin && "
        f"ln -s {shlex.quote(LOGWATCH)} {INSTALL} && exec {analyze} verify {shlex.quote(str(unit))}"
    )
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_shipped_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    plain = tmp_path / "plain.service"
    plain.write_text("[Service]\nExecStart=/bin/true\n")
    if verify(plain).returncode != 0:
        pytest.skip("systemd-analyze verify does not run here")
    done = verify_as_installed(UNIT)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_verify_would_see_a_typo(tmp_path: Path) -> None:
    # Proves the test above can fail: systemd only warns about an unknown key.
    broken = tmp_path / "logwatch@.service"
    broken.write_text(UNIT.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    done = verify_as_installed(broken)
    if done.returncode != 0 and "Unknown key" not in done.stderr:
        pytest.skip("systemd-analyze verify does not run here")
    assert "Unknown key 'NoNewPrivilege'" in done.stderr


def test_verify_would_see_a_command_that_is_not_installed(tmp_path: Path) -> None:
    # A clone's command, as the unit ran before: verify sees it missing where it is not.
    moved = tmp_path / "logwatch@.service"
    moved.write_text(UNIT.read_text().replace(INSTALL, str(tmp_path / ".venv/bin/logwatch")))
    done = verify(moved)
    if "is not executable" not in done.stderr and done.returncode == 0:
        pytest.skip("systemd-analyze verify does not check commands here")
    assert "is not executable: No such file or directory" in done.stderr


def test_the_unit_runs_the_production_install_in_its_sandbox() -> None:
    s = settings()
    assert s["ExecStart"].split()[0] == INSTALL
    assert s["DynamicUser"] == "yes"
    assert "systemd-journal" in s["SupplementaryGroups"].split()
    assert s["StateDirectory"] == "logwatch/%i"
    assert s["ProtectSystem"] == "strict" and s["ProtectHome"] == "yes"
    assert s["PrivateTmp"] == "yes" and s["NoNewPrivileges"] == "yes"
    assert s["CapabilityBoundingSet"] == ""
    assert s["Restart"] == "on-failure" and s["RestartPreventExitStatus"] == "2"


def command_line(logwatch_args: str) -> list[str]:
    """ExecStart as systemd runs it for acme-mainnet: %i filled in, ${STATE_DIRECTORY}
    one word, $LOGWATCH_ARGS split at white space (systemd.service(5))."""
    line = settings()["ExecStart"].replace("%i", "acme-mainnet")
    argv: list[str] = []
    for word in shlex.split(line):
        if word == "$LOGWATCH_ARGS":
            argv += logwatch_args.split()
        else:
            argv.append(word.replace("${STATE_DIRECTORY}", "/var/lib/logwatch/acme-mainnet"))
    return argv


def test_its_command_line_is_one_logwatch_accepts(tmp_path: Path) -> None:
    # Reaches the follow itself: it stops at the missing journal, not at an option.
    argv = command_line(f"--metrics 127.0.0.1:{free_port()} --directory {tmp_path / 'none'}")
    argv = [LOGWATCH, *argv[1:]]
    argv = [a.replace("/var/lib/logwatch/acme-mainnet", str(tmp_path / "state")) for a in argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "see logwatch --help" not in done.stderr, done.stderr
    assert str(tmp_path / "none") in done.stderr


# What the unit's sandbox does, done by hand in a mount namespace of the command's own:
# the production install made in /opt/logwatch (a virtualenv of the system's python3, the
# wheel of this tree; its dependencies borrowed from the test's virtualenv rather than
# downloaded and built), the state directory where systemd makes it for a dynamic user,
# the collector's directory where docs/fleet.md has it; then ProtectSystem=strict (every
# mount read-only but the state directory), ProtectHome=yes, PrivateTmp=yes, and the
# command run as a uid no account has, with the unit's supplementary group, no new
# privileges and no capabilities.
SANDBOX = r"""
set -euo pipefail
wheel=$1 deps=$2 journal=$3 state=$4 uid=$5 groups=$6; shift 6
mount -t tmpfs -o mode=0755 tmpfs /opt
/usr/bin/python3 -m venv /opt/logwatch
/opt/logwatch/bin/pip install -q --no-index --no-deps --disable-pip-version-check "$wheel"
site=$(/opt/logwatch/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Bound where the sandbox leaves it in sight (a checkout under /tmp, /root or /home).
mkdir /opt/test-dependencies
mount --bind "$deps" /opt/test-dependencies
echo /opt/test-dependencies > "$site/zz-test-dependencies.pth"
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir -p -m 0755 /var/lib/private/logwatch/acme-mainnet
ln -s private/logwatch /var/lib/logwatch
mount --bind "$state" /var/lib/private/logwatch/acme-mainnet
mount -t tmpfs -o mode=0755 tmpfs /var/log/journal
mkdir /var/log/journal/remote
mount --bind "$journal" /var/log/journal/remote
awk '{print $5}' /proc/self/mountinfo | grep -vE '^/(proc|sys|dev|mnt|run)(/|$)' | sort -u |
    while read -r where; do mount -o remount,bind,ro "$where" 2>/dev/null || true; done
mount -o remount,bind,rw /var/lib/private/logwatch/acme-mainnet
mount -t tmpfs -o mode=000 tmpfs /root
mount -t tmpfs -o mode=000 tmpfs /home
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
echo "sandbox ready" >&2
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/ \
    LANG=C.UTF-8 STATE_DIRECTORY=/var/lib/logwatch/acme-mainnet \
    setpriv --reuid="$uid" --regid="$uid" --groups="$groups" --no-new-privs \
    --inh-caps=-all --bounding-set=-all -- "$@"
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
         str(UNIT.parent.parent.parent)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (found,) = out.glob("logwatch-*.whl")
    yield found


def journal_line(i: int) -> bytes:
    line = LogLine(
        time_us=wall_clock_us(), instance="acme-mainnet", role="server", host="srv1",
        level="INFO", target="zipnet::server::round", message="round finalized",
        fields=(("round", i), ("participants", 3)),
    )  # fmt: skip
    return restamp(to_export(line, "journald", i), wall_clock_us())


def status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (x.partition(":") for x in lines)}


@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare: a mount namespace")
def test_the_units_command_runs_as_the_unit_would(tmp_path: Path, wheel: Path) -> None:
    if not Path("/usr/bin/python3").exists() or shutil.which("setpriv") is None:
        pytest.skip("needs /usr/bin/python3 and setpriv (util-linux)")
    system = subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if system != str(sys.version_info[:2]):
        pytest.skip(f"the system's python3 is {system}: the test's dependencies do not fit")
    groups = [
        subprocess.run(
            ["getent", "group", g], capture_output=True, text=True, check=False
        ).stdout.split(":")[2:3]
        for g in settings()["SupplementaryGroups"].split()
    ]
    if not all(groups):
        pytest.skip("the unit's supplementary groups do not exist here")
    gids = ",".join(g[0] for g in groups)
    journal_gid = int(groups[0][0])
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, DYNAMIC_UID, DYNAMIC_UID)
    port = free_port()
    argv = command_line(
        f"--directory /var/log/journal/remote --metrics 127.0.0.1:{port} --events rounds"
    )
    deps = sysconfig.get_paths()["purelib"]
    with LiveJournal(tmp_path / "journal") as journal:
        # As journal-remote's files are, readable by the group the unit adds.
        os.chown(journal.directory, 0, journal_gid)
        journal.directory.chmod(0o2750)
        os.chown(journal.path, 0, journal_gid)
        journal.write(journal_line(1))
        proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", SANDBOX,
             "sandbox", str(wheel), deps, str(journal.directory), str(state),
             str(DYNAMIC_UID), gids, *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_for_stderr(proc, "sandbox ready", 120)
            wait_for_stderr(proc, "logwatch: live from ", 60)
            seen = status(proc.pid)
            assert seen["Uid"].split() == [str(DYNAMIC_UID)] * 4
            assert seen["Gid"].split() == [str(DYNAMIC_UID)] * 4
            assert seen["Groups"].split() == gids.split(",")
            assert seen["NoNewPrivs"] == "1" and seen["CapBnd"] == "0000000000000000"
            assert Path(f"/proc/{proc.pid}/exe").resolve() == Path("/usr/bin/python3").resolve()
            journal.write(journal_line(2))
            obj, _ = wait_for(proc.stdout, lambda o: o.get("type") == "round", 30)  # type: ignore[arg-type]
            assert obj["round"] == 2
            # The cursor in the state directory, written as the dynamic user.
            (cursor,) = poll(lambda: list(state.glob("*.cursor")), 30, "the cursor saved")
            assert cursor.stat().st_uid == DYNAMIC_UID
            assert cursor.name.startswith("acme-mainnet+")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                assert "logwatch_cursor_save_failing 0.0" in r.read().decode()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=30)
            finally:
                proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "cannot save" not in err, err
