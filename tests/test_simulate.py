"""The simulator: renderings exactly as LOGS.md shows them, export text, scripted scenarios."""

from __future__ import annotations

import io
import itertools
import json
from collections import Counter
from pathlib import Path

from conftest import Captures

from logwatch import simulate
from logwatch.records import Entry
from logwatch.simulate import Display, LogLine, Scenario
from logwatch.sources.export import read_export
from logwatch.times import US

T0 = 1_795_600_800_123_456  # 2026-11-25T10:00:00.123456Z

FINALIZED = LogLine(
    time_us=T0,
    instance="acme-mainnet",
    role="server",
    host="srv1",
    level="INFO",
    target="zipnet::server::round",
    message="round finalized",
    fields=(("round", 812), ("participants", 37), ("bytes", 16384)),
)
RIVAL = LogLine(
    time_us=T0,
    instance="acme-mainnet",
    role="server",
    host="srv2",
    level="WARN",
    target="mosaik::groups::raft::role",
    message="rival group leader detected",
    fields=(("term", Display("7")), ("group", Display("a1b2c3d4e5"))),
    spans=((("raft", (("group", Display("a1b2c3d4e5")), ("term", 7)))), ("append", ())),
)


def test_full_is_the_line_logs_md_shows() -> None:
    assert simulate.render(FINALIZED, "full") == (
        "2026-11-25T10:00:00.123456Z  INFO zipnet::server::round: "
        "round finalized round=812 participants=37 bytes=16384"
    )


def test_full_ansi_is_coloured_like_logs_md() -> None:
    assert simulate.render(FINALIZED, "full-ansi").startswith(
        "\x1b[2m2026-11-25T10:00:00.123456Z\x1b[0m \x1b[32m INFO\x1b[0m "
        "\x1b[2mzipnet::server::round\x1b[0m\x1b[2m:\x1b[0m round finalized "
        "\x1b[3mround\x1b[0m\x1b[2m=\x1b[0m812 "
    )


def test_levels_are_padded_and_coloured() -> None:
    warn = simulate.render(RIVAL, "full-ansi")
    assert "\x1b[33m WARN\x1b[0m" in warn
    error = LogLine(T0, "i", "client", "c1", "ERROR", "zipnet::client", "boom")
    assert (
        simulate.render(error, "full") == "2026-11-25T10:00:00.123456Z ERROR zipnet::client: boom"
    )


def test_full_puts_spans_before_the_target() -> None:
    assert simulate.render(RIVAL, "full") == (
        "2026-11-25T10:00:00.123456Z  WARN raft{group=a1b2c3d4e5 term=7}:append: "
        "mosaik::groups::raft::role: rival group leader detected term=7 group=a1b2c3d4e5"
    )


def test_compact_names_spans_and_appends_their_fields() -> None:
    assert simulate.render(RIVAL, "compact") == (
        "2026-11-25T10:00:00.123456Z  WARN raft:append: mosaik::groups::raft::role: "
        "rival group leader detected term=7 group=a1b2c3d4e5 group=a1b2c3d4e5 term=7"
    )


def test_string_values_are_quoted_with_rust_escapes_display_values_bare() -> None:
    line = LogLine(
        T0,
        "i",
        "client",
        "c1",
        "WARN",
        "zipnet::client",
        "registration failed",
        fields=(("error", Display("ticket expired")), ("s", 'a "b"\n\x1b')),
    )
    assert simulate.render(line, "full").endswith(
        'registration failed error=ticket expired s="a \\"b\\"\\n\\u{1b}"'
    )


def test_json_nests_fields_and_json_flat_does_not() -> None:
    nested = json.loads(simulate.render(RIVAL, "json"))
    assert list(nested) == ["timestamp", "level", "fields", "target", "span", "spans"]
    assert nested["fields"] == {
        "message": "rival group leader detected",
        "term": "7",
        "group": "a1b2c3d4e5",
    }
    assert nested["spans"] == [
        {"group": "a1b2c3d4e5", "term": 7, "name": "raft"},
        {"name": "append"},
    ]
    flat = json.loads(simulate.render(FINALIZED, "json-flat"))
    assert flat == {
        "timestamp": "2026-11-25T10:00:00.123456Z",
        "level": "INFO",
        "message": "round finalized",
        "round": 812,
        "participants": 37,
        "bytes": 16384,
        "target": "zipnet::server::round",
    }


def test_journald_fields_are_prefixed_and_repeat_across_spans() -> None:
    fields = simulate.journald_fields(RIVAL)
    names = Counter(name for name, _ in fields)
    assert names["F_GROUP"] == 2 and names["F_TERM"] == 2 and names["SPAN_NAME"] == 2
    values = dict(fields)
    assert values["MESSAGE"] == "rival group leader detected"
    assert values["PRIORITY"] == "4"
    assert values["TARGET"] == "mosaik::groups::raft::role"
    assert values["SYSLOG_IDENTIFIER"] == "zipnet-server"
    assert values["CODE_FILE"].endswith(".rs") and values["CODE_LINE"].isdigit()
    priorities = {
        level: dict(simulate.journald_fields(LogLine(T0, "i", "server", "s", level, "t", "m")))
        for level in ("ERROR", "WARN", "INFO", "DEBUG", "TRACE")
    }
    assert {k: v["PRIORITY"] for k, v in priorities.items()} == {
        "ERROR": "3",
        "WARN": "4",
        "INFO": "5",
        "DEBUG": "6",
        "TRACE": "7",
    }


