"""journalctl's text outputs (short, short-iso, short-precise, short-unix, with-unit) and cat."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from datetime import date
from functools import lru_cache

from logwatch.records import (
    HOSTNAME,
    IDENTIFIER,
    MESSAGE,
    NO_MULTI,
    UNIT,
    Entry,
    Glance,
    Passing,
    Unreadable,
)
from logwatch.sources.stream import lines, sample_text
from logwatch.triage import Triage

_US = 1_000_000

# `HOST IDENT[PID]: ` after the time; the message starts where this ends.
_ORIGIN = r" (?P<host>\S+) (?P<name>\S+?)(?:\[(?P<pid>\d+)\])?:(?: |$)"
_FRACTION = r"(?:\.(?P<frac>\d{1,9}))?"
_HEADS = {
    "iso": re.compile(
        r"(?P<date>\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d)"
        + _FRACTION
        + r"(?P<zone>[+-]\d\d:?\d\d)"
        + _ORIGIN
    ),
    "short": re.compile(
        r"(?P<month>[A-Z][a-z]{2}) (?P<day>[ \d]?\d) (\d\d):(\d\d):(\d\d)" + _FRACTION + _ORIGIN
    ),
    "unix": re.compile(r"(?P<secs>\d{1,12})" + _FRACTION + _ORIGIN),
    "unit": re.compile(
        r"(?:[A-Z][a-z]{2} )?(?P<date>\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d)"
        + _FRACTION
        + r" (?P<zone>\S+)"
        + _ORIGIN
    ),
}
_HOST = "host"
_WHOLE_SECONDS = frozenset(("short-iso", "short", "with-unit"))
_STAMPS_KEPT = 4096
FAMILY = {
    "short-iso": "iso",
    "short-iso-precise": "iso",
    "short": "short",
    "short-precise": "short",
    "short-unix": "unix",
    "with-unit": "unit",
}
"""Which line shape each text format name has (the -precise ones only add a fraction)."""

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_UNIT_SUFFIXES = (".service", ".scope", ".socket", ".timer", ".mount", ".slice", ".target")
_BLOB = re.compile(r"\[[0-9.]+[BKMGTPE]? blob data\]")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=4096)
def _day_seconds(day: str) -> int:
    return (date.fromisoformat(day).toordinal() - _EPOCH_ORDINAL) * 86400


def _micros(frac: str | None) -> int:
    return int((frac + "00000")[:6]) if frac else 0


def _zone_offset(zone: str) -> int | None:
    """Seconds east of UTC for `Z`, `+0100`, `-05:00`, `UTC`, or the local zone's
    abbreviation; None for an abbreviation that cannot be resolved here."""
    if zone in ("Z", "UTC", "GMT"):
        return 0
    if zone[0] in "+-" and zone[1:].replace(":", "").isdigit():
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:4]) * 60
        return -offset if zone[0] == "-" else offset
    if zone == time.tzname[0]:
        return -time.timezone
    if zone == time.tzname[1]:
        return -time.altzone
    return None


class _Clock:
    """Turns the time groups of a matched line into (µs, exact); the groups come first in
    every head pattern, the origin's three last."""

    def __init__(self, family: str) -> None:
        now = time.time()
        self._now = now
        self._year = time.gmtime(now).tm_year
        # Date and zone repeat from line to line: their seconds are worked out once.
        self._bases: dict[tuple[str, str], tuple[int, bool]] = {}
        self._days: dict[tuple[str, str], int] = {}
        self.of = {"iso": self._zoned, "unit": self._zoned, "short": self._short}.get(
            family, self._unix
        )

    def _unix(self, g: tuple[str | None, ...]) -> tuple[int, bool]:
        secs, frac = g[0], g[1]
        return int(secs or 0) * _US + _micros(frac), frac is not None

    def _zoned(self, g: tuple[str | None, ...]) -> tuple[int, bool]:
        day, h, mi, s, frac, zone = g[:6]
        key = (day or "", zone or "")
        base = self._bases.get(key)
        if base is None:
            offset = _zone_offset(key[1])
            base = self._bases[key] = (_day_seconds(key[0]) - (offset or 0), offset is not None)
        secs = base[0] + int(h or 0) * 3600 + int(mi or 0) * 60 + int(s or 0)
        return secs * _US + _micros(frac), frac is not None and base[1]

    def _short(self, g: tuple[str | None, ...]) -> tuple[int, bool]:
        # No year and no zone: assume UTC this year (or last year, for a capture that
        # would otherwise lie in the future). The tracing timestamp in the message is the
        # better time.
        month, day, h, mi, s, frac = g[:6]
        key = (month or "", day or "")
        base = self._days.get(key)
        if base is None:
            base = self._days[key] = self._short_day(key[0], int(key[1]))
        secs = base + int(h or 0) * 3600 + int(mi or 0) * 60 + int(s or 0)
        return secs * _US + _micros(frac), False

    def _short_day(self, month: str, day: int) -> int:
        number = _MONTHS.get(month, 1)
        try:
            secs = _day_seconds(date(self._year, number, day).isoformat())
            if secs > self._now + 2 * 86400:
                secs = _day_seconds(date(self._year - 1, number, day).isoformat())
        except ValueError:  # Feb 29 outside a leap year, a day 31 in a 30-day month
            secs = _day_seconds(date(self._year, number, 1).isoformat())
        return secs


