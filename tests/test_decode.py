"""Tests for logwatch.decode: every rendering in LOGS.md, who wrote it, time, hostile input."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch import simulate
from logwatch.decode import (
    NO_TIME,
    UNKNOWN_INSTANCE,
    Decoder,
    DecodeSettings,
    parse_json,
    parse_text,
    strip_ansi,
)
from logwatch.records import Entry, Record, Unreadable
from logwatch.simulate import Display, LogLine

T = 1_795_600_800_123_456  # 2026-11-25T10:00:00.123456Z
TS = "2026-11-25T10:00:00.123456Z"
# The SGR codes tracing-subscriber writes: dimmed, reset, italic, bold, level colours.
D, R, IT, B = "\x1b[2m", "\x1b[0m", "\x1b[3m", "\x1b[1m"
GREEN, YELLOW = "\x1b[32m", "\x1b[33m"
SERVER = "zipnet::server::round"
RAFT = "mosaik::groups::raft::role"
BOND = "mosaik::groups::bond::worker"

Expected = tuple[str, str, str, dict[str, str]]  # message, target, level, fields


def line(message: str, **fields: str) -> Entry:
    """An entry as an `-o cat` capture (or a pattern example) hands it over."""
    return Entry(None, False, {"MESSAGE": message, **fields})


def native(message: str, level: str, target: str, *pairs: tuple[str, str]) -> Entry:
    """An entry as tracing-journald writes it; a repeated name keeps every value."""
    fields: dict[str, str] = {
        "MESSAGE": message,
        "PRIORITY": level,
        "TARGET": target,
        "CODE_FILE": "src/round.rs",
        "CODE_LINE": "42",
        "SYSLOG_IDENTIFIER": "zipnet-server",
        "_TRANSPORT": "journal",
    }
    multi: dict[str, tuple[str, ...]] = {}
    for name, value in pairs:
        if name in fields:
            multi[name] = (*multi.get(name, (fields[name],)), value)
        else:
            fields[name] = value
    return Entry(T, True, fields, multi=multi)


def decode(entry: Entry, settings: DecodeSettings | None = None) -> Record:
    """The record of one line read alone (as a pattern's example is)."""
    record = Decoder(replace(settings or DecodeSettings(), untimed_us=0))(entry)
    assert isinstance(record, Record), record
    return record


def event_of(record: Record) -> Expected:
    return record.message, record.target or "", record.level or "", dict(record.fields)


# --- every event of LOGS.md in every rendering, written out by hand ------------------------

ROUND_FINALIZED: Expected = (
    "round finalized", SERVER, "INFO", {"round": "812", "participants": "37", "bytes": "16384"},
)  # fmt: skip
ROUND_FINALIZED_RENDERINGS = [
    line(
        f"{TS}  INFO zipnet::server::round: round finalized round=812 participants=37 "
        "bytes=16384"
    ),
    line(
        f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::server::round{R}{D}:{R} round finalized "
        f"{IT}round{R}{D}={R}812 {IT}participants{R}{D}={R}37 {IT}bytes{R}{D}={R}16384"
    ),
    line(
        '{"timestamp":"2026-11-25T10:00:00.123456Z","level":"INFO","fields":{"message":'
        '"round finalized","round":812,"participants":37,"bytes":16384},'
        '"target":"zipnet::server::round"}'
    ),
    line(
        '{"timestamp":"2026-11-25T10:00:00.123456Z","level":"INFO","message":"round finalized",'
        '"round":"812","participants":"37","bytes":"16384","target":"zipnet::server::round"}'
    ),
    native(
        "round finalized", "5", SERVER,
        ("F_ROUND", "812"), ("F_PARTICIPANTS", "37"), ("F_BYTES", "16384"),
    ),
]  # fmt: skip

SIMPLE_EVENTS: list[tuple[Expected, list[Entry]]] = [
    (
        ("opening round", SERVER, "INFO", {"round": "812"}),
        [
            line(f"{TS}  INFO zipnet::server::round: opening round round=812"),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::server::round{R}{D}:{R} opening round "
                f"{IT}round{R}{D}={R}812"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":"opening round",'
                f'"round":812}},"target":"zipnet::server::round"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"opening round","round":812,'
                f'"target":"zipnet::server::round"}}'
            ),
            native("opening round", "5", SERVER, ("F_ROUND", "812")),
        ],
    ),
    (
        ("submitted partial", SERVER, "INFO", {"round": "812"}),
        [
            line(f"{TS}  INFO zipnet::server::round: submitted partial round=812"),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::server::round{R}{D}:{R} "
                f"submitted partial {IT}round{R}{D}={R}812"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":"submitted partial",'
                f'"round":812}},"target":"zipnet::server::round"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"submitted partial",'
                f'"round":"812","target":"zipnet::server::round"}}'
            ),
            native("submitted partial", "5", SERVER, ("F_ROUND", "812")),
        ],
    ),
    (
        ("applying SubmitAggregate", SERVER, "INFO", {"round": "812", "clients": "37"}),
        [
            line(
                f"{TS}  INFO zipnet::server::round: applying SubmitAggregate round=812 clients=37"
            ),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::server::round{R}{D}:{R} applying "
                f"SubmitAggregate {IT}round{R}{D}={R}812 {IT}clients{R}{D}={R}37"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":'
                f'"applying SubmitAggregate","round":812,"clients":37}},'
                f'"target":"zipnet::server::round"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"applying SubmitAggregate",'
                f'"round":812,"clients":37,"target":"zipnet::server::round"}}'
            ),
            native(
                "applying SubmitAggregate", "5", SERVER, ("F_ROUND", "812"), ("F_CLIENTS", "37")
            ),
        ],
    ),
    (ROUND_FINALIZED, ROUND_FINALIZED_RENDERINGS),
    (
        (
            "heartbeat failed: too many missed heartbeats",
            BOND,
            "WARN",
            {"network": "0f1e2d3c4b", "peer": "9c1d2e3f4a", "group": "a1b2c3d4e5"},
        ),
        [
            line(
                f"{TS}  WARN mosaik::groups::bond::worker: heartbeat failed: too many missed "
                "heartbeats network=0f1e2d3c4b peer=9c1d2e3f4a group=a1b2c3d4e5"
            ),
            line(
                f"{D}{TS}{R} {YELLOW} WARN{R} {D}mosaik::groups::bond::worker{R}{D}:{R} "
                f"heartbeat failed: too many missed heartbeats {IT}network{R}{D}={R}0f1e2d3c4b "
                f"{IT}peer{R}{D}={R}9c1d2e3f4a {IT}group{R}{D}={R}a1b2c3d4e5"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"WARN","fields":{{"message":"heartbeat failed: '
                f'too many missed heartbeats","network":"0f1e2d3c4b","peer":"9c1d2e3f4a",'
                f'"group":"a1b2c3d4e5"}},"target":"mosaik::groups::bond::worker"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"WARN","message":"heartbeat failed: too many '
                f'missed heartbeats","network":"0f1e2d3c4b","peer":"9c1d2e3f4a",'
                f'"group":"a1b2c3d4e5","target":"mosaik::groups::bond::worker"}}'
            ),
            native(
                "heartbeat failed: too many missed heartbeats",
                "4",
                BOND,
                ("F_NETWORK", "0f1e2d3c4b"),
                ("F_PEER", "9c1d2e3f4a"),
                ("F_GROUP", "a1b2c3d4e5"),
            ),
        ],
    ),
    (
        ("bond established", BOND, "INFO", {"group": "a1b2c3d4e5", "network": "0f1e2d3c4b"}),
        [
            line(
                f"{TS}  INFO mosaik::groups::bond::worker: bond established group=a1b2c3d4e5 "
                "network=0f1e2d3c4b"
            ),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}mosaik::groups::bond::worker{R}{D}:{R} bond "
                f"established {IT}group{R}{D}={R}a1b2c3d4e5 {IT}network{R}{D}={R}0f1e2d3c4b"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":"bond established",'
                f'"group":"a1b2c3d4e5","network":"0f1e2d3c4b"}},'
                f'"target":"mosaik::groups::bond::worker"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"bond established",'
                f'"group":"a1b2c3d4e5","network":"0f1e2d3c4b",'
                f'"target":"mosaik::groups::bond::worker"}}'
            ),
            native(
                "bond established",
                "5",
                BOND,
                ("F_GROUP", "a1b2c3d4e5"),
                ("F_NETWORK", "0f1e2d3c4b"),
            ),
        ],
    ),
    (
        ("registering client", "zipnet::aggregator", "INFO", {"client": "5be0c2a9d1"}),
        [
            line(f"{TS}  INFO zipnet::aggregator: registering client client=5be0c2a9d1"),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::aggregator{R}{D}:{R} registering client "
                f"{IT}client{R}{D}={R}5be0c2a9d1"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":"registering client",'
                f'"client":"5be0c2a9d1"}},"target":"zipnet::aggregator"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"registering client",'
                f'"client":"5be0c2a9d1","target":"zipnet::aggregator"}}'
            ),
            native("registering client", "5", "zipnet::aggregator", ("F_CLIENT", "5be0c2a9d1")),
        ],
    ),
    (
        ("forwarded aggregate", "zipnet::aggregator", "INFO", {"round": "812", "clients": "37"}),
        [
            line(f"{TS}  INFO zipnet::aggregator: forwarded aggregate round=812 clients=37"),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::aggregator{R}{D}:{R} forwarded aggregate "
                f"{IT}round{R}{D}={R}812 {IT}clients{R}{D}={R}37"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":"forwarded aggregate",'
                f'"round":812,"clients":37}},"target":"zipnet::aggregator"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"forwarded aggregate",'
                f'"round":"812","clients":"37","target":"zipnet::aggregator"}}'
            ),
            native(
                "forwarded aggregate",
                "5",
                "zipnet::aggregator",
                ("F_ROUND", "812"),
                ("F_CLIENTS", "37"),
            ),
        ],
    ),
    (
        ("registration submitted", "zipnet::client", "INFO", {}),
        [
            line(f"{TS}  INFO zipnet::client: registration submitted"),
            line(f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::client{R}{D}:{R} registration submitted"),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":'
                f'"registration submitted"}},"target":"zipnet::client"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"registration submitted",'
                f'"target":"zipnet::client"}}'
            ),
            native("registration submitted", "5", "zipnet::client"),
        ],
    ),
    (
        ("registration accepted", "zipnet::client", "INFO", {"client": "5be0c2a9d1"}),
        [
            line(f"{TS}  INFO zipnet::client: registration accepted client=5be0c2a9d1"),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::client{R}{D}:{R} registration accepted "
                f"{IT}client{R}{D}={R}5be0c2a9d1"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":'
                f'"registration accepted","client":"5be0c2a9d1"}},"target":"zipnet::client"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"registration accepted",'
                f'"client":"5be0c2a9d1","target":"zipnet::client"}}'
            ),
            native("registration accepted", "5", "zipnet::client", ("F_CLIENT", "5be0c2a9d1")),
        ],
    ),
    (
        ("registration failed", "zipnet::client", "WARN", {"error": "ticket expired"}),
        [
            line(f"{TS}  WARN zipnet::client: registration failed error=ticket expired"),
            line(
                f"{D}{TS}{R} {YELLOW} WARN{R} {D}zipnet::client{R}{D}:{R} registration failed "
                f"{IT}error{R}{D}={R}ticket expired"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"WARN","fields":{{"message":"registration failed",'
                f'"error":"ticket expired"}},"target":"zipnet::client"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"WARN","message":"registration failed",'
                f'"error":"ticket expired","target":"zipnet::client"}}'
            ),
            native("registration failed", "4", "zipnet::client", ("F_ERROR", "ticket expired")),
        ],
    ),
    (
        ("sealed envelope", "zipnet::client", "INFO", {"round": "812", "bytes": "16384"}),
        [
            line(f"{TS}  INFO zipnet::client: sealed envelope round=812 bytes=16384"),
            line(
                f"{D}{TS}{R} {GREEN} INFO{R} {D}zipnet::client{R}{D}:{R} sealed envelope "
                f"{IT}round{R}{D}={R}812 {IT}bytes{R}{D}={R}16384"
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","fields":{{"message":"sealed envelope",'
                f'"round":812,"bytes":16384}},"target":"zipnet::client"}}'
            ),
            line(
                f'{{"timestamp":"{TS}","level":"INFO","message":"sealed envelope","round":812,'
                f'"bytes":16384,"target":"zipnet::client"}}'
            ),
            native(
                "sealed envelope", "5", "zipnet::client", ("F_ROUND", "812"), ("F_BYTES", "16384")
            ),
        ],
    ),
]

RIVAL: Expected = (
    "rival group leader detected", RAFT, "WARN",
    {
        "term": "7", "other_leader": "3fa9c0d1e2", "other_leader_log": "(t:7,i:42)",
        "local_log": "(t:7,i:40)", "group": "a1b2c3d4e5", "network": "0f1e2d3c4b",
    },
)  # fmt: skip
RIVAL_FIELDS = (
    "term=7 other_leader=3fa9c0d1e2 other_leader_log=(t:7,i:42) local_log=(t:7,i:40) "
    "group=a1b2c3d4e5 network=0f1e2d3c4b"
)
RIVAL_JSON_FIELDS = (
    '"term":"7","other_leader":"3fa9c0d1e2","other_leader_log":"(t:7,i:42)",'
    '"local_log":"(t:7,i:40)","group":"a1b2c3d4e5","network":"0f1e2d3c4b"'
)
RIVAL_RENDERINGS = [
    # full, without and with spans
    line(f"{TS}  WARN mosaik::groups::raft::role: rival group leader detected {RIVAL_FIELDS}"),
    line(
        f"{TS}  WARN raft{{group=a1b2c3d4e5 term=7}}:append: mosaik::groups::raft::role: "
        f"rival group leader detected {RIVAL_FIELDS}"
    ),
    # full with colour and spans
    line(
        f"{D}{TS}{R} {YELLOW} WARN{R} {B}raft{R}{B}{{{R}{IT}group{R}{D}={R}a1b2c3d4e5 "
        f"{IT}term{R}{D}={R}7{B}}}{R}{D}:{R}{B}append{R}{D}:{R} "
        f"{D}mosaik::groups::raft::role{R}{D}:{R} rival group leader detected "
        f"{IT}term{R}{D}={R}7 {IT}other_leader{R}{D}={R}3fa9c0d1e2 "
        f"{IT}other_leader_log{R}{D}={R}(t:7,i:42) {IT}local_log{R}{D}={R}(t:7,i:40) "
        f"{IT}group{R}{D}={R}a1b2c3d4e5 {IT}network{R}{D}={R}0f1e2d3c4b"
    ),
    # compact: span names, event fields, then the span's fields again
    line(
        f"{TS}  WARN raft:append: mosaik::groups::raft::role: rival group leader detected "
        f"{RIVAL_FIELDS} group=a1b2c3d4e5 term=7"
    ),
    line(
        f'{{"timestamp":"{TS}","level":"WARN","fields":{{"message":"rival group leader '
        f'detected",{RIVAL_JSON_FIELDS}}},"target":"mosaik::groups::raft::role",'
        f'"span":{{"group":"a1b2c3d4e5","term":7,"name":"append"}},'
        f'"spans":[{{"group":"a1b2c3d4e5","term":7,"name":"raft"}},{{"name":"append"}}]}}'
    ),
    line(
        f'{{"timestamp":"{TS}","level":"WARN","message":"rival group leader detected",'
        f'{RIVAL_JSON_FIELDS},"target":"mosaik::groups::raft::role"}}'
    ),
    native(
        "rival group leader detected", "4", RAFT,
        ("SPAN_NAME", "raft"), ("F_GROUP", "a1b2c3d4e5"), ("F_TERM", "7"),
        ("SPAN_NAME", "append"),
        ("F_TERM", "7"), ("F_OTHER_LEADER", "3fa9c0d1e2"), ("F_OTHER_LEADER_LOG", "(t:7,i:42)"),
        ("F_LOCAL_LOG", "(t:7,i:40)"), ("F_GROUP", "a1b2c3d4e5"), ("F_NETWORK", "0f1e2d3c4b"),
    ),
]  # fmt: skip

ALL_EVENTS = [*SIMPLE_EVENTS, (RIVAL, RIVAL_RENDERINGS)]
CASES = [
    pytest.param(entry, expected, id=f"{expected[0][:20]}-{i}")
    for expected, entries in ALL_EVENTS
    for i, entry in enumerate(entries)
]


@pytest.mark.parametrize(("entry", "expected"), CASES)
def test_every_rendering_gives_the_same_event(entry: Entry, expected: Expected) -> None:
    assert event_of(decode(entry)) == expected


def test_every_logs_md_event_is_covered() -> None:
    messages = {expected[0] for expected, _ in ALL_EVENTS}
    assert len(messages) == 13
    assert all(len(entries) >= 5 for _, entries in ALL_EVENTS)


@pytest.mark.parametrize(
    "entry", [e for _, entries in ALL_EVENTS for e in entries if e.time_us is None]
)
def test_text_renderings_carry_the_tracing_time(entry: Entry) -> None:
    assert decode(entry).time_us == T


# --- span fields --------------------------------------------------------------------------

SPAN_FILL: Expected = (
    "replicated log entries", RAFT, "DEBUG", {"entries": "2", "group": "a1b2c3d4e5", "term": "7"},
)  # fmt: skip


@pytest.mark.parametrize(
    "entry",
    [
        line(
            f"{TS} DEBUG raft{{group=a1b2c3d4e5 term=7}}:append: mosaik::groups::raft::role: "
            "replicated log entries entries=2"
        ),
        line(
            f"{TS} DEBUG raft:append: mosaik::groups::raft::role: replicated log entries "
            "entries=2 group=a1b2c3d4e5 term=7"
        ),
        line(
            f'{{"timestamp":"{TS}","level":"DEBUG","fields":{{"message":"replicated log entries",'
            f'"entries":2}},"target":"{RAFT}","span":{{"name":"append"}},"spans":[{{"group":'
            f'"a1b2c3d4e5","name":"raft","term":7}},{{"name":"append"}}]}}'
        ),
        native(
            "replicated log entries", "6", RAFT,
            ("SPAN_NAME", "raft"), ("F_GROUP", "a1b2c3d4e5"), ("F_TERM", "7"),
            ("SPAN_NAME", "append"), ("F_ENTRIES", "2"),
        ),
    ],
)  # fmt: skip
def test_span_fields_fill_names_the_event_lacks(entry: Entry) -> None:
    assert event_of(decode(entry)) == SPAN_FILL


@pytest.mark.parametrize(
    "entry",
    [
        line(f"{TS}  WARN raft{{term=6}}:append: {RAFT}: rival group leader detected term=7"),
        line(f"{TS}  WARN raft:append: {RAFT}: rival group leader detected term=7 term=6"),
        line(
            f'{{"timestamp":"{TS}","level":"WARN","fields":{{"message":"rival group leader '
            f'detected","term":7}},"target":"{RAFT}","span":{{"name":"raft","term":6}}}}'
        ),
        native("rival group leader detected", "4", RAFT, ("F_TERM", "6"), ("F_TERM", "7")),
    ],
)
def test_the_event_field_wins_over_a_span_field(entry: Entry) -> None:
    assert decode(entry).fields["term"] == "7"


def test_innermost_span_wins_among_spans() -> None:
    full = decode(line(f"{TS}  INFO a{{x=1}}:b{{x=2}}: {SERVER}: opening round round=1"))
    js = decode(
        line(
            f'{{"level":"INFO","target":"{SERVER}","fields":{{"message":"opening round"}},'
            '"spans":[{"name":"a","x":1},{"name":"b","x":2}]}'
        )
    )
    journald = decode(native("opening round", "5", SERVER, ("F_X", "1"), ("F_X", "2")))
    assert full.fields["x"] == js.fields["x"] == journald.fields["x"] == "2"


@pytest.mark.parametrize(
    "text",
    [
        f"{TS}  INFO round: zipnet::server::round: opening round round=812 round=812",
        f"{TS}  INFO round{{round=812}}: zipnet::server::round: opening round round=812",
        f"{TS}  INFO zipnet::server::round: opening round round=812",
    ],
)
def test_one_span_before_a_target(text: str) -> None:
    assert event_of(decode(line(text))) == ("opening round", SERVER, "INFO", {"round": "812"})


def test_spans_with_nested_braces_and_fieldless_spans() -> None:
    record = decode(
        line(f"{TS}  INFO conn{{peer=Peer {{ id: 3 }}}}:io: {SERVER}: opening round round=1")
    )
    assert record.target == SERVER
    assert record.message == "opening round"
    assert record.fields == {"round": "1", "peer": "Peer { id: 3 }"}


# --- text details --------------------------------------------------------------------------


def test_debug_strings_are_unquoted_with_rust_escapes() -> None:
    record = decode(
        line(
            f'{TS}  INFO {SERVER}: opening round s="a \\"b\\"" t="x y=1 z" '
            r'u="tab\there\\\u{1b}" v="\u{d800}" round=812'
        )
    )
    assert record.fields == {
        "s": 'a "b"',
        "t": "x y=1 z",
        "u": "tab\there\\\x1b",
        "v": "\ufffd",
        "round": "812",
    }


def test_a_bare_value_that_starts_with_a_quote_stays_bare() -> None:
    record = decode(line(f'{TS}  WARN zipnet::client: registration failed error="x" is bad n=1'))
    assert record.fields == {"error": '"x" is bad', "n": "1"}
    unclosed = decode(line(f'{TS}  WARN zipnet::client: registration failed error="x n=1'))
    assert unclosed.fields == {"error": '"x', "n": "1"}


def test_field_names_are_lower_case_with_underscores() -> None:
    record = decode(line(f"{TS}  INFO {SERVER}: opening round Round=1 http.method=GET r#type=x"))
    assert record.fields == {"round": "1", "http_method": "GET", "type": "x"}


def test_first_occurrence_of_a_repeated_name_wins() -> None:
    assert decode(line(f"{TS}  INFO {SERVER}: opening round round=1 round=2")).fields == {
        "round": "1"
    }


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (f"{TS} ERROR {SERVER}: x", "ERROR"),
        (f"{TS}  WARN {SERVER}: x", "WARN"),
        (f"{TS}  INFO {SERVER}: x", "INFO"),
        (f"{TS} DEBUG {SERVER}: x", "DEBUG"),
        (f"{TS} TRACE {SERVER}: x", "TRACE"),
        (f"{D}{TS}{R} \x1b[31mERROR{R} {D}{SERVER}{R}{D}:{R} x", "ERROR"),
        (f"{D}{TS}{R} \x1b[35mTRACE{R} {D}{SERVER}{R}{D}:{R} x", "TRACE"),
        (f"{D}{TS}{R} \x1b[34mDEBUG{R} {D}{SERVER}{R}{D}:{R} x", "DEBUG"),
    ],
)
def test_levels(text: str, level: str) -> None:
    record = decode(line(text))
    assert (record.level, record.target, record.message) == (level, SERVER, "x")


