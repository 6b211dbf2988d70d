"""Sources: every capture format detected and read to the same entries, merged, and safe."""

from __future__ import annotations

import gzip
import importlib.util
import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from conftest import CAPTURE_FORMATS, Captures, as_nobody
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch import simulate
from logwatch.errors import InputError, LogwatchError, UsageError
from logwatch.records import Entry, Passing, Unreadable
from logwatch.simulate import LogLine, Scenario
from logwatch.sources import FORMATS, open_inputs, open_source
from logwatch.sources import journal as journal_source
from logwatch.sources.text_capture import FAMILY
from logwatch.times import US
from logwatch.triage import Triage
from logwatch.units import UnitTemplate, Writers

T0 = simulate.DEFAULT_START_US
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MakeCapture = Callable[..., Path]


def _lines() -> list[LogLine]:
    scenario = Scenario("acme-mainnet", servers=3, clients=3, seed=7)
    scenario.start().rounds(5).rival_leader().failover("srv2").rounds(2).register(fail=True)
    return simulate.merge(
        scenario.lines(), simulate.noise(T0 + 3 * US, 15, per_second=2, hosts=("srv1", "agg1"))
    )


LINES = _lines()
# A journald-native message with a newline: one entry, printed over several lines by
# journalctl's text outputs, whose blank and indented lines must survive.
MULTI = LogLine(
    T0 + 5 * US + 1,
    "acme-mainnet",
    "client",
    "client1",
    "WARN",
    "zipnet::client",
    "registration failed\n\n  caused by: ticket expired",
)
_EXACT = {"journal", "export-sim", "export", "json", "json-seq", "short-iso-precise", "short-unix"}
_SECONDS = {"short-iso", "with-unit"}
_NO_YEAR = {"short", "short-precise"}


def _read(
    paths: Sequence[Path | str], fmt: str | None = None, **kw: object
) -> list[Entry | Unreadable]:
    return list(open_inputs([str(p) for p in paths], fmt, **kw))  # type: ignore[arg-type]


def _entries(items: Iterable[Entry | Unreadable]) -> list[Entry]:
    return [e for e in items if isinstance(e, Entry)]


def _expected(lines: Sequence[LogLine], style: str) -> list[tuple[int, str, str, str, str]]:
    """(time, MESSAGE, host, identifier, unit) of every journal entry the lines become."""
    return [
        (line.time_us, message, line.host, line.identifier, line.unit_name)
        for line in lines
        for message in simulate.messages(line, style)
    ]


def _when(us: int, fmt: str) -> object:
    """The part of a time a format keeps."""
    if fmt in _SECONDS:
        return us // US * US
    stamp = datetime.fromtimestamp(us / US, UTC)
    if fmt in _NO_YEAR:
        keep = stamp.microsecond if fmt == "short-precise" else 0
        return (stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second, keep)
    return us


def _seen(entry: Entry, fmt: str) -> tuple[object, ...]:
    f = entry.fields
    if fmt == "cat":
        return (f["MESSAGE"],)
    assert entry.time_us is not None
    ident = f.get("SYSLOG_IDENTIFIER") if fmt != "with-unit" else f.get("_SYSTEMD_UNIT")
    return (_when(entry.time_us, fmt), f["MESSAGE"], f["_HOSTNAME"], ident)


def _want(row: tuple[int, str, str, str, str], fmt: str) -> tuple[object, ...]:
    time_us, message, host, ident, unit = row
    if fmt == "cat":
        return (message,)
    return (_when(time_us, fmt), message, host, unit if fmt == "with-unit" else ident)


# --- every format, the same entries --------------------------------------------------------


