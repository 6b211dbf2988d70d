"""Captured journal files (one host's or many hosts' in a directory), read with sd-journal."""

from __future__ import annotations

import io
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from logwatch.errors import InputError
from logwatch.records import Entry, Passing, Unreadable
from logwatch.sources.fields import KEPT_TRUSTED
from logwatch.sources.stream import STREAM_ERRORS
from logwatch.units import Writers

_NO_MULTI: dict[str, tuple[str, ...]] = {}
# Distinct unit names remembered; hostile input may bring endless ones.
_UNITS_KEPT = 4096
_STDOUT_FIELDS = ("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", *KEPT_TRUSTED)


def open_journal(
    files: Sequence[str], origin: str, writers: Writers | None = None
) -> Iterator[Entry | Unreadable | Passing]:
    """The entries of journal `files` as one stream in time order (several hosts' files
    interleave), with __REALTIME_TIMESTAMP as time and the journal cursor.

    writers: if given, an entry whose _SYSTEMD_UNIT is not zipnet's comes as a Passing,
    its fields never read.
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
    try:
        reader = journal.Reader(files=list(files))
    except OSError as exc:
        # One bad file makes sd-journal refuse them all: find it and read the rest.
        good: list[str] = []
        for name in files:
            try:
                journal.Reader(files=[name]).close()
            except OSError as bad:
                reason = "journal file truncated or corrupt, skipped"
                skipped.append(Unreadable(origin, reason, f"{name}: {bad.strerror or bad}"))
            else:
                good.append(name)
        if not good:
            raise InputError(
                f"{origin}: cannot read as a journal ({exc.strerror or exc}); "
                "the file is truncated or corrupt"
            ) from None
        reader = journal.Reader(files=good)
    return itertools.chain(skipped, _entries(reader, origin, writers))


def entry_fields(raw: dict[str, Any]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
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
        return fields, _NO_MULTI
    return _all_fields(raw)


def _all_fields(raw: dict[str, Any]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
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
    return fields, multi or _NO_MULTI


def _entries(
    reader: Any, origin: str, writers: Writers | None
) -> Iterator[Entry | Unreadable | Passing]:
    # The binding's low-level calls: _get_all() enumerates the entry's data once, which
    # is cheaper than a handful of _get() lookups, each a scan of its own; but one _get()
    # of the unit tells most of a journal (other services) from zipnet's for a tenth of
    # that, and those entries are never read further.
    nxt, get, get_all = reader._next, reader._get, reader._get_all
    realtime, get_cursor = reader._get_realtime, reader._get_cursor
    ours: dict[bytes, bool] = {}
    try:
        while nxt():
            try:
                if writers is not None:
                    try:
                        unit = get("_SYSTEMD_UNIT")
                    except KeyError:
                        pass
                    else:
                        mine = ours.get(unit)
                        if mine is None:
                            if len(ours) >= _UNITS_KEPT:
                                ours.clear()
                            mine = ours[unit] = writers.unit(unit.decode("utf-8", "replace"))
                        if not mine:
                            yield realtime()
                            continue
                fields, multi = entry_fields(get_all())
                yield Entry(realtime(), True, fields, get_cursor(), origin, multi)
            except (OSError, UnicodeDecodeError) as exc:
                # A torn write or damaged object (the binding decodes field names as
                # UTF-8): counted, and the next entry is read.
                yield Unreadable(origin, "unreadable journal entry", str(exc))
    finally:
        reader.close()


def read_journal_stream(
    stream: io.BufferedIOBase, origin: str, writers: Writers | None = None
) -> Iterator[Entry | Unreadable | Passing]:
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
            entries = open_journal([name], origin, writers)
        except InputError as exc:
            yield Unreadable(origin, "not a readable journal file", str(exc))
            return
        yield from entries
    finally:
        stream.close()
        os.unlink(name)
