"""Hostile input and faults (issue 5): every subcommand that reads input over the corpus in
tests/fixtures/hostile, through the command's own entry point (cli.main, in process: 175
runs); huge lines, a catastrophic pattern, unusable paths, damaged journals under `check`
and --exec commands that hang, fail or flood, as the installed command.

What holds for every input and command: no traceback; exit 0 for anything readable, 2 with
one line naming the path for what is not; what could not be read counted in the summary;
log text never reaches a terminal as escapes, bidi overrides or markup; lookalike lines
and clock trouble give no rounds and no alerts of their own.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import itertools
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from conftest import JOURNAL_REMOTE, as_nobody, json_lines

from logwatch.cli import main as logwatch_main
from logwatch.decode import strip_ansi
from logwatch.escape import escape_text
from logwatch.records import Unreadable
from logwatch.simulate import Scenario, export_bytes
from logwatch.times import US, wall_clock_us

LOGWATCH = str(Path(sys.executable).with_name("logwatch"))
RULES = ("--round-period", "2s", "--round-deadline", "1s")
CORPUS = Path(__file__).parent / "fixtures" / "hostile"
INSTANCE = "acme-mainnet"
SINCE = "2026-11-25T00:00:00Z"  # follow -: show everything, however old
PIPE_READ = "logwatch: reading piped input: "
"""What `follow -` says once started: it reads the pipe (live later, if ever)."""
# What must never reach a terminal raw: ESC, BEL, NUL, C1 CSI, the bidi override.
RAW = ("\x1b", "\x07", "\x00", "\x9b", "\u202e")


def _load_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_hostile", CORPUS / "make_hostile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_hostile"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


made = _load_corpus()

# Known bugs the corpus shows, not fixed yet: input → (the commands it shows in, why).
ALL_READERS = frozenset(
    {"replay-text", "replay-json", "replay-report", "replay-report-json", "patterns-test",
     "patterns-test-json", "follow-text"}
)  # fmt: skip
REPLAYS = frozenset(c for c in ALL_READERS if c.startswith("replay"))
KNOWN_BUGS: dict[str, tuple[frozenset[str], str]] = {}
"""None today: the last one (a host behind at a capture's start made a false stall) went
with the clock of docs/clock.md."""


# -- the inputs and the commands ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Input:
    """A corpus item as a command reads it: the committed file, or a journal decompressed."""

    label: str
    item: Any  # make_hostile.Item
    raw: bool = False


INPUTS = [Input(item.name, item) for item in made.ITEMS] + [
    Input(item.name.removesuffix(".xz"), item, raw=True)
    for item in made.ITEMS
    if item.name.endswith(".journal.xz")
]
JOURNALS = [i for i in INPUTS if i.raw]


def command(name: str, path: str, expect: Any) -> tuple[list[str], str | None]:
    """(argv after `logwatch`, the file to put on stdin) of a named command over `path`."""
    instance = ["--instance", expect.instance] if expect.instance else []
    return {
        "replay-text": (["replay", path, *RULES, "--events", "all", *instance], None),
        "replay-json": (["replay", path, *RULES, "--events", "all", "-o", "json", *instance], None),
        "replay-report": (["replay", path, *RULES, "--report", *instance], None),
        "replay-report-json": (["replay", path, *RULES, "--report", "-o", "json", *instance], None),
        "patterns-test": (["patterns", "test", path, "--show-missed", *instance], None),
        "patterns-test-json": (
            ["patterns", "test", path, "--show-missed", "-o", "json", *instance],
            None,
        ),
        "follow-text": (
            ["follow", "-", "--since", SINCE, *RULES, "-o", "text", "--events", "all", *instance],
            path,
        ),
    }[name]


COMMANDS = sorted(ALL_READERS)
TERMINAL = frozenset({"replay-text", "replay-report", "patterns-test", "follow-text"})


@dataclass(frozen=True, slots=True)
class Run:
    argv: list[str]
    code: int
    out: str
    err: str
    seconds: float


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIPNET_")}
    env.pop("LINES", None)
    # No user config; a report wide enough that no line wraps.
    return {**env, "HOME": str(home), "COLUMNS": "200", **extra}


def logwatch(argv: Sequence[str], home: Path, stdin: str | None = None, timeout: float = 60) -> Run:
    """The installed `logwatch ARGV`; its output must be UTF-8."""
    started = time.monotonic()
    with open(stdin or os.devnull, "rb") as source:
        done = subprocess.run(
            [LOGWATCH, *argv],
            stdin=source,
            capture_output=True,
            timeout=timeout,
            env=environment(home),
            check=False,
        )
    seconds = time.monotonic() - started
    return Run(list(argv), done.returncode, done.stdout.decode(), done.stderr.decode(), seconds)


def logwatch_fed_live(argv: Sequence[str], home: Path, export: Path, timeout: float = 60) -> Run:
    """The installed `logwatch ARGV` with `export` piped in as `journalctl -f -o export`
    would: each entry written when its time comes (a stamp ahead of the wall clock is a
    clock ahead, and not believed). Its seconds count from the end of the input."""
    out, err = home / "fed.out", home / "fed.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [LOGWATCH, *argv], stdin=subprocess.PIPE, stdout=stdout, stderr=stderr,
            env=environment(home),
        )  # fmt: skip
        assert proc.stdin is not None
        with proc.stdin:
            for entry in export.read_bytes().split(b"\n\n"):
                stamp = re.search(rb"__REALTIME_TIMESTAMP=(\d+)", entry)
                while stamp and (ahead := int(stamp[1]) - wall_clock_us()) > 0:
                    time.sleep(ahead / US)
                proc.stdin.write(entry + b"\n\n")
                proc.stdin.flush()
        started = time.monotonic()
        proc.wait(timeout=timeout)
    seconds = time.monotonic() - started
    return Run(list(argv), proc.returncode, out.read_text(), err.read_text(), seconds)


def in_process(argv: Sequence[str], home: Path, stdin: str | None = None) -> Run:
    """`logwatch ARGV` through the command's own entry point (cli.main, as the installed
    script runs it), in this process: a fraction of an interpreter's start-up each. Its
    output must be UTF-8; an exception escaping main() shows as the interpreter would."""
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdin, sys.stdout, sys.stderr, sys.argv
    started = time.monotonic()
    env = environment(home)
    with open(stdin or os.devnull, "rb") as source, mock.patch.dict(os.environ, env, clear=True):
        # Kept in locals: a wrapper let go closes the buffer under it.
        stdin_ = sys.stdin = io.TextIOWrapper(source, encoding="utf-8")
        stdout = sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
        stderr = sys.stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
        sys.argv = ["logwatch", *argv]
        code: int = 0
        try:
            logwatch_main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            stdout.flush()
            stderr.flush()
            sys.stdin, sys.stdout, sys.stderr, sys.argv = saved
        run = Run(list(argv), code, out.getvalue().decode(), err.getvalue().decode(), 0.0)
        del stdin_
    return dataclasses.replace(run, seconds=time.monotonic() - started)


class Runs:
    """Every command over every input, each run once and kept for the tests that ask."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._runs: dict[tuple[str, str], Run] = {}

    def path(self, given: Input) -> str:
        source = CORPUS / given.item.name
        if not given.raw:
            return str(source)
        target = self.directory / given.label
        if not target.exists():
            target.write_bytes(lzma.decompress(source.read_bytes()))
        return str(target)

    def get(self, given: Input, name: str) -> Run:
        key = (given.label, name)
        if key not in self._runs:
            argv, stdin = command(name, self.path(given), given.item.expect)
            self._runs[key] = in_process(argv, self.directory, stdin)
        return self._runs[key]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("hostile"))


