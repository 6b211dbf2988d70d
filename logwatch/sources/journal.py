"""Captured journal files (one host's or many hosts' in a directory), read with sd-journal."""

from __future__ import annotations

import io
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from logwatch.errors import InputError
from logwatch.records import (
    HOSTNAME,
    MESSAGE,
    NO_MULTI,
    TRANSPORT,
    UNIT,
    Entry,
    Glance,
    Passing,
    Unreadable,
)
from logwatch.sources.fields import KEPT_TRUSTED
from logwatch.sources.journal_header import declared_entries, padded_copy
from logwatch.sources.journal_index import match_writers, writers_in
from logwatch.sources.stream import STREAM_ERRORS
from logwatch.triage import Triage
from logwatch.units import Writers

# Times of entries read through the matches whose twin in the full walk is still to
# come; only a damaged journal leaves any behind.
_OWED_KEPT = 4096
_UNITS_KEPT = 4096
# Entries walked before deciding whether journal matches pay (see _two_readers).
_SAMPLED = 4096
PAST_RUN = 1024
"""A read given an end stops after this many entries in a row stamped past it: one host
ahead (or a clock the caller's slack does not cover) writing a few among the others does
not end it while everyone else is still before the end."""
_NO_END = 1 << 62
_STDOUT_FIELDS = ("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", *KEPT_TRUSTED)


