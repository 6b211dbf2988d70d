"""Each tracing rendering LOGS.md lists, as a LogLine's message text (and journald fields)."""

from __future__ import annotations

import hashlib
import json

from logwatch.simulate.lines import STYLES, Display, Fields, LogLine, Value
from logwatch.times import format_time

_RESET, _BOLD, _DIM, _ITALIC = "\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[3m"
_LEVEL_COLOUR = {"TRACE": "35", "DEBUG": "34", "INFO": "32", "WARN": "33", "ERROR": "31"}
_PRIORITY = {"ERROR": "3", "WARN": "4", "INFO": "5", "DEBUG": "6", "TRACE": "7"}
_RUST_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}


def rust_debug(text: str) -> str:
    """`text` as Rust's `{:?}` writes a &str: quoted, with `\\"`, `\\n`, `\\u{1b}` escapes."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _RUST_ESCAPES:
            out.append(_RUST_ESCAPES[ch])
        elif code < 0x20 or 0x7F <= code < 0xA0:
            out.append(f"\\u{{{code:x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _text_value(value: Value) -> str:
    if isinstance(value, Display):
        return value.text
    if isinstance(value, int):
        return str(value)
    return rust_debug(value)


def _raw_value(value: Value) -> str:
    return value.text if isinstance(value, Display) else str(value)


def _json_value(value: Value) -> int | str:
    return value.text if isinstance(value, Display) else value


def _fields_text(fields: Fields, ansi: bool) -> str:
    if ansi:
        return " ".join(f"{_ITALIC}{k}{_RESET}{_DIM}={_RESET}{_text_value(v)}" for k, v in fields)
    return " ".join(f"{k}={_text_value(v)}" for k, v in fields)


def _head(line: LogLine, ansi: bool) -> str:
    ts, level = format_time(line.time_us), f"{line.level:>5}"
    if ansi:
        colour = _LEVEL_COLOUR.get(line.level, "0")
        return f"{_DIM}{ts}{_RESET} \x1b[{colour}m{level}{_RESET} "
    return f"{ts} {level} "


def _event_text(line: LogLine, ansi: bool) -> str:
    fields = _fields_text(line.fields, ansi)
    return f"{line.message} {fields}" if fields else line.message


def _full(line: LogLine, ansi: bool) -> str:
    parts = [_head(line, ansi)]
    for name, fields in line.spans:
        if ansi:
            inner = f"{_BOLD}{{{_RESET}{_fields_text(fields, True)}{_BOLD}}}{_RESET}"
            parts.append(f"{_BOLD}{name}{_RESET}{inner if fields else ''}{_DIM}:{_RESET}")
        else:
            parts.append(f"{name}{{{_fields_text(fields, False)}}}:" if fields else f"{name}:")
    if line.spans:
        parts.append(" ")
    if ansi:
        parts.append(f"{_DIM}{line.target}{_RESET}{_DIM}:{_RESET} ")
    else:
        parts.append(f"{line.target}: ")
    parts.append(_event_text(line, ansi))
    return "".join(parts)


def _compact(line: LogLine) -> str:
    names = "".join(f"{name}:" for name, _ in line.spans)
    parts = [_head(line, False), f"{names} " if names else "", f"{line.target}: "]
    parts.append(_event_text(line, False))
    parts.extend(f" {_fields_text(fields, False)}" for _, fields in line.spans if fields)
    return "".join(parts)


def _span_json(name: str, fields: Fields) -> dict[str, int | str]:
    # serde_json's map is a BTreeMap: span fields come out sorted by name, then "name".
    obj: dict[str, int | str] = {k: _json_value(v) for k, v in sorted(fields, key=lambda f: f[0])}
    obj["name"] = name
    return obj


def _json(line: LogLine, flat: bool) -> str:
    event: dict[str, int | str] = {"message": line.message}
    event.update((k, _json_value(v)) for k, v in line.fields)
    obj: dict[str, object] = {"timestamp": format_time(line.time_us), "level": line.level}
    if flat:
        obj.update(event)
    else:
        obj["fields"] = event
    obj["target"] = line.target
    if line.spans:
        obj["span"] = _span_json(*line.spans[-1])
        obj["spans"] = [_span_json(name, fields) for name, fields in line.spans]
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def render(line: LogLine, style: str) -> str:
    """The text zipnet writes for `line` in `style` (one of STYLES); may hold newlines.

    For `journald` this is the bare MESSAGE; the other fields are journald_fields().
    """
    if line.unit is not None or style == "journald":
        return line.message
    if style in ("full", "full-ansi"):
        return _full(line, style == "full-ansi")
    if style == "compact":
        return _compact(line)
    if style in ("json", "json-flat"):
        return _json(line, style == "json-flat")
    raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")


def messages(line: LogLine, style: str) -> list[str]:
    """The MESSAGE of each journal entry `line` becomes: the stdout transport makes one
    entry per text line (later ones without timestamp or level); JSON and journald one."""
    text = render(line, style)
    if style in ("full", "full-ansi", "compact") and line.unit is None:
        return text.split("\n")
    return [text]


def _journal_name(name: str) -> str:
    # tracing-journald's sanitize_name: '.' -> '_', leading '_' dropped, [A-Z0-9_] kept.
    cleaned = name.replace(".", "_").lstrip("_")
    return "".join(c for c in cleaned if c == "_" or (c.isascii() and c.isalnum())).upper()


def _code_location(line: LogLine) -> tuple[str, str]:
    crate, *path = line.target.split("::")
    digest = hashlib.md5(
        line.message.encode("utf-8", "surrogatepass"), usedforsecurity=False
    ).digest()
    return f"{crate}/src/{'/'.join(path) or 'lib'}.rs", str(20 + digest[0] * 3)


def journald_fields(line: LogLine) -> list[tuple[str, str]]:
    """The journal fields tracing-journald sends for `line`, in its order: each span's
    SPAN_* and F_* fields (root first), then PRIORITY, TARGET, CODE_*, SYSLOG_IDENTIFIER,
    MESSAGE and the event's F_* fields. A name in several spans repeats."""
    code_file, code_line = _code_location(line)
    out: list[tuple[str, str]] = []
    for name, fields in line.spans:
        out += [("SPAN_NAME", name), ("SPAN_TARGET", line.target)]
        out += [("SPAN_CODE_FILE", code_file), ("SPAN_CODE_LINE", code_line)]
        out += [("F_" + _journal_name(k), _raw_value(v)) for k, v in fields]
    out += [("PRIORITY", _PRIORITY.get(line.level, "6")), ("TARGET", line.target)]
    out += [("CODE_FILE", code_file), ("CODE_LINE", code_line)]
    out += [("SYSLOG_IDENTIFIER", line.identifier), ("MESSAGE", line.message)]
    out += [("F_" + _journal_name(k), _raw_value(v)) for k, v in line.fields]
    return out
