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
from env import INSTANCE, logwatch_command

from logwatch.simulate import DEFAULT_START_US
from logwatch.times import US, format_time

Check = Callable[[Dataset, Path], tuple[str, bool]]
"""(dataset, the reader's stdout) → (what it reported, whether that is right)."""
STARTUP_RUNS = 5
_MTAIL_PROGRAM = "counter finalized\n/round finalized/ {\n  finalized++\n}\n"
_FAIL2BAN_REGEX = r"round finalized round=<F-ID>\d+</F-ID>"
_LNAV_QUERY = ";SELECT count(*) FROM all_logs WHERE log_body LIKE '%round finalized%'"
NOISE = ("others", "zipnet")
"""The noise mixes: every reader is timed on them; the other mixes have cases of their own."""
WINDOW = 0.1
"""The window case reads the capture's last tenth (`--since`)."""


@dataclass(frozen=True, slots=True)
class Reader:
    """One timed command.

    program: the executable (looked up on PATH; logwatch is the venv's);
    capture: the journalctl capture it reads, None for the journal directory;
    startup: a start-up probe (no input to speak of: run STARTUP_RUNS times, best kept);
    mixes: the mixes it is timed on (None: every mix).
    """

    name: str
    command: str
    program: str
    args: Callable[[Dataset, Path], list[str]]
    capture: str | None = None
    check: Check | None = None
    startup: bool = False
    mixes: tuple[str, ...] | None = None

    def executable(self) -> list[str] | None:
        """The program's command, or None when it is not installed."""
        if self.program == "logwatch":
            return logwatch_command()
        found = shutil.which(self.program)
        return None if found is None else [found]

    def argv(self, dataset: Dataset, work: Path) -> list[str] | None:
        """The command line, or None when the program is not installed."""
        exe = self.executable()
        return None if exe is None else [*exe, *self.args(dataset, work)]

    def runs_on(self, mix: str) -> bool:
        """Whether this reader is timed on `mix`."""
        return self.mixes is None or mix in self.mixes


def _journalctl(fmt: str) -> Callable[[Dataset, Path], list[str]]:
    def args(ds: Dataset, work: Path) -> list[str]:
        return [f"--directory={ds.journal}", f"--output={fmt}", "--no-pager", "--utc"]

    return args


def _journalctl_units(ds: Dataset, work: Path) -> list[str]:
    return [f"--unit=zipnet-*@{INSTANCE}.service", *_journalctl("cat")(ds, work)]


def window_start_us(ds: Dataset) -> int:
    """The start of the window case: the capture's last tenth, by its plan's time."""
    duration_us = float(ds.manifest["plan"]["duration_s"]) * US
    return DEFAULT_START_US + round(duration_us * (1 - WINDOW))


def window_end(ds: Dataset) -> str:
    """The `--until` of the first-tenth case, as logwatch takes it."""
    duration_us = float(ds.manifest["plan"]["duration_s"]) * US
    return format_time(DEFAULT_START_US + round(duration_us * WINDOW))


def window_start(ds: Dataset) -> str:
    """The `--since` of the window case, as logwatch takes it."""
    return format_time(window_start_us(ds))


def window_back(ds: Dataset) -> str:
    """The `--since` of the window case counted back from the capture's last entry."""
    return f"-{float(ds.manifest['plan']['duration_s']) * WINDOW:.0f}s"


def _journalctl_since(ds: Dataset, work: Path) -> list[str]:
    # journalctl takes `@` and seconds since the epoch (whole ones in systemd 252).
    return [f"--since=@{window_start_us(ds) // US}", *_journalctl("cat")(ds, work)]


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