def matrix() -> list[Any]:
    cases = []
    for given in INPUTS:
        for name in COMMANDS:
            marks = []
            bug = KNOWN_BUGS.get(given.label)
            if bug is not None and name in bug[0]:
                marks.append(pytest.mark.xfail(strict=True, reason=bug[1]))
            cases.append(pytest.param(given, name, id=f"{given.label}-{name}", marks=marks))
    return cases


# -- what each command says it read --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Read:
    """What a command's output says about the input, as far as that output tells."""

    entries: int
    errors: int
    reasons: dict[str, int] | None  # None: this output does not break them down
    rounds: int | None
    finalized: int | None  # `round finalized` entries matched
    alerts: set[str] | None  # alerts that fired
    outside: int | None = None  # other programs' entries (None: this output does not say)


def _json_lines(out: str) -> list[dict[str, Any]]:
    objs = json_lines(out)
    assert all(isinstance(o, dict) for o in objs)
    return objs


def _adds_up(info: dict[str, Any]) -> None:
    parts = sum(info["matched"].values()) + info["unmatched"] + info["errors"] + info["outside"]
    assert info["entries"] == parts, info
    assert info["errors"] == sum(info["unreadable"].values())


def _text_summary(out: str) -> tuple[int, int, int | None, set[str]]:
    """(entries, unreadable, rounds, alerts) from a text run's closing lines."""
    m = re.search(r"^summary: (\d+) entries, \d+ unmatched, (\d+) unreadable$", out, re.M)
    assert m is not None, out[-2000:]
    own = re.search(rf"^  {INSTANCE}: (\d+) rounds, (?:alerts (.*)|no alerts)$", out, re.M)
    alerts = {a.split("×")[0] for a in own.group(2).split(", ")} if own and own.group(2) else set()
    return int(m.group(1)), int(m.group(2)), int(own.group(1)) if own else None, alerts


def _reasons(text: str) -> dict[str, int]:
    return {r: int(n) for r, n in re.findall(r"(.+?) ×(\d+)(?:, |$)", text)} if text else {}


