"""Properties of the whole read side, source → decode → match → engine → sink, for random and
mutated captures (hypothesis): nothing raises, every entry is counted once, alerts and
rounds name only instances the input holds, alert times never go back, output is UTF-8.

The captures start from simulated zipnet lines (logwatch.simulate) in each rendering and
capture format logwatch reads, then are damaged: entries dropped, repeated, reordered,
their times swapped; control characters and escapes injected; bytes flipped, inserted,
deleted; the end cut off. They run through `run_replay`, the replay command itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

from conftest import json_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch import simulate
from logwatch.commands.replay import run_replay
from logwatch.errors import InputError
from logwatch.simulate import LogLine, Scenario
from logwatch.times import US, format_time

T0 = simulate.DEFAULT_START_US
INSTANCES = ("acme-mainnet", "preview-alpha")
CAPTURES = ("export", "json", "short-iso-precise", "with-unit", "cat")
STYLES = ("full", "full-ansi", "compact", "json", "json-flat", "journald")
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def simulated(seed: int) -> tuple[LogLine, ...]:
    """Two instances on shared hosts, with a stall, a failover, unrelated programs."""
    acme = Scenario("acme-mainnet", servers=3, clients=2, seed=seed).start().rounds(4)
    acme.silence(10, chatter=True).rival_leader().failover("srv2", gap_s=1).rounds(3)
    preview = Scenario("preview-alpha", clients=1, seed=seed + 1).start().rounds(5)
    foreign = simulate.noise(T0, 10, per_second=1, hosts=("srv1", "agg1"), seed=seed)
    return tuple(simulate.merge(acme.lines(), preview.lines(), foreign))


# -- captures, entry by entry, as journalctl would write them -------------------------------


def _iso(us: int, zone: str = "+0000") -> str:
    return format_time(us)[:-1] + zone


def _json_value(text: str) -> object:
    # journalctl: a value holding a control character or invalid UTF-8 is an array of bytes.
    data = text.encode("utf-8", "surrogateescape")
    if any(b < 0x20 and b not in (0x09,) for b in data):
        return list(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return list(data)
    return text


def entries(lines: Sequence[LogLine], style: str, capture: str) -> list[bytes]:
    """Each journal entry of `lines` as `capture` writes it (one chunk each)."""
    if capture == "export":
        return list(simulate.export_stream(lines, style))
    out: list[bytes] = []
    for seq, line in enumerate(lines, 1):
        messages = (
            [line.message]
            if style == "journald" and line.unit is None
            else simulate.messages(line, style)
        )
        for i, message in enumerate(messages):
            t = line.time_us
            if capture == "json":
                fields = {
                    "__CURSOR": f"s=0;i={seq:x};t={t:x};x={i}",
                    "__REALTIME_TIMESTAMP": str(t),
                    "_HOSTNAME": line.host,
                    "_SYSTEMD_UNIT": line.unit_name,
                    "SYSLOG_IDENTIFIER": line.identifier,
                    "_TRANSPORT": "journal" if style == "journald" else "stdout",
                    "MESSAGE": message,
                }
                if style == "journald" and line.unit is None:
                    for name, value in simulate.journald_fields(line):
                        fields.setdefault(name, value)
                obj = {name: _json_value(value) for name, value in fields.items()}
                text = json.dumps(obj, ensure_ascii=False)
                out.append(text.encode("utf-8", "surrogateescape") + b"\n")
                continue
            shown = message.replace("\n", "\n    ")
            if capture == "cat":
                text = shown
            elif capture == "with-unit":
                text = f"{format_time(t)[:19].replace('T', ' ')} UTC {line.host} "
                text += f"{line.unit_name}[{line.pid}]: {shown}"
            else:
                text = f"{_iso(t)} {line.host} {line.identifier}[{line.pid}]: {shown}"
            out.append(text.encode("utf-8", "surrogateescape") + b"\n")
    return out


# -- mutations -------------------------------------------------------------------------------

CONTROL = st.sampled_from(
    ["\x1b[2J", "\x1b]0;pwned\x07", "\x00", "\x07", "\u202e", "\x9b", "\r", "\n", "[bold red]",
     "\udcff", "\ufffd", "\x1b", "=", " round=99999", '"', "\\u{1b}"]
)  # fmt: skip


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@st.composite
def lines_mutated(draw: st.DrawFn) -> list[LogLine]:
    """Simulated lines with times swapped, lines dropped or repeated, text made hostile."""
    lines = list(simulated(draw(st.integers(0, 3))))
    n = len(lines)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["swap-time", "drop", "repeat", "inject", "host", "skew"]))
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if op == "swap-time":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i] = dataclasses.replace(line, time_us=lines[j].time_us)
            lines[j] = dataclasses.replace(lines[j], time_us=line.time_us)
        elif op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "repeat":
            lines.insert(draw(st.integers(i, len(lines))), line)
        elif op == "inject":
            at = draw(st.integers(0, len(line.message)))
            text = line.message[:at] + draw(CONTROL) + line.message[at:]
            lines[i] = dataclasses.replace(line, message=text)
        elif op == "host":
            # No whitespace: a text capture could not show where such a host name ends.
            odd = "".join(draw(CONTROL).split())
            lines[i] = dataclasses.replace(line, host=line.host + odd)
        else:  # this host's clock off by up to ten minutes either way
            shift = draw(st.integers(-600, 600)) * US
            lines = [
                dataclasses.replace(x, time_us=x.time_us + shift) if x.host == line.host else x
                for x in lines
            ]
    assert len(lines) >= min(n, 1)
    return lines


@st.composite
def bytes_mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with bytes flipped, inserted or deleted, and maybe its end cut off."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(0, 8))):
        if not buf:
            break
        i = draw(st.integers(0, len(buf) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip":
            buf[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            buf[i:i] = draw(st.one_of(st.binary(max_size=8), CONTROL.map(_raw)))
        else:
            del buf[i : i + draw(st.integers(1, 64))]
    if draw(st.booleans()) and buf:
        del buf[draw(st.integers(0, len(buf))) :]
    return bytes(buf)


# -- the run -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Replayed:
    objects: list[dict[str, Any]]
    text: str


@contextlib.contextmanager
def _isolated() -> Iterator[Path]:
    """A scratch directory as HOME (no user config) and no ZIPNET_ settings."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZIPNET_")}
        with mock.patch.dict(os.environ, {**env, "HOME": home}, clear=True):
            yield Path(home)


