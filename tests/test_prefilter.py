"""logwatch.prefilter's Screen: it rejects only messages no pattern can claim, and reading
with it gives the same steps, counts and times as decoding every line (issue 13)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache

import pytest
from conftest import Captures
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch import simulate
from logwatch.decode import Decoder, DecodeSettings
from logwatch.decode.ansi import strip_ansi
from logwatch.engine.host_offsets import ROUND_LINES
from logwatch.match import Matcher
from logwatch.pattern_files import default_patterns_dir, load_patterns
from logwatch.pipeline import Selection, Step, Tally, Tick, read_steps
from logwatch.prefilter import Screen, round_numbers
from logwatch.records import MESSAGE, UNIT, Entry, Glance, RawItem, Unreadable
from logwatch.simulate import Display, LogLine, Scenario
from logwatch.sources import open_inputs
from logwatch.sources.json_capture import _RawScreen
from logwatch.triage import Triage
from logwatch.units import UnitTemplate, Writers

INSTANCE = "acme-mainnet"
_MOSAIK = (
    ("server", "DEBUG", "mosaik::groups::raft::role", "starting new leader elections"),
    ("server", "INFO", "mosaik::groups", "joining"),
    ("client", "DEBUG", "mosaik::transport", "sent datagram"),
    ("aggregator", "DEBUG", "mosaik::discovery::gossip", "gossip round complete"),
)


@cache
def matcher() -> Matcher:
    return Matcher(load_patterns([default_patterns_dir()]))


@cache
def lines() -> tuple[LogLine, ...]:
    """A healthy instance, zipnet's own unclaimed lines among its lines (mosaik at
    debug), other programs, and a client hiding a pattern's message behind escapes."""
    s = Scenario(INSTANCE, servers=3, clients=3, seed=8).start().rounds(12)
    own = list(s.lines())
    start = own[0].time_us
    hosts = {"server": "srv2", "client": "client1", "aggregator": "agg1"}
    mosaik = [
        LogLine(
            start + 7_919 * i,
            INSTANCE,
            role,
            hosts[role],
            level,
            target,
            message,
            (("peer", Display(f"{i:010x}")),),
        )
        for i, (role, level, target, message) in enumerate(_MOSAIK * 60)
    ]
    hidden = LogLine(
        start + 5_000_123,
        INSTANCE,
        "client",
        "client2",
        "INFO",
        "zipnet::client",
        "sealed\x1b[1m envelope",
        (("round", 7), ("bytes", 10)),
    )
    others = simulate.noise(start, 80, per_second=10, hosts=("srv1", "client1"), seed=8)
    return tuple(simulate.merge(own, mosaik, [hidden], others))


Signature = tuple[str, int, str | None, str | None, object]


def signed(
    items: Iterable[RawItem], selection: Selection | None = None
) -> tuple[list[Signature], Tally]:
    """The steps of `items` as the engine sees them, decoded and matched, and the tally."""
    tally = Tally()
    decoder = Decoder(DecodeSettings(instance=INSTANCE))
    steps = read_steps(items, decoder, matcher(), selection or Selection(), tally)
    seen: list[Signature] = []
    for step in steps:
        if isinstance(step, Tick):
            seen.append(("tick", step.time_us, None, None, None))
        elif isinstance(step, Step):
            r, e = step
            event = None if e is None else (e.name, sorted(e.fields.items()))
            seen.append(("step", r.time_us, r.instance, r.role, event))
        else:
            seen.append(("unreadable", 0, step.reason, None, None))
    return seen, tally


def read(paths: Sequence[str], screen: Screen | None) -> tuple[list[Signature], Tally, int]:
    """The steps as the engine sees them, the tally, and how many Glances came."""
    items = list(open_inputs(paths, triage=Triage(Writers(UnitTemplate()), screen)))
    seen, tally = signed(items)
    return seen, tally, sum(1 for item in items if isinstance(item, Glance))


FORMS = [
    ("full-ansi", "journal"),
    ("journald", "journal"),
    ("full-ansi", "json"),
    ("json", "json"),
    ("full", "short-iso"),
    ("full-ansi", "short-iso-precise"),
    ("full", "with-unit"),
    ("compact", "short-unix"),
]