def test_without_time_and_without_target() -> None:
    no_time = decode(line(" INFO zipnet::server::round: round finalized round=812"))
    assert event_of(no_time) == ("round finalized", SERVER, "INFO", {"round": "812"})
    assert no_time.time_us == 0
    no_target = decode(line(f"{TS}  WARN heartbeat failed: too many missed heartbeats"))
    assert (no_target.target, no_target.message) == (
        None,
        "heartbeat failed: too many missed heartbeats",
    )


@pytest.mark.parametrize(
    "text", ["INFO main: started", "WARN x: y", f"{TS} INFO {SERVER}: x", "ERRORS x: y"]
)
def test_an_unpadded_level_is_not_tracing(text: str) -> None:
    assert event_of(decode(line(text))) == (text, "", "", {})


def test_a_message_that_looks_like_a_target_after_a_target() -> None:
    record = decode(line(f"{TS}  WARN zipnet::client: error: connection reset"))
    assert (record.target, record.message) == ("zipnet::client", "error: connection reset")


def test_lone_name_before_a_target_without_colons_is_the_target() -> None:
    record = decode(line(f"{TS}  INFO zipnet: started up"))
    assert (record.target, record.message) == ("zipnet", "started up")


def test_timestamps_of_other_precisions() -> None:
    assert decode(line(f"2026-11-25T10:00:00.123Z  INFO {SERVER}: x")).time_us == T - 456
    assert decode(line(f"2026-11-25T10:00:00Z  INFO {SERVER}: x")).time_us == T - 123456


