"""logwatch/engine/hostclock.py: what a read that takes its first look along assumes."""

from __future__ import annotations

import pytest

from logwatch.engine.hostclock import CLIENT_LEAD_US, Assumed, CaptureOffsets, HostTime, Segment
from logwatch.events import Event
from logwatch.times import US

T0 = 1_795_600_800 * US
SPAN = (T0, T0 + 600 * US)


def found(
    span: tuple[int, int] | None = SPAN,
    tied: frozenset[str] = frozenset({"client1"}),
    segments: dict[str, tuple[Segment, ...]] | None = None,
) -> CaptureOffsets:
    return CaptureOffsets(segments or {}, span, tied)


def test_entries_of_no_known_host_are_placed_by_the_span_assumed_and_checked_against_both() -> None:
    assumed = Assumed(SPAN)
    clock = HostTime(foresight=assumed.foresight(), assumed=assumed)
    # Inside the span: as stamped; past its end: at its end (what the look's span does).
    assert clock.place(None, None, T0 + 10 * US, None).time_us == T0 + 10 * US
    assert clock.place(None, None, SPAN[1] + US, T0).time_us == SPAN[1]
    assert assumed.holds(found())  # the span found is the one assumed
    # A span found narrower would have placed that last entry elsewhere.
    assert not assumed.holds(found((T0, SPAN[1] - US)))
    inside = Assumed(SPAN)
    inside.unknown(T0 + 10 * US)
    assert inside.holds(found((T0, T0 + 20 * US)))  # inside both: placed alike
    assert not inside.holds(found((T0 + 11 * US, T0 + 20 * US)))
    assert Assumed(None).holds(found((T0, T0 + US)))  # no entry of no known host at all


def test_a_client_placed_before_it_is_measured_must_be_found_tied() -> None:
    assumed = Assumed(SPAN)
    clock = HostTime(foresight=assumed.foresight(), assumed=assumed)
    ahead = T0 + 10 * US
    # Not measured, far ahead of the clock: placed as stamped, as a host tied to the
    # rounds would be (not held to the clock plus the client's lead).
    assert clock.place("client1", "client", ahead, T0) == (ahead, True)
    assert HostTime(foresight=found()).place("client9", "client", ahead, T0).time_us == (
        T0 + CLIENT_LEAD_US
    )
    assert assumed.holds(found(tied=frozenset({"client1"})))
    assert not assumed.holds(found(tied=frozenset({"client2"})))


def test_a_host_off_breaks_the_assumption_at_once() -> None:
    assumed = Assumed(SPAN)
    assert not assumed.holds(found(segments={"srv2": (Segment(T0, SPAN[1], -60 * US),)}))
    clock = HostTime(foresight=assumed.foresight(), assumed=assumed)
    # Three servers' partials of a round, srv2's a minute late: the measure finds it off
    # as the round's finalization closes them, and the read is given up there.
    with pytest.raises(Assumed.Wrong):
        for host, late in (("srv1", 0), ("srv3", 0), ("srv4", 0), ("srv2", 60)):
            clock.note(partial(host, T0 + late * US))
        clock.note(
            Event("round_finalized", T0 + 2 * US, "acme-mainnet", "server", "srv1", {"round": 7})
        )


def partial(host: str, at_us: int) -> Event:
    return Event("submitted_partial", at_us, "acme-mainnet", "server", host, {"round": 7})
