"""Pattern files: find, parse, validate and compile `patterns/*.toml`, and check their examples."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import regex

import logwatch
from logwatch.decode import Decoder, DecodeSettings
from logwatch.errors import PatternError
from logwatch.events import FieldValue
from logwatch.match import Matcher
from logwatch.records import MESSAGE, Entry, Record, Unreadable

ROLES = ("server", "aggregator", "client")
LEVELS = ("ERROR", "WARN", "INFO", "DEBUG", "TRACE")
FIELD_TYPES = ("int", "float", "str")
# Examples are decoded as bare lines, which name no unit and so no instance;
# a record without an instance matches nothing, so examples get this one.
EXAMPLE_INSTANCE = "example"

Decode = Callable[[Entry], Record | Unreadable]

_PATTERN_KEYS = frozenset(
    {"roles", "message", "fields", "leader_only", "level", "target", "examples", "description"}
)
_EXAMPLE_KEYS = frozenset({"line", "expect", "role", "match"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFINE_REF = re.compile(r"%\{([A-Za-z_][A-Za-z0-9_]*)\}")


CompiledRegex = regex.Pattern[str]
"""A compiled message or target regex (the `regex` module: timeouts, `\\p{..}`)."""


@dataclass(frozen=True, slots=True)
class Example:
    """A sample line a pattern must match (or, with `match = false`, must not).

    role: the role the line is taken to come from (default: the pattern's first role).
    expect: the typed fields the event must carry, all of them.
    """

    line: str
    role: str
    expect: Mapping[str, FieldValue]
    match: bool = True


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named pattern, compiled: which records it recognises and the event it makes of them.

    origin: the file it was loaded from.
    message: the message regex as written; `regex` is it with `%{NAME}` expanded, compiled.
    fields: field name → `int` | `float` | `str`; every one is required.
    overrides: the files whose pattern of the same name this one replaced, oldest first.
    """

    name: str
    origin: str
    roles: tuple[str, ...]
    message: str
    regex: CompiledRegex
    fields: Mapping[str, str]
    examples: tuple[Example, ...]
    leader_only: bool = False
    level: str | None = None
    target: CompiledRegex | None = None
    description: str = ""
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PatternSet:
    """Every loaded pattern, in load order (the first one that matches a record claims it).

    defines: the `[define]` fragments in force after overrides.
    files: every file read, in load order.
    """

    patterns: tuple[Pattern, ...]
    defines: Mapping[str, str]
    files: tuple[str, ...]

    def get(self, name: str) -> Pattern | None:
        """The pattern called `name`, or None."""
        return next((p for p in self.patterns if p.name == name), None)


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    """An example that does not do what it says: which pattern, which example, and why."""

    origin: str
    pattern: str
    index: int
    line: str
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.origin}: pattern {self.pattern}: example {self.index} "
            f"{_shorten(self.line)}: {self.reason}"
        )


@dataclass(frozen=True, slots=True)
class _RawPattern:
    """A pattern as read from one file: checked for shape, not yet compiled."""

    name: str
    origin: str
    roles: tuple[str, ...]
    message: str
    fields: Mapping[str, str]
    examples: tuple[Example, ...]
    leader_only: bool
    level: str | None
    target: str | None
    description: str


def default_patterns_dir() -> Path:
    """The patterns shipped with logwatch: inside the wheel, or `patterns/` in a source checkout."""
    package = Path(logwatch.__file__).parent
    installed = package / "default_patterns"
    return installed if installed.is_dir() else package.parent / "patterns"


def pattern_dirs(user: Sequence[Path] = (), *, config_home: Path | None = None) -> list[Path]:
    """Where patterns load from, in order: the defaults, the user's config dir when it
    exists (`$XDG_CONFIG_HOME/logwatch/patterns`, else `~/.config/...`), then `user`."""
    if config_home is None:
        xdg = os.environ.get("XDG_CONFIG_HOME")
        config_home = Path(xdg) if xdg else Path.home() / ".config"
    dirs = [default_patterns_dir()]
    mine = config_home / "logwatch" / "patterns"
    if mine.is_dir():
        dirs.append(mine)
    dirs.extend(user)
    return dirs