def test_a_multi_line_message_becomes_several_stdout_entries() -> None:
    line = LogLine(T0, "i", "server", "s", "ERROR", "zipnet::server", "failed:\n  cause\nend")
    assert simulate.messages(line, "full") == [
        "2026-11-25T10:00:00.123456Z ERROR zipnet::server: failed:",
        "  cause",
        "end",
    ]
    assert simulate.entry_count(line, "full") == 3
    assert simulate.entry_count(line, "json") == 1
    assert simulate.entry_count(line, "journald") == 1


def _parse(data: bytes) -> list[Entry]:
    out = list(read_export(io.BufferedReader(io.BytesIO(data)), "test"))  # type: ignore[arg-type]
    assert all(isinstance(e, Entry) for e in out)
    return out  # type: ignore[return-value]


def test_export_carries_the_tracing_time_and_binary_safe_values() -> None:
    data = simulate.to_export(FINALIZED, "full-ansi", 7)
    assert b"\nMESSAGE\n" in data  # ESC forces the binary form
    assert b"__REALTIME_TIMESTAMP=1795600800123456\n" in data
    (entry,) = _parse(data)
    assert entry.time_us == T0
    assert entry.fields["MESSAGE"] == simulate.render(FINALIZED, "full-ansi")
    assert entry.fields["_SYSTEMD_UNIT"] == "zipnet-server@acme-mainnet.service"
    assert entry.fields["SYSLOG_IDENTIFIER"] == "zipnet-server"
    assert entry.fields["_TRANSPORT"] == "stdout"
    assert entry.fields["PRIORITY"] == "6"
    assert entry.cursor is not None and ";i=7;" in entry.cursor


def test_export_of_the_journald_style_is_native() -> None:
    (entry,) = _parse(simulate.to_export(RIVAL, "journald", 1))
    assert entry.fields["_TRANSPORT"] == "journal"
    assert entry.fields["MESSAGE"] == "rival group leader detected"
    assert entry.multi["F_GROUP"] == ("a1b2c3d4e5", "a1b2c3d4e5")
    assert entry.multi["F_TERM"] == ("7", "7")


def test_export_field_forms() -> None:
    assert simulate.export_field("A", "plain\ttext") == b"A=plain\ttext\n"
    assert simulate.export_field("A", "x\ny") == b"A\n\x03\x00\x00\x00\x00\x00\x00\x00x\ny\n"
    assert simulate.export_field("A", "bad \udcff") == b"A\n\x05" + bytes(7) + b"bad \xff\n"


def test_export_stream_numbers_multi_line_entries_in_order() -> None:
    lines = [
        LogLine(T0, "i", "server", "s", "INFO", "t", "one\ntwo"),
        LogLine(T0 + 1, "i", "server", "s", "INFO", "t", "three"),
    ]
    entries = _parse(b"".join(simulate.export_stream(lines, "full")))
    assert [e.cursor.split(";")[1] for e in entries if e.cursor] == ["i=1", "i=2", "i=3"]
    assert [e.fields["MESSAGE"][-5:] for e in entries] == [": one", "two", "three"]


def test_journal_remote_accepts_every_style(captures: Captures, tmp_path: Path) -> None:
    lines = Scenario(clients=2).start().rounds(2).rival_leader().lines()
    for style in simulate.STYLES:
        directory = captures.journal(lines, style)
        assert len(list(directory.glob("remote-*.journal"))) == 3 + 1 + 2


# --- scenarios ---------------------------------------------------------------------------


def _finalized(lines: list[LogLine]) -> list[tuple[str, int, int]]:
    return [
        (line.host, dict(line.fields)["round"], dict(line.fields)["participants"])  # type: ignore[misc]
        for line in lines
        if line.message == "round finalized"
    ]


def test_scenarios_are_deterministic_and_time_ordered() -> None:
    a = Scenario(seed=3).start().rounds(5).lines()
    b = Scenario(seed=3).start().rounds(5).lines()
    c = Scenario(seed=4).start().rounds(5).lines()
    assert a == b
    assert a != c
    assert [x.time_us for x in a] == sorted(x.time_us for x in a)


def test_a_healthy_instance() -> None:
    lines = Scenario("acme-mainnet", servers=3, clients=5).start().rounds(4).lines()
    messages = Counter(line.message for line in lines)
    assert messages["registration submitted"] == messages["registration accepted"] == 5
    assert messages["registering client"] == 5
    assert messages["opening round"] == messages["round finalized"] == 4
    assert messages["submitted partial"] == 3 * 4
    assert messages["sealed envelope"] == 5 * 4
    assert messages["forwarded aggregate"] == messages["applying SubmitAggregate"] == 4
    assert messages["bond established"] == 3
    assert _finalized(lines) == [("srv1", r, 5) for r in (1, 2, 3, 4)]
    roles = {line.host: line.role for line in lines}
    assert roles["srv2"] == "server" and roles["agg1"] == "aggregator"
    assert roles["client3"] == "client"
    assert {line.instance for line in lines} == {"acme-mainnet"}


