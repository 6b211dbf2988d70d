"""Durations and timestamps as logwatch reads and writes them (µs since the epoch, UTC)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from logwatch.errors import UsageError

US = 1_000_000
_UNITS = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(us|µs|ms|sec|s|min|m|h|d)")


def wall_clock_us() -> int:
    """The wall clock, µs since the epoch: the one place logwatch reads it (follow's
    clock, relative --since, the live demo), never inside the engine."""
    return time.time_ns() // 1000


def parse_duration(text: str) -> float:
    """Seconds in `500ms`, `2s`, `1m`, `1min`, `1h30m` or a bare number of seconds."""
    s = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos and s[pos : m.start()].strip():
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        raise UsageError(f"not a duration: {text!r} (try 500ms, 2s, 1m, 1h30m)")
    return total


_FIRST_US = -62_135_596_800 * US  # 0001-01-01T00:00:00Z
_LAST_US = 253_402_300_800 * US - 1  # 9999-12-31T23:59:59.999999Z


def format_time(us: int) -> str:
    """RFC 3339 in UTC with µs, as the JSON contract wants: `2026-11-25T10:05:07.000000Z`.

    A time outside years 1-9999 (only a broken or hostile capture has one) is shown as the
    nearest end of that range, never as an error.
    """
    secs, frac = divmod(min(max(us, _FIRST_US), _LAST_US), US)
    t = time.gmtime(secs)
    # Not strftime("%Y"): it writes year 26 as "26", which no longer sorts as text.
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{frac:06d}Z"
    )


def parse_time(text: str, now_us: int) -> int:
    """µs for `--since/--until`: RFC 3339 / ISO 8601 (UTC unless a zone is given),
    `-10m` relative to now, `now`, `today`, `yesterday`."""
    s = text.strip()
    if s == "now":
        return now_us
    if s.startswith(("-", "+")):
        sign = -1 if s[0] == "-" else 1
        return now_us + sign * round(parse_duration(s[1:]) * US)
    if s in ("today", "yesterday"):
        day = datetime.fromtimestamp(now_us / US, UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        us = round(day.timestamp() * US)
        return us - 86400 * US if s == "yesterday" else us
    try:
        dt = datetime.fromisoformat(s.replace(" ", "T", 1) if " " in s else s)
    except ValueError:
        raise UsageError(f"not a time: {text!r} (try 2026-11-25T10:00:00Z or -10m)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * US)


def iso_to_us(text: str) -> int | None:
    """µs for a tracing timestamp `2026-11-25T10:00:00.123456Z`, None if it is not one."""
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, sec = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    frac = (m.group(7) or "").ljust(6, "0")[:6]
    try:
        base = datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
    except ValueError:
        return None
    secs = (base - _EPOCH).days * 86400 + (base - _EPOCH).seconds
    return secs * US + int(frac or 0)


_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
