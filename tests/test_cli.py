"""The command line as Unix users expect it: --version, -h, completion, words for metavars,
errors in one line that end with the command's help."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest


def logwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logwatch", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_version_names_the_installed_package() -> None:
    done = logwatch("--version")
    assert (done.returncode, done.stdout) == (0, f"logwatch {version('logwatch')}\n")


@pytest.mark.parametrize(
    "command", [(), ("replay",), ("follow",), ("check",), ("rules",), ("patterns", "test")]
)
def test_dash_h_is_help(command: tuple[str, ...]) -> None:
    short, long = logwatch(*command, "-h"), logwatch(*command, "--help")
    assert short.returncode == 0 and short.stdout == long.stdout
    assert short.stdout.startswith("Usage: logwatch")
    # Metavars in words, never Python types.
    for python in ("list[str]", "<str>", "<int", "<path>", "<list", "<float"):
        assert python not in short.stdout, (command, python)


def test_metavars_say_what_is_wanted() -> None:
    text = logwatch("check", "-h").stdout
    assert text.startswith("Usage: logwatch check [OPTIONS] INSTANCE...")
    for word in (
        "--since TIME",
        "--round-period DURATION",
        "--expect-clients N",
        "-D, --directory DIR",
    ):
        assert word in text, word
    assert "Follow" not in text  # check reads, it does not follow
    assert "Usage: logwatch replay [OPTIONS] CAPTURE..." in logwatch("replay", "-h").stdout


def test_completion_script_is_printed() -> None:
    # The shell is detected from the parent process, as in a terminal: `; exit $?` keeps bash
    # from replacing itself by the command (then the parent is pytest, "Shell  not
    # supported").
    done = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m logwatch --show-completion; exit $?"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "_LOGWATCH_COMPLETE=complete_bash" in done.stdout
    assert "complete -o default -F _logwatch_completion logwatch" in done.stdout


def test_completion_completes_commands_and_option_values() -> None:
    env = {"_LOGWATCH_COMPLETE": "complete_bash", "COMP_WORDS": "logwatch re", "COMP_CWORD": "1"}
    done = subprocess.run(
        [sys.executable, "-c", "from logwatch.cli import main; main()"],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **env},
    )  # fmt: skip
    assert {"replay"} <= set(done.stdout.split())


@pytest.mark.parametrize(
    ("args", "start", "command"),
    [
        (("replay", "x", "-o", "jsn"), "Invalid value for '--output' / '-o': 'jsn' is not",
         "replay"),
        (("check", "--expect-clients", "-1", "a"), "Invalid value for '--expect-clients'", "check"),
        (("replay", "x", "-f", "json"), "No such option: -f", "replay"),
        (("follow", "--bogus"), "No such option: --bogus", "follow"),
        (("patterns", "test", "--nope"), "No such option: --nope", "patterns test"),
        (("nope",), "No such command 'nope'", None),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_ending_with_the_commands_help(
    args: tuple[str, ...], start: str, command: str | None
) -> None:
    done = logwatch(*args)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"logwatch: {start}")
    where = f"logwatch {command}" if command else "logwatch"
    assert done.stderr.rstrip().endswith(f"(see '{where} --help')"), done.stderr
    assert "Value error" not in done.stderr


@pytest.mark.parametrize(
    "word", ["zipnet-server@acme-mainnet", "zipnet-client@acme-mainnet.service", "acme.mainnet"]
)
def test_a_unit_name_or_alias_is_taken_where_an_instance_is(tmp_path: Path, word: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[aliases]\n"acme.mainnet" = "acme-mainnet"\n')
    capture = Path(__file__).parent / "fixtures" / "two-instances.with-unit"
    done = logwatch("replay", str(capture), "-i", word, "--config", str(config), "-o", "json")
    assert done.returncode == 0, done.stderr
    summary = done.stdout.splitlines()[-1]
    assert (
        '"instances":{"acme-mainnet":' in summary and "preview" not in summary.split('"entries"')[0]
    )


@pytest.mark.parametrize("word", ["/tmp/y", "a b", "..", "zipnet-server@", "other@acme"])
def test_a_word_that_cannot_be_an_instance_is_a_usage_error(word: str) -> None:
    done = logwatch("follow", word, "-o", "json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("logwatch: ") and done.stderr.count("\n") == 1
