"""What every rendering of a tracing event decodes to, and the pieces they share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import NamedTuple

from logwatch.times import US, iso_to_us

LEVELS = frozenset({"ERROR", "WARN", "INFO", "DEBUG", "TRACE"})

# Shared by every record without fields, so a plain line costs no dict of its own;
# read-only so that sharing it is safe.
NO_FIELDS: Mapping[str, str] = MappingProxyType({})

_SURROGATE = re.compile("[\ud800-\udfff]")


class TracingEvent(NamedTuple):
    """One tracing event as a rendering shows it.

    A NamedTuple rather than a frozen dataclass: one is made per log line, and a frozen
    dataclass takes more than twice as long to build.

    time_us: the tracing timestamp (µs, UTC), None when the rendering has none.
    level: `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`, or None.
    target: the tracing target, or None (a plain line).
    message: the bare message, ANSI stripped.
    fields: event fields by normalised name (see `field_name`), values as text; span
        fields only where the event has no field of that name.
    """

    time_us: int | None
    level: str | None
    target: str | None
    message: str
    fields: Mapping[str, str]


def plain(message: str) -> TracingEvent:
    """A line that is no tracing rendering: the text as the message, nothing else."""
    return TracingEvent(None, None, None, message, NO_FIELDS)


def field_name(name: str) -> str:
    """The name a field gets in every rendering: lower case, `.` as `_`, no `r#`.

    tracing-journald can only write `F_UPPER_CASE` names, so the text and JSON
    renderings are brought to the same spelling rather than the other way round.
    """
    if name.startswith("r#"):
        name = name[2:]
    name = name.lower()
    return name.replace(".", "_") if "." in name else name


def tracing_time(text: str) -> int | None:
    """µs for a tracing timestamp `2026-11-25T10:00:00.123456Z`, None if it is not one."""
    # The fixed 27-character form is nearly every line, and many lines share a second:
    # the second's start comes from a small cache, the fraction is one int().
    if len(text) == 27 and text[19] == "." and text[26] == "Z":
        second = _SECONDS.get(text[:19])
        if second is None:
            second = _second_start(text[:19])
            if second is None:
                return None
            if len(_SECONDS) >= _SECONDS_KEPT:
                _SECONDS.clear()
            _SECONDS[text[:19]] = second
        micros = text[20:26]
        if micros.isdigit() and micros.isascii():
            return second + int(micros)
        return None
    return iso_to_us(text)


_SECONDS: dict[str, int] = {}
_SECONDS_KEPT = 256


def _second_start(text: str) -> int | None:
    """µs at `2026-11-25T10:00:00`, None if it is no valid time."""
    parts = (text[:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if (
        text[4] != "-"
        or text[7] != "-"
        or text[10] != "T"
        or text[13] != ":"
        or text[16] != ":"
        or not all(p.isdigit() and p.isascii() for p in parts)
    ):
        return None
    y, mo, d, h, mi, s = (int(p) for p in parts)
    if s > 60:
        return None
    try:
        start = datetime(y, mo, d, h, mi, min(s, 59), tzinfo=UTC)
    except ValueError:
        return None
    # A leap second (`:60`) is the next second's start, as the journal counts it.
    return (int(start.timestamp()) + (s - min(s, 59))) * US


def drop_surrogates(text: str) -> str:
    """`text` with lone surrogates (which no encoder accepts) replaced by U+FFFD.

    JSON `\\ud800` escapes and Rust `\\u{d800}` escapes decode to them, and a sink
    writing UTF-8 would crash on one.
    """
    return _SURROGATE.sub("\ufffd", text)