def replay(data: bytes, fmt: str | None, instances: Sequence[str] = ()) -> Replayed:
    """`logwatch replay CAPTURE --output json --events all` in process, P = 2 s, D = 1 s."""
    run = replay_unless_refused(data, fmt, instances)
    assert run is not None
    return run


def replay_unless_refused(
    data: bytes, fmt: str | None, instances: Sequence[str] = ()
) -> Replayed | None:
    """What `replay` gives, or None when the capture holds none of the named instances
    (refused, as it should be: a damaged capture may have lost them all)."""
    with _isolated() as home:
        path = home / "capture"
        path.write_bytes(data)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), _refused_if_missing(instances):
            code = run_replay(
                inputs=[str(path)],
                fmt=fmt,
                instances=instances,
                since=None,
                until=None,
                round_period="2s",
                round_deadline="1s",
                expect_clients=None,
                events="all",
                output="json",
                report=False,
                pattern_dirs=[],
                config_path=None,
            )
    if out.getvalue() == "" and instances:
        return None
    assert code == 0
    text = out.getvalue()
    text.encode("utf-8")  # what a real stdout would have to write: no lone surrogate
    return Replayed(json_lines(text), text)


@contextlib.contextmanager
def _refused_if_missing(instances: Sequence[str]) -> Iterator[None]:
    """Lets through only the refusal of a named instance the (damaged) capture lost."""
    try:
        yield
    except InputError as e:
        assert instances and str(e).startswith(f"no entries of instance {instances[0]!r}"), e


