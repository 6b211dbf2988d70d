"""The triage: between the sources and decoding, whose entry this is and whether a pattern
can claim it, decided in one place for every source and every format."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from logwatch.decode.ansi import strip_ansi
from logwatch.decode.journald import is_native
from logwatch.prefilter import Screen, glance_of
from logwatch.records import (
    HOSTNAME,
    IDENTIFIER,
    MESSAGE,
    UNIT,
    Entry,
    Glance,
    Passing,
    RawItem,
)
from logwatch.units import Writers

SETTLED_AFTER = 4096
"""Zipnet entries screened before a capture's triage decides whether the screen pays."""


class Thins(Protocol):
    """`thins(message, host)`: whether a sampling read may pass over a candidate line
    (its `message` rendered, ANSI stripped; `host` its writer) without decoding it; asked
    only while `active` (before any sampling, nothing is passed over)."""

    @property
    def active(self) -> bool: ...

    def __call__(self, message: str, host: str | None) -> bool: ...


class Triage:
    """`triage.entry(entry)`: what of a raw entry goes on to decoding, asked in this order:

    1. whose it is: an entry with a time whose unit (or, naming none, syslog identifier)
       is not one of `writers` is another program's, and goes on as a Passing (its time
       only);
    2. an entry of zipnet's units that `selected` does not select (an instance not named)
       goes on as a Glance: who and when;
    3. a zipnet entry whose MESSAGE `screen` rejects (no pattern can claim it) goes on as
       a Glance;
    4. while `thins` is active (the replay's first look samples rounds), a stdout
       rendering it passes over goes on as a Glance too;
    5. everything else goes on as it came, to be decoded.

    A Glance is made only where who and when can be told without decoding (a unit or an
    identifier; an exact time, or a timestamp the message surely starts with): an `-o cat`
    line names no writer, so it is always decoded. Each answer is the one decoding would
    give: a Passing or a Glance is counted, and moves the clock, as the decoded record
    would (tests/test_triage.py). One exception, kept for speed: in a capture whose
    times are whole seconds (short, short-iso, with-unit), another program's entry passes
    with that time, its message unread, so the clock it moves lags its own stamp by
    under a second.

    Sources that can tell these things before reading an entry in full (journal files by
    field lookups, json and text captures from the line) ask the same triage through
    `ours`, `unselected`, `candidate`, `thinned` and `glance`; the others (export, cat,
    the live sources) hand whole entries to `entry`.

    settles: a capture's triage stops screening once its first SETTLED_AFTER screened
    entries show that under a quarter are rejected (nearly every zipnet line is claimed:
    asking costs more than it spares). A follow's does not: what its first entries show
    need not hold for days. Nor does a first look's, which thins.
    glances: False when who wrote a line not to be decoded, and when, need not be told
    (the first look of journal files asks their index): a journal reader then hands it
    on as a Passing, without looking its host up.
    """

    __slots__ = (
        "_rejected",
        "_settles",
        "_tried",
        "glances",
        "screen",
        "selected",
        "thins",
        "writers",
    )

    def __init__(
        self,
        writers: Writers | None = None,
        screen: Screen | None = None,
        selected: Writers | None = None,
        *,
        thins: Thins | None = None,
        settles: bool = True,
        glances: bool = True,
    ) -> None:
        self.writers = writers
        self.glances = glances
        self.screen = screen if screen is not None and screen.active else None
        self.thins = thins
        self.selected = selected
        self._settles = settles and self.thins is None
        self._tried = self._rejected = 0

    @property
    def settles(self) -> bool:
        """Whether the triage may stop screening after its first entries (a capture's)."""
        return self._settles

    def ours(self, unit: str | None, identifier: str | None) -> bool:
        """Whether a writer with this unit (or, without one, syslog identifier) may be
        zipnet's: True when the triage knows no writers, or the entry names neither."""
        writers = self.writers
        if writers is None:
            return True
        if unit:
            return writers.unit(unit)
        return not identifier or writers.identifier(identifier)

    def unselected(self, unit: str | None) -> bool:
        """Whether `unit` is zipnet's but of an instance not selected."""
        selected = self.selected
        if selected is None or not unit:
            return False
        return not selected.unit(unit) and (self.writers is None or self.writers.unit(unit))

    def candidate(self, message: str) -> str | None:
        """`message` (a raw MESSAGE) without ANSI escapes when a pattern may claim it;
        None when the screen rejects it."""
        screen = self.screen
        if screen is None:
            return strip_ansi(message)
        text = screen.candidate(message)
        if self._settles:
            self._tried += 1
            if text is None:
                self._rejected += 1
            elif self._tried >= SETTLED_AFTER and self._rejected * 4 < self._tried:
                self.screen = None
        return text

    def thinned(self, message: str, host: str | None) -> bool:
        """Whether the first look passes over a candidate stdout rendering whose message
        (ANSI stripped) is `message`, by `host` (see Thins)."""
        thins = self.thins
        return thins is not None and thins.active and thins(message, host)

    @property
    def asks(self) -> bool:
        """Whether the triage can turn anything into a Passing or a Glance."""
        return (
            self.writers is not None
            or self.selected is not None
            or self.screen is not None
            or self.thins is not None
        )

    def entry(self, entry: Entry) -> Entry | Glance | Passing:
        """`entry` as it goes on to decoding (see the class)."""
        fields = entry.fields
        unit, identifier = fields.get(UNIT), fields.get(IDENTIFIER)
        if not unit and not identifier:
            return entry  # only decoding tells whose it is
        if entry.time_us is not None and not self.ours(unit, identifier):
            return Passing(entry.time_us)
        message = fields.get(MESSAGE)
        if message is None:
            return entry  # decoding counts it, as an entry without a message
        return self.glance(entry.time_us, entry.time_exact, fields, message) or entry

    def glance(
        self, time_us: int | None, exact: bool, fields: Mapping[str, str], message: str
    ) -> Glance | None:
        """The Glance of a zipnet entry with these `fields` whose MESSAGE is `message`
        (steps 2 to 4), or None: decode it. For the readers that frame an entry's fields
        and message before making an Entry of them."""
        if self.unselected(fields.get(UNIT)):
            return glance_of(time_us, exact, fields, message)
        if self.screen is None and self.thins is None:
            return None
        text = self.candidate(message)
        if text is not None and not (
            unit_rendering(fields) and self.thinned(text, fields.get(HOSTNAME))
        ):
            return None
        return glance_of(time_us, exact, fields, message)

    def stream(self, items: Iterable[RawItem]) -> Iterator[RawItem]:
        """`items` with each Entry triaged (what is not an Entry goes on as it is)."""
        entry = self.entry
        for item in items:
            yield entry(item) if item.__class__ is Entry else item

    def batch(self, items: Sequence[RawItem]) -> list[RawItem]:
        """`stream` of a list, as a list (a live source's poll)."""
        entry = self.entry
        return [entry(i) if i.__class__ is Entry else i for i in items]


def unit_rendering(fields: Mapping[str, str]) -> bool:
    """Whether an entry of a unit holds a whole rendering in MESSAGE (stdout, or a text
    capture's line), which is what the first look's thinning reads; an entry
    tracing-journald wrote is decoded."""
    return UNIT in fields and not is_native(fields)