def test_a_leap_second_is_the_next_second() -> None:
    leap = decode(line(f"2026-12-31T23:59:60.000001Z  INFO {SERVER}: x"))
    after = decode(line(f"2027-01-01T00:00:00.000001Z  INFO {SERVER}: x"))
    assert leap.time_us == after.time_us


@pytest.mark.parametrize("stamp", ["2026-13-45T10:00:00.123456Z", "2026-11-25T10:00:99.123456Z"])
def test_an_impossible_timestamp_is_no_time(stamp: str) -> None:
    record = decode(line(f"{stamp}  INFO {SERVER}: round finalized round=1"))
    assert record.message == "round finalized"
    assert record.time_us == 0


def test_parse_text_and_parse_json_are_public() -> None:
    text = parse_text(f"{TS}  INFO {SERVER}: round finalized round=812")
    assert text is not None
    assert (text.time_us, text.level, text.target, text.message) == (
        T,
        "INFO",
        SERVER,
        "round finalized",
    )
    assert parse_text("just words") is None
    js = parse_json('{"level":"INFO","fields":{"message":"m"}}')
    assert js is not None
    assert js.message == "m"
    assert parse_json('{"not":"tracing"}') is None
    assert parse_json("[1,2]") is None


def test_json_values_become_text() -> None:
    record = decode(
        line(
            '{"level":"info","target":"t","fields":{"message":"m","b":true,"f":0.5,'
            '"n":null,"o":{"a":[1,"x"]},"s":"\\ud800x"}}'
        )
    )
    assert record.level == "INFO"
    assert record.fields == {
        "b": "true",
        "f": "0.5",
        "n": "null",
        "o": '{"a":[1,"x"]}',
        "s": "\ufffdx",
    }