@pytest.mark.parametrize("fmt", CAPTURE_FORMATS)
def test_every_format_is_detected_and_reads_the_same_entries(captures: Captures, fmt: str) -> None:
    path = captures.make(LINES, "full", fmt)
    assert open_source(str(path)).fmt == ("export" if fmt == "export-sim" else fmt)
    items = _read([path])
    assert not [e for e in items if isinstance(e, Unreadable)]
    entries = _entries(items)
    expected = _expected(LINES, "full")
    assert len(entries) == len(expected) > 100
    # Entries at the same µs on different hosts may come in either order.
    assert Counter(_seen(e, fmt) for e in entries) == Counter(_want(r, fmt) for r in expected)
    if fmt == "cat":
        assert all(e.time_us is None for e in entries)
    else:
        assert all(e.time_exact == (fmt in _EXACT) for e in entries)
        times = [e.time_us or 0 for e in entries]
        assert times == sorted(times)


@pytest.mark.parametrize("fmt", ["journal", "export", "json", "json-seq", "with-unit"])
def test_unit_names_come_through_where_the_format_has_them(captures: Captures, fmt: str) -> None:
    entries = _entries(_read([captures.make(LINES, "full", fmt)]))
    units = Counter(e.fields["_SYSTEMD_UNIT"] for e in entries)
    assert units == Counter(row[4] for row in _expected(LINES, "full"))


@pytest.mark.parametrize("fmt", ["journal", "export", "json", "short-iso", "short-unix"])
def test_pid_and_transport(captures: Captures, fmt: str) -> None:
    entries = _entries(_read([captures.make(LINES[:40], "full", fmt)]))
    assert [e.fields["_PID"] for e in entries] == [str(line.pid) for line in LINES[:40]]
    if fmt in ("journal", "export", "json"):
        assert {e.fields["_TRANSPORT"] for e in entries} <= {"stdout", "syslog"}
        assert all(e.cursor for e in entries)


@pytest.mark.parametrize("fmt", ["journal", "export", "json", "json-seq", "export-sim"])
def test_journald_native_fields_and_repeated_span_fields(captures: Captures, fmt: str) -> None:
    entries = _entries(_read([captures.make(LINES, "journald", fmt)]))
    assert len(entries) == len(LINES)
    rival = next(e for e in entries if e.fields["MESSAGE"] == "rival group leader detected")
    assert rival.fields["_TRANSPORT"] == "journal"
    assert rival.fields["TARGET"] == "mosaik::groups::raft::role"
    assert rival.fields["PRIORITY"] == "4"
    assert set(rival.multi["SPAN_NAME"]) == {"raft", "append"}
    assert rival.fields["SPAN_NAME"] == rival.multi["SPAN_NAME"][-1]
    # The span's and the event's group are the same field=value: journald stores an
    # entry's identical items once, so only the simulator's own export repeats it.
    groups = rival.multi.get("F_GROUP", (rival.fields["F_GROUP"],))
    assert len(groups) == (2 if fmt == "export-sim" else 1)
    finalized = [e for e in entries if e.fields["MESSAGE"] == "round finalized"]
    assert [e.fields["F_ROUND"] for e in finalized] == [str(r) for r in (1, 2, 3, 4, 5, 6, 7)]


# --- what journalctl does to ANSI, control characters, long and multi-line messages --------


@pytest.mark.parametrize("fmt", ["short-iso", "short-precise", "with-unit", "short-unix"])
def test_text_captures_strip_ansi_unless_all(captures: Captures, fmt: str) -> None:
    lines = LINES[:30]
    coloured = [simulate.render(line, "full-ansi") for line in lines]
    plain = _entries(_read([captures.make(lines, "full-ansi", fmt)]))
    assert [e.fields["MESSAGE"] for e in plain] == [ANSI.sub("", m) for m in coloured]
    raw = _entries(_read([captures.make(lines, "full-ansi", fmt, all_fields=True)]))
    assert [e.fields["MESSAGE"] for e in raw] == coloured


@pytest.mark.parametrize("fmt", ["journal", "export", "json", "json-seq", "cat"])
def test_structured_captures_keep_ansi(captures: Captures, fmt: str) -> None:
    lines = LINES[:30]
    entries = _entries(_read([captures.make(lines, "full-ansi", fmt)]))
    assert [e.fields["MESSAGE"] for e in entries] == [
        simulate.render(line, "full-ansi") for line in lines
    ]


