"""Tests for logwatch.pattern_files: finding, loading, overriding, refusing, checking examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from logwatch.decode import Decoder, DecodeSettings
from logwatch.errors import PatternError
from logwatch.pattern_files import (
    EXAMPLE_INSTANCE,
    PatternSet,
    check_examples,
    default_patterns_dir,
    expand_defines,
    load_patterns,
    pattern_dirs,
)
from logwatch.records import Entry, Record, Unreadable

LINE = (
    "2026-11-25T10:00:00.123456Z  INFO zipnet::server::round: "
    "round finalized round=812 participants=37"
)

GOOD = f"""
[patterns.round_finalized]
roles = ["server"]
message = 'round finalized'
fields = {{ round = "int", participants = "int" }}
leader_only = true
[[patterns.round_finalized.examples]]
line = '{LINE}'
expect = {{ round = 812, participants = 37 }}
"""

# The engine relies on exactly these names and fields.
CONTRACT = {
    "opening_round": ("server", True, {"round": "int"}),
    "submitted_partial": ("server", False, {"round": "int"}),
    "applying_aggregate": ("server", False, {"round": "int", "clients": "int"}),
    "round_finalized": ("server", True, {"round": "int", "participants": "int"}),
    "rival_leader": ("server", False, {"term": "int", "other_leader": "str", "group": "str"}),
    "heartbeat_failed": ("server", False, {"peer": "str", "group": "str"}),
    "bond_established": ("server", False, {"group": "str"}),
    "registering_client": ("aggregator", False, {"client": "str"}),
    "forwarded_aggregate": ("aggregator", False, {"round": "int", "clients": "int"}),
    "registration_submitted": ("client", False, {}),
    "registration_accepted": ("client", False, {"client": "str"}),
    "registration_failed": ("client", False, {"error": "str"}),
    "sealed_envelope": ("client", False, {"round": "int", "bytes": "int"}),
}


@pytest.fixture
def decode() -> Decoder:
    return Decoder(DecodeSettings(instance=EXAMPLE_INSTANCE))


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def defaults() -> PatternSet:
    # Unchecked, so that only the test made for it fails when decode breaks an example.
    return load_patterns([default_patterns_dir()], check=False)


def test_default_patterns_are_the_contract() -> None:
    patterns = defaults()
    assert [p.name for p in patterns.patterns] == list(CONTRACT)
    for p in patterns.patterns:
        role, leader_only, fields = CONTRACT[p.name]
        assert (p.roles, p.leader_only, dict(p.fields)) == ((role,), leader_only, fields), p.name


def test_default_examples_pass(decode: Decoder) -> None:
    patterns = defaults()
    assert check_examples(patterns, decode) == []
    assert [p.name for p in load_patterns([default_patterns_dir()]).patterns] == list(CONTRACT)


def test_default_patterns_show_every_rendering() -> None:
    patterns = defaults()
    for p in patterns.patterns:
        lines = [e.line for e in p.examples if e.match]
        assert any("\x1b[" in line for line in lines), p.name
        assert any(line.startswith('{"timestamp"') and '"fields"' in line for line in lines)
        assert any(line.startswith('{"timestamp"') and '"fields"' not in line for line in lines)
        assert sum(line.startswith("2026-") for line in lines) >= 2, p.name


def test_default_dir_is_the_repo_patterns_dir_in_a_checkout() -> None:
    assert (default_patterns_dir() / "zipnet.toml").is_file()


def test_pattern_dirs_order_and_missing_config(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    assert pattern_dirs([user], config_home=tmp_path) == [default_patterns_dir(), user]
    config = tmp_path / "logwatch" / "patterns"
    config.mkdir(parents=True)
    assert pattern_dirs([user], config_home=tmp_path) == [default_patterns_dir(), config, user]


def test_later_pattern_overrides_by_name_and_keeps_its_place(
    tmp_path: Path, decode: Decoder
) -> None:
    default = default_patterns_dir() / "zipnet.toml"
    override = GOOD.replace("leader_only = true", "leader_only = false")
    mine = write(tmp_path / "mine", "x.toml", override)
    patterns = load_patterns([default_patterns_dir(), tmp_path / "mine"], check=False)
    failures = check_examples(patterns, decode)
    assert [f for f in failures if f.pattern == "round_finalized"] == []
    names = [p.name for p in patterns.patterns]
    assert names == list(CONTRACT)  # same place in the first-match-wins order
    replaced = patterns.get("round_finalized")
    assert replaced is not None
    assert (replaced.origin, replaced.overrides) == (str(mine), (str(default),))
    assert replaced.leader_only is False
    untouched = patterns.get("opening_round")
    assert untouched is not None and untouched.overrides == ()


def test_files_in_a_dir_load_in_name_order(tmp_path: Path, decode: Decoder) -> None:
    b = write(tmp_path, "b.toml", GOOD.replace("leader_only = true", "leader_only = false"))
    a = write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "notes.txt", "not a pattern file")
    patterns = load_patterns([tmp_path], decode=decode)
    assert patterns.files == (str(a), str(b))
    only = patterns.get("round_finalized")
    assert only is not None and only.origin == str(b) and only.leader_only is False


def test_single_file_path_loads(tmp_path: Path, decode: Decoder) -> None:
    path = write(tmp_path, "one.toml", GOOD)
    assert [p.name for p in load_patterns([path], decode=decode).patterns] == ["round_finalized"]


def test_defines_expand_nested_and_later_files_override_them(
    tmp_path: Path, decode: Decoder
) -> None:
    first = GOOD.replace("message = 'round finalized'", "message = '%{FINAL}'")
    first = "[define]\nFINAL = '%{WORD} finalized'\nWORD = 'round'\n" + first
    write(tmp_path, "a.toml", first)
    patterns = load_patterns([tmp_path], decode=decode)
    p = patterns.get("round_finalized")
    assert p is not None and p.regex.pattern == "(?:(?:round) finalized)"
    # A later file's define changes the earlier file's pattern; here it breaks its example.
    write(tmp_path, "b.toml", "[define]\nWORD = 'epoch'\n")
    with pytest.raises(PatternError, match=r"a\.toml: pattern round_finalized: example 1 "):
        load_patterns([tmp_path], decode=decode)


def test_expand_defines_refuses_unknown_and_cycles() -> None:
    assert expand_defines("a%{X}+", {"X": "b|c"}) == "a(?:b|c)+"
    with pytest.raises(ValueError, match=r"unknown define %\{NOPE\}"):
        expand_defines("%{NOPE}", {})
    with pytest.raises(ValueError, match=r"cycle: %\{A\} -> %\{B\} -> %\{A\}"):
        expand_defines("%{A}", {"A": "x%{B}", "B": "%{A}"})


def refusal(tmp_path: Path, decode: Decoder, text: str) -> str:
    path = write(tmp_path, "x.toml", text)
    with pytest.raises(PatternError) as info:
        load_patterns([tmp_path], decode=decode)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("message = 'round finalized'", "message = 'round (finalized'", "bad message regex"),
        ("message = 'round finalized'", "message = '%{NOPE}'", "unknown define %{NOPE}"),
        ('participants = "int"', 'participants = "integer"', "field participants: unknown type"),
        ('roles = ["server"]', "roles = []", "roles must be a non-empty list"),
        ('roles = ["server"]', 'roles = ["committee"]', "unknown role 'committee'"),
        ("leader_only = true", "leader_only = true\ncolour = 'red'", "unknown key 'colour'"),
        ("leader_only = true", "leader_only = 'yes'", "leader_only must be true or false"),
        ("leader_only = true", "level = 'LOUD'", "unknown level 'LOUD'"),
        ("leader_only = true", "target = '(zipnet'", "bad target regex"),
        ("expect = {", "colour = 'red'\nexpect = {", "example 1: unknown key 'colour'"),
        ("expect = {", "role = 'committee'\nexpect = {", "example 1: unknown role"),
        ("expect = {", "match = false\nexpect = {", "example 1: expect makes no sense"),
        ("round = 812, participants = 37 }", "round = 813, participants = 37 }", "expected"),
        ("round = 812, participants = 37 }", "round = '812', participants = 37 }", "expected"),
        ("round = 812, participants = 37 }", "round = 812 }", "expected {round=812}"),
        ("message = 'round finalized'", "message = 'round'", "not matched"),
        ('fields = { round = "int"', 'fields = { epoch = "int", round = "int"', "epoch missing"),
    ],
)
def test_broken_pattern_is_refused_naming_file_and_pattern(
    tmp_path: Path, decode: Decoder, old: str, new: str, reason: str
) -> None:
    assert old in GOOD
    message = refusal(tmp_path, decode, GOOD.replace(old, new, 1))
    assert message.startswith("pattern round_finalized: ")
    assert reason in message


def test_pattern_without_examples_is_refused(tmp_path: Path, decode: Decoder) -> None:
    text = GOOD.split("[[patterns", maxsplit=1)[0]
    assert "no examples" in refusal(tmp_path, decode, text)


def test_bad_toml_is_refused_with_its_line(tmp_path: Path, decode: Decoder) -> None:
    text = GOOD.replace("leader_only = true", "leader_only = tru", 1)
    assert text.splitlines()[5] == "leader_only = tru"
    message = refusal(tmp_path, decode, text)
    assert message.startswith("bad TOML: ") and "line 6" in message


def test_unknown_top_level_key_is_refused(tmp_path: Path, decode: Decoder) -> None:
    assert "unknown key 'pattern'" in refusal(tmp_path, decode, "[pattern.x]\nroles = []\n")


def test_example_claimed_by_an_earlier_pattern_is_refused(tmp_path: Path, decode: Decoder) -> None:
    text = GOOD.replace("[patterns.round_finalized]", "[patterns.finalized_first]", 1)
    text = text.replace("patterns.round_finalized.examples", "patterns.finalized_first.examples")
    message = refusal(tmp_path, decode, text + GOOD)
    assert message.startswith("pattern round_finalized: example 1 ")
    assert message.endswith("matched by pattern finalized_first instead")


def test_negative_example_that_matches_is_refused(tmp_path: Path, decode: Decoder) -> None:
    negative = f"\n[[patterns.round_finalized.examples]]\nline = '{LINE}'\nmatch = false\n"
    message = refusal(tmp_path, decode, GOOD + negative)
    assert message.startswith("pattern round_finalized: example 2 ")
    assert "match = false" in message


def test_negative_example_from_another_role_passes(tmp_path: Path, decode: Decoder) -> None:
    negative = f"\n[[patterns.round_finalized.examples]]\nline = '{LINE}'\nrole = 'client'\n"
    write(tmp_path, "x.toml", GOOD + negative + "match = false\n")
    patterns = load_patterns([tmp_path], decode=decode)
    p = patterns.get("round_finalized")
    assert p is not None and [e.match for e in p.examples] == [True, False]


def test_example_with_escape_codes_is_shown_escaped(tmp_path: Path, decode: Decoder) -> None:
    text = GOOD.replace(f"line = '{LINE}'", f'line = "\\u001b[31m{LINE}"').replace("812, p", "9, p")
    message = refusal(tmp_path, decode, text)
    assert "\x1b" not in message and "\\x1b" in message


def test_unchecked_load_leaves_examples_to_check_examples(tmp_path: Path, decode: Decoder) -> None:
    write(tmp_path, "x.toml", GOOD.replace("round = 812, p", "round = 9, p"))
    patterns = load_patterns([tmp_path], check=False)
    failures = check_examples(patterns, decode)
    assert [(f.pattern, f.index) for f in failures] == [("round_finalized", 1)]
    assert failures[0].reason.startswith("expected {participants=37, round=9}, got")


def test_shipped_patterns_alone_are_not_checked_again_but_any_user_file_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped set is checked by test_default_examples_pass, not at every start; a
    # user's file (which may steal or override a shipped example) makes the whole set
    # checked. The stand-in check only records that it ran.
    from logwatch import pattern_files

    checked: list[int] = []

    def recording(pattern_set: PatternSet, decode: object, *, timeout_s: float) -> list[object]:
        checked.append(len(pattern_set.patterns))
        return []

    monkeypatch.setattr(pattern_files, "check_examples", recording)
    load_patterns([default_patterns_dir()])
    assert checked == []
    write(tmp_path, "x.toml", GOOD.replace("round_finalized", "my_round"))
    load_patterns([default_patterns_dir(), tmp_path])
    assert checked == [len(CONTRACT) + 1]
    monkeypatch.undo()
    broken = GOOD.replace("round_finalized", "my_round").replace("round = 812, p", "round = 9, p")
    write(tmp_path, "x.toml", broken)
    with pytest.raises(PatternError, match="my_round"):
        load_patterns([default_patterns_dir(), tmp_path])


def test_missing_pattern_dir_is_refused(tmp_path: Path, decode: Decoder) -> None:
    with pytest.raises(PatternError, match="no such pattern file or directory"):
        load_patterns([tmp_path / "nope"], decode=decode)


def test_check_examples_reports_every_failure() -> None:
    patterns = defaults()

    def unreadable(entry: Entry) -> Record | Unreadable:
        return Unreadable("test", "garbled")

    failures = check_examples(patterns, unreadable)
    # A negative example that does not decode proves nothing either: it fails too.
    assert len(failures) == sum(len(p.examples) for p in patterns.patterns)
    assert all(f.reason == "line does not decode: garbled" for f in failures)
    first = failures[0]
    assert str(first).startswith(f"{first.origin}: pattern opening_round: example 1 ")


def test_check_examples_forces_the_example_role(tmp_path: Path, decode: Decoder) -> None:
    write(tmp_path, "x.toml", GOOD)
    patterns = load_patterns([tmp_path], check=False)

    def as_client(entry: Entry) -> Record | Unreadable:
        record = decode(entry)
        assert isinstance(record, Record)
        return record._replace(role="client")

    # The decoder's guess of the role (here: always client) must not matter.
    assert check_examples(patterns, as_client) == []
    assert check_examples(patterns, decode) == []