def _is_marker(text: str) -> bool:
    """journalctl's own lines: `-- Boot ... --`, `-- No entries --`, `-- Journal begins ...`."""
    return text.startswith("-- ") and text.endswith(" --")


def _strip_indent(text: str, indent: int) -> str:
    # journalctl indents continuation lines to where the message began; indentation
    # beyond that belongs to the message.
    stripped = text.lstrip(" ")
    return text[indent:] if len(text) - len(stripped) >= indent else stripped


def read_text(
    stream: io.BufferedIOBase,
    origin: str,
    fmt: str,
    triage: Triage | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """Entries of a `journalctl -o short*|with-unit` capture: MESSAGE, _HOSTNAME,
    SYSLOG_IDENTIFIER (or _SYSTEMD_UNIT for with-unit), _PID and the capture's time.

    Lines that start with whitespace continue the previous entry's message, as journalctl
    prints a multi-line MESSAGE; journalctl's `-- ... --` lines are skipped. A message
    journalctl could not print (`[N blob data]`) or a line of another shape is an
    Unreadable. triage: if given, each entry comes as it says, asked who wrote it before
    its message (and its continuation lines) is read: another program's comes as a
    Passing, its message not read.
    """
    match = _HEADS[FAMILY[fmt]].match
    clock = _Clock(FAMILY[fmt]).of
    units = FAMILY[fmt] == "unit"
    pending: tuple[int, bool, dict[str, str], int] | None = None
    passing = False  # the last entry was passed on: its continuation lines go with it
    parts: list[str] = []
    # Whole-second stamps repeat from line to line: each is worked out once.
    stamps: dict[str, tuple[int, bool]] | None = {} if fmt in _WHOLE_SECONDS else None
    for line in lines(stream, origin):
        if isinstance(line, Unreadable):
            yield line
            continue
        text = line.decode("utf-8", "replace")
        first = text[:1]
        if first in {" ", "\t"}:
            if pending is not None:
                parts.append(_strip_indent(text, pending[3]))
                continue
            if passing:
                continue
        elif not first or (first == "-" and _is_marker(text)):
            continue
        m = match(text)
        if pending is not None:
            yield _finish(pending, parts, origin, triage)
            pending = None
        if m is None:
            passing = False
            yield Unreadable(origin, f"not a {fmt} line", sample_text(line))
            continue
        g = m.groups()
        try:
            if stamps is None:
                time_us, exact = clock(g)
            else:
                stamp = text[: m.start(_HOST)]
                known = stamps.get(stamp)
                if known is None:
                    if len(stamps) >= _STAMPS_KEPT:
                        stamps.clear()
                    known = stamps[stamp] = clock(g)
                time_us, exact = known
        except ValueError:  # a date that does not exist (month 31, day 0)
            passing = False
            yield Unreadable(origin, f"not a {fmt} line", sample_text(line))
            continue
        host, name, pid = g[-3:]
        is_unit = units and name is not None and name.endswith(_UNIT_SUFFIXES)
        if triage is not None and not (
            triage.ours(name, None) if is_unit else triage.ours(None, name)
        ):
            passing = True
            yield Passing(time_us)
            continue
        passing = False
        fields = {HOSTNAME: host or ""}
        if is_unit:
            fields[UNIT] = name
        else:
            fields[IDENTIFIER] = name or ""
        if pid is not None:
            fields["_PID"] = pid
        end = m.end()
        parts = [text[end:]]
        pending = (time_us, exact, fields, end)
    if pending is not None:
        yield _finish(pending, parts, origin, triage)


def _finish(
    pending: tuple[int, bool, dict[str, str], int],
    parts: list[str],
    origin: str,
    triage: Triage | None,
) -> Entry | Glance | Unreadable:
    time_us, exact, fields, _ = pending
    message = parts[0] if len(parts) == 1 else "\n".join(parts)
    if message[:1] == "[" and _BLOB.fullmatch(message):
        sample = f"{fields.get(HOSTNAME, '')} {message}"
        return Unreadable(
            origin,
            "message not printable in a text capture (blob data); capture with -o export",
            sample,
        )
    if triage is not None:
        glance = triage.glance(time_us, exact, fields, message)
        if glance is not None:
            return glance
    fields[MESSAGE] = message
    return Entry(time_us, exact, fields, None, origin, NO_MULTI)


def read_cat(stream: io.BufferedIOBase, origin: str) -> Iterator[Entry | Unreadable]:
    """`journalctl -o cat` or a file of bare tracing lines: each non-empty line one
    Entry with only MESSAGE and no time (decode takes it from the tracing timestamp)."""
    for line in lines(stream, origin):
        if isinstance(line, Unreadable):
            yield line
        elif line:
            yield Entry(
                None, False, {MESSAGE: line.decode("utf-8", "replace")}, None, origin, NO_MULTI
            )
