"""The numbers the rules run on (DESIGN.md "Rules"), all configurable, validated once."""

from __future__ import annotations

from dataclasses import dataclass

from logwatch.errors import UsageError
from logwatch.times import US


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Rule parameters; P = round period, D = round deadline, W = 3P + D.

    round_period_s: P; unset, it is estimated per instance from the median of the
        last `period_samples` intervals between one leader's finalizations, once
        two are known. Until then the rules use the fallback window.
    round_deadline_s: D; unset, D = P.
    split_brain_for_s: how long two leaders must last before split_brain fires.
    participants_low_rounds / participants_zero_rounds: consecutive rounds needed.
    expect_clients: the number of clients that should take part; unset, the most
        clients the aggregator forwarded in an aggregate lately.
    expect_aggregator: arm aggregator_silent from the watch start; otherwise only
        once the instance's aggregator has been seen, so captures without the
        aggregator's journal do not alert.
    fallback_window_s: W while P is unknown: the window of every rule that needs one
        (no round finalized, no forwarded aggregate, no entries, two leaders, clients
        active, one round finalized twice).
    clock_tolerance_s: a host whose clock is off by more than this against what the
        other hosts agree on is skewed: its entries move no clock, and clock_skew
        fires (docs/clock.md).
    """

    round_period_s: float | None = None
    round_deadline_s: float | None = None
    split_brain_for_s: float = 60.0
    participants_low_rounds: int = 3
    participants_zero_rounds: int = 2
    expect_clients: int | None = None
    expect_aggregator: bool = False
    period_samples: int = 30
    fallback_window_s: float = 30.0
    clock_tolerance_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("round_period_s", "round_deadline_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise UsageError(f"{name.removesuffix('_s').replace('_', ' ')} must be > 0")
        if not self.split_brain_for_s >= 0:
            raise UsageError("split-brain hold time must be >= 0")
        if not self.fallback_window_s > 0:
            raise UsageError("fallback window must be > 0")
        if not self.clock_tolerance_s > 0:
            raise UsageError("clock tolerance must be > 0")
        if self.participants_low_rounds < 1 or self.participants_zero_rounds < 1:
            raise UsageError("participants rules need at least 1 round")
        if self.expect_clients is not None and self.expect_clients < 0:
            raise UsageError("expected clients must be >= 0")
        if self.period_samples < 2:
            raise UsageError("period estimation needs at least 2 samples")

    @property
    def period_us(self) -> int | None:
        """P in µs when configured."""
        return None if self.round_period_s is None else round(self.round_period_s * US)

    def window_us(self, period_us: int) -> int:
        """W = 3P + D in µs for a known (configured or estimated) P."""
        deadline = period_us if self.round_deadline_s is None else round(self.round_deadline_s * US)
        return 3 * period_us + deadline

    @property
    def split_brain_for_us(self) -> int:
        return round(self.split_brain_for_s * US)

    @property
    def fallback_window_us(self) -> int:
        return round(self.fallback_window_s * US)

    @property
    def clock_tolerance_us(self) -> int:
        return round(self.clock_tolerance_s * US)
