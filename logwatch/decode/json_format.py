"""tracing-subscriber's JSON rendering, nested (`"fields":{...}`) or flattened."""

from __future__ import annotations

import json
from collections.abc import Mapping

from logwatch.decode.ansi import strip_ansi
from logwatch.decode.tracing import (
    LEVELS,
    NO_FIELDS,
    TracingEvent,
    drop_surrogates,
    field_name,
    tracing_time,
)

# Keys the formatter itself writes next to flattened event fields.
_META = frozenset(
    {
        "timestamp",
        "level",
        "target",
        "span",
        "spans",
        "fields",
        "threadName",
        "threadId",
        "filename",
        "line_number",
    }
)


def parse_json(line: str) -> TracingEvent | None:
    """The event in a tracing JSON line, None if `line` is no JSON object that tracing
    wrote (not JSON at all, or JSON without `level`, `target` or `fields`)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        # ValueError covers malformed JSON and over-long integers; deep nesting
        # (`[[[[...`) exhausts the parser's stack instead.
        return None
    if not isinstance(obj, dict):
        return None
    nested = obj.get("fields")
    if isinstance(nested, dict):
        event: Mapping[str, object] = nested
    elif "level" in obj or "target" in obj:
        event = {k: v for k, v in obj.items() if k not in _META}
    else:
        return None
    fields: dict[str, str] = {}
    message = ""
    for key, value in event.items():
        text = value if type(value) is str else _text(value)
        if key == "message":
            message = text
        else:
            fields.setdefault(field_name(key), text)
    _fill_span_fields(obj, fields)
    level = obj.get("level")
    level = level.upper() if isinstance(level, str) else None
    target = obj.get("target")
    stamp = obj.get("timestamp")
    event_out = TracingEvent(
        tracing_time(stamp) if isinstance(stamp, str) else None,
        level if level in LEVELS else None,
        target if isinstance(target, str) else None,
        message,
        fields or NO_FIELDS,
    )
    # Lone surrogates and ESC (the raw line was stripped of ANSI, its `\u001b` escapes
    # were not) can only come from `\u` escapes: one look at the line spares a look at
    # every value.
    return _cleaned(event_out) if "\\u" in line else event_out


def _fill_span_fields(obj: Mapping[str, object], fields: dict[str, str]) -> None:
    """Add span fields the event lacks, the innermost span first (`span` is the
    current one, `spans` lists them from the root)."""
    spans: list[object] = []
    current = obj.get("span")
    if current is not None:
        spans.append(current)
    listed = obj.get("spans")
    if isinstance(listed, list):
        spans.extend(reversed(listed))
    for span in spans:
        if isinstance(span, dict):
            for key, value in span.items():
                if key != "name":
                    fields.setdefault(field_name(key), _text(value))


def _cleaned(event: TracingEvent) -> TracingEvent:
    """`event` without lone surrogates and ANSI escapes in any text."""

    def clean(text: str) -> str:
        return strip_ansi(drop_surrogates(text))

    fields = {clean(k): clean(v) for k, v in event.fields.items()}
    return event._replace(
        target=clean(event.target) if event.target is not None else None,
        message=clean(event.message),
        fields=fields or NO_FIELDS,
    )


def _text(value: object) -> str:
    """A JSON value as the text rendering would show it (`812`, `true`, `ticket expired`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
