"""Durations and timestamps as logwatch reads and writes them (µs since the epoch, UTC)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logwatch.errors import UsageError

US = 1_000_000
# systemd.time(7)'s time span units (and logwatch's older ones), in seconds. Case matters
# as in systemd: `m` is a minute, `M` a month.
_UNITS = {
    **dict.fromkeys(("usec", "us", "µs", "μs"), 1e-6),
    **dict.fromkeys(("msec", "ms"), 1e-3),
    **dict.fromkeys(("seconds", "second", "sec", "s"), 1.0),
    **dict.fromkeys(("minutes", "minute", "min", "m"), 60.0),
    **dict.fromkeys(("hours", "hour", "hr", "h"), 3600.0),
    **dict.fromkeys(("days", "day", "d"), 86400.0),
    **dict.fromkeys(("weeks", "week", "w"), 604800.0),
    **dict.fromkeys(("months", "month", "M"), 2_629_800.0),
    **dict.fromkeys(("years", "year", "y"), 31_557_600.0),
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_PART = re.compile(rf"(\d+(?:\.\d+)?)\s*({_UNIT_RE})(?![A-Za-zµμ])")


def wall_clock_us() -> int:
    """The wall clock, µs since the epoch: the one place logwatch reads it (follow's
    clock, relative --since, the live demo), never inside the engine."""
    return time.time_ns() // 1000


def parse_duration(text: str) -> float:
    """Seconds in `500ms`, `2s`, `1m`, `1min`, `1h30m`, `1 hour 30 min` (systemd.time(7)'s
    time spans) or a bare number of seconds."""
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


_ANALYZE = ("systemd-analyze", "/usr/bin/systemd-analyze", "/bin/systemd-analyze")
_UNIX_SECONDS = re.compile(r"^\s*UNIX seconds: @(-?\d+)(?:\.(\d{1,6}))?\s*$", re.M)
_RELATIVE = re.compile(r"^(?:(?P<sign>[-+])\s*(?P<span>.+)|(?P<ago>.+?)\s+(?:ago|left))$")


def at_epoch(us: int) -> str:
    """`@1795600800.123456`: a time as journalctl's --since and --until take it exactly."""
    secs, frac = divmod(us, US)
    return f"@{secs}.{frac:06d}"


def is_relative(text: str) -> bool:
    """Whether parse_time reads `text` relative to its `now_us` (`-1h`, `1 hour ago`, `now`)."""
    s = text.strip()
    if s == "now":
        return True
    m = _RELATIVE.match(s)
    if m is None:
        return False
    try:
        parse_duration(m.group("span") or m.group("ago"))
    except UsageError:
        return False
    return True


def parse_time(text: str, now_us: int) -> int:
    """µs for `--since/--until`, as journalctl reads them (systemd.time(7)).

    Relative forms count from `now_us` (the wall clock, or the capture's end in replay):
    `now`, `-10m`, `+5min`, `1 hour ago`. `@1795600000` is the epoch. RFC 3339 with a
    `T` (`2026-11-25T10:00:00Z`) is read here. Everything else (`today`, `yesterday`,
    `10:00:30`, `2026-11-25 10:00:30 [UTC|zone]`, ...) goes to `systemd-analyze
    timestamp`: systemd's own parser, the one journalctl runs on `--since`, so the
    same text means the same instant, in local time (TZ) unless a zone is given.
    """
    s = text.strip()
    if s == "now":
        return now_us
    m = _RELATIVE.match(s)
    if m is not None:
        span = m.group("span") or m.group("ago")
        sign = -1 if m.group("sign") == "-" or (m.group("ago") and s.endswith("ago")) else 1
        try:
            return now_us + sign * round(parse_duration(span) * US)
        except UsageError:
            pass  # `-` may begin no span at all; let the absolute forms say what it is
    if s.startswith("@"):
        try:
            return round(float(s[1:]) * US)
        except ValueError:
            raise UsageError(f"not a time: {text!r}") from None
    if "T" in s:
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            pass
        else:
            # No zone: local time, as journalctl would take the same time with a space.
            return round(dt.timestamp() * US)
    return _systemd_timestamp(s, text)


def _analyze(analyze: str, s: str, zone: str | None) -> re.Match[str] | None:
    env = None if zone is None else {**os.environ, "TZ": f":{zone}"}
    # `--` so that a time beginning with `-` is not read as an option.
    done = subprocess.run(
        [analyze, "timestamp", "--", s],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        env=env,
    )
    return _UNIX_SECONDS.search(done.stdout) if done.returncode == 0 else None


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True


def _systemd_timestamp(s: str, text: str) -> int:
    """`systemd-analyze timestamp`'s reading of `s`; a Python reading of the plain
    `YYYY-MM-DD[ HH:MM[:SS]]` forms where systemd-analyze is missing."""
    analyze = next((p for p in _ANALYZE if shutil.which(p)), None)
    hint = "try -1h, '1 hour ago', yesterday, 10:00:30, '2026-11-25 10:00:30 UTC', @1795600000"
    if analyze is None:
        try:
            return round(datetime.fromisoformat(s).timestamp() * US)
        except ValueError:
            raise UsageError(f"not a time: {text!r} ({hint})") from None
    m = _analyze(analyze, s, None)
    if m is None and " " in s:
        # journalctl takes a trailing IANA zone (`... Europe/Berlin`), which
        # systemd-analyze timestamp (252) refuses: the rest read in that zone is the same.
        rest, zone = s.rsplit(" ", 1)
        if _is_zone(zone):
            m = _analyze(analyze, rest, zone)
    if m is None:
        raise UsageError(f"not a time: {text!r} ({hint})")
    return int(m.group(1)) * US + int((m.group(2) or "").ljust(6, "0"))


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