def test_escapes_inside_json_strings_are_stripped_too() -> None:
    record = decode(
        line(
            '{"level":"WARN","target":"zipnet::client","fields":{"message":'
            '"registration \\u001b[31mfailed","error":"\\u001b]0;pwned\\u0007x"}}'
        )
    )
    assert (record.message, dict(record.fields)) == ("registration failed", {"error": "x"})


def test_json_that_is_not_tracing_is_a_plain_message() -> None:
    for text in ('{"msg":"hello"}', "{not json", "[" * 100_000, '{"a":' * 100_000):
        record = decode(line(text))
        assert (record.message, record.target, record.fields) == (text, None, {})


def test_ansi_is_stripped_from_plain_messages_and_native_fields() -> None:
    assert decode(line("\x1b[31mred\x1b[0m and \x1b]0;title\x07done\x1b[2J")).message == (
        "red and done"
    )
    record = decode(native("registration failed", "4", "zipnet::client", ("F_ERROR", "\x1b[5mx")))
    assert record.fields == {"error": "x"}
    assert strip_ansi("no escapes") == "no escapes"


# --- a multi-line message and plain lines -----------------------------------------------


def test_continuation_lines_are_plain_and_take_the_last_time() -> None:
    decoder = Decoder(DecodeSettings(instance="acme-mainnet"))
    first = decoder(line(f"{TS}  WARN zipnet::client: registration failed error=line one"))
    second = decoder(line("line two of the error round=812"))
    assert isinstance(first, Record)
    assert isinstance(second, Record)
    assert first.fields == {"error": "line one"}
    assert (second.message, second.level, second.target) == (
        "line two of the error round=812",
        None,
        None,
    )
    assert second.fields == {}
    assert second.time_us == first.time_us == T


