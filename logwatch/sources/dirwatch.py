"""inotify on journal directories: which files grew, and when files came or went (Linux only)."""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import select
import struct
from dataclasses import dataclass
from pathlib import Path

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

# Journal writers ftruncate() the file to its own size after every append precisely so
# that readers get IN_MODIFY; a writer that archives a file marks it so in its header
# (through its map: no event) and then closes it: IN_CLOSE_WRITE. The rest means the set
# of files changed.
_GROWN = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE
_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
_STRUCTURE = (
    IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_Q_OVERFLOW
    | IN_IGNORED
)
_EVENT = struct.Struct("iIII")
_READ = 64 << 10


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened since the last read: files written to (or closed by their writer),
    and whether files were added, removed or renamed (or events were lost), which calls
    for a new look at the directory."""

    grown: frozenset[Path]
    rescan: bool


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class DirWatch:
    """One inotify descriptor watching any number of directories."""

    __slots__ = ("_dirs", "_fd", "_libc")

    def __init__(self) -> None:
        self._libc = _libc()
        fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self._fd: int = fd
        self._dirs: dict[int, Path] = {}

    def fileno(self) -> int:
        """The descriptor to select() on."""
        return self._fd

    def watch(self, directory: Path) -> None:
        """Watch `directory` (again is harmless: inotify keeps one watch per inode)."""
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(directory))
        self._dirs[wd] = directory

    def wait(self, timeout_s: float) -> bool:
        """Block until something happened or `timeout_s` passed; True if something did."""
        # poll(), not select(): a follow of many files holds descriptors past 1024.
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        return bool(poller.poll(max(0, math.ceil(timeout_s * 1000))))

    def read(self) -> Changes:
        """Take every pending event; nothing pending gives empty Changes."""
        grown: set[Path] = set()
        rescan = False
        while True:
            try:
                data = os.read(self._fd, _READ)
            except BlockingIOError:
                break
            pos = 0
            while pos + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, pos)
                name = data[pos + _EVENT.size : pos + _EVENT.size + length].rstrip(b"\0")
                pos += _EVENT.size + length
                if mask & _STRUCTURE:
                    rescan = True
                directory = self._dirs.get(wd)
                if directory is not None and name and mask & _GROWN:
                    grown.add(directory / os.fsdecode(name))
                if mask & IN_IGNORED:
                    self._dirs.pop(wd, None)
        return Changes(frozenset(grown), rescan)

    def close(self) -> None:
        """Release the descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
