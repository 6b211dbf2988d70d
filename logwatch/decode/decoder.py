"""The decode stage: a raw entry becomes a Record (who, when, which tracing event)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from logwatch.decode.ansi import strip_ansi
from logwatch.decode.journald import PRIORITY_LEVELS, is_native, parse_native
from logwatch.decode.json_format import parse_json
from logwatch.decode.tracing import NO_FIELDS, TracingEvent, plain
from logwatch.decode.tracing_text import parse_text
from logwatch.records import (
    HOSTNAME,
    IDENTIFIER,
    MESSAGE,
    PRIORITY,
    TRANSPORT,
    UNIT,
    Entry,
    Glance,
    Record,
    Unreadable,
)
from logwatch.times import US
from logwatch.units import DEFAULT_TEMPLATE, ROLES, UnitTemplate

# Instance of an `-o cat` capture when the operator gave none: such a capture names
# no unit at all, and the record must still belong to some instance.
UNKNOWN_INSTANCE = "unknown"
NO_TIME = "no time: a line without one before any line with one"
"""Why a line that carries no time, in a capture that has shown none yet, is not read (the
start of an `-o cat` capture cut in the middle of a multi-line message)."""
_SAMPLE = 200
# What a `full` or `compact` line can start with: a timestamp's digit, or a level
# padded to 5 when there is no timestamp (` INFO`, ` WARN`, `ERROR`, `DEBUG`, `TRACE`).
_TEXT_STARTS = frozenset("0123456789 EDT")
_UNIT_CACHE = 4096


@dataclass(frozen=True, slots=True)
class DecodeSettings:
    """How to decode, set once.

    unit_template: how unit names carry role and instance.
    instance: the operator's `--instance`, for captures without unit names.
    roles: the roles a unit or identifier may name.
    untimed_us: the time of a line that carries none before any line that does. None
        in a capture, where it makes the line unreadable (the capture starts in the
        middle of a multi-line message); 0 for a line read alone (a pattern's example).
    """

    unit_template: str = DEFAULT_TEMPLATE
    instance: str | None = None
    roles: tuple[str, ...] = ROLES
    untimed_us: int | None = None


class Decoder:
    """`decoder(entry) -> Record | Unreadable`: configured once, then called per entry.

    Never raises: input that makes no sense at all becomes an Unreadable with a short,
    stable reason. Keeps one piece of state, the last time it gave a record, for lines
    that carry no time of their own (continuation lines of an `-o cat` capture).
    """

    __slots__ = ("_identifiers", "_last_us", "_roles", "_settings", "_template", "_units")

    def __init__(self, settings: DecodeSettings | None = None) -> None:
        self._settings = settings or DecodeSettings()
        self._template = UnitTemplate(self._settings.unit_template, self._settings.roles)
        self._roles = frozenset(self._settings.roles)
        # A journal holds few distinct units, and every entry names one.
        self._units: dict[str, tuple[str, str] | None] = {}
        # And a text capture names the writer by identifier on every line.
        self._identifiers: dict[str, str | None] = {}
        # The last time given: a line with no time of its own takes it (before any, the
        # settings say).
        self._last_us: int | None = self._settings.untimed_us

    @property
    def settings(self) -> DecodeSettings:
        """The settings this decoder was made with."""
        return self._settings

    def __call__(self, entry: Entry | Glance) -> Record | Unreadable:
        """The record `entry` holds, or why there is none. Of a Glance (a line the
        prefilter rejected), only who and when: the rest of the record is empty."""
        if isinstance(entry, Glance):
            return self._glanced(entry)
        try:
            return self._decode(entry)
        except Exception:
            # Log text is hostile input and one bad entry must not stop a watch; the
            # property tests make sure this is never the normal path.
            return Unreadable(entry.origin, "undecodable entry", _sample(entry))

    def _glanced(self, glance: Glance) -> Record | Unreadable:
        role, instance = self._who(glance.unit, glance.identifier, None)
        time_us = self._time(glance.time_us, glance.time_exact, glance.stamp_us)
        if time_us is None:
            return Unreadable("", NO_TIME, "")
        return Record(
            time_us, instance, role, glance.host, None, None, "", NO_FIELDS, None, glance.unit
        )

    def _decode(self, entry: Entry) -> Record | Unreadable:
        fields = entry.fields
        if is_native(fields):
            event = parse_native(fields, entry.multi)
        else:
            message = fields.get(MESSAGE)
            if message is None:
                return Unreadable(entry.origin, "no message", "")
            event = self._parse_message(strip_ansi(message), fields)
        stamp, level, target, text, event_fields = event
        role, instance = self._who(fields.get(UNIT), fields.get(IDENTIFIER), target)
        time_us = self._time(entry.time_us, entry.time_exact, stamp)
        if time_us is None:
            return Unreadable(entry.origin, NO_TIME, _sample(entry))
        return Record(
            time_us,
            instance,
            role,
            fields.get(HOSTNAME),
            level,
            target,
            text,
            event_fields,
            entry.cursor,
            fields.get(UNIT),
        )

    def _parse_message(self, message: str, fields: Mapping[str, str]) -> TracingEvent:
        """The event in a MESSAGE that holds a whole rendering (stdout, text captures)."""
        first = message[:1]
        event: TracingEvent | None = None
        if first == "{":
            event = parse_json(message)
        elif first in _TEXT_STARTS:
            event = parse_text(message)
        if event is not None:
            return event
        if fields.get(TRANSPORT) == "journal":
            # Written through the journal API yet not by tracing-journald: PRIORITY is
            # the writer's own; on stdout it would be the same for every line.
            return TracingEvent(
                None, PRIORITY_LEVELS.get(fields.get(PRIORITY, "")), None, message, NO_FIELDS
            )
        return plain(message)

    def _who(
        self, unit: str | None, identifier: str | None, target: str | None
    ) -> tuple[str | None, str | None]:
        """(role, instance), from trusted sources only: clients write what they like
        into messages, so the target counts only when nothing else names the writer."""
        if unit:
            try:
                who = self._units[unit]
            except KeyError:
                who = self._template.parse(unit)
                if len(self._units) >= _UNIT_CACHE:
                    self._units.clear()
                self._units[unit] = who
            # A unit that is not one of ours means a writer that is not ours.
            return (None, None) if who is None else who
        if identifier:
            try:
                role = self._identifiers[identifier]
            except KeyError:
                role = self._template.role_of_identifier(identifier)
                if len(self._identifiers) >= _UNIT_CACHE:
                    self._identifiers.clear()
                self._identifiers[identifier] = role
            if role is None:
                return None, None
            # A text capture without unit names: without --instance its lines still
            # count, under an instance the replay summary tells the operator to name.
            return role, self._settings.instance or UNKNOWN_INSTANCE
        return self._role_of_target(target), self._settings.instance or UNKNOWN_INSTANCE

    def _role_of_target(self, target: str | None) -> str | None:
        """`zipnet::server::round` → server, `zipnet::client` → client, `mosaik::…` →
        server (the committee runs the mosaik groups)."""
        if target is None:
            return None
        if target.startswith("zipnet::"):
            role = target[8:].split("::", 1)[0]
            return role if role in self._roles else None
        if target == "mosaik" or target.startswith("mosaik::"):
            return "server" if "server" in self._roles else None
        return None

    def _time(self, captured: int | None, exact: bool, stamp: int | None) -> int | None:
        """The capture's time when exact, else the tracing timestamp, else the best guess
        (the last time given; None before any)."""
        if captured is not None and exact:
            chosen = captured
        elif stamp is not None:
            chosen = stamp
        elif captured is not None:
            # A coarse time only says "within this second": an earlier line's exact
            # time inside that second keeps this one in order right after it.
            last = self._last_us
            chosen = last if last is not None and captured <= last < captured + US else captured
        else:
            return self._last_us
        self._last_us = chosen
        return chosen


def _sample(entry: Entry) -> str:
    message = entry.fields.get(MESSAGE, "")
    return message[:_SAMPLE] if isinstance(message, str) else ""
