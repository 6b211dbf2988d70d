"""tracing-subscriber's text renderings, `full` and `compact`, with or without colour."""

from __future__ import annotations

import re
from collections.abc import Mapping

from logwatch.decode.tracing import (
    NO_FIELDS,
    TracingEvent,
    drop_surrogates,
    field_name,
    tracing_time,
)

# timestamp (optional: `without_time()`), level padded to 5 (an unpadded `INFO x: y` is
# some other program's line), spans (`name{fields}:` in `full`, `name:` in `compact`),
# target. Span braces allow one level of nesting (a Debug struct value) and no part is
# ambiguous, so a 1 MiB line cannot make this backtrack.
_BRACES = r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}"
_HEADER = re.compile(
    r"(?:([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z) )?"
    r"( INFO| WARN|ERROR|DEBUG|TRACE) "
    rf"(?:((?:[\w.-]+(?:{_BRACES})?:)+) )?"
    r"(?:([\w.-]+(?:::[\w.-]+)*): ?)?"
)
# The head of nearly every line: exact timestamp, padded level.
_COMMON_HEAD = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"
    r" ( INFO| WARN|ERROR|DEBUG|TRACE) "
)
_TARGET = re.compile(r"[\w.-]+(?:::[\w.-]+)*")
_TARGETS_SEEN: set[str] = set()
_TARGETS_KEPT = 1024
_PADDED_LEVELS = {
    " INFO": "INFO",
    " WARN": "WARN",
    "ERROR": "ERROR",
    "DEBUG": "DEBUG",
    "TRACE": "TRACE",
}
_SPAN = re.compile(rf"([\w.-]+)({_BRACES})?:")
# ` name=` starts a field; the message is everything before the first one. The leading
# space (the text gets one prepended) lets `re` scan for it as a literal.
_FIELD = re.compile(r" (?:r#)?([A-Za-z_][A-Za-z0-9_.]*)=")
# A Rust Debug string: `"a \"b\""`.
_QUOTED = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_RUST_ESCAPE = re.compile(r"\\(?:u\{([0-9a-fA-F]{1,6})\}|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def parse_text(line: str) -> TracingEvent | None:
    """The event in a `full` or `compact` line (ANSI already stripped), None if `line`
    is no such line (a continuation line, plain text).

    Event fields come first and win over span fields of the same name; in `compact`,
    where span fields follow the event's unmarked, the first occurrence wins.
    """
    # Nearly every line is `<27-char timestamp> <level> <target>: ...` without spans;
    # plain string checks find that shape in a third of the regex's time.
    if len(line) > 35 and line[26] == "Z" and line[27] == " " and line[33] == " ":
        level = _PADDED_LEVELS.get(line[28:33])
        colon = line.find(": ", 34)
        if level is not None and colon > 34:
            target = line[34:colon]
            # A word without `::` may be a lone span (`round: zipnet::x: ...`), which
            # only the full parse can tell from a target.
            if (target in _TARGETS_SEEN or _new_target(target)) and (
                stamp := tracing_time(line[:27])
            ) is not None:
                message, fields = _event_fields(line[colon + 2 :])
                return TracingEvent(stamp, level, target, message, fields)
    return _parse_any(line)


def leading_stamp(line: str) -> tuple[bool, int | None]:
    """(sure, stamp): the tracing timestamp decoding `line` (a MESSAGE, ANSI stripped)
    would find, without decoding it; sure is False when only a full decode can tell (an
    unusual timestamp, a JSON rendering). For lines the prefilter rejected, whose time
    is all that is wanted of them."""
    first = line[:1]
    if first == "{":
        return False, None
    if not first.isdigit():
        # A timestamp is the only part of a rendering that starts with a digit.
        return True, None
    if _COMMON_HEAD.match(line) is None:
        return False, None
    return True, tracing_time(line[:27])


def _new_target(target: str) -> bool:
    """Whether `target` is surely a tracing target (a path with `::`); remembered, as a
    journal holds few of them."""
    if "::" not in target or " " in target or "{" in target:
        return False
    if _TARGET.fullmatch(target) is None:
        return False
    if len(_TARGETS_SEEN) >= _TARGETS_KEPT:
        _TARGETS_SEEN.clear()
    _TARGETS_SEEN.add(target)
    return True


def _parse_any(line: str) -> TracingEvent | None:
    """parse_text for every shape: spans, no timestamp, no target, odd timestamps."""
    m = _HEADER.match(line)
    if m is None:
        return None
    stamp, padded, spans, target = m.groups()
    level = padded.lstrip()
    body_start = m.end()
    if (
        spans is not None
        and "{" not in spans
        and spans.count(":") == 1
        and (target is None or "::" not in target)
    ):
        # `name: rest` is a target more often than a lone span without fields followed
        # by a crate-root target; zipnet's targets all have `::`.
        target = spans[:-1]
        body_start = m.end(3) + 1
    message, fields = _event_fields(line[body_start:])
    if spans is not None and "{" in spans:
        fields = _with_span_fields(spans, fields)
    return TracingEvent(
        tracing_time(stamp) if stamp is not None else None, level, target, message, fields
    )


def _event_fields(body: str) -> tuple[str, Mapping[str, str]]:
    """The message of `body` and its ` name=value` fields (the first of a name wins)."""
    if "=" not in body:
        return body, NO_FIELDS
    # split() yields [message, name1, value1, name2, value2, ...] in one C call.
    parts = _FIELD.split(" " + body)
    fields: dict[str, str] = {}
    for i in range(1, len(parts), 2):
        value = parts[i + 1]
        if value[:1] == '"':
            if _QUOTED.fullmatch(value) is None:
                # A quoted value holding ` x=` was cut there by split.
                return _event_fields_quoted(body)
            value = _unquote(value)
        key = parts[i].lower()
        if "." in key:
            key = key.replace(".", "_")
        if key not in fields:
            fields[key] = value
    return parts[0][1:], fields or NO_FIELDS


def _event_fields_quoted(body: str) -> tuple[str, Mapping[str, str]]:
    """_event_fields for a body where a quoted value may hold ` x=`: one pass over the
    field starts, each quoted value scanned once, so linear on any input."""
    found = list(_FIELD.finditer(" " + body))
    text = " " + body
    end, count, i = len(text), len(found), 0
    fields: dict[str, str] = {}
    while i < count:
        name = found[i]
        start = name.end()
        i += 1
        stop = found[i].start() if i < count else end
        value = text[start:stop]
        if value[:1] == '"':
            quoted = _QUOTED.match(text, start)
            if quoted is not None:
                close = quoted.end()
                if close == stop:
                    value = _unquote(value)
                elif close > stop:
                    # The value runs to the closing quote if a field (or the line) ends
                    # there; otherwise it is a bare value that happens to start with `"`.
                    j = i
                    while j < count and found[j].start() < close:
                        j += 1
                    if (j < count and found[j].start() == close) or (j == count and close == end):
                        value, i = _unquote(text[start:close]), j
        key = field_name(name.group(1))
        if key not in fields:
            fields[key] = value
    return text[1 : found[0].start()] if found else body, fields


def _with_span_fields(spans: str, fields: Mapping[str, str]) -> Mapping[str, str]:
    """`fields` plus the fields of `full`'s `name{a=1 b=2}:` spans it lacks, the
    innermost span first (as tracing-journald's last value does)."""
    merged = dict(fields)
    found = [s.group(2) for s in _SPAN.finditer(spans) if s.group(2) is not None]
    for braces in reversed(found):
        for key, value in _event_fields(braces[1:-1])[1].items():
            merged.setdefault(key, value)
    return merged or NO_FIELDS


def _unquote(quoted: str) -> str:
    """The text of a Rust Debug string literal, `"a \\"b\\""` → `a "b"`."""
    inner = quoted[1:-1]
    if "\\" not in inner:
        return inner
    return _RUST_ESCAPE.sub(_unescape_one, inner)


def _unescape_one(m: re.Match[str]) -> str:
    code = m.group(1)
    if code is not None:
        point = int(code, 16)
        return drop_surrogates(chr(point)) if point <= 0x10FFFF else "\ufffd"
    char = m.group(2)
    return _SIMPLE_ESCAPES.get(char, "\\" + char)