def read_of(name: str, run: Run) -> Read:
    if name == "replay-json":
        objs = _json_lines(run.out)
        summary = objs[-1]
        assert summary["type"] == "summary"
        _adds_up(summary)
        own = summary["instances"].get(INSTANCE)
        fired = {o["alert"] for o in objs if o["type"] == "alert" and o["state"] == "firing"}
        return Read(
            summary["entries"],
            summary["errors"],
            summary["unreadable"],
            own["rounds"] if own else 0,
            summary["matched"].get("round_finalized", 0),
            fired,
            summary["outside"],
        )
    if name == "replay-report-json":
        (report,) = _json_lines(run.out)
        read = report["read"]
        _adds_up(read)
        own = [i for i in report["instances"] if i["instance"] == INSTANCE]
        rounds = own[0]["rounds"]["finalized"] if own else 0
        fired = {a["alert"] for i in own for a in i["alerts"] if a["firing_at"]}
        finalized = read["matched"].get("round_finalized", 0)
        return Read(
            read["entries"],
            read["errors"],
            read["unreadable"],
            rounds,
            finalized,
            fired,
            read["outside"],
        )
    if name == "patterns-test-json":
        (result,) = _json_lines(run.out)
        parts = sum(result["matched"].values()) + result["unmatched"] + result["errors"]
        assert result["entries"] == parts + result["outside"]
        finalized = result["matched"]["round_finalized"]
        return Read(
            result["entries"],
            result["errors"],
            result["unreadable"],
            None,
            finalized,
            None,
            result["outside"],
        )
    if name == "patterns-test":
        entries = re.search(r"^entries: (\d+)$", run.out, re.M)
        unreadable = re.search(r"^unreadable: (\d+)(?: \((.*)\))?$", run.out, re.M)
        finalized = re.search(r"^  round_finalized +(\d+)", run.out, re.M)
        outside = re.search(r"^outside the selection: (\d+)$", run.out, re.M)
        assert entries and unreadable and finalized, run.out[-2000:]
        return Read(
            int(entries.group(1)),
            int(unreadable.group(1)),
            _reasons(unreadable.group(2) or ""),
            None,
            int(finalized.group(1)),
            None,
            int(outside.group(1)) if outside else 0,
        )
    if name == "replay-report":
        flat = " ".join(run.out.split())
        m = re.search(
            r"read (\d+) entries: \d+ matched, \d+ matched no pattern, (\d+) unreadable"
            r"(?: \((.*?)\))?(?:, (\d+) outside the selection)?(?: note: | runbooks: |$)",
            flat,
        )
        assert m is not None, run.out[-2000:]
        rounds = re.search(r"│ rounds +(\d+) finalized", run.out)
        alerts = set(re.findall(r"^│ (\w+) +\d\d:\d\d:\d\d\.\d{3} ", run.out, re.M))
        return Read(
            int(m.group(1)),
            int(m.group(2)),
            _reasons(m.group(3) or ""),
            int(rounds.group(1)) if rounds else 0,
            None,
            alerts,
            int(m.group(4) or 0),
        )
    assert name in ("replay-text", "follow-text")
    entries, errors, rounds, alerts = _text_summary(run.out)
    return Read(entries, errors, None, rounds, None, alerts if name == "replay-text" else None)


# -- the matrix -----------------------------------------------------------------------


@pytest.mark.parametrize(("given", "name"), matrix())
def test_every_command_survives_every_hostile_input(runs: Runs, given: Input, name: str) -> None:
    run = runs.get(given, name)
    expect = given.item.expect
    assert "Traceback" not in run.err, run.err
    assert run.code == expect.exit, (run.code, run.err)
    if run.code == 2:
        path = "<stdin>" if name.startswith("follow") else runs.path(given)
        assert run.out == ""
        said = run.err.splitlines()
        if name.startswith("follow"):
            # follow says it reads the pipe (its readiness line), then what it cannot read.
            assert said[:-1] == [] or said[0].startswith(PIPE_READ), said
            said = said[-1:]
        assert len(said) == 1 and said[0].startswith(f"logwatch: {path}: "), run.err
        return
    if not name.startswith("follow"):
        assert run.err == ""  # notes go into the output, not to stderr
    if name in TERMINAL:
        shown = [ch for ch in RAW if ch in run.out]
        assert shown == [], f"raw {shown} in the output"
    else:
        # JSON escapes the controls, and the characters a terminal acts on (C1, bidi).
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x80-\x9f\u202a-\u202e]", run.out)
    if name in ("replay-text", "follow-text"):
        _orderly(run.out)
    read = read_of(name, run)
    # Something was read, and what was not is counted, exactly as the corpus holds it.
    assert read.entries > read.errors
    if expect.unreadable is not None:
        assert read.errors == sum(expect.unreadable.values())
        if read.reasons is not None:
            assert read.reasons == dict(expect.unreadable)
    elif expect.errors is not None:
        assert read.errors == expect.errors
    if expect.rounds is not None and read.rounds is not None:
        assert read.rounds == expect.rounds
    if expect.finalized_lines is not None and read.finalized is not None:
        assert read.finalized == expect.finalized_lines
    if expect.alerts is not None and read.alerts is not None:
        assert read.alerts <= expect.alerts
    if read.outside is not None:
        assert read.outside == expect.outside


TRANSITION = re.compile(
    r"^(\S+) (\S+) (PENDING|FIRING|RESOLVED) +(\w+) \(\w+\): (?:clock of (\S+))?", re.M
)
NEXT = {
    "PENDING": ("inactive",),
    "FIRING": ("inactive", "PENDING"),
    "RESOLVED": ("PENDING", "FIRING"),
}


def _orderly(out: str) -> None:
    """Each alert's transitions, as printed, in lifecycle order: none reported twice."""
    state: dict[tuple[str, str, str], str] = {}
    for _, instance, now, alert, host in TRANSITION.findall(out):
        key = (instance, alert, host)  # clock_skew: one alert per host
        before = state.get(key, "inactive")
        assert before in NEXT[now], (*key, before, now)
        state[key] = "inactive" if now == "RESOLVED" else now


# -- what the hostile text looks like once shown --------------------------------------

ESCAPES = [i for i in INPUTS if i.label.startswith("escapes.")]


def shown(text: str) -> str:
    """How a hostile value shows once decoded (ANSI stripped from messages) and escaped."""
    return escape_text(strip_ansi(text))