@pytest.mark.parametrize(("style", "fmt"), FORMS, ids=[f"{s}-{f}" for s, f in FORMS])
def test_screened_reading_is_the_same_as_decoding_every_line(
    captures: Captures, style: str, fmt: str
) -> None:
    path = str(captures.make(list(lines()), style, fmt))
    plain, plain_tally, none = read([path], None)
    screened, screened_tally, glances = read([path], matcher().screen())
    assert none == 0
    # Not vacuous: most of the mosaik lines were only glanced at.
    assert glances >= len(_MOSAIK * 60) * 3 // 4
    assert screened == plain
    assert screened_tally == plain_tally
    assert screened_tally.unmatched >= glances


def test_a_pattern_message_hidden_behind_escapes_is_still_read(captures: Captures) -> None:
    # The decoder strips the escape and the message is `sealed envelope`: the screen must
    # not reject the raw line, which holds no literal as written.
    path = str(captures.make(list(lines()), "full", "journal"))
    items = list(open_inputs([path], triage=Triage(Writers(UnitTemplate()), matcher().screen())))
    hidden = [
        i for i in items if isinstance(i, Entry) and "sealed\x1b[1m" in i.fields.get(MESSAGE, "")
    ]
    assert len(hidden) == 1


_PIECES = (
    "round finalized",
    "sealed envelope",
    "registration accepted",
    "forwarded aggregate",
    "\x1b[0m",
    "\x1b[2m",
    "\x1b[3m",
    "\x1b]0;title\x07",
    "\x1b[",
    "\\",
    "\\u0072",
    '{"fields":{"message":"',
    '"}}',
    "2026-11-25T10:00:00.123456Z  INFO zipnet::server::round: ",
    " round=5",
    " participants=3",
    " ",
    "=",
    '"',
    "r",
    "ound",
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=4), max_size=8))
def test_the_screen_never_rejects_a_message_a_pattern_claims(pieces: list[str]) -> None:
    message = "".join(pieces)
    screen = matcher().screen()
    decoder = Decoder()
    for role in ("server", "aggregator", "client"):
        unit = f"zipnet-{role}@{INSTANCE}.service"
        record = decoder(Entry(1, True, {UNIT: unit, MESSAGE: message}))
        if isinstance(record, Unreadable):
            continue
        if matcher().match(record) is not None:
            assert not screen.rejects(message), (role, message)


def test_the_screen_rejects_mosaik_noise() -> None:
    screen = matcher().screen()
    line = (
        "\x1b[2m2026-11-25T10:00:00.123456Z\x1b[0m \x1b[34mDEBUG\x1b[0m "
        "\x1b[2mmosaik::transport\x1b[0m\x1b[2m:\x1b[0m sent datagram "
        "\x1b[3mpeer\x1b[0m\x1b[2m=\x1b[0m9c1d2e3f4a"
    )
    assert screen.rejects(line)
    assert not screen.rejects(line.replace("sent datagram", "round finalized"))


def test_a_pattern_without_a_literal_turns_the_screen_off() -> None:
    assert Screen(["round finalized", ""]).active is False
    assert Screen(["round finalized", ""]).rejects("anything") is False
    # Text that a lossy decode could produce (U+FFFD) is no literal to look for either.
    assert Screen(["caf\ufffd"]).active is False
    assert Screen(["round finalized"]).active is True


def test_other_programs_stay_passing_and_zipnet_lines_glances_by_count(
    captures: Captures,
) -> None:
    path = str(captures.make(list(lines()), "full-ansi", "journal"))
    items = list(open_inputs([path], triage=Triage(Writers(UnitTemplate()), matcher().screen())))
    kinds = Counter(type(i).__name__ for i in items)
    assert kinds["Passing"] == 80
    glanced = [i for i in items if isinstance(i, Glance)]
    assert all(g.unit and g.unit.endswith(f"@{INSTANCE}.service") for g in glanced)
    assert all(g.time_exact and g.stamp_us is None for g in glanced)