def _odd(message: str, at: int = 0) -> LogLine:
    return LogLine(T0 + at, "acme-mainnet", "client", "client1", "INFO", "zipnet::client", message)


ODD = [
    _odd("bell \x07 rings", 0),
    _odd("bad utf8 \udcff\udcfe end", 1),
    _odd("x" * 5000, 2),
    _odd("\x1b[31mred\x1b[0m only", 3),
    _odd("tab\tseparated", 4),
    _odd("plain after", 5),
]


def test_unprintable_messages_in_text_captures_are_unreadable(captures: Captures) -> None:
    items = _read([captures.make(ODD, "journald", "short-iso-precise")])
    assert [type(e).__name__ for e in items] == [
        "Unreadable",
        "Unreadable",
        "Entry",
        "Entry",
        "Entry",
        "Entry",
    ]
    assert all("blob data" in e.reason for e in items if isinstance(e, Unreadable))
    messages = [e.fields["MESSAGE"] for e in _entries(items)]
    # journalctl strips colour, and prints a tab as spaces (without --all).
    assert messages == ["x" * 5000, "red only", "tab        separated", "plain after"]
    raw = _entries(_read([captures.make(ODD, "journald", "short-iso-precise", all_fields=True)]))
    assert [e.fields["MESSAGE"] for e in raw][:2] == [
        "bell \x07 rings",
        "bad utf8 \ufffd\ufffd end",
    ]


def test_json_byte_arrays_and_nulls(captures: Captures) -> None:
    path = captures.make(ODD, "journald", "json")
    assert b'"MESSAGE":[98,101,108,108,' in path.read_bytes()
    entries = _entries(_read([path]))
    assert entries[0].fields["MESSAGE"] == "bell \x07 rings"
    assert entries[1].fields["MESSAGE"] == "bad utf8 \ufffd\ufffd end"
    assert "MESSAGE" not in entries[2].fields  # over 4096 bytes: null without --all
    assert entries[2].fields["_HOSTNAME"] == "client1"
    assert entries[3].fields["MESSAGE"] == "\x1b[31mred\x1b[0m only"
    full = _entries(_read([captures.make(ODD, "journald", "json", all_fields=True)]))
    assert full[2].fields["MESSAGE"] == "x" * 5000


@pytest.mark.parametrize("fmt", ["short-iso", "short", "short-unix", "with-unit", "export", "json"])
def test_multi_line_messages_come_back_whole(captures: Captures, fmt: str) -> None:
    lines = simulate.merge(LINES[:10], [MULTI])
    entries = _entries(_read([captures.make(lines, "journald", fmt)]))
    assert len(entries) == 11
    assert [e.fields["MESSAGE"] for e in entries if "\n" in e.fields["MESSAGE"]] == [MULTI.message]


def test_huge_messages(captures: Captures, tmp_path: Path) -> None:
    big = "y" * (2 << 20)
    lines = [_odd(big), _odd("after", 1)]
    for fmt in ("journal", "export", "short-iso", "cat"):
        # Bare messages (tracing-journald, -o cat) do not look like anything: named.
        named = "cat" if fmt == "cat" else None
        entries = _entries(_read([captures.make(lines, "journald", fmt)], named))
        assert [e.fields["MESSAGE"] for e in entries] == [big, "after"], fmt
    # Over the line limit: one Unreadable, memory bounded, the next line still read.
    path = tmp_path / "long.cat"
    with path.open("wb") as f:
        f.write(b"2026-11-25T10:00:00.000000Z  INFO a: first\n")
        f.write(b"z" * (17 << 20) + b"\n")
        f.write(b"2026-11-25T10:00:01.000000Z  INFO a: last\n")
    items = _read([path])
    assert [type(e).__name__ for e in items] == ["Entry", "Unreadable", "Entry"]


# --- journals: directories, many hosts, files ---------------------------------------------