def _window_check(ds: Dataset, out: Path) -> tuple[str, bool]:
    """A replay of a tenth (the last, or the first): every entry read counted (those
    outside as outside), about a tenth of the rounds, no alert."""
    summary, alerts = None, 0
    with out.open("rb") as f:
        for line in f:
            obj = json.loads(line)
            if obj.get("type") == "summary":
                summary = obj
            elif obj.get("type") == "alert":
                alerts += 1
    if summary is None:
        return "no summary line", False
    rounds = int(summary.get("instances", {}).get(INSTANCE, {}).get("rounds", -1))
    expected = ds.rounds * WINDOW
    text = f"entries {int(summary.get('entries', -1)):,}, rounds {rounds:,}"
    if alerts:
        text += f", {alerts} alert lines"
    ok = abs(rounds - expected) <= expected * 0.05 + 2 and alerts == 0
    if not ok:
        text += f" (expected about {expected:,.0f} rounds, no alerts)"
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


def _window_reader(name: str, what: str, flag: str, bound: Callable[[Dataset], str]) -> Reader:
    """A replay of the journal with `flag` at `bound(dataset)` (the window cases)."""
    return Reader(
        name,
        f"logwatch replay journal/ {what}",
        "logwatch",
        lambda ds, work: [*_replay(lambda d: d.journal)(ds, work), flag, bound(ds)],
        check=_window_check,
        mixes=("events", "collector"),
    )


READERS = (
    Reader("cat", "journalctl -o cat", "journalctl", _journalctl("cat")),
    Reader(
        "short-iso", "journalctl -o short-iso", "journalctl", _journalctl("short-iso"), mixes=NOISE
    ),
    Reader("json", "journalctl -o json", "journalctl", _journalctl("json"), mixes=NOISE),
    Reader(
        "cat-since",
        f"journalctl --since (its last {WINDOW:.0%}) -o cat",
        "journalctl",
        _journalctl_since,
        mixes=("events", "collector"),
    ),
    Reader(
        "cat-u",
        f"journalctl -u 'zipnet-*@{INSTANCE}.service' -o cat",
        "journalctl",
        _journalctl_units,
        mixes=("collector",),
    ),
    Reader(
        "grep",
        "grep -c 'round finalized' capture.short-iso",
        "grep",
        lambda ds, work: ["-c", "round finalized", str(ds.capture("short-iso"))],
        capture="short-iso",
        mixes=NOISE,
        check=_grep_check,
    ),
    Reader(
        "mtail",
        "mtail --one_shot, one counter program, on capture.short-iso",
        "mtail",
        _mtail,
        capture="short-iso",
        mixes=NOISE,
    ),
    Reader(
        "fail2ban",
        "fail2ban-regex capture.short-iso, one failregex",
        "fail2ban-regex",
        lambda ds, work: [str(ds.capture("short-iso")), _FAIL2BAN_REGEX],
        capture="short-iso",
        mixes=NOISE,
    ),
    Reader(
        "lnav",
        "lnav -n, one SQL count, on capture.short-iso",
        "lnav",
        lambda ds, work: ["-n", "-c", _LNAV_QUERY, str(ds.capture("short-iso"))],
        capture="short-iso",
        mixes=NOISE,
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
        mixes=(*NOISE, "collector"),
    ),
    _window_reader("lw-journal-since", f"--since (its last {WINDOW:.0%})", "--since", window_start),
    _window_reader(
        "lw-journal-last",
        f"--since -S (its last {WINDOW:.0%}, counted back from its end)",
        "--since",
        window_back,
    ),
    _window_reader("lw-journal-until", f"--until (its first {WINDOW:.0%})", "--until", window_end),
    Reader(
        "lw-json",
        "logwatch replay capture.json",
        "logwatch",
        _replay(lambda ds: ds.capture("json")),
        capture="json",
        mixes=NOISE,
        check=_logwatch_check,
    ),
    Reader(
        "lw-short-iso",
        f"logwatch replay capture.short-iso -i {INSTANCE}",
        "logwatch",
        _replay(lambda ds: ds.capture("short-iso"), "--instance", INSTANCE),
        capture="short-iso",
        mixes=NOISE,
        check=_logwatch_check,
    ),
    Reader(
        "lw-with-unit",
        "logwatch replay capture.with-unit",
        "logwatch",
        _replay(lambda ds: ds.capture("with-unit")),
        capture="with-unit",
        mixes=NOISE,
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