def load_patterns(
    paths: Sequence[Path],
    *,
    decode: Decode | None = None,
    check: bool = True,
    timeout_s: float = 1.0,
) -> PatternSet:
    """Load pattern files from `paths` (dirs: their `*.toml` in name order; or single files),
    later ones overriding earlier ones by name, and check every example with `decode`
    (default: a Decoder for EXAMPLE_INSTANCE) once any file is not one logwatch ships.

    check: False to skip the examples, for a caller that runs `check_examples` itself to
        report every failure rather than the first.
    Raises PatternError, one line naming the file and pattern, for anything wrong.
    """
    files = _files(paths)
    defines: dict[str, str] = {}
    raws: dict[str, _RawPattern] = {}
    overridden: dict[str, list[str]] = {}
    for file in files:
        file_defines, file_patterns = _read_file(file)
        defines.update(file_defines)
        for raw in file_patterns:
            if raw.name in raws:
                overridden.setdefault(raw.name, []).append(raws[raw.name].origin)
            # A dict keeps the first insertion's position, so an override takes the
            # place of the pattern it replaces in the first-match-wins order.
            raws[raw.name] = raw
    patterns = tuple(
        _compile(raw, defines, tuple(overridden.get(name, ()))) for name, raw in raws.items()
    )
    pattern_set = PatternSet(patterns, dict(defines), tuple(str(f) for f in files))
    # The shipped files alone are checked by the test suite, not at every start.
    shipped = default_patterns_dir()
    if check and any(f.parent != shipped for f in files):
        failures = check_examples(pattern_set, decode or _default_decode(), timeout_s=timeout_s)
        if failures:
            raise PatternError(str(failures[0]))
    return pattern_set


def check_examples(
    pattern_set: PatternSet, decode: Decode, *, timeout_s: float = 1.0
) -> list[ExampleFailure]:
    """Decode every example line, take it as coming from the example's role, match it against
    the whole set, and say where the outcome differs from what the example expects."""
    matcher = Matcher(pattern_set, timeout_s=timeout_s)
    failures = []
    for pattern in pattern_set.patterns:
        for index, example in enumerate(pattern.examples, start=1):
            reason = _example_problem(matcher, pattern, example, decode)
            if reason is not None:
                failures.append(
                    ExampleFailure(pattern.origin, pattern.name, index, example.line, reason)
                )
    return failures


def expand_defines(text: str, defines: Mapping[str, str]) -> str:
    """`text` with every `%{NAME}` replaced by its define, recursively, each wrapped in a
    non-capturing group so that `%{X}+` or an alternation inside X mean what they look like.

    Raises ValueError naming an unknown define or a cycle.
    """

    def expand(fragment: str, stack: tuple[str, ...]) -> str:
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in stack:
                chain = " -> ".join("%{" + s + "}" for s in (*stack, name))
                raise ValueError(f"define cycle: {chain}")
            if name not in defines:
                raise ValueError(f"unknown define %{{{name}}}")
            return "(?:" + expand(defines[name], (*stack, name)) + ")"

        return _DEFINE_REF.sub(one, fragment)

    return expand(text, ())


def _default_decode() -> Decode:
    return Decoder(DecodeSettings(instance=EXAMPLE_INSTANCE, untimed_us=0))


def _files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.toml") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise PatternError(f"{path}: no such pattern file or directory")
    return files


