"""The readers the replay benchmark times: journalctl, grep and friends, and logwatch replay.

Each knows its command line on a Dataset and, where it reports something countable, how
to check that against the workload (every round finalized, every entry read).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dataset import Dataset
from env import INSTANCE, logwatch_binary

Check = Callable[[Dataset, Path], tuple[str, bool]]
"""(dataset, the reader's stdout) → (what it reported, whether that is right)."""
STARTUP_RUNS = 5
_MTAIL_PROGRAM = "counter finalized\n/round finalized/ {\n  finalized++\n}\n"
_FAIL2BAN_REGEX = r"round finalized round=<F-ID>\d+</F-ID>"
_LNAV_QUERY = ";SELECT count(*) FROM all_logs WHERE log_body LIKE '%round finalized%'"


@dataclass(frozen=True, slots=True)
class Reader:
    """One timed command.

    program: the executable (looked up on PATH; logwatch is the venv's);
    capture: the journalctl capture it reads, None for the journal directory;
    startup: a start-up probe (no input to speak of: run STARTUP_RUNS times, best kept).
    """

    name: str
    command: str
    program: str
    args: Callable[[Dataset, Path], list[str]]
    capture: str | None = None
    check: Check | None = None
    startup: bool = False

    def executable(self) -> str | None:
        """The program's path, or None when it is not installed."""
        if self.program == "logwatch":
            return logwatch_binary()
        return shutil.which(self.program)

    def argv(self, dataset: Dataset, work: Path) -> list[str] | None:
        """The command line, or None when the program is not installed."""
        exe = self.executable()
        return None if exe is None else [exe, *self.args(dataset, work)]


def _journalctl(fmt: str) -> Callable[[Dataset, Path], list[str]]:
    def args(ds: Dataset, work: Path) -> list[str]:
        return [f"--directory={ds.journal}", f"--output={fmt}", "--no-pager", "--utc"]

    return args


def _grep_check(ds: Dataset, out: Path) -> tuple[str, bool]:
    try:
        found = int(out.read_text().strip() or "0")
    except ValueError:
        return "no count", False
    return f"{found:,} lines (rounds {ds.rounds:,})", found == ds.rounds


def _logwatch_check(ds: Dataset, out: Path) -> tuple[str, bool]:
    """The summary's entries and the instance's rounds against the workload; alerts are
    reported because the workload is healthy and should raise none."""
    summary = None
    alerts = 0
    with out.open("rb") as f:
        for line in f:
            obj = json.loads(line)
            if obj.get("type") == "summary":
                summary = obj
            elif obj.get("type") == "alert":
                alerts += 1
    if summary is None:
        return "no summary line", False
    entries = int(summary.get("entries", -1))
    rounds = int(summary.get("instances", {}).get(INSTANCE, {}).get("rounds", -1))
    text = f"entries {entries:,}, rounds {rounds:,}"
    if alerts:
        text += f", {alerts} alert lines"
    ok = entries == ds.entries and rounds == ds.rounds and alerts == 0
    if not ok:
        text += f" (expected {ds.entries:,} entries, {ds.rounds:,} rounds, no alerts)"
    return text, ok


def _replay(source: Callable[[Dataset], Path], *extra: str) -> Callable[[Dataset, Path], list[str]]:
    def args(ds: Dataset, work: Path) -> list[str]:
        return ["replay", str(source(ds)), *extra, "--output", "json"]

    return args


def _mtail(ds: Dataset, work: Path) -> list[str]:
    progs = work / "mtail"
    progs.mkdir(exist_ok=True)
    (progs / "zipnet.mtail").write_text(_MTAIL_PROGRAM)
    return ["--one_shot", "--progs", str(progs), "--logs", str(ds.capture("short-iso"))]


def _empty(ds: Dataset, work: Path) -> list[str]:
    empty = work / "empty.short-iso"
    empty.touch()
    return ["replay", str(empty), "--output", "json"]


READERS = (
    Reader("cat", "journalctl -o cat", "journalctl", _journalctl("cat")),
    Reader("short-iso", "journalctl -o short-iso", "journalctl", _journalctl("short-iso")),
    Reader("json", "journalctl -o json", "journalctl", _journalctl("json")),
    Reader(
        "grep",
        "grep -c 'round finalized' capture.short-iso",
        "grep",
        lambda ds, work: ["-c", "round finalized", str(ds.capture("short-iso"))],
        capture="short-iso",
        check=_grep_check,
    ),
    Reader(
        "mtail",
        "mtail --one_shot, one counter program, on capture.short-iso",
        "mtail",
        _mtail,
        capture="short-iso",
    ),
    Reader(
        "fail2ban",
        "fail2ban-regex capture.short-iso, one failregex",
        "fail2ban-regex",
        lambda ds, work: [str(ds.capture("short-iso")), _FAIL2BAN_REGEX],
        capture="short-iso",
    ),
    Reader(
        "lnav",
        "lnav -n, one SQL count, on capture.short-iso",
        "lnav",
        lambda ds, work: ["-n", "-c", _LNAV_QUERY, str(ds.capture("short-iso"))],
        capture="short-iso",
    ),
    Reader(
        "lw-journal",
        "logwatch replay journal/",
        "logwatch",
        _replay(lambda ds: ds.journal),
        check=_logwatch_check,
    ),
    Reader(
        "lw-journal-i",
        f"logwatch replay journal/ -i {INSTANCE}",
        "logwatch",
        _replay(lambda ds: ds.journal, "--instance", INSTANCE),
        check=_logwatch_check,
    ),
    Reader(
        "lw-json",
        "logwatch replay capture.json",
        "logwatch",
        _replay(lambda ds: ds.capture("json")),
        capture="json",
        check=_logwatch_check,
    ),
    Reader(
        "lw-short-iso",
        f"logwatch replay capture.short-iso -i {INSTANCE}",
        "logwatch",
        _replay(lambda ds: ds.capture("short-iso"), "--instance", INSTANCE),
        capture="short-iso",
        check=_logwatch_check,
    ),
    Reader(
        "lw-with-unit",
        "logwatch replay capture.with-unit",
        "logwatch",
        _replay(lambda ds: ds.capture("with-unit")),
        capture="with-unit",
        check=_logwatch_check,
    ),
    Reader("startup-help", "logwatch --help", "logwatch", lambda ds, w: ["--help"], startup=True),
    Reader(
        "startup-empty",
        "logwatch replay empty.short-iso",
        "logwatch",
        _empty,
        startup=True,
    ),
)
NAMES = tuple(r.name for r in READERS)


def select(only: str | None) -> list[Reader]:
    """The readers `--only a,b` names (all when None); ValueError naming unknown ones."""
    if not only:
        return list(READERS)
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in NAMES]
    if unknown:
        raise ValueError(f"unknown reader {', '.join(unknown)} (choose from {', '.join(NAMES)})")
    return [r for r in READERS if r.name in wanted]
