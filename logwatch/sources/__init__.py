"""Reading captured logs (journal files, journalctl output, tracing lines) into raw entries."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from logwatch.errors import UsageError
from logwatch.records import Entry, Glance, Passing, Unreadable
from logwatch.sources.detect import FORMATS, Source, open_source, sniff
from logwatch.sources.export import read_export
from logwatch.sources.journal import open_journal, read_journal_stream
from logwatch.sources.journal_index import JournalIndex
from logwatch.sources.json_capture import read_json
from logwatch.sources.stream import STREAM_ERRORS
from logwatch.sources.text_capture import FAMILY, read_cat, read_text
from logwatch.triage import Triage

__all__ = [
    "FORMATS",
    "JournalIndex",
    "Source",
    "formats_of_inputs",
    "index_of_inputs",
    "open_inputs",
    "open_source",
    "read_source",
    "sniff",
]


def read_source(
    source: Source,
    triage: Triage | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """The entries of one opened input, triaged; bad data inside it comes as Unreadable,
    never as an exception. `triage`, `since_us`, `until_us`: see open_inputs."""
    if source.files:
        return open_journal(source.files, source.origin, triage, since_us, until_us)
    return _guarded(source, triage)


def _guarded(
    source: Source, triage: Triage | None
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    stream, origin, fmt = source.stream, source.origin, source.fmt
    assert stream is not None
    entries: Iterator[Entry | Glance | Unreadable | Passing]
    # Journal, json and text readers ask the triage as they frame each entry, before
    # reading all of it; export and cat entries are whole before it is asked.
    if fmt == "journal":
        entries = read_journal_stream(stream, origin, triage)
    elif fmt in ("json", "json-seq"):
        entries = read_json(stream, origin, triage)
    elif fmt in FAMILY:
        entries = read_text(stream, origin, fmt, triage)
    else:
        entries = read_export(stream, origin) if fmt == "export" else read_cat(stream, origin)
        if triage is not None and triage.asks:
            entries = triage.stream(entries)
    try:
        yield from entries
    except STREAM_ERRORS as exc:
        what = f"{source.compression} data" if source.compression else "input"
        yield Unreadable(origin, f"truncated or corrupt {what}", str(exc))
    finally:
        source.close()


def _keyed(
    entries: Iterator[Entry | Glance | Unreadable | Passing],
) -> Iterator[tuple[int, Entry | Glance | Unreadable | Passing]]:
    # Entries without a time (and Unreadables) sort with the last time seen in their own
    # input, so they stay where they were in it.
    last = 0
    for item in entries:
        if isinstance(item, Entry | Glance | Passing) and item.time_us is not None:
            last = item.time_us
        yield last, item


def _merged(
    streams: list[Iterator[Entry | Glance | Unreadable | Passing]],
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    for _, item in heapq.merge(*map(_keyed, streams), key=lambda pair: pair[0]):
        yield item


def open_inputs(
    paths: Sequence[str],
    fmt: str | None = None,
    *,
    triage: Triage | None = None,
    stdin: BinaryIO | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """Every entry of the inputs at `paths` (`-` is stdin), several inputs merged by time.

    Each input's format is detected (journal file or directory, export, json, json-seq,
    journalctl's text outputs, bare tracing lines; .gz/.xz decompressed) unless `fmt`
    names it (one of FORMATS). Every input is opened before this returns, so what the
    user must fix (missing path, permission, unknown format) raises InputError or
    UsageError here, with one line naming the path; bad data inside an input comes out
    of the iterator as Unreadable and reading goes on.

    triage: if given, each entry comes as it says (logwatch/triage.py): another
        program's as a Passing, one of an instance not selected or that no pattern can
        claim as a Glance. Journal files, json and text captures ask it before reading
        an entry in full or parsing it: most of a journal is other services and most
        of zipnet's own lines are noise, and this is what keeps reading near
        journalctl's own speed.
    stdin: what `-` reads (default: the process's stdin).
    since_us: journal files are read from the first entry at or after this time (a seek,
        not a read of everything before it); other inputs are read whole.
    until_us: journal files are read until a run of entries stamped after it (see
        open_journal), not to their end; other inputs are read whole.
    """
    if not paths:
        raise UsageError("no input given (a journal directory or file, a capture, or - for stdin)")
    if list(paths).count("-") > 1:
        raise UsageError("stdin (-) can be read only once")
    sources: list[Source] = []
    try:
        for path in paths:
            sources.append(open_source(path, fmt, stdin))
    except Exception:
        for source in sources:
            source.close()
        raise
    streams = [read_source(source, triage, since_us, until_us) for source in sources]
    if len(streams) == 1:
        return streams[0]
    return _merged(streams)


def formats_of_inputs(paths: Sequence[str], fmt: str | None = None) -> set[str]:
    """The format of each input at `paths` (detected, unless `fmt` names it)."""
    formats = set()
    for path in paths:
        source = open_source(path, fmt)
        source.close()
        formats.add(source.fmt)
    return formats


def index_of_inputs(paths: Sequence[str], fmt: str | None = None) -> JournalIndex | None:
    """The index of the inputs at `paths` when every one is journal files on disk (what it
    tells costs no read of the entries); None otherwise (stdin, a compressed journal,
    another format)."""
    if "-" in paths or fmt not in (None, "journal"):
        return None
    files: list[str] = []
    for path in paths:
        source = open_source(path, fmt)
        source.close()
        if not source.files:
            return None
        files.extend(source.files)
    return JournalIndex(files)
