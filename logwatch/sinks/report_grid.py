"""Counts on one time axis for the replay report: bins that merge pairwise to stay few."""

from __future__ import annotations

MAX_BINS = 240
"""Bins kept at most; past it every two neighbours merge (each bin twice as wide)."""
FIRST_BIN_US = 5_000_000
BANDS = 16
"""Participant bands above the zero band: 1..w, w+1..2w, ... (w doubles as counts grow)."""


class TimeAxis:
    """Bins of `width_us` from `origin_us`, shared by every series of a report so that
    all instances line up; series register here to be merged or shifted with it."""

    __slots__ = ("origin_us", "series", "width_us")

    def __init__(self, width_us: int = FIRST_BIN_US) -> None:
        self.origin_us: int | None = None
        self.width_us = width_us
        self.series: list[Series | Bands] = []

    @property
    def bins(self) -> int:
        return max((len(s.values) for s in self.series), default=0)

    def index(self, at_us: int) -> int:
        """The bin of `at_us`, widening or extending the axis so it exists within MAX_BINS."""
        if self.origin_us is None:
            self.origin_us = at_us - at_us % self.width_us
        if at_us < self.origin_us:
            missing = -(-(self.origin_us - at_us) // self.width_us)
            while self.bins + missing > MAX_BINS:
                self._widen()
                missing = -(-(self.origin_us - at_us) // self.width_us)
            self.origin_us -= missing * self.width_us
            for s in self.series:
                s.prepend(missing)
        while (at_us - self.origin_us) // self.width_us >= MAX_BINS:
            self._widen()
        return (at_us - self.origin_us) // self.width_us

    def _widen(self) -> None:
        assert self.origin_us is not None
        # Merging keeps bin edges on multiples of the new width, so bins keep their place.
        if (self.origin_us // self.width_us) % 2:
            self.origin_us -= self.width_us
            for s in self.series:
                s.prepend(1)
        self.width_us *= 2
        for s in self.series:
            s.merge_pairs()


class Series:
    """One count per bin of an axis."""

    __slots__ = ("axis", "values")

    def __init__(self, axis: TimeAxis) -> None:
        self.axis = axis
        self.values: list[int] = []
        axis.series.append(self)

    def prepend(self, count: int) -> None:
        self.values[:0] = [0] * count

    def add(self, at_us: int, count: int = 1) -> None:
        i = self.axis.index(at_us)
        values = self.values
        if i >= len(values):
            values.extend(0 for _ in range(i + 1 - len(values)))
        values[i] += count

    def merge_pairs(self) -> None:
        v = self.values
        self.values = [sum(v[i : i + 2]) for i in range(0, len(v), 2)]


class Bands:
    """Per bin, how many rounds had 0 participants, 1..w, w+1..2w, ... (BANDS bands above
    zero); w starts at 1 and doubles, merging neighbouring bands, when a count needs it."""

    __slots__ = ("axis", "values", "width")

    def __init__(self, axis: TimeAxis) -> None:
        self.axis = axis
        self.values: list[list[int]] = []
        self.width = 1
        axis.series.append(self)

    @staticmethod
    def empty() -> list[int]:
        return [0] * (BANDS + 1)

    def prepend(self, count: int) -> None:
        self.values[:0] = [self.empty() for _ in range(count)]

    def add(self, at_us: int, participants: int) -> None:
        while participants > BANDS * self.width:
            self._widen()
        band = 0 if participants <= 0 else 1 + (participants - 1) // self.width
        i = self.axis.index(at_us)
        values = self.values
        while i >= len(values):
            values.append(self.empty())
        values[i][band] += 1

    def _widen(self) -> None:
        self.width *= 2
        for row in self.values:
            row[1:] = [row[j] + row[j + 1] for j in range(1, BANDS + 1, 2)] + [0] * (BANDS // 2)

    def merge_pairs(self) -> None:
        v = self.values
        self.values = [
            [a + b for a, b in zip(v[i], v[i + 1], strict=True)] if i + 1 < len(v) else v[i]
            for i in range(0, len(v), 2)
        ]

    def band_range(self, band: int) -> tuple[int, int]:
        """The participants band `band` counts (0: exactly none)."""
        if band == 0:
            return 0, 0
        return (band - 1) * self.width + 1, band * self.width