def test_many_hosts_journal_files_are_one_stream_in_time_order(captures: Captures) -> None:
    directory = captures.journal(LINES, "full")
    files = sorted(directory.glob("*.journal"))
    assert len(files) == 3 + 1 + 3  # one per host, as journal-remote splits them
    entries = _entries(_read([directory]))
    times = [e.time_us for e in entries]
    assert times == sorted(times)  # type: ignore[type-var]
    assert len(entries) == len(_expected(LINES, "full"))
    hosts = [e.fields["_HOSTNAME"] for e in entries]
    assert set(hosts) == {line.host for line in LINES}
    # The hosts interleave: the stream is merged, not one file after the other.
    assert sum(1 for a, b in itertools.pairwise(hosts) if a != b) > len(files) * 5
    # The same from the files named one by one.
    assert [e.cursor for e in _entries(_read(files))] == [e.cursor for e in entries]


def test_machine_id_subdirectories_are_read(captures: Captures, tmp_path: Path) -> None:
    sub = tmp_path / "var-log-journal" / "0123456789abcdef0123456789abcdef"
    shutil.copytree(captures.journal(LINES, "full"), sub)
    assert len(_entries(_read([sub.parent]))) == len(_expected(LINES, "full"))


# A multi-line message of another program: its continuation lines go with it.
FOREIGN_MULTI = LogLine(
    T0 + 6 * US + 5,
    "",
    "",
    "srv1",
    "INFO",
    "",
    "kernel: oops\n  second line\n  third line",
    unit="cron.service",
    ident="cron",
)
_PASSED_ON = {"journal", "export", "export-sim", "json", "json-seq", *FAMILY}


@pytest.mark.parametrize("fmt", CAPTURE_FORMATS)
def test_writers_pass_other_programs_entries_on_as_their_time(captures: Captures, fmt: str) -> None:
    lines = simulate.merge(LINES, [FOREIGN_MULTI])
    path = captures.make(lines, "full", fmt)
    items = list(open_inputs([str(path)], triage=Triage(Writers(UnitTemplate()))))
    assert not [i for i in items if isinstance(i, Unreadable)]
    rows = _expected(lines, "full")
    ours = [r for r in rows if r[4].startswith("zipnet-")]
    theirs = [r for r in rows if not r[4].startswith("zipnet-")]
    assert len(theirs) > 10
    passed = [i.time_us for i in items if isinstance(i, Passing)]
    entries = _entries(items)
    if fmt not in _PASSED_ON:  # nothing in these names the writer
        assert passed == [] and len(entries) >= len(rows)
        return
    assert Counter(_seen(e, fmt) for e in entries) == Counter(_want(r, fmt) for r in ours)
    assert len(passed) == len(theirs)
    if fmt not in _NO_YEAR:
        assert Counter(_when(t, fmt) for t in passed) == Counter(_when(r[0], fmt) for r in theirs)


def test_entries_at_one_instant_are_each_read_once_with_writers(captures: Captures) -> None:
    # The journal reader walks zipnet's entries (through journal matches) and everyone's
    # times side by side: entries of both at the very same µs must each come once.
    ours = [x for x in LINES if x.unit is None][:30]
    twins = [
        LogLine(x.time_us, "", "", x.host, "INFO", "", "same µs", unit="cron.service", ident="cron")
        for x in ours
    ]
    directory = captures.journal(simulate.merge(ours, twins, twins[:5]), "full")
    items = list(open_inputs([str(directory)], triage=Triage(Writers(UnitTemplate()))))
    entries = _entries(items)
    assert Counter(_seen(e, "journal") for e in entries) == Counter(
        _want(r, "journal") for r in _expected(ours, "full")
    )
    passed = [i.time_us for i in items if isinstance(i, Passing)]
    assert Counter(passed) == Counter(x.time_us for x in [*twins, *twins[:5]])