def _present(instance: str, data: bytes) -> bool:
    """Whether `instance` is written in the input (as is, or JSON-escaped)."""
    raw = instance.encode("utf-8", "surrogateescape")
    return raw in data or json.dumps(instance)[1:-1].encode() in data


def check_invariants(run: Replayed, data: bytes, named: Sequence[str] = ()) -> None:
    objs = run.objects
    summary = objs[-1]
    assert summary["type"] == "summary"
    assert [o["type"] for o in objs[:-1] if o["type"] == "summary"] == []
    # Every entry counted exactly once.
    parts = sum(summary["matched"].values()) + summary["unmatched"] + summary["errors"]
    assert summary["entries"] == parts + summary["outside"]
    assert summary["errors"] == sum(summary["unreadable"].values())
    # Rounds come from matched finalizations only (a repeat counts once, if at all).
    rounds = sum(i["rounds"] for i in summary["instances"].values())
    assert rounds <= summary["matched"].get("round_finalized", 0)
    # Only instances the input holds (or the operator named) are spoken of.
    allowed = {*named, "unknown"}
    for o in objs:
        instance = o.get("instance")
        if instance is not None:
            assert instance in allowed or _present(instance, data), instance
    for name in summary["instances"]:
        assert name in allowed or _present(name, data), name
    # Alert times never go back; no negative durations.
    alerts = [o for o in objs if o["type"] == "alert"]
    assert [a["at"] for a in alerts] == sorted(a["at"] for a in alerts)
    for a in alerts:
        assert a["since"] <= a["at"]
        # Durations (every *_s value but a clock's offset, which is signed: < 0 behind).
        assert all(v >= 0 for k, v in a["values"].items() if k.endswith("_s") and k != "offset_s")
    # Each alert's transitions in lifecycle order.
    # An alert is told apart by its labels, as Alertmanager does (clock_skew: per host).
    state: dict[tuple[str, str, str], str] = {}
    allowed_from = {
        "pending": ("inactive",),
        "firing": ("inactive", "pending"),
        "resolved": ("pending", "firing"),
    }
    for a in alerts:
        key = (a["instance"], a["alert"], json.dumps(a["labels"], sort_keys=True))
        assert state.get(key, "inactive") in allowed_from[a["state"]], (key, a["state"])
        state[key] = "inactive" if a["state"] == "resolved" else a["state"]
    for name, info in summary["instances"].items():
        firing = {alert for (inst, alert, _), s in state.items() if inst == name and s == "firing"}
        assert set(info["firing"]) == firing


# -- the properties ------------------------------------------------------------------------


@PROPERTY
@given(
    lines=lines_mutated(),
    style=st.sampled_from(STYLES),
    capture=st.sampled_from(CAPTURES),
    data=st.data(),
)
def test_mutated_captures_run_through_with_every_entry_counted(
    lines: list[LogLine], style: str, capture: str, data: st.DataObject
) -> None:
    chunks = entries(lines, style, capture)
    # Whole entries repeated or dropped, as overlapping or lossy captures have them.
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(chunks) - 1))
        if data.draw(st.booleans()):
            chunks.insert(data.draw(st.integers(0, len(chunks))), chunks[i])
        elif len(chunks) > 1:
            del chunks[i]
    raw = data.draw(bytes_mutated(b"".join(chunks)))
    named = data.draw(st.sampled_from([(), ("acme-mainnet",)]))
    if capture in ("cat", "short-iso-precise") and not named:
        named = ("acme-mainnet",) if data.draw(st.booleans()) else ()
    run = replay_unless_refused(raw, capture, named)
    if run is None:
        return  # the damage left none of the named instance's entries: refused
    check_invariants(run, raw, named)
    if raw == b"".join(chunks) and capture != "cat":
        # Undamaged bytes: every line was read.
        assert run.objects[-1]["errors"] == 0


