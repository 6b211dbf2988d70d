"""tracing-journald's native entries: MESSAGE bare, fields as `F_NAME`, level in PRIORITY."""

from __future__ import annotations

from collections.abc import Mapping

from logwatch.decode.ansi import strip_ansi
from logwatch.decode.tracing import NO_FIELDS, TracingEvent
from logwatch.records import MESSAGE, PRIORITY, TARGET, TRANSPORT

_PREFIX = "F_"

# tracing-journald's mapping (ERROR 3 ... TRACE 7); 0-2 can only come from elsewhere
# and are at least errors.
PRIORITY_LEVELS: Mapping[str, str] = {
    "0": "ERROR",
    "1": "ERROR",
    "2": "ERROR",
    "3": "ERROR",
    "4": "WARN",
    "5": "INFO",
    "6": "DEBUG",
    "7": "TRACE",
}


def is_native(fields: Mapping[str, str]) -> bool:
    """Whether tracing-journald wrote this entry: it always writes TARGET; F_ fields
    without it are looked for only off stdout, whose entries never have them."""
    if TARGET in fields:
        return True
    if fields.get(TRANSPORT) == "stdout":
        return False
    # A loop, not any(generator): this runs for every entry of a text capture, and the
    # generator costs more than the check.
    for name in fields:  # noqa: SIM110
        if name.startswith(_PREFIX):
            return True
    return False


def parse_native(fields: Mapping[str, str], multi: Mapping[str, tuple[str, ...]]) -> TracingEvent:
    """The event in a native entry. A repeated `F_` field holds the span values first and
    the event's own value last (tracing-journald writes span fields first), so the
    last value wins."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if name.startswith(_PREFIX) and len(name) > 2:
            values = multi.get(name)
            out[name[2:].lower()] = strip_ansi(values[-1] if values else value)
    targets = multi.get(TARGET)
    target = targets[-1] if targets else fields.get(TARGET)
    return TracingEvent(
        None,
        PRIORITY_LEVELS.get(fields.get(PRIORITY, "")),
        strip_ansi(target) if target is not None else None,
        strip_ansi(fields.get(MESSAGE, "")),
        out or NO_FIELDS,
    )