def test_a_corrupt_journal_file_in_a_directory_is_skipped(make_capture: MakeCapture) -> None:
    directory = make_capture(LINES, "full", "journal")  # this test's own copy
    victim = directory / "remote-srv3.journal"
    with victim.open("r+b") as f:
        f.truncate(4096)  # the header only: nothing left to read
    items = _read([directory])
    bad = [e for e in items if isinstance(e, Unreadable)]
    assert len(bad) == 1 and "remote-srv3.journal" in bad[0].sample
    entries = _entries(items)
    assert entries and "srv3" not in {e.fields["_HOSTNAME"] for e in entries}
    with pytest.raises(InputError, match=r"remote-srv3\.journal: cannot read as a journal"):
        _read([victim])


# --- several inputs, stdin, compression ----------------------------------------------------


def test_several_inputs_merge_by_time(captures: Captures, tmp_path: Path) -> None:
    hosts = sorted({line.host for line in LINES})
    formats = ["export-sim", "json", "short-iso-precise", "export", "journal", "json-seq"]
    paths = []
    for host, fmt in zip(hosts, formats * 2, strict=False):
        own = [line for line in LINES if line.host == host]
        paths.append(captures.make(own, "full", fmt))
    entries = _entries(_read(paths))
    assert len(entries) == len(_expected(LINES, "full"))
    times = [e.time_us for e in entries]
    assert times == sorted(times)  # type: ignore[type-var]
    assert {e.origin for e in entries} == {str(p) for p in paths}


def test_entries_without_time_keep_their_order_when_merged(captures: Captures) -> None:
    cat = captures.make(LINES[:20], "full", "cat")
    export = captures.make(LINES[20:40], "full", "export-sim")
    items = _entries(_read([cat, export]))
    assert [e.fields["MESSAGE"] for e in items if e.time_us is None] == [
        simulate.render(line, "full") for line in LINES[:20]
    ]
    assert len(items) == 40


@pytest.mark.parametrize("kind", ["gz", "xz"])
@pytest.mark.parametrize("fmt", ["export-sim", "json", "short-iso", "cat", "journal"])
def test_compressed_inputs(captures: Captures, fmt: str, kind: str) -> None:
    lines = [line for line in LINES if line.host == "agg1"]
    plain = captures.make(lines, "full", fmt)
    packed = captures.make(lines, "full", fmt, compress=kind)
    assert packed.read_bytes()[:2] in (b"\x1f\x8b", b"\xfd7")
    want = [e.fields["MESSAGE"] for e in _entries(_read([plain]))]
    assert want and [e.fields["MESSAGE"] for e in _entries(_read([packed]))] == want


def test_compression_is_told_by_magic_not_name(captures: Captures, tmp_path: Path) -> None:
    packed = captures.make(LINES, "full", "json", compress="gz")
    renamed = tmp_path / "capture.txt"
    shutil.copyfile(packed, renamed)
    assert open_source(str(renamed)).compression == "gzip"
    assert len(_entries(_read([renamed]))) == len(_expected(LINES, "full"))


def _count_via_stdin(path: Path) -> str:
    code = (
        "from logwatch.sources import open_inputs\n"
        "from logwatch.records import Entry\n"
        "items = list(open_inputs(['-']))\n"
        "print(sum(isinstance(e, Entry) for e in items), len(items))\n"
    )
    with path.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-c", code], stdin=stdin, capture_output=True, check=True
        )
    return done.stdout.decode().strip()


@pytest.mark.parametrize(
    ("fmt", "compress"),
    [("export", "gz"), ("short-iso", None), ("json-seq", "xz"), ("journal", None)],
)
def test_stdin(captures: Captures, fmt: str, compress: str | None) -> None:
    lines = LINES[:50]
    if fmt == "journal":
        path = sorted(captures.journal(lines, "full").glob("*.journal"))[0]
        n = sum(1 for line in lines if f"remote-{line.host}.journal" == path.name)
    else:
        path = captures.make(lines, "full", fmt, compress=compress)
        n = len(lines)
    assert _count_via_stdin(path) == f"{n} {n}"


