"""The journal export format (`journalctl -o export`), read binary-safe into entries."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from logwatch.records import NO_MULTI, Entry, Unreadable
from logwatch.sources.fields import kept
from logwatch.sources.stream import MAX_LINE, sample_text

MAX_FIELD = 64 << 20
"""A binary field claiming more than this is taken as corrupt, not read into memory."""

_DROP, _TIME, _CURSOR, _OTHER = "", "\0time", "\0cursor", "\0other"
_NAME_CACHE = 1024


class _Malformed(Exception):
    """The entry being read is broken; the reader skips to the next entry."""


def _classify(name: bytes) -> str:
    """The field key for `name`, or one of _DROP/_TIME/_CURSOR/_OTHER."""
    key = name.decode("ascii", "replace")
    if not name.isascii() or not key.isidentifier():
        raise _Malformed("malformed export field name")
    if key == "__REALTIME_TIMESTAMP":
        return _TIME
    if key == "__CURSOR":
        return _CURSOR
    if key[:2] == "__":
        return _OTHER
    return key if kept(key) else _DROP


def read_export(stream: io.BufferedIOBase, origin: str) -> Iterator[Entry | Unreadable]:
    """Entries of export text: `NAME=value` lines, or `NAME`, a 64-bit little-endian
    length, the raw bytes and a newline; a blank line ends each entry.

    A field that occurs several times keeps all values in Entry.multi, the last in
    Entry.fields. A broken entry is one Unreadable; reading goes on at the next entry.
    """
    readline, read = stream.readline, stream.read
    # Field names repeat in every entry: each is checked and classified once.
    names: dict[bytes, str] = {}
    fields: dict[str, str] = {}
    multi: dict[str, list[str]] | None = None
    cursor: str | None = None
    time_us: int | None = None
    started = False
    first = b""
    while True:
        line = readline(MAX_LINE)
        if line == b"\n" or not line:
            if started:
                frozen = {k: tuple(v) for k, v in multi.items()} if multi else NO_MULTI
                yield Entry(time_us, time_us is not None, fields, cursor, origin, frozen)
                fields, multi, cursor, time_us, started = {}, None, None, None, False
            if not line:
                return
            continue
        if not started:
            started, first = True, line
        try:
            if line[-1:] != b"\n":
                if len(line) < MAX_LINE:
                    raise _Malformed("truncated export entry")
                raise _Malformed("export field longer than 16 MiB")
            eq = line.find(b"=")
            if eq >= 0:
                name, data = line[:eq], line[eq + 1 : -1]
            else:
                name, data = line[:-1], _binary_value(read)
            key = names.get(name)
            if key is None:
                key = _classify(name)
                if len(names) < _NAME_CACHE:
                    names[name] = key
        except _Malformed as exc:
            yield Unreadable(origin, str(exc), sample_text(first))
            fields, multi, cursor, time_us, started = {}, None, None, None, False
            if line[-1:] == b"\n":
                _skip_entry(readline)
            else:
                _skip_line(readline)
            continue
        if key[:1] == "\0" or not key:
            if key is _TIME:
                time_us = int(data) if data.isdigit() else None
            elif key is _CURSOR:
                cursor = data.decode("utf-8", "replace")
            continue
        value = data.decode("utf-8", "replace")
        if key in fields:
            if multi is None:
                multi = {}
            multi.setdefault(key, [fields[key]]).append(value)
        fields[key] = value


def _binary_value(read: Callable[[int], bytes]) -> bytes:
    size = read(8)
    if len(size) < 8:
        raise _Malformed("truncated export entry")
    length = int.from_bytes(size, "little")
    if length > MAX_FIELD:
        raise _Malformed("export field length out of range")
    data = read(length)
    if len(data) < length:
        raise _Malformed("truncated export entry")
    end = read(1)
    if end != b"\n":
        raise _Malformed("truncated export entry" if not end else "malformed binary export field")
    return data


def _skip_line(readline: Callable[[int], bytes]) -> None:
    line = readline(MAX_LINE)
    while line and line[-1:] != b"\n":
        line = readline(MAX_LINE)


def _skip_entry(readline: Callable[[int], bytes]) -> None:
    """Skip to just after the next blank line (the end of the broken entry)."""
    while True:
        line = readline(MAX_LINE)
        if not line or line == b"\n":
            return
        while line[-1:] != b"\n":
            line = readline(MAX_LINE)
            if not line:
                return
