"""Journal file headers: the entries a file declares, and a readable copy of one cut short."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable

from logwatch.sources.stream import JOURNAL_MAGIC

# Offsets in the header (systemd's journal-def.h): state, file_id, header_size,
# arena_size, n_entries, all little-endian.
_STATE = 16
_ONLINE = 1
_FILE_ID = slice(24, 40)
_HEADER_SIZE = slice(88, 96)
_ARENA_SIZE = slice(96, 104)
_N_ENTRIES = slice(152, 160)
_HEADER_READ = 160
_ENTRY_MIN = 64  # bytes of the smallest entry object: its header and fixed fields


def _header(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER_READ)
    except OSError:
        return None
    if len(head) < _HEADER_READ or not head.startswith(JOURNAL_MAGIC):
        return None
    return head


def declared_entries(paths: Iterable[str]) -> int | None:
    """How many entries the files' headers say they hold (a copy of a file, the same
    file_id, counted once), or None if a header cannot be read or a file is still being
    written (its count runs ahead of what a reader sees)."""
    seen: dict[bytes, int] = {}
    for path in paths:
        head = _header(path)
        if head is None or head[_STATE] == _ONLINE:
            return None
        count = int.from_bytes(head[_N_ENTRIES], "little")
        arena = int.from_bytes(head[_ARENA_SIZE], "little")
        if count > arena // _ENTRY_MIN:  # more than the file could hold: a damaged header
            return None
        seen[head[_FILE_ID]] = count
    return sum(seen.values())


def padded_copy(path: str) -> str | None:
    """A temporary copy of a journal file cut short, filled with zeros up to the size its
    header declares, which sd-journal then reads up to where the data ends; None if
    `path` is not such a file. The caller removes the copy."""
    head = _header(path)
    if head is None:
        return None
    size = int.from_bytes(head[_HEADER_SIZE], "little") + int.from_bytes(
        head[_ARENA_SIZE], "little"
    )
    try:
        actual = os.path.getsize(path)
        if not actual < size <= actual + (1 << 32):
            return None
        fd, copy = tempfile.mkstemp(prefix="logwatch-", suffix=".journal")
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.truncate(size)  # sparse: the zeros take no room
    except OSError:
        return None
    return copy
