"""The prefilter's one question: what text must every string a regex fullmatches contain?"""

from __future__ import annotations

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
