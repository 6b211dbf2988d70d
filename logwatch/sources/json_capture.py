"""`journalctl -o json` and `-o json-seq`: one JSON object per entry, parsed as JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from logwatch.decode.ansi import TRACING_CODES
from logwatch.prefilter import Screen
from logwatch.records import NO_MULTI, Entry, Glance, Passing, Unreadable
from logwatch.sources.fields import KEPT_TRUSTED
from logwatch.sources.stream import lines, sample_text
from logwatch.triage import Triage
from logwatch.units import Writers


class _BadValue(Exception):
    """A field value journalctl would never write."""


def _text(value: object) -> str | None:
    """One field value: a string, an array of byte numbers (control characters or
    invalid UTF-8), or null (a field over 4096 bytes without --all: left out)."""
    if isinstance(value, str):
        return value
    if value is None:
        return None
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", "replace")
        except (TypeError, ValueError):
            raise _BadValue from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _BadValue


def _is_repeated(value: list[object]) -> bool:
    # A repeated field is an array of values (strings, byte arrays, nulls); an array of
    # plain numbers is one value's bytes.
    return any(v.__class__ is not int for v in value)


def entry_from_json(obj: dict[str, object], origin: str) -> Entry | Unreadable:
    """The entry one parsed `journalctl -o json` object stands for."""
    fields: dict[str, str] = {}
    multi: dict[str, tuple[str, ...]] | None = None
    time_us: int | None = None
    cursor: str | None = None
    try:
        for key, value in obj.items():
            if key[:1] == "_":
                if key == "__REALTIME_TIMESTAMP" and isinstance(value, str):
                    time_us = int(value) if value.isdigit() else None
                elif key == "__CURSOR" and isinstance(value, str):
                    cursor = value
                if key not in KEPT_TRUSTED:
                    continue
            if isinstance(value, list) and _is_repeated(value):
                values = [t for v in value if (t := _text(v)) is not None]
                if values:
                    multi = multi or {}
                    multi[key] = tuple(values)
                    fields[key] = values[-1]
                continue
            text = _text(value)
            if text is not None:
                fields[key] = text
    except _BadValue:
        return Unreadable(origin, "malformed json entry", sample_text(json.dumps(obj).encode()))
    return Entry(time_us, time_us is not None, fields, cursor, origin, multi or NO_MULTI)


def read_json(
    stream: io.BufferedIOBase,
    origin: str,
    triage: Triage | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """Entries of `-o json` (one object a line) or `-o json-seq` (each led by RS, 0x1E).

    triage: if given, each entry comes as it says; where the line's bytes show the
    answer it is not even parsed: another unit's entry (a Passing) by its unit and time,
    one whose MESSAGE the screen rejects (a Glance) as `_RawScreen` tells.
    """
    read = JsonLine(origin, triage)
    for line in lines(stream, origin):
        if isinstance(line, Unreadable):
            yield line
            continue
        item = read(line)
        if item is not None:
            yield item


class JsonLine:
    """`read(line)`: the item one line of `-o json` or `-o json-seq` stands for, as the
    triage says (None for a blank line); where the line's bytes show the answer it is not
    even parsed (see read_json). Shared by a capture's reader and the follow through
    `journalctl --follow` (sources/follow_journalctl.py)."""

    __slots__ = ("_raw_screen", "_settles", "origin", "triage", "writers")

    def __init__(self, origin: str, triage: Triage | None = None) -> None:
        self.origin = origin
        self.triage = triage
        self.writers = None if triage is None else triage.writers
        screen = None if triage is None else triage.screen
        self._raw_screen = _RawScreen(screen) if screen is not None else None
        self._settles = triage is None or triage.settles

    def __call__(self, raw: bytes) -> Entry | Glance | Unreadable | Passing | None:
        if raw[:1] == b"\x1e":
            raw = raw[1:]
        if not raw.strip():
            return None
        if self.writers is not None:
            passing = _passing(raw, self.writers)
            if passing is not None:
                return passing
        raw_screen = self._raw_screen
        if raw_screen is not None:
            glance = raw_screen.glance(raw)
            if glance is not None:
                return glance
            if self._settles and not raw_screen.paying:
                # Few lines are rejected here: deciding from the bytes costs more than it
                # spares (the triage settles the parsed lines' screen on its own).
                self._raw_screen = None
        try:
            obj = json.loads(raw)
        except ValueError:
            return Unreadable(self.origin, "malformed json", sample_text(raw))
        if not isinstance(obj, dict):
            return Unreadable(self.origin, "json line is not an object", sample_text(raw))
        entry = entry_from_json(obj, self.origin)
        triage = self.triage
        return triage.entry(entry) if triage is not None and entry.__class__ is Entry else entry


def cursor_of(raw: bytes) -> str | None:
    """The __CURSOR of one JSON line, read from its bytes where it is plainly there, else
    parsed; None for a line without one."""
    plain, cursor = plain_field(raw, b'"__CURSOR":')
    if plain:
        return cursor
    try:
        value = json.loads(raw.lstrip(b"\x1e")).get("__CURSOR")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


_UNIT_KEY = b'"_SYSTEMD_UNIT":"'
_TIME_KEY = b'"__REALTIME_TIMESTAMP":"'


def _passing(raw: bytes, writers: Writers) -> Passing | None:
    """The time of a line that is a whole object of another unit's entry, else None.

    Inside a JSON string every `"` is escaped, so `"_SYSTEMD_UNIT":"` is a key wherever it
    appears; the last one is the one a parser keeps. A value with an escape, or a line
    that is not one whole object, takes the parser's path.
    """
    at = raw.rfind(_UNIT_KEY)
    if at < 0 or raw[:1] != b"{" or raw[-1:] != b"}":
        return None
    start = at + len(_UNIT_KEY)
    end = raw.find(b'"', start)
    unit = raw[start:end]
    if b"\\" in unit or writers.raw_unit(unit):
        return None
    at = raw.rfind(_TIME_KEY)
    if at < 0:
        return None
    start = at + len(_TIME_KEY)
    stamp = raw[start : raw.find(b'"', start)]
    return Passing(int(stamp)) if stamp.isdigit() else None


class _RawScreen:
    """`Screen.glance` on a line's bytes, before any parse, where they show the answer.

    journalctl writes MESSAGE as a string, or (holding ESC: every coloured line) as an
    array of byte numbers. A string without escapes is the text itself. In an array, a
    literal shows as its byte numbers (`114,111,...`), and the colour codes tracing writes
    are removed the same way, in the same order, as strip_ansi does; an ESC left after
    that (another escape sequence) or a backslash (a JSON rendering's escapes), and the
    line is parsed. So is any line whose time, unit or identifier is not plainly there.
    Like `_passing`, this trusts a line that starts with `{` and ends with `}` to be one
    whole object.
    """

    __slots__ = ("_codes", "_forms", "_glanced", "_screen", "_tried")

    def __init__(self, screen: Screen) -> None:
        self._screen = screen
        self._tried = self._glanced = 0
        self._forms = tuple(_numbers(lit.encode()) for lit in screen.literals)
        self._codes = tuple(f",{_numbers(code.encode())}," for code in TRACING_CODES)

    @property
    def paying(self) -> bool:
        """False once a first stretch of lines showed that few are glanced at: then nearly
        every line is parsed anyway (the noise is other programs'), and looking first only
        adds to it."""
        return self._tried < _SCREENED or self._glanced * 4 >= self._tried

    def glance(self, raw: bytes) -> Glance | None:
        """The Glance of `raw`, or None when only the parse can tell."""
        self._tried += 1
        glance = self._glance(raw)
        if glance is not None:
            self._glanced += 1
        return glance

    def _glance(self, raw: bytes) -> Glance | None:
        if raw[:1] != b"{" or raw[-1:] != b"}":
            return None
        at = raw.rfind(_MESSAGE_KEY)
        if at < 0:
            return None
        start = at + len(_MESSAGE_KEY)
        kind = raw[start : start + 1]
        if kind == b'"':
            value = _plain_string(raw, start)
            if value is None or not self._screen.rejects(value):
                return None
        elif kind == b"[":
            end = raw.find(b"]", start)
            numbers = b"," + raw[start + 1 : end] + b","
            # Only digits and commas: one value's bytes (a repeated field is an array of
            # strings or arrays).
            if end < 0 or numbers.translate(None, b"0123456789,"):
                return None
            # As text: str's `in` and replace are several times faster than bytes'.
            text = numbers.decode("ascii")
            for code in self._codes:
                text = text.replace(code, ",")
            if ",27," in text or ",92," in text:
                return None
            for form in self._forms:
                if form in text:
                    return None
        else:
            return None
        plain, stamp = plain_field(raw, b'"__REALTIME_TIMESTAMP":')
        if not plain or stamp is None or not stamp.isdigit():
            return None
        plain, unit = plain_field(raw, b'"_SYSTEMD_UNIT":')
        if not plain:
            return None
        plain, identifier = plain_field(raw, b'"SYSLOG_IDENTIFIER":')
        if not plain or not (unit or identifier):
            return None
        plain, host = plain_field(raw, b'"_HOSTNAME":')
        if not plain:
            return None
        return Glance(int(stamp), True, None, unit or None, identifier or None, host or None)


_MESSAGE_KEY = b'"MESSAGE":'
_SCREENED = 4096


def _numbers(data: bytes) -> str:
    """`data` as journalctl writes it in an array: `114,111,117`."""
    return ",".join(str(b) for b in data)


def _plain_string(raw: bytes, start: int) -> str | None:
    """The JSON string at `start` (its opening quote) when it holds no escape, else None."""
    end = raw.find(b'"', start + 1)
    value = raw[start + 1 : end]
    if end < 0 or b"\\" in value:
        return None
    return value.decode("utf-8", "replace")


def plain_field(raw: bytes, key: bytes) -> tuple[bool, str | None]:
    """(plain, value) of the last `key` (`"NAME":`) in the line: (True, None) when there
    is none, (False, None) when its value is no string without escapes (an array of byte
    numbers, null), which only the parse reads."""
    at = raw.rfind(key)
    if at < 0:
        return True, None
    start = at + len(key)
    if raw[start : start + 1] != b'"':
        return False, None
    value = _plain_string(raw, start)
    return value is not None, value
