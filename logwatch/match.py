"""Match: recognise records as named events using the loaded patterns, cheaply and with a timeout.

How a record finds its pattern (the prefilter). Every pattern's message regex is matched
against the WHOLE message (fullmatch), so at load each regex is reduced to what any matching
message must contain (see `required_literal`):

- a plain literal (all zipnet's own messages): the message must equal it, so these patterns
  sit in a dict keyed by that text and are found by one lookup, no regex run at all;
- anything else: the longest run of literal text outside groups, classes and quantifiers;
  such a pattern is tried only when that text is `in` the message (a pattern with no such
  run, or one whose syntax we do not fully understand, is always tried).

Both tables are kept per role, so a record from a role no pattern names costs one lookup,
and a line that can match nothing costs one dict lookup plus one `in` test per non-literal
pattern of its role. A record without an instance is not a zipnet record and matches nothing.

When several patterns could claim a record, the first in load order wins (an override
keeps the place of the pattern it replaced); the others are not even tried.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING

from logwatch.events import Event, FieldValue
from logwatch.prefilter import Screen, required_literal
from logwatch.records import Record

if TYPE_CHECKING:
    # Types only: pattern_files uses a Matcher to check examples.
    from logwatch.pattern_files import CompiledRegex, Pattern, PatternSet

Converter = Callable[[str], FieldValue]

_FLOAT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", re.ASCII)
_BY_INDEX = attrgetter("index")


@dataclass(frozen=True, slots=True)
class PatternCounts:
    """What one pattern did: records it claimed, ones whose message matched but whose fields
    were missing or ill-typed, and regex runs stopped by the timeout."""

    matched: int = 0
    rejected: int = 0
    timeouts: int = 0


@dataclass(frozen=True, slots=True)
class Miss:
    """A pattern whose message regex matched a record (or timed out) that still did not claim it."""

    pattern: str
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything the patterns say about one record, for `patterns test`: the event (if any)
    and every near miss (wrong role, missing field, timeout, shadowed by an earlier pattern)."""

    event: Event | None
    misses: tuple[Miss, ...] = ()


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A pattern made ready for the hot path."""

    index: int
    name: str
    pattern: Pattern
    regex: CompiledRegex | None  # None: a plain literal, so equality already decided it
    literal: str
    level: str | None
    target: CompiledRegex | None
    fields: tuple[tuple[str, str, Converter], ...]
    extra_groups: tuple[str, ...]
    leader_only: bool


@dataclass(frozen=True, slots=True)
class _RoleIndex:
    exact: Mapping[str, tuple[_Compiled, ...]]
    scanned: tuple[_Compiled, ...]


class Matcher:
    """Turns records into events with a pattern set; counts per pattern what happened.

    timeout_s: the longest one regex may run on one record; past it that pattern does not
        match that record, and its `timeouts` count goes up.
    """

    __slots__ = (
        "_by_role",
        "_compiled",
        "_matched",
        "_rejected",
        "_timeout",
        "_timeouts",
        "patterns",
    )

    def __init__(self, patterns: PatternSet, timeout_s: float = 0.05) -> None:
        self.patterns = patterns
        self._timeout = timeout_s
        self._compiled = tuple(_prepare(i, p) for i, p in enumerate(patterns.patterns))
        roles = {role for p in patterns.patterns for role in p.roles}
        self._by_role: dict[str | None, _RoleIndex] = {
            role: _index(self._compiled, role) for role in roles
        }
        self._matched = [0] * len(self._compiled)
        self._rejected = [0] * len(self._compiled)
        self._timeouts = [0] * len(self._compiled)

    def __call__(self, record: Record) -> Event | None:
        """Same as `match`."""
        return self.match(record)

    def match(self, record: Record) -> Event | None:
        """The event of the first pattern (in load order) that claims `record`, or None."""
        if record.instance is None:
            return None
        index = self._by_role.get(record.role)
        if index is None:
            return None
        message = record.message
        exact = index.exact.get(message)
        candidates: tuple[_Compiled, ...] | list[_Compiled]
        if index.scanned:
            scanned = [c for c in index.scanned if c.literal in message]
            if not scanned:
                if exact is None:
                    return None
                candidates = exact
            elif exact is None:
                candidates = scanned
            else:
                candidates = sorted((*exact, *scanned), key=_BY_INDEX)
        elif exact is None:
            return None
        else:
            candidates = exact
        for compiled in candidates:
            event = self._try(compiled, record)
            if event is not None:
                return event
        return None

    def screen(self, names: Collection[str] | None = None) -> Screen:
        """The prefilter on raw messages that goes with these patterns (those `names`d;
        None: all): what it rejects, they would never claim (sources use it to skip
        reading such entries)."""
        return Screen(c.literal for c in self._compiled if names is None or c.name in names)

    def explain(self, record: Record) -> Verdict:
        """Try every pattern on `record`, without the prefilter and without counting, and say
        which one claims it and why the others whose message matched did not."""
        event: Event | None = None
        misses: list[Miss] = []
        for compiled in self._compiled:
            try:
                m = compiled.pattern.regex.fullmatch(record.message, timeout=self._timeout)
            except TimeoutError:
                misses.append(Miss(compiled.name, "message regex timed out"))
                continue
            if m is None:
                continue
            reason = _gate(compiled, record, self._timeout)
            values = (
                _typed_fields(compiled, record.fields, m.groupdict()) if reason is None else reason
            )
            if isinstance(values, str):
                misses.append(Miss(compiled.name, values))
            elif event is None:
                event = _event(compiled, record, values)
            else:
                misses.append(Miss(compiled.name, f"shadowed by {event.name}, which comes first"))
        return Verdict(event, tuple(misses))

    def counts(self) -> dict[str, PatternCounts]:
        """Per pattern name, what it has done so far."""
        return {
            c.name: PatternCounts(
                self._matched[c.index], self._rejected[c.index], self._timeouts[c.index]
            )
            for c in self._compiled
        }

    def _try(self, compiled: _Compiled, record: Record) -> Event | None:
        if compiled.level is not None and record.level != compiled.level:
            return None
        timeout = self._timeout
        try:
            if compiled.target is not None and (
                record.target is None
                or compiled.target.fullmatch(record.target, timeout=timeout) is None
            ):
                return None
            groups = None
            if compiled.regex is not None:
                m = compiled.regex.fullmatch(record.message, timeout=timeout)
                if m is None:
                    return None
                groups = m.groupdict()
        except TimeoutError:
            self._timeouts[compiled.index] += 1
            return None
        values = _typed_fields(compiled, record.fields, groups)
        if isinstance(values, str):
            self._rejected[compiled.index] += 1
            return None
        self._matched[compiled.index] += 1
        return _event(compiled, record, values)


def _prepare(index: int, pattern: Pattern) -> _Compiled:
    literal, plain = required_literal(pattern.regex.pattern)
    groups = pattern.regex.groupindex
    return _Compiled(
        index=index,
        name=pattern.name,
        pattern=pattern,
        regex=None if plain else pattern.regex,
        literal=literal,
        level=pattern.level,
        target=pattern.target,
        fields=tuple((name, kind, _CONVERTERS[kind]) for name, kind in pattern.fields.items()),
        extra_groups=tuple(g for g in groups if g not in pattern.fields),
        leader_only=pattern.leader_only,
    )


def _index(compiled: tuple[_Compiled, ...], role: str) -> _RoleIndex:
    exact: dict[str, list[_Compiled]] = {}
    scanned: list[_Compiled] = []
    for c in compiled:
        if role not in c.pattern.roles:
            continue
        if c.regex is None:
            exact.setdefault(c.literal, []).append(c)
        else:
            scanned.append(c)
    return _RoleIndex({k: tuple(v) for k, v in exact.items()}, tuple(scanned))


def _gate(compiled: _Compiled, record: Record, timeout: float) -> str | None:
    """Why `record` may not be claimed by `compiled` whatever its message says, or None."""
    if record.instance is None:
        return "no instance: not from a zipnet unit"
    if record.role not in compiled.pattern.roles:
        allowed = ", ".join(compiled.pattern.roles)
        return f"role {record.role or 'unknown'} is not one of {allowed}"
    if compiled.level is not None and record.level != compiled.level:
        return f"level {record.level or 'unknown'} is not {compiled.level}"
    if compiled.target is not None:
        try:
            if record.target is None or not compiled.target.fullmatch(
                record.target, timeout=timeout
            ):
                return f"target {record.target or 'unknown'} does not match"
        except TimeoutError:
            return "target regex timed out"
    return None


def _typed_fields(
    compiled: _Compiled, fields: Mapping[str, str], groups: Mapping[str, str | None] | None
) -> dict[str, FieldValue] | str:
    """The pattern's fields typed, or why they cannot be (the record is then "rejected")."""
    values: dict[str, FieldValue] = {}
    for name, kind, convert in compiled.fields:
        text = groups.get(name) if groups else None
        if text is None:
            text = fields.get(name)
            if text is None:
                return f"field {name} missing"
        try:
            values[name] = convert(text)
        except ValueError:
            return f"field {name}={text[:40]!r} is not {kind}"
    if groups:
        for name in compiled.extra_groups:
            text = groups.get(name)
            if text is not None:
                values[name] = text
    return values


def _event(compiled: _Compiled, record: Record, values: dict[str, FieldValue]) -> Event:
    # Positional: a frozen dataclass's keyword call costs a third more, on every match.
    return Event(
        compiled.name,
        record.time_us,
        record.instance or "",
        record.role or "",
        record.host,
        values,
        compiled.leader_only,
    )


def _to_int(text: str) -> int:
    digits = text[1:] if text[:1] == "-" else text
    # int() alone would also take " 7", "7_0" and non-ASCII digits.
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(text)
    return int(text)  # ValueError past 4300 digits: a hostile value, not a round number


def _to_float(text: str) -> float:
    if _FLOAT.fullmatch(text) is None:
        raise ValueError(text)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _to_str(text: str) -> str:
    return text


_CONVERTERS: dict[str, Converter] = {"int": _to_int, "float": _to_float, "str": _to_str}