@pytest.mark.parametrize(
    "text",
    [
        "[123B blob data]",
        "plain text from somewhere",
        "\ufffd\ufffd binary \x00 junk \x07",
        "",
        " ",
        "=",
        "x" * (1 << 20),
    ],
)
def test_anything_else_is_a_plain_record(text: str) -> None:
    record = decode(line(text))
    assert (record.message, record.level, record.target, dict(record.fields)) == (
        text,
        None,
        None,
        {},
    )


def test_plain_message_written_through_the_journal_api_gets_its_priority() -> None:
    entry = Entry(T, True, {"MESSAGE": "hello", "PRIORITY": "4", "_TRANSPORT": "journal"})
    assert decode(entry).level == "WARN"
    stdout = Entry(T, True, {"MESSAGE": "hello", "PRIORITY": "4", "_TRANSPORT": "stdout"})
    assert decode(stdout).level is None


def test_stdout_level_comes_from_the_text_not_priority() -> None:
    entry = Entry(
        T,
        True,
        {"MESSAGE": f"{TS} ERROR {SERVER}: boom", "PRIORITY": "6", "_TRANSPORT": "stdout"},
    )
    assert decode(entry).level == "ERROR"


def test_an_entry_without_message_is_unreadable_unless_native() -> None:
    result = Decoder()(Entry(T, True, {"_HOSTNAME": "h"}, origin="x.json"))
    assert isinstance(result, Unreadable)
    assert (result.origin, result.reason) == ("x.json", "no message")
    native_only = decode(Entry(T, True, {"TARGET": SERVER, "F_ROUND": "1", "PRIORITY": "5"}))
    assert (native_only.message, native_only.fields) == ("", {"round": "1"})


