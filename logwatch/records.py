"""What flows from the sources through decode: raw entries, unreadable pieces, records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

# Journal field names the stages agree on.
MESSAGE = "MESSAGE"
UNIT = "_SYSTEMD_UNIT"
IDENTIFIER = "SYSLOG_IDENTIFIER"
HOSTNAME = "_HOSTNAME"
PRIORITY = "PRIORITY"
TRANSPORT = "_TRANSPORT"
TARGET = "TARGET"

NO_MULTI: Mapping[str, tuple[str, ...]] = MappingProxyType({})
"""Entry.multi of the many entries that hold no field twice."""
# Entry, Record (and Step, Event) are named tuples, not frozen dataclasses: as immutable,
# and made four times faster, which counts for objects made for every log line.


class Entry(NamedTuple):
    """One raw log entry as a source hands it over, before any parsing of the message.

    time_us: the capture's own time in µs since the epoch (UTC), or None when the
        capture carries none (`-o cat`).
    time_exact: False when that time is coarse (whole seconds, or no year/zone), so
        a tracing timestamp inside the message is the better time.
    fields: journal fields by name (MESSAGE, _SYSTEMD_UNIT, SYSLOG_IDENTIFIER,
        _HOSTNAME, PRIORITY, TARGET, F_*, ...), values decoded to text. A text
        capture fills in what its rendering shows. A field the journal held several
        times keeps all values, in order, in `multi`.
    cursor: the journal cursor, where the source has one.
    origin: which input it came from, for messages.
    """

    time_us: int | None
    time_exact: bool
    fields: Mapping[str, str]
    cursor: str | None = None
    origin: str = ""
    multi: Mapping[str, tuple[str, ...]] = NO_MULTI


class Passing(NamedTuple):
    """An entry of a writer that is not zipnet's (another unit), which a source that can
    tell (journal files, json and text captures, given `Writers`) passes on unparsed: only
    its time travels on, to be counted and to move the one clock. A one-field named tuple:
    most of a journal is such entries, and it costs a fraction of an Entry."""

    time_us: int


class Glance(NamedTuple):
    """A zipnet entry whose raw message the prefilter rejected: no pattern can claim it,
    so it is never read in full nor decoded. What travels on is what the engine needs of
    an unmatched line: who wrote it (unit or syslog identifier) and when.

    time_us, time_exact: as in Entry.
    stamp_us: when time_exact is False, the tracing timestamp the message starts with
        (the decoder's better time), or None when it holds none.
    unit: _SYSTEMD_UNIT, or None when the capture names no units.
    identifier: SYSLOG_IDENTIFIER, when there is no unit.
    host: _HOSTNAME, or None: whose clock the time is (docs/clock.md).
    """

    time_us: int | None
    time_exact: bool
    stamp_us: int | None
    unit: str | None
    identifier: str | None
    host: str | None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A piece of input that could not be read as an entry: counted and shown, never fatal.

    reason: short, stable words (`malformed json`, `truncated export entry`, ...).
    sample: the first bytes of the offending input, for `--show-missed`.
    """

    origin: str
    reason: str
    sample: str = ""


class Record(NamedTuple):
    """A decoded log line: who wrote it, when, and the tracing event it carries.

    time_us: event time, µs since the epoch, UTC.
    instance: the zipnet instance as named in unit names (`acme-mainnet`), or None.
    role: `server`, `aggregator`, `client`, or None when unknown. Only trusted
        sources set it: the unit name, the syslog identifier of a text capture, or
        `--instance`/`--role` given by the operator; never the message text.
    host: the host that wrote it (`_HOSTNAME`), or None.
    level: `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`, or None.
    target: the tracing target (`zipnet::server::round`), or None.
    message: the bare tracing message (`round finalized`), ANSI stripped.
    fields: the tracing event's fields by lower-case name, values as text
        (span fields only where the event has no field of that name).
    """

    time_us: int
    instance: str | None
    role: str | None
    host: str | None
    level: str | None
    target: str | None
    message: str
    fields: Mapping[str, str]
    cursor: str | None = None
    unit: str | None = None


RawItem = Entry | Glance | Unreadable | Passing
"""What a source hands over: an entry (whole, only glanced at, or passing), or what could
not be read."""