def test_rounds_follow_the_period_and_silence_leaves_a_gap() -> None:
    lines = Scenario(period_s=2.0).start().rounds(3).silence(30).rounds(2).lines()
    times = [line.time_us for line in lines if line.message == "round finalized"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:2] == [2 * US, 2 * US]
    assert gaps[2] == 32 * US
    assert _finalized(lines)[-1][1] == 5


def test_silence_with_chatter_keeps_the_instance_writing() -> None:
    lines = Scenario().rounds(1).silence(10, chatter=True).lines()
    last = max(x.time_us for x in lines if x.message == "round finalized")
    assert sum(1 for x in lines if x.time_us > last) >= 9


def test_split_brain_and_forks() -> None:
    own = _finalized(Scenario().rounds(2).split_brain("srv2", 3, other_first_round=500).lines())
    assert {(h, r) for h, r, _ in own if h == "srv2"} == {
        ("srv2", 500),
        ("srv2", 501),
        ("srv2", 502),
    }
    same = _finalized(Scenario().rounds(1).split_brain("srv3", 2, same_rounds=True).lines())
    assert Counter(r for _, r, _ in same) == {1: 1, 2: 2, 3: 2}
    twice = _finalized(Scenario().rounds(3).finalize_by("srv2", 3).lines())
    assert twice[-1][:2] == ("srv2", 3) and twice[-2][:2] == ("srv1", 3)


def test_failover_moves_the_leadership() -> None:
    lines = Scenario().start().rounds(2).failover("srv2").rounds(2).lines()
    assert [h for h, _, _ in _finalized(lines)] == ["srv1", "srv1", "srv2", "srv2"]
    warned = {x.host for x in lines if x.message.startswith("heartbeat failed")}
    assert warned == {"srv2", "srv3"}
    after = [x for x in lines if x.message == "submitted partial"][-2:]
    assert "srv1" not in {x.host for x in after}


def test_incidents_participants_rival_jump() -> None:
    zero = Scenario().start().rounds(2, participants=0).lines()
    assert {p for _, _, p in _finalized(zero)} == {0}
    assert any(x.message == "sealed envelope" for x in zero)
    rival = list(Scenario().rival_leader("srv1").lines())
    assert rival[0].message == "rival group leader detected" and rival[0].level == "WARN"
    assert rival[0].spans[0][0] == "raft"
    jumped = _finalized(Scenario().rounds(3).jump(2).rounds(2).lines())
    assert [r for _, r, _ in jumped] == [1, 2, 3, 2, 3]
    failed = Scenario(clients=2).register(fail=True).lines()
    assert Counter(x.message for x in failed)["registration failed"] == 2


def test_merge_interleaves_instances_sharing_hosts() -> None:
    merged = simulate.merge(
        Scenario("acme-mainnet").rounds(3).lines(), Scenario("preview-alpha").rounds(3).lines()
    )
    assert {x.instance for x in merged} == {"acme-mainnet", "preview-alpha"}
    assert [x.time_us for x in merged] == sorted(x.time_us for x in merged)
    assert {x.unit_name for x in merged if x.host == "srv1"} == {
        "zipnet-server@acme-mainnet.service",
        "zipnet-server@preview-alpha.service",
    }


def test_noise_comes_from_unrelated_units() -> None:
    lines = list(simulate.noise(T0, 200, per_second=100))
    assert len(lines) == 200
    assert not any(x.unit_name.startswith("zipnet") for x in lines)
    assert [x.time_us for x in lines] == sorted(x.time_us for x in lines)
    assert 1 * US < lines[-1].time_us - T0 < 4 * US
    assert simulate.render(lines[0], "full-ansi") == lines[0].message
    (entry,) = _parse(simulate.to_export(lines[0], "full", 1))
    assert entry.fields["_TRANSPORT"] == "syslog"
    assert entry.fields["_SYSTEMD_UNIT"] == lines[0].unit


def test_crash_and_stuck_rounds() -> None:
    lines = Scenario(clients=2).rounds(1).crash("agg1").crash("client1").rounds(2).lines()
    late = [x for x in lines if dict(x.fields).get("round") in (2, 3)]
    assert "forwarded aggregate" not in {x.message for x in late}
    assert {x.host for x in late if x.message == "sealed envelope"} == {"client2"}
    assert _finalized(lines)[-1] == ("srv1", 3, 1)
    stuck = Scenario().rounds(2).stuck_round(20).rounds(1).lines()
    opened = [dict(x.fields)["round"] for x in stuck if x.message == "opening round"]
    assert opened == [1, 2, 3, 3]
    assert [r for _, r, _ in _finalized(stuck)] == [1, 2, 3]
    finals = [x.time_us for x in stuck if x.message == "round finalized"]
    assert finals[-1] - finals[-2] > 20 * US
