"""Reading captured logs (journal files, journalctl output, tracing lines) into raw entries."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from logwatch.errors import UsageError
from logwatch.prefilter import Screen
from logwatch.records import Entry, Glance, Passing, Unreadable
from logwatch.sources.detect import FORMATS, Source, open_source, sniff
from logwatch.sources.export import read_export
from logwatch.sources.journal import open_journal, read_journal_stream
from logwatch.sources.json_capture import read_json
from logwatch.sources.stream import STREAM_ERRORS
from logwatch.sources.text_capture import FAMILY, read_cat, read_text
from logwatch.units import Writers

__all__ = ["FORMATS", "Source", "open_inputs", "open_source", "read_source", "sniff"]


def read_source(
    source: Source,
    writers: Writers | None = None,
    screen: Screen | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
    selected: Writers | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """The entries of one opened input; bad data inside it comes as Unreadable, never as
    an exception. `writers`, `screen`, `since_us`, `until_us`, `selected`: see
    open_inputs."""
    if screen is not None and (writers is None or not screen.active):
        screen = None
    if source.files:
        return open_journal(
            source.files, source.origin, writers, screen, since_us, until_us, selected
        )
    return _guarded(source, writers, screen)


def _guarded(
    source: Source, writers: Writers | None, screen: Screen | None
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    stream, origin, fmt = source.stream, source.origin, source.fmt
    assert stream is not None
    entries: Iterator[Entry | Glance | Unreadable | Passing]
    if fmt == "journal":
        entries = read_journal_stream(stream, origin, writers, screen)
    elif fmt == "export":
        entries = read_export(stream, origin)
    elif fmt in ("json", "json-seq"):
        entries = read_json(stream, origin, writers, screen)
    elif fmt in FAMILY:
        entries = read_text(stream, origin, fmt, writers, screen)
    else:
        entries = read_cat(stream, origin)
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
    writers: Writers | None = None,
    screen: Screen | None = None,
    stdin: BinaryIO | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
    selected: Writers | None = None,
) -> Iterator[Entry | Glance | Unreadable | Passing]:
    """Every entry of the inputs at `paths` (`-` is stdin), several inputs merged by time.

    Each input's format is detected (journal file or directory, export, json, json-seq,
    journalctl's text outputs, bare tracing lines; .gz/.xz decompressed) unless `fmt`
    names it (one of FORMATS). Every input is opened before this returns, so what the
    user must fix (missing path, permission, unknown format) raises InputError or
    UsageError here, with one line naming the path; bad data inside an input comes out
    of the iterator as Unreadable and reading goes on.

    writers: if given, entries whose unit or syslog identifier is not zipnet's come as
    Passing, unparsed, from the inputs that name writers before their message (journal
    files, json, text captures); most of a journal is other services, and this is what
    keeps reading it near journalctl's own speed.
    screen: if given (with writers), a zipnet entry whose message the screen rejects
        (no pattern can claim it) comes as a Glance, neither read in full nor parsed,
        from the same inputs: most of zipnet's own lines are such.
    stdin: what `-` reads (default: the process's stdin).
    since_us: journal files are read from the first entry at or after this time (a seek,
        not a read of everything before it); other inputs are read whole.
    until_us: journal files are read until a run of entries stamped after it (see
        open_journal), not to their end; other inputs are read whole.
    selected: journal files only, with writers: an entry of zipnet's units that these
        writers do not select (an instance not named) comes as a Glance, who and when.
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
    streams = [
        read_source(source, writers, screen, since_us, until_us, selected) for source in sources
    ]
    if len(streams) == 1:
        return streams[0]
    return _merged(streams)