def test_f_fields_without_target_are_native_off_stdout_only() -> None:
    off = decode(Entry(T, True, {"MESSAGE": "opening round", "F_ROUND": "1", "PRIORITY": "5"}))
    assert (off.fields, off.level) == ({"round": "1"}, "INFO")
    on = decode(
        Entry(T, True, {"MESSAGE": "opening round", "F_ROUND": "1", "_TRANSPORT": "stdout"})
    )
    assert on.fields == {}


# --- who wrote it --------------------------------------------------------------------------

FINALIZED = f"{TS}  INFO zipnet::server::round: round finalized round=812 participants=37"


def test_unit_names_role_instance_host() -> None:
    record = decode(
        Entry(
            T,
            True,
            {
                "MESSAGE": FINALIZED,
                "_SYSTEMD_UNIT": "zipnet-server@acme-mainnet.service",
                "_HOSTNAME": "srv1",
                "SYSLOG_IDENTIFIER": "zipnet-server",
            },
            cursor="s=1",
        )
    )
    assert (record.role, record.instance, record.host) == ("server", "acme-mainnet", "srv1")
    assert (record.unit, record.cursor) == ("zipnet-server@acme-mainnet.service", "s=1")


def test_a_client_writing_a_server_line_stays_a_client() -> None:
    entry = Entry(
        T,
        True,
        {
            "MESSAGE": FINALIZED,
            "_SYSTEMD_UNIT": "zipnet-client@acme-mainnet.service",
            "SYSLOG_IDENTIFIER": "zipnet-server",
        },
    )
    record = decode(entry, DecodeSettings(instance="other"))
    assert (record.role, record.instance) == ("client", "acme-mainnet")
    assert record.message == "round finalized"


def test_a_unit_that_is_not_ours_makes_a_record_that_is_not_ours() -> None:
    entry = Entry(
        T,
        True,
        {
            "MESSAGE": FINALIZED,
            "_SYSTEMD_UNIT": "sshd.service",
            "SYSLOG_IDENTIFIER": "zipnet-server",
        },
    )
    record = decode(entry, DecodeSettings(instance="acme-mainnet"))
    assert (record.role, record.instance) == (None, None)


def test_identifier_gives_the_role_and_settings_the_instance() -> None:
    entry = Entry(T, False, {"MESSAGE": FINALIZED, "SYSLOG_IDENTIFIER": "zipnet-aggregator"})
    record = decode(entry, DecodeSettings(instance="acme-mainnet"))
    assert (record.role, record.instance) == ("aggregator", "acme-mainnet")
    assert (decode(entry).role, decode(entry).instance) == ("aggregator", UNKNOWN_INSTANCE)
    foreign = Entry(T, False, {"MESSAGE": FINALIZED, "SYSLOG_IDENTIFIER": "sshd"})
    foreign_record = decode(foreign, DecodeSettings(instance="acme-mainnet"))
    assert (foreign_record.role, foreign_record.instance) == (None, None)


