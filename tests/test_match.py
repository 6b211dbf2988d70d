"""Tests for logwatch.match: events from records, role gating, counts, timeouts, the prefilter."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

import pytest
import regex  # type: ignore[import-untyped,unused-ignore]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logwatch.match import Matcher, PatternCounts
from logwatch.pattern_files import (
    CompiledRegex,
    Pattern,
    PatternSet,
    default_patterns_dir,
    load_patterns,
)
from logwatch.prefilter import required_literal
from logwatch.records import Record


def make(
    name: str,
    message: str,
    roles: tuple[str, ...] = ("server",),
    fields: Mapping[str, str] | None = None,
    **options: Any,
) -> Pattern:
    return Pattern(
        name=name,
        origin="test.toml",
        roles=roles,
        message=message,
        regex=cast(CompiledRegex, regex.compile(message)),
        fields=dict(fields or {}),
        examples=(),
        **options,
    )


def patterns(*items: Pattern) -> PatternSet:
    return PatternSet(items, {}, ("test.toml",))


def record(
    message: str,
    role: str | None = "server",
    instance: str | None = "acme-mainnet",
    **fields: str,
) -> Record:
    return Record(
        time_us=1_700_000_000_000_000,
        instance=instance,
        role=role,
        host="srv1",
        level="INFO",
        target="zipnet::server::round",
        message=message,
        fields=fields,
    )


@pytest.fixture(scope="module")
def zipnet() -> PatternSet:
    # Unchecked: the examples go through decode, which test_pattern_files covers.
    return load_patterns([default_patterns_dir()], check=False)


@pytest.mark.parametrize(
    ("role", "message", "fields", "expected"),
    [
        ("server", "opening round", {"round": "812"}, {"round": 812}),
        ("server", "submitted partial", {"round": "812"}, {"round": 812}),
        (
            "server",
            "applying SubmitAggregate",
            {"round": "812", "clients": "37"},
            {"round": 812, "clients": 37},
        ),
        (
            "server",
            "round finalized",
            {"round": "812", "participants": "37", "bytes": "16384"},
            {"round": 812, "participants": 37},
        ),
        (
            "server",
            "rival group leader detected",
            {"term": "7", "other_leader": "3fa9c0d1e2", "group": "a1b2c3d4e5", "network": "0f"},
            {"term": 7, "other_leader": "3fa9c0d1e2", "group": "a1b2c3d4e5"},
        ),
        (
            "server",
            "heartbeat failed: too many missed heartbeats",
            {"peer": "9c1d2e3f4a", "group": "a1b2c3d4e5"},
            {"peer": "9c1d2e3f4a", "group": "a1b2c3d4e5"},
        ),
        ("server", "bond established", {"group": "a1b2c3d4e5"}, {"group": "a1b2c3d4e5"}),
        ("aggregator", "registering client", {"client": "5be0"}, {"client": "5be0"}),
        (
            "aggregator",
            "forwarded aggregate",
            {"round": "812", "clients": "37"},
            {"round": 812, "clients": 37},
        ),
        ("client", "registration submitted", {}, {}),
        ("client", "registration accepted", {"client": "5be0"}, {"client": "5be0"}),
        ("client", "registration failed", {"error": "ticket expired"}, {"error": "ticket expired"}),
        (
            "client",
            "sealed envelope",
            {"round": "812", "bytes": "16384"},
            {"round": 812, "bytes": 16384},
        ),
    ],
)
def test_every_zipnet_event_is_recognised(
    zipnet: PatternSet, role: str, message: str, fields: dict[str, str], expected: dict[str, Any]
) -> None:
    event = Matcher(zipnet).match(record(message, role=role, **fields))
    assert event is not None
    assert dict(event.fields) == expected
    assert all(type(event.fields[k]) is type(v) for k, v in expected.items())


def test_event_carries_who_and_when(zipnet: PatternSet) -> None:
    r = record("round finalized", round="812", participants="37")
    event = Matcher(zipnet)(r)
    assert event is not None
    assert (event.name, event.time_us, event.instance, event.role, event.host) == (
        "round_finalized",
        r.time_us,
        "acme-mainnet",
        "server",
        "srv1",
    )
    assert event.leader_only is True
    submitted = Matcher(zipnet)(record("submitted partial", round="812"))
    assert submitted is not None and submitted.leader_only is False


def test_a_client_cannot_forge_a_server_event(zipnet: PatternSet) -> None:
    matcher = Matcher(zipnet)
    forged = record("round finalized", role="client", round="812", participants="37")
    assert matcher.match(forged) is None
    assert matcher.counts()["round_finalized"] == PatternCounts(0, 0, 0)
    misses = matcher.explain(forged).misses
    assert [(m.pattern, m.reason) for m in misses] == [
        ("round_finalized", "role client is not one of server")
    ]


@pytest.mark.parametrize(("role", "instance"), [(None, "acme-mainnet"), ("server", None)])
def test_records_without_role_or_instance_match_nothing(
    zipnet: PatternSet, role: str | None, instance: str | None
) -> None:
    r = record("round finalized", role=role, instance=instance, round="8", participants="3")
    assert Matcher(zipnet).match(r) is None
    assert Matcher(zipnet).explain(r).event is None


def test_missing_or_ill_typed_fields_are_rejected_and_counted(zipnet: PatternSet) -> None:
    matcher = Matcher(zipnet)
    assert matcher.match(record("round finalized", round="812")) is None
    assert matcher.match(record("round finalized", round="x", participants="3")) is None
    assert matcher.match(record("round finalized", round="8", participants="3")) is not None
    assert matcher.counts()["round_finalized"] == PatternCounts(matched=1, rejected=2, timeouts=0)


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", "812", 812),
        ("int", "-3", -3),
        ("int", "0", 0),
        ("int", " 7", None),
        ("int", "7_0", None),
        ("int", "\u0668\u0661\u0662", None),  # Arabic-Indic digits: int() would take them
        ("int", "1.5", None),
        ("int", "", None),
        ("int", "9" * 5000, None),  # past Python's int() digit limit: rejected, no crash
        ("float", "1.5", 1.5),
        ("float", "2", 2.0),
        ("float", "-1e3", -1000.0),
        ("float", "nan", None),
        ("float", "1e999", None),
        ("float", "1_0", None),
        ("str", "ticket expired", "ticket expired"),
        ("str", "", ""),
    ],
)
def test_field_types(kind: str, text: str, value: object) -> None:
    matcher = Matcher(patterns(make("p", "m", fields={"v": kind})))
    event = matcher.match(record("m", v=text))
    if value is None:
        assert event is None
        assert matcher.counts()["p"].rejected == 1
    else:
        assert event is not None
        assert event.fields["v"] == value and type(event.fields["v"]) is type(value)


def test_named_groups_are_fields_typed_when_listed() -> None:
    p = make(
        "p",
        r"round (?P<round>\d+) of (?P<epoch>\w+)(?P<tail> again)?",
        fields={"round": "int"},
    )
    event = Matcher(patterns(p)).match(record("round 812 of e7", round="1"))
    assert event is not None
    # The group is what the pattern author pointed at: it wins over the record's field.
    assert dict(event.fields) == {"round": 812, "epoch": "e7"}


def test_first_pattern_in_load_order_wins() -> None:
    plain_first = patterns(make("a", "x y"), make("b", "x y"), make("c", r"x\s\w"))
    assert Matcher(plain_first).match(record("x y")).name == "a"  # type: ignore[union-attr]
    regex_first = patterns(make("c", r"x\s\w"), make("a", "x y"))
    assert Matcher(regex_first).match(record("x y")).name == "c"  # type: ignore[union-attr]
    verdict = Matcher(regex_first).explain(record("x y"))
    assert [(m.pattern, m.reason) for m in verdict.misses] == [
        ("a", "shadowed by c, which comes first")
    ]


def test_a_rejected_pattern_does_not_stop_a_later_one() -> None:
    ps = patterns(make("strict", "go", fields={"n": "int"}), make("loose", "go"))
    matcher = Matcher(ps)
    event = matcher.match(record("go", n="many"))
    assert event is not None and event.name == "loose"
    assert matcher.counts()["strict"].rejected == 1


def test_level_and_target_filters() -> None:
    ps = patterns(
        make("warned", "m", level="WARN"),
        make("targeted", "m", target=cast(CompiledRegex, regex.compile(r"zipnet::\w+"))),
    )
    matcher = Matcher(ps)
    assert matcher.match(record("m")) is None  # INFO, and the target has two `::` parts
    warn = Record(1, "i", "server", None, "WARN", None, "m", {})
    assert matcher.match(warn).name == "warned"  # type: ignore[union-attr]
    targeted = Record(1, "i", "server", None, "INFO", "zipnet::client", "m", {})
    assert matcher.match(targeted).name == "targeted"  # type: ignore[union-attr]
    reasons = {m.pattern: m.reason for m in matcher.explain(record("m")).misses}
    assert reasons == {
        "warned": "level INFO is not WARN",
        "targeted": "target zipnet::server::round does not match",
    }


def test_catastrophic_regex_times_out_is_counted_and_the_run_goes_on() -> None:
    # `(a+)+$` is the classic, but the regex module defuses that one by itself;
    # `(a|aa)+$` it cannot.
    ps = patterns(make("evil", r"(a|aa)+$"), make("tame", r"(a+)+$"), make("after", r"a+!"))
    matcher = Matcher(ps, timeout_s=0.05)
    hostile = record("a" * 60 + "!")
    started = time.perf_counter()
    event = matcher.match(hostile)
    elapsed = time.perf_counter() - started
    assert event is not None and event.name == "after"
    assert elapsed < 1.0
    counts = matcher.counts()
    assert counts["evil"] == PatternCounts(matched=0, rejected=0, timeouts=1)
    assert counts["tame"].timeouts == 0
    assert ("evil", "message regex timed out") in [
        (m.pattern, m.reason) for m in matcher.explain(hostile).misses
    ]


def test_huge_hostile_line_is_cheap(zipnet: PatternSet) -> None:
    matcher = Matcher(zipnet)
    huge = record("round finalized " + "\x00\x1b[2J" * 200_000, round="1", participants="1")
    started = time.perf_counter()
    assert matcher.match(huge) is None
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    ("pattern", "literal", "plain"),
    [
        ("round finalized", "round finalized", True),
        (r"heartbeat failed: too\ many\.", "heartbeat failed: too many.", True),
        (r"round (?P<round>\d+) finalized", " finalized", False),
        (r"rounds? finalized", " finalized", False),
        (r"round{1,2} x", "roun", False),
        (r"ab[cd]efg", "efg", False),
        (r"a[]|(]bcd", "bcd", False),
        (r"opening round \d+", "opening round ", False),
        (r"x.*yz", "yz", False),
        (r"round|epoch", "", False),
        (r"(?i)round", "", False),
        (r"(?x)round finalized", "", False),
        (r"(?#note)round", "", False),
        (r"\x41BC", "", False),
        (r"\p{L}+ round", "", False),
        (r"(round", "", False),
        (r"round)", "", False),
        (r"[round", "", False),
        ("", "", True),
    ],
)
def test_required_literal(pattern: str, literal: str, plain: bool) -> None:
    assert required_literal(pattern) == (literal, plain)


# Pieces valid for both `re` (hypothesis draws strings from them) and `regex`.
ATOMS = [
    "round",
    " ",
    "fin",
    "a",
    "b",
    r"\.",
    r"\ ",
    r"\d+",
    r"\w",
    r"(\w+)",
    r"(?:ab|b)",
    "[ab]",
    ".",
    "a?",
    "b*",
    "x{1,2}",
    "(?:a|b)+",
    "(?=a)",
]
pattern_text = st.builds(
    lambda parts, alt, flags: flags + "".join(parts) + alt,
    st.lists(st.sampled_from(ATOMS), min_size=1, max_size=5),
    st.one_of(st.just(""), st.just("|round"), st.just("|b.")),
    st.sampled_from(["", "", "(?i)"]),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.lists(pattern_text, min_size=1, max_size=6))
def test_prefilter_agrees_with_brute_force(data: st.DataObject, texts: list[str]) -> None:
    roles = [data.draw(st.sampled_from([("server",), ("client",), ("server", "client")]))]
    roles += [data.draw(st.sampled_from([("server",), ("client",)])) for _ in texts[1:]]
    ps = patterns(
        *(make(f"p{i}", t, roles=r) for i, (t, r) in enumerate(zip(texts, roles, strict=True)))
    )
    matcher = Matcher(ps, timeout_s=5.0)
    pick = st.sampled_from(texts).flatmap(lambda t: st.from_regex(t, fullmatch=True))
    messages = st.one_of(pick, st.text(alphabet="abroundfinxAB. 7", max_size=12))
    for _ in range(5):
        message = data.draw(messages)
        role = data.draw(st.sampled_from(["server", "client"]))
        expected = next(
            (
                p.name
                for p in ps.patterns
                if role in p.roles and p.regex.fullmatch(message) is not None
            ),
            None,
        )
        event = matcher.match(record(message, role=role))
        assert (event.name if event else None) == expected
        brute = matcher.explain(record(message, role=role)).event
        assert (brute.name if brute else None) == expected
        for p in ps.patterns:
            literal, plain = required_literal(p.regex.pattern)
            if p.regex.fullmatch(message) is not None:
                assert literal in message
            if plain:
                assert (p.regex.fullmatch(message) is not None) == (message == literal)
