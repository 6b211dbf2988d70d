"""scripts/setup.sh leaves `logwatch` on PATH without taking it from another install, and
`pip install .` builds on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
OURS = ROOT / ".venv" / "bin" / "logwatch"


def link_only(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    """`setup.sh --link-only` with `logwatch` linked into `bin_dir`."""
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh"), "--link-only"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "LOGWATCH_BIN_DIR": str(bin_dir), "PATH": f"{bin_dir}:/usr/bin:/bin"},
    )  # fmt: skip


def test_setup_links_logwatch_into_a_bin_directory(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    env = {
        **os.environ,
        "LOGWATCH_BIN_DIR": str(bin_dir),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    link = bin_dir / "logwatch"
    assert link.is_symlink() and link.resolve() == (ROOT / ".venv" / "bin" / "logwatch").resolve()
    # By name, from anywhere, as the README's examples call it.
    run = subprocess.run(
        ["logwatch", "--version"], capture_output=True, text=True, timeout=60, check=False,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.startswith("logwatch "), run.stderr
    # A file of the same name that is not our link is left alone, and said so.
    link.unlink()
    link.write_text("#!/bin/sh\n")
    again = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh")],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip
    assert again.returncode == 0 and "exists and is not a link" in again.stderr
    assert link.read_text() == "#!/bin/sh\n"


def test_pip_builds_a_wheel_with_the_command_and_the_default_patterns(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("logwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "logwatch/default_patterns/zipnet.toml" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "logwatch = logwatch.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_setup_makes_its_own_link_once(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    first = link_only(bin_dir)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    link = bin_dir / "logwatch"
    assert link.is_symlink() and link.resolve() == OURS.resolve()
    made = link.lstat().st_mtime_ns
    again = link_only(bin_dir)
    assert again.returncode == 0 and again.stderr == ""
    assert link.lstat().st_mtime_ns == made  # its own link: left as it is


def test_setup_leaves_another_installs_logwatch_alone(tmp_path: Path) -> None:
    """Another clone ran setup last, or the production install in /opt/logwatch owns the
    command: this clone's setup says so and leaves the link where it points (it took the
    command over before)."""
    for owner in ("other-clone/.venv/bin/logwatch", "opt/logwatch/bin/logwatch"):
        other = tmp_path / owner
        other.parent.mkdir(parents=True)
        other.write_text("#!/bin/sh\necho other\n")
        other.chmod(0o755)
        bin_dir = tmp_path / f"bin-{other.parts[-4]}"
        bin_dir.mkdir()
        (bin_dir / "logwatch").symlink_to(other)
        done = link_only(bin_dir)
        assert done.returncode == 0, done.stderr
        assert os.readlink(bin_dir / "logwatch") == str(other)
        assert done.stderr == (
            f"setup: {bin_dir / 'logwatch'} belongs to another install (-> {other}): leaving "
            f"it; this clone's logwatch is {ROOT / '.venv' / 'bin' / 'logwatch'} (remove the "
            "link and run setup again to make it this one)\n"
        )


def test_setup_takes_over_a_dead_link_and_says_so(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gone = tmp_path / "removed-clone" / ".venv" / "bin" / "logwatch"
    (bin_dir / "logwatch").symlink_to(gone)
    done = link_only(bin_dir)
    assert done.returncode == 0
    assert (bin_dir / "logwatch").resolve() == OURS.resolve()
    assert f"was a dead link (to {gone}): pointing it at" in done.stderr


def test_setup_leaves_a_file_of_that_name_alone(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "logwatch").write_text("#!/bin/sh\n")
    done = link_only(bin_dir)
    assert done.returncode == 0 and "exists and is not a link: leaving it" in done.stderr
    assert (bin_dir / "logwatch").read_text() == "#!/bin/sh\n"