@pytest.mark.parametrize(
    ("target", "role"),
    [
        ("zipnet::server::round", "server"),
        ("zipnet::server", "server"),
        ("zipnet::aggregator", "aggregator"),
        ("zipnet::client", "client"),
        ("zipnet::client::seal", "client"),
        ("mosaik::groups::raft::role", "server"),
        ("zipnet::metrics", None),
        ("zipnetx::server", None),
        ("other::crate", None),
    ],
)
def test_cat_capture_takes_the_role_from_the_target(target: str, role: str | None) -> None:
    record = decode(line(f"{TS}  INFO {target}: something"))
    assert (record.role, record.instance) == (role, "unknown")
    with_instance = decode(line(f"{TS}  INFO {target}: x"), DecodeSettings(instance="acme"))
    assert (with_instance.role, with_instance.instance) == (role, "acme")


def test_custom_template_and_roles() -> None:
    settings = DecodeSettings(unit_template="zn-{role}@{instance}.service", instance="ignored")
    unit = decode(Entry(T, True, {"MESSAGE": FINALIZED, "_SYSTEMD_UNIT": "zn-client@b.service"}))
    assert (unit.role, unit.instance) == (None, None)  # not ours under the default template
    custom = decode(
        Entry(T, True, {"MESSAGE": FINALIZED, "_SYSTEMD_UNIT": "zn-client@b.service"}), settings
    )
    assert (custom.role, custom.instance) == ("client", "b")
    by_ident = decode(Entry(T, False, {"MESSAGE": "x", "SYSLOG_IDENTIFIER": "zn-server"}), settings)
    assert (by_ident.role, by_ident.instance) == ("server", "ignored")
    only_servers = DecodeSettings(roles=("server",))
    assert decode(line(f"{TS}  INFO zipnet::client: x"), only_servers).role is None


# --- time ----------------------------------------------------------------------------------


def test_exact_capture_time_wins_over_the_tracing_timestamp() -> None:
    assert decode(Entry(T + 5, True, {"MESSAGE": FINALIZED})).time_us == T + 5


def test_coarse_capture_time_loses_to_the_tracing_timestamp() -> None:
    coarse = T - 123_456  # whole seconds, as short-iso gives it
    assert decode(Entry(coarse, False, {"MESSAGE": FINALIZED})).time_us == T
    assert decode(Entry(coarse + 3_600_000_000, False, {"MESSAGE": FINALIZED})).time_us == T


def test_coarse_time_without_tracing_timestamp() -> None:
    decoder = Decoder()
    coarse = T - 123_456
    decoder(Entry(coarse, False, {"MESSAGE": FINALIZED}))
    # Same second as the last exact time: keep the order the capture has.
    same = decoder(Entry(coarse, False, {"MESSAGE": "continuation"}))
    assert isinstance(same, Record)
    assert same.time_us == T
    # A later second: the coarse time is the best there is.
    later = decoder(Entry(coarse + 2_000_000, False, {"MESSAGE": "plain"}))
    assert isinstance(later, Record)
    assert later.time_us == coarse + 2_000_000


def test_no_time_at_all_is_unreadable_then_the_last_time() -> None:
    decoder = Decoder()
    first = decoder(line("no time here"))
    assert isinstance(first, Unreadable)
    assert first.reason == NO_TIME
    decoder(Entry(T + 7, True, {"MESSAGE": "x"}))
    after = decoder(line("still no time"))
    assert isinstance(after, Record)
    assert after.time_us == T + 7


def test_a_line_read_alone_is_at_time_zero() -> None:
    alone = Decoder(DecodeSettings(untimed_us=0))(line("no time here"))
    assert isinstance(alone, Record)
    assert alone.time_us == 0


def test_decoders_do_not_share_the_last_time() -> None:
    one, two = Decoder(), Decoder()
    one(Entry(T, True, {"MESSAGE": "x"}))
    later = two(line("no time"))
    assert isinstance(later, Unreadable)


# --- hostile input -------------------------------------------------------------------------

MIB = 1 << 20