@pytest.mark.parametrize("given", ESCAPES, ids=[i.label for i in ESCAPES])
def test_hostile_text_is_shown_escaped_and_literal(runs: Runs, given: Input) -> None:
    hostile = shown(made.HOSTILE)
    assert "[bold red]alarm[/bold red]\\u202egnp.exe\\x9b31m" in hostile
    text = runs.get(given, "replay-text").out
    # A rival report naming a hostile "leader", a hostile error and client id, the leader's
    # hostile host name: all there, escaped, the markup as literal text.
    assert f"other leader {hostile} (term 1)" in text
    assert f"registration_failed error={hostile}" in text
    assert f"registering_client client={hostile}" in text
    missed = runs.get(given, "patterns-test").out
    assert f"unexpected reply {hostile}" in missed
    # JSON carries the text as it was (what ANSI stripping left), control characters
    # escaped by JSON itself.
    objs = _json_lines(runs.get(given, "replay-json").out)
    if not given.label.endswith(".cat"):  # -o cat shows no host names
        assert f"leader={made.HOSTILE_HOST_SHOWN}" in text
        report = runs.get(given, "replay-report").out
        assert f"{made.HOSTILE_HOST_SHOWN}  (no change" in report
        assert made.HOSTILE_HOST in {o["leader"] for o in objs if o["type"] == "round"}
    (failed,) = [o for o in objs if o.get("event") == "registration_failed"]
    assert failed["fields"]["error"] == strip_ansi(made.HOSTILE)


# -- lookalikes, clock trouble, duplicates --------------------------------------------

LOOKALIKES = [i for i in INPUTS if i.label.startswith("lookalike.")]
CLOCKS = [i for i in INPUTS if i.label.startswith(("clock-", "duplicates."))]


@pytest.mark.parametrize("given", LOOKALIKES, ids=[i.label for i in LOOKALIKES])
def test_lookalike_lines_make_no_round(runs: Runs, given: Input) -> None:
    assert made.LOOKALIKE.encode() in (CORPUS / given.item.name).read_bytes()
    objs = _json_lines(runs.get(given, "replay-json").out)
    rounds = [o["round"] for o in objs if o["type"] == "round"]
    assert rounds == list(range(1, made.BASE_ROUNDS + 1))
    forged = [o for o in objs if o["type"] == "event" and o["fields"].get("round") == 99999]
    assert forged == []
    assert [o for o in objs if o["type"] == "alert"] == []  # participants=0 made nothing
    verdicts = runs.get(given, "patterns-test").out
    assert "round finalized round=99999 participants=0" in verdicts  # seen, missed


@pytest.mark.parametrize("given", CLOCKS, ids=[i.label for i in CLOCKS])
def test_clock_trouble_gives_no_negative_durations_and_no_round_twice(
    runs: Runs, given: Input
) -> None:
    objs = _json_lines(runs.get(given, "replay-json").out)
    alerts = [o for o in objs if o["type"] == "alert"]
    for a in alerts:
        assert a["since"] <= a["at"]
        # Durations; a clock's offset is signed (< 0 behind).
        assert all(v >= 0 for k, v in a["values"].items() if k.endswith("_s") and k != "offset_s")
    assert [a["at"] for a in alerts] == sorted(a["at"] for a in alerts)
    rounds = [o["round"] for o in objs if o["type"] == "round"]
    assert len(rounds) == len(set(rounds)) == given.item.expect.rounds
    (report,) = _json_lines(runs.get(given, "replay-report-json").out)
    assert report["span"]["seconds"] >= 0
    for inst in report["instances"]:
        gap = inst["rounds"]["longest_gap"]
        assert gap is None or gap["seconds"] >= 0
        assert all((a["seconds"] or 0) >= 0 for a in inst["alerts"])


def test_the_corpus_holds_the_clock_trouble_it_claims() -> None:
    # Without these the clock tests above would prove nothing.
    def times(name: str, host: str) -> list[int]:
        lines = (CORPUS / name).read_bytes().split(b"\n\n")
        stamps = [re.search(rb"__REALTIME_TIMESTAMP=(\d+)", e) for e in lines]
        hosts = [re.search(rb"\n_HOSTNAME=(\S+)", e) for e in lines]
        return [
            int(t.group(1))
            for t, h in zip(stamps, hosts, strict=True)
            if t and h and h.group(1) == host.encode()
        ]

    srv1, srv2 = times("clock-skew.export", "srv1"), times("clock-skew.export", "srv2")
    assert min(srv1) - min(srv2) > 299 * US
    jumped = times("clock-jump.export", "srv1")
    assert min(b - a for a, b in itertools.pairwise(jumped)) < -made.JUMP_BACK_S // 2 * US
    cursors = re.findall(rb"__CURSOR=(\S+)", (CORPUS / "duplicates.export").read_bytes())
    assert len(cursors) - len(set(cursors)) > 20


# -- the corpus itself ------------------------------------------------------------------


def test_the_corpus_is_small_and_documented() -> None:
    files = sorted(p.name for p in CORPUS.iterdir() if p.suffix != ".py" and p.is_file())
    assert files == sorted(i.name for i in made.ITEMS)
    assert sum((CORPUS / f).stat().st_size for f in files) < 1 << 20
    readme = (CORPUS.parent / "README.md").read_text()
    assert made.readme_section() in readme
    for name in files:
        assert f"- `hostile/{name}`: " in readme


def test_items_made_without_journal_tools_are_what_the_script_makes_today(
    tmp_path: Path,
) -> None:
    for item in made.ITEMS:
        if "$J" not in item.how:  # journal files and journalctl output carry random ids
            assert (CORPUS / item.name).read_bytes() == item.make(tmp_path), item.name


# -- the journal files' own damage, precisely --------------------------------------------


def _journal_entries(data: bytes) -> int:
    return int.from_bytes(data[152:160], "little")  # the header's n_entries