_PIECES = st.sampled_from(
    ["2026-11-25T10:00:00.000000Z", "  INFO ", " WARN ", "zipnet::server::round: ",
     "round finalized", "opening round", " round=", " participants=", "7", "99999", "-1",
     "\x1b[31m", "\x1b]0;t\x07", "\x00", "\u202e", "{", "}", '"', "raft{a=1}:", "=", " "]
)  # fmt: skip
UNITS = st.sampled_from(
    ["zipnet-server@acme-mainnet.service", "zipnet-client@acme-mainnet.service",
     "zipnet-aggregator@preview-alpha.service", "zipnet-server@x\\x2dy.service",
     "evil.service", "zipnet-server@.service", ""]
)  # fmt: skip
ENTRY = st.fixed_dictionaries(
    {
        "MESSAGE": st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join),
        "_SYSTEMD_UNIT": UNITS,
        "_HOSTNAME": st.sampled_from(["srv1", "srv2", "client1", "\x1b]0;h\x07", ""]),
    },
    optional={
        "TARGET": st.sampled_from(["zipnet::server::round", "zipnet::client", ""]),
        "F_ROUND": st.one_of(st.integers(-3, 10**30).map(str), st.text(max_size=3)),
        "F_PARTICIPANTS": st.integers(-3, 50).map(str),
        "PRIORITY": st.sampled_from(["3", "5", "x"]),
        "_TRANSPORT": st.sampled_from(["stdout", "journal"]),
    },
)


@PROPERTY
@given(
    random=st.lists(
        st.tuples(ENTRY, st.integers(-(2**40), 2**40), st.booleans()), min_size=1, max_size=60
    )
)
def test_random_entries_run_through_with_every_entry_counted(
    random: list[tuple[dict[str, str], int, bool]],
) -> None:
    # Export text carries any bytes: each entry exactly as drawn, its time anywhere in
    # ±12 days of the simulated start, or none at all.
    out = []
    for seq, (fields, offset, timed) in enumerate(random, 1):
        chunk = simulate.export_field("__CURSOR", f"s=1;i={seq:x}")
        if timed:
            chunk += simulate.export_field("__REALTIME_TIMESTAMP", str(T0 + offset))
        for name, value in fields.items():
            chunk += simulate.export_field(name, value)
        out.append(chunk + b"\n")
    raw = b"".join(out)
    run = replay(raw, "export")
    check_invariants(run, raw)
    assert run.objects[-1]["entries"] == len(random)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=lines_mutated(), style=st.sampled_from(STYLES), data=st.data())
def test_the_same_damaged_input_gives_the_same_output(
    lines: list[LogLine], style: str, data: st.DataObject
) -> None:
    raw = data.draw(bytes_mutated(simulate.export_bytes(lines, style)))
    assert replay(raw, "export").text == replay(raw, "export").text


def test_the_strategies_reach_what_they_claim() -> None:
    # A property is only as good as its inputs: the undamaged base holds rounds, alerts and
    # both instances, so the invariants above are checked on real output.
    lines = list(simulated(0))
    for capture in CAPTURES:
        raw = b"".join(entries(lines, "full", capture))
        unnamed = capture in ("cat", "short-iso-precise")  # no unit names in the capture
        named = ("acme-mainnet",) if unnamed else ()
        run = replay(raw, capture, named)
        check_invariants(run, raw, named)
        summary = run.objects[-1]
        assert summary["errors"] == 0, (capture, summary["unreadable"])
        assert any(o["type"] == "alert" for o in run.objects), capture
        rounds = {name: info["rounds"] for name, info in summary["instances"].items()}
        if unnamed:
            assert rounds["acme-mainnet"] >= 7, capture
        else:
            assert rounds == {"acme-mainnet": 7, "preview-alpha": 5}, capture