def test_a_live_pipe_is_read_line_by_line() -> None:
    read_fd, write_fd = os.pipe()
    first = simulate.to_export(LINES[0], "full", 1)
    os.write(write_fd, first)
    closer = threading.Timer(10, os.close, (write_fd,))
    closer.start()
    try:
        with os.fdopen(read_fd, "rb") as stdin:
            started = time.monotonic()
            items = open_inputs(["-"], stdin=stdin)
            entry = next(items)
            # Came from the first write, long before the writer closed the pipe.
            assert time.monotonic() - started < 5
            assert isinstance(entry, Entry) and entry.time_us == LINES[0].time_us
    finally:
        closer.cancel()
        os.close(write_fd)


# --- errors the user must fix: one line, naming the path ---------------------------------


def _one_line_error(paths: list[str], fmt: str | None = None) -> str:
    with pytest.raises(LogwatchError) as caught:
        list(open_inputs(paths, fmt))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.journal")
    message = _one_line_error([missing])
    assert message.startswith(missing) and "no such file" in message


def test_directory_without_journal_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    message = _one_line_error([str(tmp_path)])
    assert str(tmp_path) in message and "no journal files" in message
    assert "directory" in _one_line_error([str(tmp_path)], "json")


@pytest.mark.parametrize(
    "data", [b"hello world\nthis is not a log\n", b"\x00\x01\x02 binary \x00" * 100]
)
def test_undetectable_format(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "mystery"
    path.write_bytes(data)
    message = _one_line_error([str(path)])
    assert message.startswith(str(path)) and "--format" in message
    # Named, it is read: every line of text is an entry of `cat`.
    if b"\x00" not in data:
        assert len(_read([path], "cat")) == 2


def test_bad_format_names_and_stdin_twice(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown format 'yaml'"):
        list(open_inputs(["-"], "yaml"))
    with pytest.raises(UsageError, match="once"):
        list(open_inputs(["-", "-"]))
    text = tmp_path / "a.log"
    text.write_text("2026-11-25T10:00:00.000000Z  INFO a: b\n")
    assert "not a journal file" in _one_line_error([str(text)], "journal")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root")
def test_permission_denied_names_the_group(captures: Captures, tmp_path: Path) -> None:
    directory = tmp_path / "private"
    shutil.copytree(captures.journal(LINES[:20], "full"), directory)
    for path in [directory, *directory.iterdir()]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    capture = tmp_path / "private.json"
    shutil.copyfile(captures.make(LINES[:20], "full", "json"), capture)
    capture.chmod(0o600)
    tmp_path.chmod(0o755)

    def attempt(target: Path) -> Callable[[], str]:
        def run() -> str:
            try:
                list(open_inputs([str(target)]))
            except InputError as e:
                return f"{e}\n"
            return "read it\n"

        return run

    for target in (directory, directory / "remote-srv1.journal", capture):
        said = as_nobody(attempt(target))
        assert "permission denied" in said and "systemd-journal group" in said, said
        assert said.count("\n") == 1


# --- bad data: counted as Unreadable, the rest still read ---------------------------------


def _kinds(items: Iterable[Entry | Unreadable]) -> Counter[str]:
    return Counter(e.reason if isinstance(e, Unreadable) else "entry" for e in items)


def test_truncated_export(tmp_path: Path) -> None:
    data = simulate.export_bytes(LINES[:30], "full-ansi")
    cut = data.rindex(b"\nMESSAGE\n") + 20  # inside the last entry's binary MESSAGE
    path = tmp_path / "cut.export"
    path.write_bytes(data[:cut])
    assert _kinds(_read([path])) == {"entry": 29, "truncated export entry": 1}
    path.write_bytes(data[: data.rindex(b"\n_HOSTNAME=") + 5])  # mid-line
    assert _kinds(_read([path])) == {"entry": 29, "truncated export entry": 1}


def test_broken_export_entry_in_the_middle(tmp_path: Path) -> None:
    good = simulate.export_bytes(LINES[:10], "full")
    huge = b"MESSAGE\n" + (1 << 62).to_bytes(8, "little") + b"junk\n\n"
    badname = b"__CURSOR=x\nnot a field name=1\nMESSAGE=m\n\n"
    path = tmp_path / "broken.export"
    path.write_bytes(good + huge + good + badname + good)
    kinds = _kinds(_read([path]))
    assert kinds["entry"] == 30
    assert kinds["export field length out of range"] == 1
    assert kinds["malformed export field name"] == 1


def test_malformed_json_lines(captures: Captures, tmp_path: Path) -> None:
    lines = captures.make(LINES[:20], "full", "json").read_bytes().splitlines(keepends=True)
    bad = [*lines[:5], b'{"MESSAGE": "unterminated\n', b"[1, 2]\n", b'{"MESSAGE": {"x": 1}}\n']
    path = tmp_path / "bad.json"
    path.write_bytes(b"".join([*bad, *lines[5:]]))
    assert _kinds(_read([path])) == {
        "entry": 20,
        "malformed json": 1,
        "json line is not an object": 1,
        "malformed json entry": 1,
    }


def test_truncated_gzip(captures: Captures, tmp_path: Path) -> None:
    whole = captures.make(LINES, "full", "short-iso", compress="gz").read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    items = _read([path])
    assert isinstance(items[-1], Unreadable) and "truncated or corrupt gzip" in items[-1].reason
    entries = _entries(items)
    assert len(_expected(LINES, "full")) // 3 < len(entries) < len(_expected(LINES, "full"))
    assert [e.fields["MESSAGE"] for e in entries] == [
        e.fields["MESSAGE"] for e in _entries(_read([captures.make(LINES, "full", "short-iso")]))
    ][: len(entries)]


def test_lines_of_another_shape_in_a_text_capture(captures: Captures, tmp_path: Path) -> None:
    text = captures.make(LINES[:20], "full", "short-iso").read_bytes().splitlines(keepends=True)
    path = tmp_path / "mixed.log"
    path.write_bytes(b"".join([*text[:3], b"garbage line\n", b"\xff\xfe\n", *text[3:]]))
    assert _kinds(_read([path])) == {"entry": 20, "not a short-iso line": 2}


def test_journalctl_markers_are_skipped(captures: Captures, tmp_path: Path) -> None:
    text = captures.make(LINES, "full", "short-iso").read_bytes()
    assert b"-- Boot " in text  # many hosts, so many boots
    path = tmp_path / "marked.log"
    path.write_bytes(b"-- Journal begins at Wed 2026-11-25 --\n" + text + b"-- No entries --\n")
    assert _kinds(_read([path])) == {"entry": len(_expected(LINES, "full"))}


# --- hostile bytes: an Entry or an Unreadable, never an exception ---------------------------

_PIECES = st.sampled_from(
    [
        b"__CURSOR=s=1;i=2\n",
        b"__REALTIME_TIMESTAMP=1795600800000000\n",
        b"MESSAGE=hello\n",
        b"MESSAGE\n\x05\x00\x00\x00\x00\x00\x00\x00a\nb\x1b\n",
        b"MESSAGE\n\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\n",
        b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":[27,255]}\n',
        b'{"MESSAGE":[1,2,["a"]],"X":null}\n',
        b"\x1e{}\n",
        b"2026-11-25T10:00:00+0000 srv1 zipnet-server[1]: hi\n",
        b"   continued\n",
        b"Nov 25 10:00:00 srv1 x: y\n",
        b"Wed 2026-11-25 10:00:00 CET srv1 a.service[2]: m\n",
        b"-- Boot 0 --\n",
        b"\x1f\x8b\x08\x00",
        b"\xfd7zXZ\x00",
        b"LPKSHHRH",
    ]
)
HOSTILE = st.lists(st.one_of(_PIECES, st.binary(max_size=40)), max_size=12).map(b"".join)


def _never_raises(data: bytes, fmt: str | None) -> None:
    try:
        items = list(open_inputs(["-"], fmt, stdin=io.BytesIO(data)))
    except InputError as exc:
        # The format cannot be told, it is not a journal, or it is compressed data of
        # which not a byte can be read.
        assert fmt in (None, "journal") or "corrupt compressed data" in str(exc)
        return
    assert all(isinstance(e, Entry | Unreadable) for e in items)
    for e in items:
        if isinstance(e, Entry):
            assert all(isinstance(v, str) for v in e.fields.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=HOSTILE, fmt=st.sampled_from([None, *FORMATS]))
def test_any_bytes_give_entries_or_unreadables(data: bytes, fmt: str | None) -> None:
    _never_raises(data, fmt)


@settings(max_examples=100, deadline=None)
@given(data=HOSTILE, kind=st.sampled_from(["gz", "plain"]), cut=st.integers(0, 200))
def test_truncated_compressed_hostile_bytes(data: bytes, kind: str, cut: int) -> None:
    packed = gzip.compress(data) if kind == "gz" else data
    for fmt in (None, "export", "json", "cat"):
        _never_raises(packed[: max(0, len(packed) - cut)], fmt)


# --- the committed fixtures ------------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def _make_fixtures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_fixture_is_documented_and_reads_cleanly() -> None:
    made = _make_fixtures()
    files = sorted(
        p.name for p in FIXTURES.iterdir() if p.is_file() and p.suffix not in (".md", ".py")
    )
    files = [name for name in files if not name.startswith(".")]
    assert files == sorted(f.name for f in made.FIXTURES)
    readme = (FIXTURES / "README.md").read_text()
    assert readme == made.readme()
    for name in files:
        assert f"- `{name}`: " in readme
        items = _read([FIXTURES / name])
        assert not [e for e in items if isinstance(e, Unreadable)], name
        scenario = next(f.scenario for f in made.FIXTURES if f.name == name)
        assert len(items) == len(made.lines_of(scenario)), name


def test_simulated_fixtures_are_what_simulate_writes_today() -> None:
    made = _make_fixtures()
    for fixture in made.FIXTURES:
        if fixture.output is None:
            data = (FIXTURES / fixture.name).read_bytes()
            if fixture.compress == "gz":
                data = gzip.decompress(data)
            expected = simulate.export_bytes(made.lines_of(fixture.scenario), fixture.style)
            assert data == expected, f"{fixture.name}: run tests/fixtures/make_fixtures.py"


def test_the_cli_help_names_every_format() -> None:
    # cli.py spells the list out so start-up need not import the sources.
    from logwatch import cli

    assert cli.FORMATS.split() == list(FORMATS)


@pytest.mark.parametrize("sampled", [20, 1 << 40], ids=["walked-once", "two-walks"])
def test_a_journal_mostly_zipnet_reads_the_same_walked_once(
    captures: Captures, monkeypatch: pytest.MonkeyPatch, sampled: int
) -> None:
    # Past _SAMPLED entries with zipnet's the larger part, the journal reader drops its
    # matched walk and tells entries apart by their unit: the same entries, in order.
    monkeypatch.setattr(journal_source, "_SAMPLED", sampled)
    lines = simulate.merge(LINES, [FOREIGN_MULTI])
    directory = captures.journal(lines, "full")
    items = list(open_inputs([str(directory)], triage=Triage(Writers(UnitTemplate()))))
    assert not [i for i in items if isinstance(i, Unreadable)]
    rows = _expected(lines, "full")
    ours = [r for r in rows if r[4].startswith("zipnet-")]
    theirs = [r for r in rows if not r[4].startswith("zipnet-")]
    entries = _entries(items)
    assert Counter(_seen(e, "journal") for e in entries) == Counter(
        _want(r, "journal") for r in ours
    )
    assert sorted(i.time_us for i in items if isinstance(i, Passing)) == sorted(
        r[0] for r in theirs
    )
    times = [i.time_us for i in items if isinstance(i, Entry | Passing)]
    assert times == sorted(times)
