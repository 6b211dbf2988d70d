"""The prefilter: what text every message a pattern claims must contain, and the raw
messages that hold none of it (rejected before any parsing)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from logwatch.decode.ansi import strip_ansi
from logwatch.decode.tracing_text import leading_stamp
from logwatch.records import HOSTNAME, IDENTIFIER, UNIT, Glance

# A field named `round` in a text rendering (` round=812`, `{round=812}`, Debug-quoted) or
# a JSON one (`"round":812`, `"round":"812"`), in a message lowered (field names are): its
# value's leading digits. Also `xround=`: more numbers than the field's only make the
# caller decode a line it could have passed over.
_ROUND_VALUE = re.compile(r'round"?\s*[=:]\s*"?(-?[0-9]{1,40})')
# Inline flags ((?i), (?x), (?V1)...) can change what every literal means.
_FLAG_START = frozenset("abefiLmprsuVwx-^")
# Escapes of one character that stand for a class or a position, never for text.
_CLASS_ESCAPES = frozenset("dDwWsSbBAZ")


def required_literal(expanded: str) -> tuple[str, bool]:
    """What every string a regex fullmatches must contain: (the longest literal text that
    surely occurs, whether the regex is exactly that text and nothing else).

    Errs on the safe side: only top-level text counts (groups, classes, escapes for classes
    and quantified characters break a run; a top-level `|`, inline flags, comments, and any
    escape it does not know give ("", False), meaning "always try the regex").
    """
    runs: list[str] = []
    run: list[str] = []
    plain = True
    i, n = 0, len(expanded)
    while i < n:
        c = expanded[i]
        literal: str | None = None
        if c == "\\":
            nxt = expanded[i + 1] if i + 1 < n else ""
            if nxt.isascii() and nxt and not nxt.isalnum():
                literal = nxt
            elif not nxt or nxt not in _CLASS_ESCAPES:
                return "", False  # \x41, \N{...}, \p{...}, \1: text we would have to decode
            i += 2
        elif c == "(":
            if expanded.startswith("(?", i) and (
                expanded[i + 2 : i + 3] in _FLAG_START or expanded.startswith("(?#", i)
            ):
                return "", False
            i = _group_end(expanded, i)
        elif c == "[":
            i = _class_end(expanded, i)
        elif c in "*+?{":
            if run:
                run.pop()  # the quantified character may occur any number of times
            if c == "{":
                close = expanded.find("}", i)
                i = close if close >= 0 else -1
            if i >= 0:
                i += 1
        elif c in "|)":
            return "", False
        elif c in ".^$":
            i += 1
        else:
            literal = c
            i += 1
        if i < 0:
            return "", False
        if literal is None:
            plain = False
            runs.append("".join(run))
            run = []
        else:
            run.append(literal)
    runs.append("".join(run))
    longest = max(runs, key=len)
    return longest, plain


def _group_end(text: str, start: int) -> int:
    """Index just past the group opening at `start`, or -1 when it is not closed."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(text, i)
            if i < 0:
                return -1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _class_end(text: str, start: int) -> int:
    """Index just past the character class opening at `start`, or -1 when it is not closed
    or holds a nested set (POSIX classes, V1 set operations) we do not try to follow."""
    i, n = start + 1, len(text)
    if i < n and text[i] == "^":
        i += 1
    if i < n and text[i] == "]":
        i += 1  # a `]` first in a class is a literal
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "[":
            return -1
        elif c == "]":
            return i + 1
        else:
            i += 1
    return -1


class Screen:
    """`screen.rejects(message)`: whether no pattern can claim a record whose raw MESSAGE
    (the whole rendered line, or a native entry's bare message) is `message`.

    Built from every pattern's required literal (`required_literal`, for all roles at
    once: a source does not know the role). Exact, never a guess: the decoded message is a
    part of the raw one once ANSI is stripped (which the screen does the same way), so a
    literal absent from the stripped raw text is absent from the message. The one decode
    step that can make text is JSON's unescaping (`\\u0072`), so a JSON rendering holding
    a backslash is never rejected; nor is anything when a pattern has no literal or one
    that bytes decoded with `replace` could produce (non-ASCII, control characters).
    """

    __slots__ = ("_literals",)

    def __init__(self, literals: Iterable[str]) -> None:
        kept = tuple(dict.fromkeys(literals))
        usable = all(lit and lit.isascii() and lit.isprintable() for lit in kept)
        # None: some message can match without any literal, so no message is rejected.
        self._literals: tuple[str, ...] | None = kept if usable and kept else None

    @property
    def literals(self) -> tuple[str, ...]:
        """The texts looked for (none when the screen rejects nothing)."""
        return self._literals or ()

    @property
    def active(self) -> bool:
        """Whether the screen can reject anything at all."""
        return self._literals is not None

    def rejects(self, message: str) -> bool:
        """True when no pattern can claim the message `message` renders; False when one
        may (a candidate, to be read in full and decoded)."""
        return self.candidate(message) is None

    def candidate(self, message: str) -> str | None:
        """`message` without ANSI escapes when a pattern may claim it; None when the screen
        rejects it."""
        literals = self._literals
        if "\x1b" in message:
            message = strip_ansi(message)
        if literals is None:
            return message
        for literal in literals:
            if literal in message:
                return message
        return message if message[:1] == "{" and "\\" in message else None


def glance_of(
    time_us: int | None, exact: bool, fields: Mapping[str, str], message: str
) -> Glance | None:
    """The Glance standing for an entry with these `fields` and raw `message` that is not
    to be decoded; None when only decoding it can tell who wrote it (no unit nor
    identifier: the target decides) or when (a coarse time, and a timestamp in the
    message of a shape only the decoder reads)."""
    unit, identifier = fields.get(UNIT), fields.get(IDENTIFIER)
    if not unit and not identifier:
        return None
    stamp = None
    if not exact:
        sure, stamp = leading_stamp(strip_ansi(message))
        if not sure:
            return None
    return Glance(time_us, exact, stamp, unit, identifier, fields.get(HOSTNAME))


def round_numbers(message: str) -> list[int] | None:
    """Every value a field named `round` may have in the event the rendered `message`
    (ANSI stripped) holds, in a text or JSON rendering: the event's `round`, when it is
    an integer, is one of them. None when the text shows none, or when only decoding can
    tell (a JSON escape may spell the name)."""
    if "\\" in message:
        return None
    found = _ROUND_VALUE.findall(message.lower())
    return [int(n) for n in found] if found else None
