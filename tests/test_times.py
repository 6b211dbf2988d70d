"""Durations and timestamps: the forms DESIGN.md promises."""

import pytest

from logwatch.errors import UsageError
from logwatch.times import US, format_time, is_relative, iso_to_us, parse_duration, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("2s", 2.0), ("1m", 60.0), ("1min", 60.0), ("1h30m", 5400.0), ("7", 7.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5 parsecs", "1h 30x", "-2s"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="not a duration"):
        parse_duration(text)


def test_format_time_is_rfc3339_utc_with_microseconds() -> None:
    us = iso_to_us("2026-11-25T10:05:07.000042Z")
    assert us is not None
    assert format_time(us) == "2026-11-25T10:05:07.000042Z"


def test_iso_to_us_rejects_what_is_not_a_tracing_timestamp() -> None:
    assert iso_to_us("2026-13-25T10:05:07.000000Z") is None
    assert iso_to_us("yesterday") is None


def test_parse_time_relative_and_absolute() -> None:
    now = 1_800_000_000 * US
    assert parse_time("-10m", now) == now - 600 * US
    assert parse_time("now", now) == now
    assert parse_time("2026-11-25T10:00:00Z", now) == iso_to_us("2026-11-25T10:00:00.000000Z")
    assert parse_time("2026-11-25 10:00:00 UTC", now) == iso_to_us("2026-11-25T10:00:00.000000Z")
    with pytest.raises(UsageError):
        parse_time("the day after", now)


def test_format_time_keeps_four_digit_years_and_never_fails() -> None:
    # Broken captures carry any time at all: year 26, year 5138, before the epoch.
    assert format_time(-61_353_000_000 * US) == "0025-10-19T20:00:00.000000Z"
    assert format_time(10**20) == "9999-12-31T23:59:59.999999Z"
    assert format_time(-(10**20)) == "0001-01-01T00:00:00.000000Z"
    assert format_time(-1) == "1969-12-31T23:59:59.999999Z"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("-1h", -3600), ("+5min", 300), ("1 hour ago", -3600), ("-1h 30min", -5400),
        ("90s ago", -90), ("-2 days", -172800), ("now", 0), ("-500ms", -0.5),
    ],
)  # fmt: skip
def test_relative_times_count_from_the_given_now(text: str, seconds: float) -> None:
    now = 1_800_000_000 * US
    assert is_relative(text)
    assert parse_time(text, now) == now + round(seconds * US)


@pytest.mark.parametrize("text", ["@1795600830", "yesterday", "10:00:30", "2026-11-25 10:00"])
def test_absolute_times_are_not_relative(text: str) -> None:
    assert not is_relative(text)


@pytest.mark.parametrize(("text", "seconds"), [("1 hour 30 min", 5400.0), ("2 weeks", 1209600.0)])
def test_durations_take_systemd_time_spans(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-x", "the day after", "2026-13-45", "@soon"])
def test_what_is_no_time_is_one_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="not a time"):
        parse_time(text, 0)