DAMAGED = ["truncated.journal", "truncated.journal.xz", "corrupt-entries.journal",
           "corrupt-entries.journal.xz"]  # fmt: skip


@pytest.mark.parametrize("label", DAMAGED)
def test_every_entry_a_damaged_journal_declares_is_counted(runs: Runs, label: str) -> None:
    # A file cut short is read as far as it goes (sd-journal refuses it unpadded); entries
    # sd-journal steps over without a word are counted against the header's n_entries.
    (given,) = [i for i in INPUTS if i.label == label]
    raw = next(i for i in JOURNALS if i.item is given.item)
    assert _journal_entries(Path(runs.path(raw)).read_bytes()) == len(made.base())
    run = runs.get(given, "replay-json")
    assert (run.code, run.err) == (0, "")
    read = read_of("replay-json", run)
    assert read.entries == len(made.base())
    assert read.reasons == dict(given.item.expect.unreadable)


@pytest.mark.parametrize("label", DAMAGED)
def test_a_damaged_journal_loses_no_zipnet_entry_to_the_others(runs: Runs, label: str) -> None:
    (given,) = [i for i in INPUTS if i.label == label]
    read = read_of("replay-json", runs.get(given, "replay-json"))
    # The corpus holds zipnet's lines only: nothing is another program's.
    assert read.outside == 0
    assert read.rounds == given.item.expect.rounds
    # `follow -` reads the same file without the writers' shortcut, and gets it right.
    follow = runs.get(given, "follow-text")
    assert _text_summary(follow.out)[2] == given.item.expect.rounds


@pytest.mark.parametrize("label", ["corrupt-name.journal", "corrupt-name.journal.xz"])
def test_a_field_name_that_is_not_utf8_costs_its_entries_only(runs: Runs, label: str) -> None:
    # The binding's Reader._get_all() raises UnicodeDecodeError for such a name.
    (given,) = [i for i in INPUTS if i.label == label]
    srv2 = sum(1 for line in made.base() if line.host == "srv2")
    run = runs.get(given, "replay-json")
    assert "Traceback" not in run.err and run.code == 0
    read = read_of("replay-json", run)
    assert (read.entries, read.errors) == (len(made.base()), srv2)
    assert read.reasons == {"unreadable journal entry": srv2}


# -- check, which reads journal files -------------------------------------------------


def _journal_of(export: Path, directory: Path) -> Path:
    target = directory / f"{export.stem}.journal"
    if not target.exists():
        subprocess.run(
            [JOURNAL_REMOTE, f"--output={target}", str(export)], check=True, capture_output=True
        )
    return target


CHECKED = [*(i.label for i in JOURNALS), "escapes.export", "lookalike.export"]


@pytest.mark.parametrize("label", CHECKED)
def test_check_survives_damaged_and_hostile_journal_files(
    runs: Runs, tmp_path: Path, label: str
) -> None:
    given = next(i for i in INPUTS if i.label == label)
    path = runs.path(given) if given.raw else str(_journal_of(CORPUS / label, tmp_path))
    argv = ["check", INSTANCE, "--file", path, "--since", "2026-11-25T10:00:00Z", *RULES]
    run = logwatch(argv, tmp_path)
    assert "Traceback" not in run.err, run.err
    # A journal cut short is read as replay reads it (check is a replay of its window).
    assert run.err == ""
    assert not [ch for ch in RAW if ch in run.out]
    # The capture is a day old: evaluated up to now, its instance has stalled.
    (line,) = run.out.splitlines()
    assert line.startswith(f"CRITICAL {INSTANCE}: round_stall since ") and run.code == 2
    if label.startswith("escapes"):
        assert f"leader {made.HOSTILE_HOST_SHOWN}" in line


# -- huge lines -----------------------------------------------------------------------

HEAD = b"2026-11-25T10:00:00.000000Z  INFO zipnet::client: "
MIB = 1 << 20