def _json_line(message: bytes | str, **extra: object) -> bytes:
    value: object = list(message) if isinstance(message, bytes) else message
    obj: dict[str, object] = {
        "__REALTIME_TIMESTAMP": "1795600800000001",
        "MESSAGE": value,
        "_SYSTEMD_UNIT": f"zipnet-server@{INSTANCE}.service",
        "SYSLOG_IDENTIFIER": "zipnet-server",
    }
    obj.update(extra)
    return json.dumps(obj, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("line", "glanced"),
    [
        (_json_line(b"\x1b[2m2026Z\x1b[0m \x1b[34mDEBUG\x1b[0m sent datagram"), True),
        (_json_line("2026-11-25T10:00:00.000001Z DEBUG mosaik::transport: sent datagram"), True),
        (_json_line(b"\x1b[2m2026Z\x1b[0m round finalized"), False),
        # A code strip_ansi removes joins the literal; one it does not know stays unsure.
        (_json_line(b"round\x1b[1m finalized"), False),
        (_json_line(b"sent \x1b[7mdatagram"), False),
        (_json_line(b'{"fields":{"message":"\\u0072ound finalized"}}'), False),
        (_json_line('{"fields":{"message":"\\u0072ound finalized"}}'), False),
        (_json_line(b"\x1b[0msent datagram", _SYSTEMD_UNIT=list(b"zipnet-\x1b")), False),
        (_json_line(b"\x1b[0msent datagram", __REALTIME_TIMESTAMP=None), False),
        (_json_line(["sent datagram", "round finalized"]), False),  # type: ignore[arg-type]
    ],
)
def test_json_lines_are_glanced_at_from_their_bytes_only_when_they_show_it(
    line: bytes, glanced: bool
) -> None:
    glance = _RawScreen(matcher().screen()).glance(line)
    assert (glance is not None) == glanced
    if glance is not None:
        assert glance == Glance(
            1795600800000001,
            True,
            None,
            f"zipnet-server@{INSTANCE}.service",
            "zipnet-server",
            None,  # the line names no _HOSTNAME
        )


@pytest.mark.parametrize("fmt", ["journal", "json"])
def test_a_screen_that_rejects_little_is_dropped_and_reading_stays_the_same(
    captures: Captures, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    # zipnet's lines nearly all claimed, the noise other programs': past a first stretch
    # the sources stop screening (it would only add lookups), with the same outcome.
    import logwatch.sources.json_capture as json_source
    from logwatch import triage

    monkeypatch.setattr(triage, "SETTLED_AFTER", 8)
    monkeypatch.setattr(json_source, "_SCREENED", 8)
    own = Scenario(INSTANCE, servers=3, clients=3, seed=9).start().rounds(10).lines()
    others = simulate.noise(own[0].time_us, 60, per_second=5, hosts=("srv1",), seed=9)
    path = str(captures.make(list(simulate.merge(own, others)), "full-ansi", fmt))
    plain, plain_tally, _ = read([path], None)
    screened, screened_tally, _ = read([path], matcher().screen())
    assert screened == plain
    assert screened_tally == plain_tally


def test_round_numbers_hold_the_round_of_every_rendering_of_every_round_pattern() -> None:
    # The first look passes over a line when none of the round numbers its text shows
    # is sampled: the event's own round must always be among them, in every rendering
    # the pattern examples cover (full, ANSI, compact, JSON, flattened JSON).
    patterns = load_patterns([default_patterns_dir()])
    checked = 0
    for pattern in patterns.patterns:
        if pattern.name not in ROUND_LINES:
            continue
        for example in pattern.examples:
            if not example.match or "round" not in example.expect:
                continue
            numbers = round_numbers(strip_ansi(example.line))
            assert numbers is not None and example.expect["round"] in numbers, example.line
            checked += 1
    assert checked >= 5 * len(ROUND_LINES)


@pytest.mark.parametrize(
    ("message", "numbers"),
    [
        ("2026-11-25T10:00:00.123456Z  INFO zipnet::client: sealed envelope ROUND=7", [7]),
        ('{"fields":{"message":"opening round","round":"812"},"span":{"round":811}}', [812, 811]),
        ("INFO round{round=3}: zipnet::server::round: opening round round=4", [3, 4]),
        ("INFO zipnet::client: sealed envelope", None),
        # A JSON escape may spell the name: only decoding tells.
        ('{"fields":{"message":"opening round","r\\u006fund":812}}', None),
    ],
)
def test_round_numbers(message: str, numbers: list[int] | None) -> None:
    assert round_numbers(message) == numbers
