"""The wall clock a live run is given: the real one, or one a test steps by hand."""

from __future__ import annotations

from typing import Protocol

from logwatch.times import US, wall_clock_us


class Clock(Protocol):
    """What a live run asks of the wall clock: the time now, in µs since the epoch."""

    def now_us(self) -> int: ...


class WallClock:
    """The host's clock (its host runs NTP: docs/clock.md)."""

    __slots__ = ()

    def now_us(self) -> int:
        return wall_clock_us()


class SteppedClock:
    """A clock that moves only when told to: tests drive a live run through time, exactly,
    without sleeping (no real part can make a wall clock jump on demand)."""

    __slots__ = ("_now",)

    def __init__(self, start_us: int) -> None:
        self._now = start_us

    def now_us(self) -> int:
        return self._now

    def step(self, seconds: float) -> int:
        """Moves the clock on by `seconds`; returns the new time."""
        self._now += round(seconds * US)
        return self._now

    def set(self, at_us: int) -> None:
        """Moves the clock to `at_us`, never back."""
        self._now = max(self._now, at_us)
