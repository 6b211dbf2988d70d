"""scripts/setup.sh leaves `logwatch` on PATH, and `pip install .` builds on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent


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