def open_journal(
    files: Sequence[str],
    origin: str,
    triage: Triage | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """The entries of journal `files` as one stream in time order (several hosts' files
    interleave), with __REALTIME_TIMESTAMP as time and the journal cursor.

    triage: if given, what it says of each entry, asked before reading it in full: an
    entry whose _SYSTEMD_UNIT is not one of its writers' comes as a Passing, its fields
    never read (zipnet's units are then read through journal matches); one of an
    instance not selected, or whose MESSAGE its screen rejects, comes as a Glance (a
    lookup of MESSAGE, the unit and the host instead of reading it in full).
    since_us: read from the first entry at or after it (sd-journal seeks there).
    until_us: stop once PAST_RUN entries in a row are stamped after it (the caller adds
    what the hosts' clocks may be apart: a file written in arrival order holds a host
    behind after the others' end); the rest of the files is never read.
    A file sd-journal refuses (truncated, corrupt) is skipped and reported as an
    Unreadable; InputError when none of the files can be read.
    """
    try:
        # Imported here: every other format reads without the binding.
        from systemd import journal
    except ImportError:
        raise InputError(
            f"{origin}: reading journal files needs the systemd Python binding "
            "(pip install systemd-python); or capture with journalctl -o export"
        ) from None
    skipped: list[Unreadable] = []
    copies: list[str] = []
    cut_short: list[str] = []
    files = list(files)
    try:
        reader = journal.Reader(files=files)
    except OSError as exc:
        # One bad file makes sd-journal refuse them all: find it and read the rest.
        good: list[str] = []
        for name in files:
            try:
                journal.Reader(files=[name]).close()
            except OSError as bad:
                copy = padded_copy(name)
                if copy is not None and _holds_entries(journal, copy):
                    # Cut short (a full disk, a copy stopped halfway): what it holds is
                    # read; what it lost is counted below, against its header.
                    copies.append(copy)
                    cut_short.append(name)
                    good.append(copy)
                    continue
                if copy is not None:
                    os.unlink(copy)
                reason = "journal file truncated or corrupt, skipped"
                skipped.append(Unreadable(origin, reason, f"{name}: {bad.strerror or bad}"))
            else:
                good.append(name)
        if not good:
            raise InputError(
                f"{origin}: cannot read as a journal ({exc.strerror or exc}); "
                "the file is truncated or corrupt"
            ) from None
        files = good
        reader = journal.Reader(files=files)
    # Counted before reading: a file still written to declares more by the end. A read
    # from a time on cannot be held to the whole file's count.
    declared = declared_entries(files) if since_us is None and until_us is None else None
    entries: Iterator[Entry | Glance | Unreadable | Passing] | None = None
    triage = triage or Triage()
    read = TriagedRead(origin, triage)
    writers = triage.writers
    end = _NO_END if until_us is None else until_us
    if since_us is not None:
        reader.seek_realtime(since_us)
    if writers is not None:
        ours = _reader_of(journal.Reader(files=list(files)), writers)
        if ours is not None:
            if since_us is not None:
                ours.seek_realtime(since_us)
            entries = _two_readers(reader, ours, read, writers, end)
    if entries is None:
        entries = _entries(reader, read, end)
    return itertools.chain(skipped, _counted(entries, declared, copies, cut_short, origin))


def _holds_entries(journal: Any, path: str) -> bool:
    """Whether sd-journal opens `path` and finds an entry in it."""
    try:
        reader = journal.Reader(files=[path])
    except OSError:
        return False
    try:
        return bool(reader._next())
    except OSError:
        return False
    finally:
        reader.close()


def _counted(
    entries: Iterator[Entry | Glance | Unreadable | Passing],
    declared: int | None,
    copies: list[str],
    cut_short: list[str],
    origin: str,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """`entries`, then one Unreadable for each entry of the `declared` that sd-journal
    did not give (it steps over an entry it cannot read without a word); the padded
    copies are removed at the end."""
    read = 0
    try:
        for item in entries:
            read += 1
            yield item
        if declared is not None:
            cut = ", ".join(f"{name} (cut short)" for name in cut_short)
            for _ in range(declared - read):
                yield Unreadable(origin, "journal entry lost to damage", cut)
    finally:
        for copy in copies:
            os.unlink(copy)


def entry_fields(raw: dict[str, Any]) -> tuple[dict[str, str], Mapping[str, tuple[str, ...]]]:
    """(fields, multi) of an Entry, from one entry's `Reader._get_all()` (values bytes, or
    a list of bytes for a field the entry holds several times). Shared by the captured
    and the live journal readers so both make the same entries."""
    if raw.get("_TRANSPORT") == b"stdout":
        # A stdout line carries no fields of its own beyond these: look them up instead
        # of scanning all twenty-odd.
        fields: dict[str, str] = {}
        for key in _STDOUT_FIELDS:
            value = raw.get(key)
            if value.__class__ is bytes:
                fields[key] = value.decode("utf-8", "replace")
            elif value is not None:
                return _all_fields(raw)
        return fields, NO_MULTI
    return _all_fields(raw)


def _all_fields(raw: dict[str, Any]) -> tuple[dict[str, str], Mapping[str, tuple[str, ...]]]:
    fields: dict[str, str] = {}
    multi: dict[str, tuple[str, ...]] | None = None
    for key, value in raw.items():
        if key[0] == "_" and key not in KEPT_TRUSTED:
            continue
        if value.__class__ is bytes:
            fields[key] = value.decode("utf-8", "replace")
        else:  # a field the entry holds several times: a list of bytes
            values = tuple(v.decode("utf-8", "replace") for v in value)
            if values:
                multi = multi or {}
                multi[key] = values
                fields[key] = values[-1]
    return fields, multi or NO_MULTI


def _entries(
    reader: Any, read: TriagedRead, end: int
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    # The binding's low-level calls: _get_all() enumerates the entry's data once (about
    # 8 µs an entry of zipnet's here), a _get() is a lookup of one field (about 2 µs):
    # the unit tells other programs' entries apart, and the MESSAGE and host of a line
    # no pattern claims are all it takes to glance at it.
    try:
        yield from _walk(reader, read, end)
    finally:
        reader.close()


def _walk(
    reader: Any, read: TriagedRead, end: int
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """The entries up to `end` (see open_journal's until_us), each as `read` tells it."""
    nxt, realtime, told = reader._next, reader._get_realtime, read.told
    past = 0
    while nxt():
        t = realtime()
        if t > end:
            past += 1
            if past == PAST_RUN:
                return
        elif past:
            past = 0
        yield told(reader, t)


class TriagedRead:
    """`read(reader, time_us)`: the entry `reader` stands at, read in full, or only
    glanced at (who and when) when the triage says so (logwatch/triage.py) from lookups
    of its unit, MESSAGE and host, before any other field is read. Shared by the replay
    of journal files and the follow of them (sources/follow.py)."""

    __slots__ = ("_names", "origin", "triage")

    def __init__(self, origin: str, triage: Triage) -> None:
        self.origin = origin
        self.triage = triage
        # A journal holds few units and hosts: each one's bytes are decoded once.
        self._names: dict[bytes, str] = {}

    def __call__(
        self, reader: Any, time_us: int, unit: bytes | None = None
    ) -> Entry | Glance | Unreadable | Passing:
        """`unit`: the entry's _SYSTEMD_UNIT when the caller has read it already."""
        triage = self.triage
        selected = triage.selected
        if selected is not None:
            try:
                if unit is None:
                    unit = reader._get(UNIT)
            except KeyError:
                pass  # no unit: the decoder tells whose it is
            except (OSError, UnicodeDecodeError) as exc:
                return Unreadable(self.origin, "unreadable journal entry", str(exc))
            else:
                if not selected.raw_unit(unit):
                    passed = self._passed(reader._get, time_us, unit)
                    if passed is not None:
                        return passed
        if triage.screen is None and triage.thins is None:
            return _entry(reader, time_us, self.origin)
        get = reader._get
        try:
            message = get(MESSAGE)
            if unit is None:
                unit = get(UNIT)
        except KeyError:
            # No unit (the decoder then asks the identifier or the target) or no
            # message (an entry to be counted as such): read in full.
            return _entry(reader, time_us, self.origin)
        except (OSError, UnicodeDecodeError) as exc:
            return Unreadable(self.origin, "unreadable journal entry", str(exc))
        text = triage.candidate(message.decode("utf-8", "replace"))
        if text is None:
            passed = self._passed(get, time_us, unit)
            if passed is not None:
                return passed
        elif triage.thins is not None:
            try:
                stdout = get(TRANSPORT) == b"stdout"
            except (KeyError, OSError):
                stdout = False  # read in full, which says what is wrong
            if stdout:
                glance = self._glance(get, time_us, unit)
                if glance is not None and triage.thinned(text, glance.host):
                    return glance if triage.glances else Passing(time_us)
            else:
                # Only the whole entry tells whether it holds a rendering.
                entry = _entry(reader, time_us, self.origin)
                if entry.__class__ is not Entry:
                    return entry
                told = triage.entry(entry)
                if told.__class__ is Glance and not triage.glances:
                    return Passing(time_us)
                return told
        return _entry(reader, time_us, self.origin)

    def _name(self, value: bytes) -> str:
        """`value` (a unit or a host: a journal holds few) as text, each decoded once."""
        name = self._names.get(value)
        if name is None:
            if len(self._names) >= _UNITS_KEPT:
                self._names.clear()
            name = self._names[value] = value.decode("utf-8", "replace")
        return name

    def told(self, reader: Any, time_us: int) -> Entry | Glance | Unreadable | Passing:
        """The entry `reader` stands at, told apart by its unit first (one lookup: another
        writer's entry comes as a Passing), then as `__call__` says."""
        writers = self.triage.writers
        if writers is None:
            return self(reader, time_us)
        try:
            unit = reader._get(UNIT)
        except KeyError:
            return self(reader, time_us)  # left to decode
        except (OSError, UnicodeDecodeError) as exc:
            return Unreadable(self.origin, "unreadable journal entry", str(exc))
        if not writers.raw_unit(unit):
            return Passing(time_us)
        # The unit travels on: the screen's glance needs it too.
        return self(reader, time_us, unit)

    def _passed(self, get: Any, time_us: int, unit: bytes) -> Glance | Passing | None:
        """An entry of `unit` not to be decoded: its Glance, or a Passing (its time only)
        when the triage need not be told who wrote it; None for an empty unit, left to
        decode."""
        if self.triage.glances:
            return self._glance(get, time_us, unit)
        return Passing(time_us) if unit else None

    def _glance(self, get: Any, time_us: int, unit: bytes) -> Glance | None:
        """Who wrote the entry (`get` is the reader's `_get`) and when; None for an
        empty unit, left to decode."""
        name = self._name(unit)
        if not name:
            return None
        # The host too: whose clock the time is (one lookup more).
        try:
            host = self._name(get(HOSTNAME))
        except KeyError:
            host = ""
        return Glance(time_us, True, None, name, None, host or None)


def _entry(reader: Any, time_us: int, origin: str) -> Entry | Unreadable:
    """The entry `reader` stands at, read in full."""
    try:
        fields, multi = entry_fields(reader._get_all())
        return Entry(time_us, True, fields, reader._get_cursor(), origin, multi)
    except (OSError, UnicodeDecodeError) as exc:
        # A torn write or damaged object (the binding decodes field names as UTF-8):
        # counted, and the next entry is read.
        return Unreadable(origin, "unreadable journal entry", str(exc))


def _theirs(get: Any, writers: Writers) -> bool:
    """Whether the reader's current entry is surely another program's, by one lookup of
    its unit (`get` is the reader's `_get`; an entry without a unit is left to decode)."""
    try:
        unit = get(UNIT)
    except KeyError:
        return False
    return not writers.raw_unit(unit)


def _reader_of(reader: Any, writers: Writers) -> Any | None:
    """`reader` with journal matches on zipnet's units and syslog identifiers, or None
    (closed) when the journal's unit or identifier values cannot be listed."""
    try:
        units, names = writers_in(reader, writers)
        match_writers(reader, units, names)
    except (OSError, UnicodeDecodeError, ValueError):
        reader.close()
        return None
    return reader


def _two_readers(
    every: Any, ours: Any, read: TriagedRead, writers: Writers, end: int
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """The entries of `every` as Passing, except those `ours` (the same files, with
    journal matches on zipnet's writers) reads, which come read in full.

    sd-journal finds the matched entries without reading the others, and `every` reads
    only each entry's time: other programs' entries cost no field lookup at all. Both
    walk the same order; an entry of `ours` comes as soon as `every` reaches its time,
    and `every`'s entry at that time is then owed to it, so each entry counts once.
    Once `ours` ends (at its last entry, or early, at a damaged one, where a walk with
    matches stops), `every`'s remaining entries are told apart by their unit.
    `every` stops at `end` (see open_journal's until_us), and `ours` with it.

    When zipnet writes most of the journal, the matched walk costs more than it spares
    (sd-journal checks every match on every entry, and each entry is walked twice): after
    a first stretch that shows it, `ours` is dropped and `every` alone reads on, telling
    entries apart by their unit.
    """
    b_next, b_time, b_get = every._next, every._get_realtime, every._get
    a_next, a_time_of = ours._next, ours._get_realtime
    owed: dict[int, int] = {}
    walked = theirs = past = 0
    try:
        a_time = a_time_of() if a_next() else None
        while b_next():
            t = b_time()
            walked += 1
            if t > end:
                past += 1
                if past == PAST_RUN:
                    # What `ours` holds up to here is out; the rest lies past the end too.
                    return
            elif past:
                past = 0
            if (
                walked == _SAMPLED
                and theirs * 2 < walked
                and not owed
                and a_time is not None
                and a_time >= t
            ):
                # Nothing is owed and `ours` is not behind: `every` alone reads on, from
                # this very entry.
                yield read.told(every, t)
                yield from _walk(every, read, end)
                return
            while a_time is not None and a_time <= t:
                # `ours` matches zipnet's identifiers too (for entries that name no
                # unit): an entry of an instance not selected passes by its unit.
                yield read.told(ours, a_time)
                if len(owed) >= _OWED_KEPT:
                    owed.clear()
                owed[a_time] = owed.get(a_time, 0) + 1
                a_time = a_time_of() if a_next() else None
            due = owed.get(t)
            if due is not None:
                if due == 1:
                    del owed[t]
                else:
                    owed[t] = due - 1
            elif a_time is not None or _theirs(b_get, writers):
                theirs += 1
                yield Passing(t)
            else:
                yield read(every, t)
        while a_time is not None and a_time <= end:  # `every` stopped early (damage)
            yield read.told(ours, a_time)
            a_time = a_time_of() if a_next() else None
    finally:
        every.close()
        ours.close()


def read_journal_stream(
    stream: io.BufferedIOBase,
    origin: str,
    triage: Triage | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """A journal file that arrives as a stream (stdin, or compressed): sd-journal reads
    files only, so it is copied to a temporary file first."""
    fd, name = tempfile.mkstemp(prefix="logwatch-", suffix=".journal")
    try:
        with os.fdopen(fd, "wb") as tmp:
            try:
                shutil.copyfileobj(stream, tmp, 1 << 20)
            except STREAM_ERRORS as exc:
                # What arrived is still read: sd-journal stops at a truncated file's end.
                yield Unreadable(origin, "truncated or corrupt compressed journal", str(exc))
        try:
            entries = open_journal([name], origin, triage)
        except InputError as exc:
            yield Unreadable(origin, "not a readable journal file", str(exc))
            return
        yield from entries
    finally:
        stream.close()
        os.unlink(name)