def _read_file(file: Path) -> tuple[dict[str, str], list[_RawPattern]]:
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PatternError(f"{file}: cannot read: {_one_line(str(exc))}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PatternError(f"{file}: bad TOML: {_one_line(str(exc))}") from None
    unknown = set(doc) - {"define", "patterns"}
    if unknown:
        raise PatternError(
            f"{file}: unknown key {sorted(unknown)[0]!r} (expected define, patterns)"
        )
    defines = doc.get("define", {})
    if not isinstance(defines, dict):
        raise PatternError(f"{file}: [define] must be a table of name = 'regex'")
    for name, value in defines.items():
        if not _NAME.fullmatch(name) or not isinstance(value, str):
            raise PatternError(f"{file}: define {name}: must be NAME = 'regex'")
    patterns = doc.get("patterns", {})
    if not isinstance(patterns, dict):
        raise PatternError(f"{file}: [patterns] must be a table of [patterns.NAME] tables")
    raws = []
    for name, table in patterns.items():
        try:
            raws.append(_raw_pattern(name, str(file), table))
        except ValueError as exc:
            raise PatternError(f"{file}: pattern {name}: {exc}") from None
    return dict(defines), raws


def _raw_pattern(name: str, origin: str, table: object) -> _RawPattern:
    if not _NAME.fullmatch(name):
        raise ValueError("a pattern name is letters, digits and _")
    if not isinstance(table, dict):
        raise ValueError("must be a table")
    unknown = set(table) - _PATTERN_KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
    roles = table.get("roles")
    if not isinstance(roles, list) or not roles:
        raise ValueError("roles must be a non-empty list (server, aggregator, client)")
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (expected server, aggregator, client)")
    message = table.get("message")
    if not isinstance(message, str) or not message:
        raise ValueError("message must be a non-empty regex string")
    fields = table.get("fields", {})
    if not isinstance(fields, dict):
        raise ValueError("fields must be a table of name = 'int' | 'float' | 'str'")
    for field, kind in fields.items():
        if not _NAME.fullmatch(field):
            raise ValueError(f"bad field name {field!r}")
        if kind not in FIELD_TYPES:
            raise ValueError(f"field {field}: unknown type {kind!r} (expected int, float, str)")
    leader_only = table.get("leader_only", False)
    if not isinstance(leader_only, bool):
        raise ValueError("leader_only must be true or false")
    level = table.get("level")
    if level is not None and (not isinstance(level, str) or level.upper() not in LEVELS):
        raise ValueError(f"unknown level {level!r} (expected one of {', '.join(LEVELS)})")
    target = table.get("target")
    if target is not None and not isinstance(target, str):
        raise ValueError("target must be a regex string")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ValueError("description must be a string")
    examples = table.get("examples")
    if not isinstance(examples, list) or not examples:
        raise ValueError("no examples (add at least one [[patterns.NAME.examples]])")
    first_role = cast(str, roles[0])
    return _RawPattern(
        name=name,
        origin=origin,
        roles=tuple(dict.fromkeys(cast(list[str], roles))),
        message=message,
        fields=dict(fields),
        examples=tuple(_example(i, e, first_role) for i, e in enumerate(examples, start=1)),
        leader_only=leader_only,
        level=level.upper() if isinstance(level, str) else None,
        target=target,
        description=description,
    )


def _example(index: int, table: object, default_role: str) -> Example:
    where = f"example {index}"
    if not isinstance(table, dict):
        raise ValueError(f"{where}: must be a table with line and expect")
    unknown = set(table) - _EXAMPLE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    line = table.get("line")
    if not isinstance(line, str):
        raise ValueError(f"{where}: line must be a string")
    role = table.get("role", default_role)
    if role not in ROLES:
        raise ValueError(f"{where}: unknown role {role!r}")
    match = table.get("match", True)
    if not isinstance(match, bool):
        raise ValueError(f"{where}: match must be true or false")
    expect = table.get("expect", {})
    if not isinstance(expect, dict):
        raise ValueError(f"{where}: expect must be a table of field = value")
    if expect and not match:
        raise ValueError(f"{where}: expect makes no sense with match = false")
    for key, value in expect.items():
        # bool is an int to Python but never a field value.
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{where}: expect.{key} must be a number or a string")
    return Example(line=line, role=cast(str, role), expect=dict(expect), match=match)


def _compile(raw: _RawPattern, defines: Mapping[str, str], overrides: tuple[str, ...]) -> Pattern:
    where = f"{raw.origin}: pattern {raw.name}"
    try:
        message = _regex(raw.message, defines, "message")
        target = _regex(raw.target, defines, "target") if raw.target is not None else None
    except ValueError as exc:
        raise PatternError(f"{where}: {exc}") from None
    return Pattern(
        name=raw.name,
        origin=raw.origin,
        roles=raw.roles,
        message=raw.message,
        regex=message,
        fields=raw.fields,
        examples=raw.examples,
        leader_only=raw.leader_only,
        level=raw.level,
        target=target,
        description=raw.description,
        overrides=overrides,
    )


def _regex(text: str, defines: Mapping[str, str], what: str) -> CompiledRegex:
    expanded = expand_defines(text, defines)
    try:
        return regex.compile(expanded)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise ValueError(f"bad {what} regex {_shorten(expanded)}: {_one_line(str(exc))}") from None


def _example_problem(
    matcher: Matcher, pattern: Pattern, example: Example, decode: Decode
) -> str | None:
    decoded = decode(Entry(time_us=None, time_exact=False, fields={MESSAGE: example.line}))
    if isinstance(decoded, Unreadable):
        return f"line does not decode: {decoded.reason}"
    record = decoded._replace(role=example.role, instance=decoded.instance or EXAMPLE_INSTANCE)
    verdict = matcher.explain(record)
    event = verdict.event
    if not example.match:
        if event is not None and event.name == pattern.name:
            return "matched, but the example says match = false"
        return None
    if event is None:
        mine = [m.reason for m in verdict.misses if m.pattern == pattern.name]
        why = mine[0] if mine else f"message {record.message!r} does not match"
        return f"not matched: {_one_line(why)}"
    if event.name != pattern.name:
        return f"matched by pattern {event.name} instead"
    if not _same_fields(example.expect, event.fields, pattern.fields):
        return f"expected {_show(example.expect)}, got {_show(event.fields)}"
    return None


def _same_fields(
    expect: Mapping[str, FieldValue], got: Mapping[str, FieldValue], kinds: Mapping[str, str]
) -> bool:
    if set(expect) != set(got):
        return False
    for key, want in expect.items():
        have = got[key]
        if kinds.get(key, "str") == "float":
            # TOML writes 2.0 as 2 as readily as 2.0; both mean the float.
            if isinstance(want, str) or float(want) != have:
                return False
        elif type(want) is not type(have) or want != have:
            return False
    return True


def _show(fields: Mapping[str, FieldValue]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in sorted(fields.items())) + "}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int = 80) -> str:
    # repr() so a line full of escape codes cannot drive the operator's terminal.
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"
