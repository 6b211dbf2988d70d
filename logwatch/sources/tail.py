"""One journal file under follow: its reader, where it stands, and what its header says."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARCHIVED = 2
"""The header's state of a file its writer closed for good (journald's STATE_ARCHIVED)."""
_SIGNATURE = b"LPKSHHRH"
HEAD = ""
"""The anchor of a tail standing before the first entry of a file that held none."""
# systemd's journal-def.h Header up to tail_entry_monotonic: signature, flags, state,
# file_id, machine_id, tail boot_id, seqnum_id, then fifteen 64-bit numbers.
_HEADER = struct.Struct("<8sIIB7x16s16s16s16s15Q")
_TAIL_OBJECT, _N_ENTRIES, _TAIL_SEQNUM, _HEAD_SEQNUM = 6, 8, 9, 10
_HEAD_REALTIME, _TAIL_REALTIME = 12, 13
_OBJECT_HEADER = struct.Struct("<BB6xQ")  # type, flags, size


@dataclass(frozen=True, slots=True)
class FileHeader:
    """What a journal file's header says about its entries.

    seqnum_id: the sequence-number space (`s=` of its cursors), shared by the files one
        writer rotates through; head/tail_seqnum and head/tail_realtime_us: its first and
        last entry's number in that space and time (0 while it holds none).
    tail_object_offset: where the last object written begins.
    """

    file_id: bytes
    seqnum_id: str
    state: int
    n_entries: int
    head_seqnum: int
    tail_seqnum: int
    head_realtime_us: int
    tail_realtime_us: int
    tail_object_offset: int

    @property
    def archived(self) -> bool:
        """Closed for good by its writer: nothing more will be appended."""
        return self.state == ARCHIVED


def read_header(fd: int) -> FileHeader | None:
    """The header of the journal file open at `fd`; None if it is not (yet) one."""
    try:
        raw = os.pread(fd, _HEADER.size, 0)
    except OSError:
        return None
    if len(raw) < _HEADER.size or not raw.startswith(_SIGNATURE):
        return None
    f = _HEADER.unpack(raw)
    numbers = f[8:]
    return FileHeader(
        file_id=f[4],
        seqnum_id=f[7].hex(),
        state=f[3],
        n_entries=numbers[_N_ENTRIES],
        head_seqnum=numbers[_HEAD_SEQNUM],
        tail_seqnum=numbers[_TAIL_SEQNUM],
        head_realtime_us=numbers[_HEAD_REALTIME],
        tail_realtime_us=numbers[_TAIL_REALTIME],
        tail_object_offset=numbers[_TAIL_OBJECT],
    )


def used_end(fd: int, header: FileHeader) -> int | None:
    """Where the journal file's last object ends: what a reader may touch. None if that
    object cannot be read."""
    offset = header.tail_object_offset
    if offset == 0:
        return _HEADER.size
    try:
        raw = os.pread(fd, _OBJECT_HEADER.size, offset)
    except OSError:
        return None
    if len(raw) < _OBJECT_HEADER.size:
        return None
    size: int = _OBJECT_HEADER.unpack(raw)[2]
    return offset + size


class Tail:
    """One journal file, read by a Reader of its own in the file's own order, beside a
    descriptor of ours on the same file that looks at it before every read.

    sd-journal maps the file into memory: a file cut short under it kills the process
    with SIGBUS at the next read past the new end. So a file that ends before its last
    object, or whose header now names another file, is not read again through the old
    Reader (`changed()`). Shorter alone is no sign: a writer that archives a file cuts
    off the room it had set aside, up to the end of the last object.

    anchor: where the reader stands, to stand there again: the cursor of the last entry
    read from this file, or the time it was first positioned at.
    empty_at_us: the start asked of a file that held no entry then (None otherwise): see
    `settle()`.
    """

    __slots__ = (
        "anchor", "archived", "empty_at_us", "fd", "file_id", "gone", "head_seqnum", "key",
        "path", "reader", "seqnum_id",
    )  # fmt: skip

    def __init__(
        self, path: Path, key: tuple[int, int], reader: Any, fd: int, header: FileHeader
    ) -> None:
        self.path = path
        self.key = key
        self.reader = reader
        self.fd = fd
        self.file_id = header.file_id
        self.seqnum_id = header.seqnum_id
        self.head_seqnum = header.head_seqnum
        self.archived = header.archived
        self.gone = False
        self.anchor: str | int = 0
        self.empty_at_us: int | None = None

    def header(self) -> FileHeader | None:
        """The header as it is now."""
        return read_header(self.fd)

    def changed(self) -> str | None:
        """`truncated` if the file now ends before its last object, `rewritten` if its
        header names another file (copied over in place); None when it may be read.
        Takes in what the header says now (`head_seqnum`, `archived`)."""
        try:
            size = os.fstat(self.fd).st_size
        except OSError:
            return "truncated"
        header = read_header(self.fd)
        if header is None:
            return "truncated"
        if header.file_id != self.file_id:
            return "rewritten"
        end = used_end(self.fd, header)
        if end is None or size < end:
            return "truncated"
        self.head_seqnum = header.head_seqnum
        self.archived = header.archived
        return None

    def finished(self) -> bool:
        """Nothing more will be appended: archived by its writer (as its header said at the
        last `changed()`), or set aside as damaged (`name.journal~`)."""
        return self.archived or self.path.name.endswith("~")

    def seek_time(self, at_us: int) -> None:
        """Position before the first entry at or after `at_us`; in a file that holds none
        (its host's clock is behind, or it is empty), after its last entry: what it gets
        from now on is read whatever its stamps (a position by time would pass over them
        for good)."""
        r = self.reader
        r.seek_realtime(at_us)
        self.anchor = at_us
        if r._next():
            r.seek_realtime(at_us)
            return
        r.seek_tail()
        if r._previous():
            last: str = r._get_cursor()
            self.seek_after(last)
        else:
            # Nothing in it yet: all it will hold is new, unless it shows entries of
            # before the start after all (see settle()).
            self.anchor = HEAD
            self.empty_at_us = at_us
            r.seek_head()

    def settle(self) -> None:
        """Before reading a file that held no entry at the start: once it holds some, those
        before the start are skipped if any is at or after it (they were written before
        the start, or seen late), and all are read if none is (its host's clock is behind:
        a position by time would pass over them for good)."""
        at_us = self.empty_at_us
        if at_us is None or self.anchor != HEAD:
            return
        r = self.reader
        r.seek_realtime(at_us)
        if r._next():
            self.empty_at_us = None
            self.anchor = at_us
            r.seek_realtime(at_us)
            return
        r.seek_tail()
        if r._previous():
            self.empty_at_us = None  # entries, all before the start: read them all
        r.seek_head()

    def seek_after(self, cursor: str) -> None:
        """Position right after `cursor`, which is of this file's writer."""
        r = self.reader
        r.seek_cursor(cursor)
        self.anchor = cursor
        if r._next() and r.test_cursor(cursor):
            return
        # Not in this file (another file of the same writer, or vacuumed): seek_cursor
        # alone leaves the reader before the first entry numbered after the cursor.
        r.seek_cursor(cursor)

    def reseek(self) -> None:
        """Stand where the reader stands, anew. sd-journal (252) counts an entry in the
        file before it links it to its fields, and once it has seen a count at the end
        of a file it does not look again until the count changes: an entry it missed
        that way, under unit matches, would wait for the next one. A fresh seek looks."""
        if self.anchor == HEAD:
            self.reader.seek_head()
        elif isinstance(self.anchor, str):
            self.seek_after(self.anchor)
        else:
            self.seek_time(self.anchor)

    def close(self) -> None:
        """Release the Reader (its descriptor and maps) and our descriptor."""
        self.reader.close()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
