"""The journal files a follow has open: taken in as they come, rename and go, and set aside."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logwatch.errors import InputError
from logwatch.sources.dirwatch import DirWatch
from logwatch.sources.live import JOURNAL_SUFFIXES, PERMISSION_HINT, journal_dirs, journal_files
from logwatch.sources.tail import Tail, read_header

Key = tuple[int, int]
"""A file by device and inode: the same file through renames."""


class OpenFiles:
    """Every journal file of some directories (or some given files), each a `Tail`, and
    one inotify watch on their directories that says which to read.

    A file is opened when it appears and `place` positions it (once the follow started);
    renamed (archived by its writer) it is read on; gone from the directory it is marked
    `gone` and read to its end by its descriptor; a file whose writer archived it, once
    read to its end, is closed for good (`finish`). A file cut short or rewritten under
    its Reader is closed and opened anew when whole (`set_aside`). `notices` collects
    what the operator should hear; `replaced` and `truncated` count the surprises.
    """

    def __init__(
        self,
        roots: list[Path],
        fixed: frozenset[Path] | None,
        open_reader: Callable[[str], Any],
        matches: list[str],
    ) -> None:
        self._roots = roots
        self._fixed = fixed
        self._open_reader = open_reader
        self._matches = matches
        self.place: Callable[[Tail], None] | None = None
        self.tails: dict[Key, Tail] = {}
        self._by_path: dict[Path, Key] = {}
        # Read to their end after their writer archived them: not reopened (with their
        # writer, the sequence-number space, whose place in the saved cursor they keep).
        self._finished: dict[Key, str] = {}
        # Cut short or rewritten, until whole again (with their writer, likewise).
        self._aside: dict[Path, str] = {}
        self.refused: dict[Path, str] = {}
        # Paths said to be cut short or replaced, until a whole file is read there again.
        self._troubled: set[Path] = set()
        self.dirty: set[Key] = set()
        self.rescan = False
        self.notices: list[str] = []
        self.replaced = 0
        self.truncated = 0
        self.watch = DirWatch()

    def writers(self) -> set[str]:
        """The sequence-number spaces that have a file in the directories."""
        spaces = {t.seqnum_id for t in self.tails.values()}
        return spaces | {*self._finished.values(), *self._aside.values()}

    def scan(self, *, initial: bool = False) -> None:
        """Take in the directories as they are now: open new files, mark vanished ones."""
        if self._fixed is not None:
            dirs, found = self._roots, sorted(p for p in self._fixed if p.exists())
        else:
            dirs, found = journal_dirs(self._roots), journal_files(self._roots)
        for directory in dirs:
            try:
                self.watch.watch(directory)
            except OSError as e:
                if initial:
                    raise InputError(f"cannot watch {directory}: {e.strerror or e}") from None
        present: dict[Path, Key] = {}
        for path in found:
            try:
                st = path.stat()
            except OSError:
                continue
            present[path] = (st.st_dev, st.st_ino)
        for path, key in present.items():
            tail = self.tails.get(key)
            if tail is not None:
                if tail.path != path:  # renamed when archived: the same file, read on
                    self._forget_path(tail)
                    tail.path = path
                    self._by_path[path] = key
            elif key not in self._finished:
                self._open(path, key)
        keys = set(present.values())
        for key, tail in self.tails.items():
            if key not in keys and not tail.gone:
                # Its descriptor still reads it: drained to its end, then closed.
                tail.gone = True
                self.dirty.add(key)
                if present.get(tail.path) not in (None, key) and _replaced(tail):
                    self.replaced += 1
                    self._say(
                        tail.path,
                        "replaced by another file under the same name: the old one is "
                        "read to its end, the new one after the last entry read of its writer",
                    )
        # What is kept about files that are gone goes too: months of rotation leave
        # nothing behind.
        self._finished = {k: s for k, s in self._finished.items() if k in keys}
        self.refused = {p: w for p, w in self.refused.items() if p in present}
        self._aside = {p: s for p, s in self._aside.items() if p in present}
        self._troubled &= present.keys()

    def _open(self, path: Path, key: Key) -> None:
        try:
            reader = self._open_reader(str(path))
        except OSError as e:
            if e.errno in (errno.EMFILE, errno.ENFILE):
                why = "too many open files, raise the limit (ulimit -n)"
            elif not os.access(path, os.R_OK):
                why = f"permission denied ({PERMISSION_HINT})"
            else:
                # A file journal-remote or journald is still creating (or one cut short):
                # the next event for it brings another try.
                return
            if path not in self.refused:
                self.refused[path] = why
                self.notices.append(f"{path}: not followed: {why}")
            return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            reader.close()
            return
        st = os.fstat(fd)
        header = read_header(fd)
        if header is None or (st.st_dev, st.st_ino) != key:
            reader.close()
            os.close(fd)
            return
        for match in self._matches:
            reader.add_match(match)
        tail = Tail(path, key, reader, fd, header)
        if self.place is not None:
            self.place(tail)
        self.tails[key] = tail
        self._by_path[path] = key
        self.dirty.add(key)

    def take_changes(self) -> None:
        """Mark the files the pending inotify events are about."""
        changes = self.watch.read()
        self.rescan = self.rescan or changes.rescan
        for path in changes.grown:
            key = self._by_path.get(path)
            if key is not None:
                self.dirty.add(key)
            elif path.name.endswith(JOURNAL_SUFFIXES):
                self.rescan = True  # one that could not be opened before

    def finish(self, tail: Tail) -> None:
        """Close a file read to its end for good: archived (not opened again), or gone."""
        if not tail.gone:
            self._finished[tail.key] = tail.seqnum_id
        self.close_tail(tail)

    def set_aside(self, tail: Tail, problem: str) -> None:
        """A file cut short or rewritten under its Reader: not read through it again.
        Said and counted once until a whole file is read there again. Opened anew at
        once (copied over, it may be whole already), then only when an event says the
        file changed: one still broken costs nothing while it stays so."""
        path = tail.path
        self.close_tail(tail)
        self._aside[path] = tail.seqnum_id
        if path not in self._troubled:
            self.truncated += 1
            what = "cut short (truncated)" if problem == "truncated" else "rewritten in place"
            self._say(
                path,
                f"{what} under follow: set aside, and read again after the last entry read "
                "of its writer once it is a whole journal file",
            )
            try:
                st = path.stat()
            except OSError:
                return
            self._open(path, (st.st_dev, st.st_ino))

    def whole(self, tail: Tail) -> None:
        """`tail` passed its check: whatever was said about its path is over."""
        if tail.path in self._troubled:
            self._troubled.discard(tail.path)
            self._aside.pop(tail.path, None)

    def close_tail(self, tail: Tail) -> None:
        """Release one file."""
        tail.close()
        del self.tails[tail.key]
        self._forget_path(tail)

    def _forget_path(self, tail: Tail) -> None:
        if self._by_path.get(tail.path) == tail.key:
            del self._by_path[tail.path]

    def _say(self, path: Path, what: str) -> None:
        """One line per path until a whole file is read there again."""
        if path not in self._troubled:
            self._troubled.add(path)
            self.notices.append(f"{path}: {what}")

    def close(self) -> None:
        """Release every file and the inotify descriptor."""
        for tail in self.tails.values():
            tail.close()
        self.tails.clear()
        self._by_path.clear()
        self.watch.close()


def _replaced(tail: Tail) -> bool:
    """Whether a file gone from under its name, now another file's, was replaced rather
    than rotated away (archived, then renamed) or vacuumed (its blocks freed)."""
    header = tail.header()
    return header is not None and not header.archived and not tail.path.name.endswith("~")
