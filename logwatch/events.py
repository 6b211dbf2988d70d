"""What match hands to the engine: typed events named after the pattern that found them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

FieldValue = int | float | str


class Event(NamedTuple):
    """A log line recognised by a named pattern, e.g. `round_finalized(round=812, participants=37)`.

    name: the pattern's name.
    time_us: event time, µs since the epoch, UTC.
    instance: the zipnet instance (`acme-mainnet`); events without one are not produced.
    role: the role of the unit that wrote it.
    host: the host that wrote it; for servers this is the server's identity.
    fields: the pattern's typed fields.
    leader_only: only the committee leader emits this event.
    """

    name: str
    time_us: int
    instance: str
    role: str
    host: str | None
    fields: Mapping[str, FieldValue]
    leader_only: bool = False