@pytest.mark.parametrize(
    "text",
    [
        f"{TS}  INFO {SERVER}: " + 'a="x b=' * (MIB // 8),
        f"{TS}  INFO {SERVER}: " + 'a="\\"' * (MIB // 5),
        f"{TS}  INFO {SERVER}: " + "a=b " * (MIB // 4),
        f"{TS}  INFO " + "a{}:" * (MIB // 4) + " x",
        f"{TS}  INFO " + "a{b{" * (MIB // 4),
        f"{TS}  INFO " + "a:" * (MIB // 2),
        f"{TS}  INFO {SERVER}: " + "\x1b[" * (MIB // 2),
        "{" + '"a":[' * (MIB // 6),
        "\x1b[2m" * (MIB // 4),
    ],
    ids=["quotes", "escapes", "fields", "spans", "braces", "colons", "esc", "json", "sgr"],
)
def test_a_mebibyte_line_decodes_quickly(text: str) -> None:
    # CPU time, not wall time: a busy machine slows the clock on the wall, not the work.
    # A decoder that backtracks on such a line takes minutes, not seconds.
    started = time.process_time()
    result = Decoder(DecodeSettings(untimed_us=0))(line(text))
    assert isinstance(result, Record)
    assert time.process_time() - started < 2.0


def _settle(result: Record | Unreadable) -> None:
    """What the sinks will do with a record: encode every text as UTF-8 and JSON."""
    if isinstance(result, Unreadable):
        assert result.reason != "undecodable entry", result
        return
    texts = [result.message, result.target or "", result.level or "", result.instance or ""]
    texts += [*result.fields, *result.fields.values()]
    for text in texts:
        text.encode("utf-8")
    json.dumps(dict(result.fields), ensure_ascii=False).encode("utf-8")


# Text as hostile clients and broken captures hand it over: control characters, ESC,
# NUL, U+FFFD, quotes, braces, and pieces of real renderings to get past the cheap checks.
_PIECES = st.sampled_from(
    [TS, "  INFO ", " WARN ", "ERROR ", f"{SERVER}: ", "raft{", "}:", "a=", '"', "\\", " ",
     "\x1b[2m", "\x1b[0m", "\x1b", "\x00", "\ufffd", "{", "}", '{"level":"INFO",', "::", "\n",
     '"fields":{', "\\u{d800}", "\\u{110000}", "=", ":"]
)  # fmt: skip
HOSTILE_TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=40).map("".join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(1, 5000)),
)
FIELD_NAMES = st.one_of(
    st.sampled_from(
        ["MESSAGE", "TARGET", "PRIORITY", "_TRANSPORT", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER",
         "_HOSTNAME", "F_ROUND", "F_", "F_X"]
    ),
    st.text(max_size=12),
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=HOSTILE_TEXT)
def test_any_message_decodes_to_a_record(message: str) -> None:
    result = Decoder(DecodeSettings(untimed_us=0))(line(message))
    assert isinstance(result, Record)
    _settle(result)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(FIELD_NAMES, HOSTILE_TEXT, max_size=8),
    multi=st.dictionaries(FIELD_NAMES, st.tuples(HOSTILE_TEXT, HOSTILE_TEXT), max_size=3),
    time_us=st.one_of(st.none(), st.integers(-(2**63), 2**63)),
    exact=st.booleans(),
    instance=st.one_of(st.none(), st.text(max_size=8)),
)
def test_any_entry_decodes_without_raising(
    fields: dict[str, str],
    multi: dict[str, tuple[str, ...]],
    time_us: int | None,
    exact: bool,
    instance: str | None,
) -> None:
    result = Decoder(DecodeSettings(instance=instance))(Entry(time_us, exact, fields, multi=multi))
    _settle(result)
    if isinstance(result, Record):
        assert result.host == fields.get("_HOSTNAME")
        assert result.role in (None, "server", "aggregator", "client")
    else:
        assert "MESSAGE" not in fields or (time_us is None and result.reason == NO_TIME)


@settings(max_examples=300, deadline=None)
@given(text=HOSTILE_TEXT)
def test_parsers_never_raise(text: str) -> None:
    for parsed in (parse_text(text), parse_json(text)):
        if parsed is not None:
            assert isinstance(parsed.message, str)
            assert all(isinstance(v, str) for v in parsed.fields.values())


# --- the simulator's renderings -----------------------------------------------------------


def _simulated_entries(style: str) -> list[tuple[LogLine, Entry]]:
    scenario = simulate.Scenario("acme-mainnet", servers=3, clients=3)
    lines = scenario.start().rounds(4).rival_leader().failover("srv2").register(fail=True).lines()
    out: list[tuple[LogLine, Entry]] = []
    for sim in lines:
        trusted = {
            "_SYSTEMD_UNIT": sim.unit_name,
            "_HOSTNAME": sim.host,
            "SYSLOG_IDENTIFIER": sim.identifier,
        }
        if style == "journald":
            fields: dict[str, str] = {**trusted, "_TRANSPORT": "journal"}
            multi: dict[str, tuple[str, ...]] = {}
            for name, value in simulate.journald_fields(sim):
                if name in fields:
                    multi[name] = (*multi.get(name, (fields[name],)), value)
                else:
                    fields[name] = value
            out.append((sim, Entry(sim.time_us, True, fields, multi=multi)))
        else:
            for message in simulate.messages(sim, style):
                entry_fields = {**trusted, "_TRANSPORT": "stdout", "PRIORITY": "6"}
                out.append((sim, Entry(None, False, {**entry_fields, "MESSAGE": message})))
    return out


def _expected_fields(sim: LogLine) -> dict[str, str]:
    def text(value: object) -> str:
        return value.text if isinstance(value, Display) else str(value)

    fields = {name: text(value) for name, value in sim.fields}
    for _, span_fields in reversed(sim.spans):
        for name, value in span_fields:
            fields.setdefault(name, text(value))
    return fields


@pytest.mark.parametrize("style", ["full", "full-ansi", "compact", "json", "json-flat", "journald"])
def test_simulator_renderings_decode_to_the_simulated_event(style: str) -> None:
    decoder = Decoder()
    entries = _simulated_entries(style)
    assert len(entries) > 50
    for sim, entry in entries:
        record = decoder(entry)
        assert isinstance(record, Record)
        assert (record.message, record.target, record.level) == (
            sim.message,
            sim.target,
            sim.level,
        )
        assert dict(record.fields) == _expected_fields(sim)
        assert (record.role, record.instance, record.host) == (sim.role, "acme-mainnet", sim.host)
        assert record.time_us == sim.time_us