def _huge(path: Path, sizes: Sequence[int]) -> Path:
    with path.open("wb") as f:
        f.write(HEAD + b"registration submitted\n")
        for size in sizes:
            piece = b"huge \x1b[2J\x00\xff" + b"b" * 50
            f.write(HEAD + piece * (size // len(piece)) + b"\n")
        f.write(HEAD + b"registration submitted\n")
    return path


MEASURED = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stdout.buffer.write(b'%d %d\\n' % (done.returncode, peak) + done.stdout)\n"
    "sys.stderr.buffer.write(done.stderr)\n"
)


def _measured(argv: Sequence[str], home: Path) -> tuple[Run, int]:
    """`logwatch ARGV` and its peak memory in MiB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, LOGWATCH, *argv],
        capture_output=True,
        timeout=60,
        env=environment(home),
        check=True,
    )
    head, _, out = done.stdout.partition(b"\n")
    code, peak_kib = map(int, head.split())
    return Run(list(argv), code, out.decode(), done.stderr.decode(), 0.0), peak_kib // 1024


def test_huge_lines_are_read_in_bounded_memory(tmp_path: Path) -> None:
    one = _huge(tmp_path / "one.cat", [MIB])
    many = _huge(tmp_path / "many.cat", [MIB] * 12)
    ten = _huge(tmp_path / "ten.cat", [10 * MIB])
    args = ["--instance", INSTANCE, "-o", "json"]
    base_run, base_peak = _measured(["replay", str(one), *args], tmp_path)
    many_run, many_peak = _measured(["replay", str(many), *args], tmp_path)
    ten_run, ten_peak = _measured(["replay", str(ten), *args], tmp_path)
    for run, lines in ((base_run, 3), (many_run, 14), (ten_run, 3)):
        assert run.code == 0 and run.err == ""
        (summary,) = _json_lines(run.out)
        assert summary["entries"] == lines
        assert summary["matched"] == {"registration_submitted": 2}
        assert summary["unmatched"] == lines - 2
    # Twelve times the input, the same memory: nothing is kept per line.
    assert many_peak - base_peak < 16, (base_peak, many_peak)
    # A 10 MiB line costs a few copies of itself while it is decoded, no more.
    assert ten_peak < 300, ten_peak
    # The line is shown cut, its escapes visible.
    missed = logwatch(
        ["patterns", "test", str(ten), "--show-missed", "--instance", INSTANCE], tmp_path
    )
    assert missed.code == 0
    (line,) = [x for x in missed.out.splitlines() if "huge" in x]
    # ANSI stripped in decode, the rest escaped, and cut.
    assert len(line) < 400 and "huge \\x00\ufffdbbb" in line and line.endswith("…")


def test_a_huge_line_piped_into_follow_is_counted(tmp_path: Path) -> None:
    ten = _huge(tmp_path / "ten.cat", [10 * MIB])
    argv = ["follow", "-", "--instance", INSTANCE, "--since", SINCE, "-o", "json"]
    run = logwatch(argv, tmp_path, stdin=str(ten))
    assert run.code == 0, run.err
    summary = _json_lines(run.out)[-1]
    assert (summary["entries"], summary["unmatched"]) == (3, 1)


# -- a catastrophic pattern -----------------------------------------------------------

GREEDY = """\
[patterns.nested_plus]
description = "the classic catastrophic regex (the regex module defuses this one itself)"
roles = ["client"]
message = '(a+)+$'

[[patterns.nested_plus.examples]]
line = '2026-11-25T10:00:00.123456Z  INFO zipnet::client: aaaa'
expect = {}

[patterns.alternation]
description = "a catastrophic regex the regex module cannot defuse"
roles = ["client"]
message = '(a|aa)+$'

[[patterns.alternation.examples]]
line = '2026-11-25T10:00:00.123456Z  INFO zipnet::client: aaaab'
match = false
"""


def test_a_catastrophic_pattern_times_out_per_line_and_the_run_goes_on(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns"
    patterns.mkdir()
    (patterns / "greedy.toml").write_text(GREEDY)
    hostile = [HEAD + b"a" * 200 + b"!\n" for _ in range(5)]
    capture = tmp_path / "hostile.cat"
    capture.write_bytes(b"".join(hostile))
    test = ["patterns", "test", str(capture), "--patterns", str(patterns), "--instance", INSTANCE]
    run = logwatch([*test, "-o", "json"], tmp_path)
    assert run.code == 0, run.err
    (result,) = _json_lines(run.out)
    # Each line costs the timeout at most: counted per pattern, and the run is prompt.
    assert result["timeouts"] == {"alternation": 5}
    assert result["matched"]["alternation"] == result["matched"]["nested_plus"] == 0
    assert result["unmatched"] == 5
    assert run.seconds < 10
    text = logwatch(test, tmp_path).out
    assert re.search(r"^  alternation +0  \(timed out 5\)$", text, re.M)
    # replay goes through the same matcher: it finishes, and says which pattern timed out.
    replay = logwatch(
        ["replay", str(capture), "--patterns", str(patterns), "--instance", INSTANCE, "-o", "json"],
        tmp_path,
    )
    assert replay.code == 0 and replay.seconds < 10
    summary = _json_lines(replay.out)[-1]
    assert summary["unmatched"] == 5
    assert summary["timeouts"] == {"alternation": 5}
    assert any("alternation" in note and "timed out" in note for note in summary["notes"])


# -- inputs that cannot be read at all ------------------------------------------------


def _unusable(tmp: Path) -> dict[str, str]:
    (tmp / "empty").mkdir(exist_ok=True)
    (tmp / "notes").mkdir(exist_ok=True)
    (tmp / "notes" / "readme.txt").write_text("not a journal\n")
    return {
        "nonexistent path": str(tmp / "no-such-capture.export"),
        "empty directory": str(tmp / "empty"),
        "directory without journals": str(tmp / "notes"),
        "unknown format": str(CORPUS / "junk.bin"),
    }


def _path_commands(path: str) -> dict[str, list[str]]:
    return {
        "replay": ["replay", path, *RULES],
        "replay-report": ["replay", path, "--report"],
        "patterns-test": ["patterns", "test", path, "--show-missed"],
        "check-file": ["check", INSTANCE, "--file", path],
        "check-directory": ["check", INSTANCE, "--directory", path],
        "follow-directory": ["follow", INSTANCE, "--directory", path, "-o", "json"],
    }


# What each command can be pointed at: check and follow read journal files only.
APPLIES = {
    "check-file": ("nonexistent path", "unknown format"),
    "check-directory": ("nonexistent path", "empty directory", "directory without journals"),
    "follow-directory": ("nonexistent path", "empty directory", "directory without journals"),
}


@pytest.mark.parametrize(
    ("case", "name"),
    [
        (case, name)
        for case in ("nonexistent path", "empty directory", "directory without journals",
                     "unknown format")
        for name in _path_commands("x")
        if case in APPLIES.get(name, (case,))
    ],
)  # fmt: skip
def test_an_unusable_path_is_exit_2_or_unknown_and_one_line_naming_it(
    tmp_path: Path, case: str, name: str
) -> None:
    path = _unusable(tmp_path)[case]
    run = logwatch(_path_commands(path)[name], tmp_path, timeout=30)
    # check is a Nagios plugin: what it cannot read is UNKNOWN, said on stdout too.
    assert "Traceback" not in run.err
    assert run.err.count("\n") == 1 and run.err.startswith("logwatch: ")
    assert path in run.err
    if name.startswith("check"):
        assert (run.code, run.out) == (3, "UNKNOWN - " + run.err.removeprefix("logwatch: ")), run
    else:
        assert (run.code, run.out) == (2, ""), run


def test_unknown_bytes_piped_into_follow_are_exit_2_and_one_line(tmp_path: Path) -> None:
    run = logwatch(["follow", "-", "-o", "json"], tmp_path, stdin=str(CORPUS / "junk.bin"))
    assert (run.code, run.out) == (2, "")
    # follow says it reads the pipe (its readiness line), then the one line of what it
    # cannot read.
    said = [x for x in run.err.splitlines() if not x.startswith(PIPE_READ)]
    assert len(said) == 1 and said[0].startswith("logwatch: <stdin>: cannot tell the format")


def _cli_as_nobody(argv: Sequence[str], home: str = "/nonexistent") -> Callable[[], str]:
    """The CLI's entry point run in this process (forked, as nobody): exit code, output.
    Everything it imports must be imported already: nobody cannot read this interpreter's
    standard library. Nor, when the checkout lives in root's home, the default pattern
    files: they are loaded here, as the test's user, and handed over (a stand-in for
    what no real part can do here: install logwatch where nobody can read it)."""
    from logwatch.commands import common
    from logwatch.pattern_files import load_patterns, pattern_dirs

    defaults = load_patterns(pattern_dirs([]))

    def run() -> str:
        import contextlib
        import io

        common.pattern_dirs = lambda extra: []  # type: ignore[assignment]
        common.load_patterns = lambda dirs: defaults  # type: ignore[assignment]
        out, err = io.StringIO(), io.StringIO()
        code: object = 0
        sys.argv = ["logwatch", *argv]
        os.environ["HOME"] = home
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                logwatch_main()
            except SystemExit as e:
                code = e.code
            except BaseException:
                traceback.print_exc()
                code = 1
        return json.dumps([code, out.getvalue(), err.getvalue()])

    return run


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A scratch directory nobody can reach (pytest's own sits in a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix="logwatch-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def _private_journals(root: Path) -> dict[str, Path]:
    """A capture and a journal that only root may read, in a directory only root may
    list; a journal in a directory only root may enter."""
    private = root / "private"
    private.mkdir()
    journal = private / "remote.journal"
    journal.write_bytes(lzma.decompress((CORPUS / "corrupt-entries.journal.xz").read_bytes()))
    capture = private / "capture.export"
    shutil.copyfile(CORPUS / "escapes.export", capture)
    hidden = root / "hidden"
    hidden.mkdir()
    shutil.copyfile(journal, hidden / "remote.journal")
    return {
        "capture": capture,
        "journal": journal,
        "directory": private,
        "hidden": hidden / "remote.journal",
    }


def _as_nobody_after(paths: dict[str, Path], argvs: list[list[str]], home: Path) -> list[str]:
    """stderr of each command run as nobody once `paths` are private (each run readable
    first, as root: every module it needs gets imported before the fork)."""
    for argv in argvs:
        assert "Traceback" not in in_process(argv, home).err
    for p in (paths["capture"], paths["journal"]):
        p.chmod(0o600)
    paths["directory"].chmod(0o700)
    paths["hidden"].parent.chmod(0o700)
    said = []
    for argv in argvs:
        code, out, err = json.loads(as_nobody(_cli_as_nobody(argv)))
        if argv[0] == "check":
            # Nagios shows stdout: the status line says the same as stderr.
            assert (code, out) == (3, "UNKNOWN - " + err.removeprefix("logwatch: ")), argv
        else:
            assert (code, out) == (2, ""), (argv, err)
        assert err.count("\n") == 1, err
        said.append(err)
    return said


def test_permission_denied_is_exit_2_and_one_line_naming_the_path(open_tmp: Path) -> None:
    paths = _private_journals(open_tmp)
    cases = [
        ("capture", ["replay", "{}"]),
        ("capture", ["patterns", "test", "{}", "--show-missed"]),
        ("journal", ["replay", "{}", "--report"]),
        ("journal", ["check", INSTANCE, "--file", "{}"]),
        ("directory", ["check", INSTANCE, "--directory", "{}"]),
        ("hidden", ["check", INSTANCE, "--file", "{}"]),
        ("hidden", ["replay", "{}"]),
    ]
    argvs = [[str(paths[what]) if a == "{}" else a for a in argv] for what, argv in cases]
    said = _as_nobody_after(paths, argvs, open_tmp)
    for (what, _), err in zip(cases, said, strict=True):
        assert err.startswith(f"logwatch: {paths[what]}: permission denied"), err
        assert "systemd-journal group" in err


def test_a_directory_that_may_not_be_listed_is_permission_denied(open_tmp: Path) -> None:
    # glob() yields nothing from a directory it may not list: "no journal files" was said.
    paths = _private_journals(open_tmp)
    (err,) = _as_nobody_after(paths, [["replay", str(paths["directory"])]], open_tmp)
    assert err.startswith(f"logwatch: {paths['directory']}: permission denied"), err


def test_a_home_that_is_not_ours_is_exit_2_and_one_line(tmp_path: Path) -> None:
    # `sudo -u` keeps HOME: the default config file cannot even be looked for.
    argv = ["replay", str(CORPUS / "escapes.export")]
    assert in_process(argv, tmp_path).code == 0
    code, out, err = json.loads(as_nobody(_cli_as_nobody(argv, home="/root")))
    assert (code, out) == (2, "")
    assert err == (
        "logwatch: /root/.config/logwatch/config.toml: cannot read config: Permission denied\n"
    )


# -- --exec that hangs, fails, floods: the pipeline never waits -------------------------


def _stall_capture(tmp_path: Path) -> Path:
    """Export text of a minute ago holding a stall, piped at once: `follow -` reads it as
    `replay -` would (the same driver; live timing is the stepped-clock tests' part), and
    its alerts reach --exec all together, the hardest case for a command that misbehaves."""
    start = wall_clock_us() - 60 * US
    lines = Scenario(INSTANCE, start, period_s=1.0, clients=2).start().rounds(3).silence(6)
    lines.rounds(2).silence(6)  # two stalls: four alerts
    path = tmp_path / "stalls.export"
    path.write_bytes(export_bytes(lines.rounds(2).lines(), "full"))
    return path


HANGS = "import time; time.sleep(60)"
FAILS = "import sys; print('exploded \\x1b]0;pwned\\x07', file=sys.stderr); sys.exit(7)"
FLOODS = "import sys\nfor _ in range(64): sys.stdout.write('y' * (1 << 20))"
EXEC_TIMEOUT_S = 2


@pytest.mark.parametrize(
    ("script", "said"),
    [
        (HANGS, ("timed out after 2s", "killed at close, still running after 2s")),
        (FAILS, ("exit 7: exploded \\e]0;pwned\\x07",)),
        (FLOODS, ()),
    ],
    ids=["hangs", "fails", "floods"],
)
def test_a_misbehaving_exec_command_never_holds_up_follow(
    tmp_path: Path, script: str, said: tuple[str, ...]
) -> None:
    command = tmp_path / "page.py"
    command.write_text(script)
    argv = [
        "follow", "-", "--instance", INSTANCE, "-o", "json", "--round-period", "1s",
        "--round-deadline", "1s", "--exec", f"{sys.executable} {command}", "--exec-timeout",
        f"{EXEC_TIMEOUT_S}s",
    ]  # fmt: skip
    run = logwatch_fed_live(argv, tmp_path, _stall_capture(tmp_path), timeout=60)
    assert run.code == 0, run.err
    objs = _json_lines(run.out)
    alerts = [o for o in objs if o["type"] == "alert"]
    assert {(o["alert"], o["state"]) for o in alerts} >= {
        ("round_stall", "firing"),
        ("round_stall", "resolved"),
    }
    assert objs[-1]["type"] == "summary" and objs[-1]["instances"][INSTANCE]["rounds"] == 7
    assert "Traceback" not in run.err
    lines = [x for x in run.err.splitlines() if not x.startswith(PIPE_READ)]
    assert all(line.startswith(f"logwatch: exec: {sys.executable}: ") for line in lines), lines
    if said:
        assert any(line.endswith(said) for line in lines), lines
    counts = re.fullmatch(r".*: (\d+) run, (\d+) failed, (\d+) timed out, (\d+) dropped", lines[-1])
    assert counts is not None
    run_, failed, timed_out, dropped = map(int, counts.groups())
    assert run_ + dropped == len(alerts)
    if script == HANGS:
        # Waiting for each run in turn would take the timeout per alert; close waits once.
        assert timed_out >= 1 and run.seconds < EXEC_TIMEOUT_S * (len(alerts) - 1)
    else:
        assert (run_, failed) == (len(alerts), len(alerts) if script == FAILS else 0)


# -- a source that fails under `follow -` ---------------------------------------------


def test_follow_stdin_ends_when_its_reader_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reader runs on a thread; an error there must end the follow (and surface),
    # not leave it waiting for entries that will never come.
    from logwatch import sources
    from logwatch.sources.stdin import StdinFollower

    def failing(*_: object, **__: object) -> Iterator[object]:
        yield Unreadable("<stdin>", "malformed json")
        raise ValueError("a bug in a reader")

    monkeypatch.setattr(sources, "open_inputs", failing)
    follower = StdinFollower(None)
    follower.start()
    deadline = time.monotonic() + 5
    taken: list[object] = []
    with pytest.raises(ValueError, match="a bug in a reader"):
        while time.monotonic() < deadline:
            taken += follower.poll(0.1)
    assert follower.finished
    assert taken == [Unreadable("<stdin>", "malformed json")]


# -- found by fuzzing ------------------------------------------------------------------


def test_a_header_claiming_endless_entries_is_read_promptly(tmp_path: Path) -> None:
    journal = bytearray(lzma.decompress((CORPUS.parent / "healthy.journal.xz").read_bytes()))
    declared = int.from_bytes(journal[152:160], "little")
    journal[152:160] = (1 << 62).to_bytes(8, "little")
    path = tmp_path / "boastful.journal"
    path.write_bytes(journal)
    argv = ["replay", str(path), "-o", "json", *RULES]
    try:
        run = logwatch(argv, tmp_path, timeout=5)  # a healthy capture takes a fraction of 1 s
    except subprocess.TimeoutExpired:
        pytest.fail("replay still running after 5 s")
    assert run.code == 0
    summary = json_lines(run.out)[-1]
    assert summary["entries"] - summary["errors"] == declared  # every entry is there
