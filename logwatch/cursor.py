"""The saved journal cursor of a follow (`--state-dir`): where to resume, written atomically."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from logwatch.errors import InputError
from logwatch.times import US, format_time, wall_clock_us

SUFFIX = ".cursor"
# A journal cursor is `key=value` pairs joined by `;` (`s=…;i=…;b=…;m=…;t=…;x=…`). A
# follow of several journal files saves one per sequence-number space, a line each;
# anything else in the file was not written by us.
_ONE = r"[a-z]=[0-9a-fA-F]+(?:;[a-z]=[0-9a-fA-F]+)*"
_CURSOR = re.compile(rf"{_ONE}(?:\n{_ONE})*")
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
_SLUG_MAX = 80


@dataclass(frozen=True, slots=True)
class CursorPoint:
    """What a journal cursor says about its entry: the file's sequence-number space
    (`s=`, shared by the files one journald or journal-remote writer rotates through), the
    entry's number in it (`i=`) and its realtime (`t=`, µs)."""

    seqnum_id: str
    seqnum: int
    realtime_us: int
    cursor: str


def parse_cursor(cursor: str) -> CursorPoint | None:
    """The parts of one journal cursor that position a reader, None if it has none."""
    parts: dict[str, str] = {}
    for item in cursor.split(";"):
        key, eq, value = item.partition("=")
        if eq:
            parts[key] = value
    try:
        return CursorPoint(parts["s"], int(parts["i"], 16), int(parts["t"], 16), cursor)
    except (KeyError, ValueError):
        return None


def split_cursors(text: str) -> list[str]:
    """The journal cursors in a saved cursor: one, or one a line for a follow of several
    journal files."""
    return text.split()


def join_cursors(cursors: Iterable[str]) -> str:
    """Several files' cursors as one saved cursor, in a stable order (so an unchanged set
    compares equal and is not written again)."""
    return "\n".join(sorted(cursors))


def state_key(*parts: str | Iterable[str]) -> str:
    """A stable file-name key for one kind of follow: the same instances and source give the
    same key whatever their order, different ones a different key.

    `state_key(["acme-mainnet", "preview-alpha"], "directory:/var/log/journal/remote")`
    → `acme-mainnet+preview-alpha+directory-var-log-journal-remote-` + 12 hex digits.
    The readable part is for a person listing the state dir; the hash keeps two keys
    apart when that part is cut short or loses characters.
    """
    words: list[str] = []
    for part in parts:
        if isinstance(part, str):
            words.append(part)
        else:
            words.extend(sorted(set(part)))
    joined = "\0".join(words)
    digest = hashlib.sha256(joined.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    slug = "+".join(_SLUG_UNSAFE.sub("-", w).strip("-.") for w in words if w)
    slug = slug[:_SLUG_MAX].rstrip("-+.")
    return f"{slug}-{digest}" if slug else digest


@dataclass(frozen=True, slots=True)
class SaveStatus:
    """How saving the cursor goes, for /metrics (read from another thread: each change
    makes a new object).

    saved: cursors written. failures: attempts that failed, all told.
    last_saved_us: wall time of the last cursor written or loaded (None: none yet).
    failing_since_us: when the failures going on now began (None: saving works).
    reason: why the last attempt failed ('' when it did not).
    """

    saved: int = 0
    failures: int = 0
    last_saved_us: int | None = None
    failing_since_us: int | None = None
    reason: str = ""


class CursorStore:
    """One follow's cursor in `state_dir/<key>.cursor`.

    `save` writes a temp file in the same directory, fsyncs it, renames it over the old
    one and fsyncs the directory, so after a crash the file holds either the old or the
    new cursor, never a torn one. Saving the cursor already saved costs nothing, so the
    caller may save every second.

    A save that fails (the directory read-only, full or removed) does not stop the
    follow: `status` says so, `take_notices` has one line for the operator when it starts
    failing and one when it works again, and the next save tries again (making the
    directory anew if it is gone).
    """

    __slots__ = ("_dir", "_last", "_notices", "_path", "status")

    def __init__(self, state_dir: str | os.PathLike[str], key: str) -> None:
        if not key or "/" in key or key in (".", ".."):
            raise ValueError(f"bad cursor key {key!r}")
        self._dir = Path(state_dir)
        self._path = self._dir / f"{key}{SUFFIX}"
        self._last: str | None = None
        self._notices: list[str] = []
        self.status = SaveStatus()
        # A mistake (a path that cannot be a directory, no permission) fails at start-up
        # rather than at the first save, minutes into a follow; a read-only file system
        # may pass, and is what a failing save is (said, and tried again).
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            if e.errno != errno.EROFS:
                raise InputError(f"cannot create state dir {self._dir}: {_reason(e)}") from None
            return
        if not os.access(self._dir, os.W_OK | os.X_OK) and not _read_only(self._dir):
            raise InputError(f"cannot write to state dir {self._dir}: permission denied")

    @property
    def path(self) -> Path:
        """The cursor file."""
        return self._path

    def load(self) -> str | None:
        """The saved cursor, or None when there is none yet."""
        try:
            text = self._path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read cursor file {self._path}: {_reason(e)}") from None
        cursor = text.strip()
        if not _CURSOR.fullmatch(cursor):
            # Starting over silently could skip or repeat entries; the operator decides.
            raise InputError(
                f"{self._path} holds no journal cursor; delete it to start from scratch"
            )
        self._last = cursor
        self.status = SaveStatus(last_saved_us=_mtime_us(self._path))
        return cursor

    def save(self, cursor: str) -> bool:
        """Store `cursor`; False when it is the one already stored (no I/O), or when it
        could not be stored (see the class)."""
        if cursor == self._last:
            return False
        if not _CURSOR.fullmatch(cursor):
            raise ValueError(f"not a journal cursor: {cursor!r}")
        try:
            self._write(cursor)
        except FileNotFoundError:
            # The state directory was removed: made anew if it can be.
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
                self._write(cursor)
            except OSError as e:
                self._failed(e)
                return False
        except OSError as e:
            self._failed(e)
            return False
        self._saved(cursor)
        return True

    def _write(self, cursor: str) -> None:
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self._path.name}.", suffix=".tmp", dir=self._dir)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(cursor + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
            tmp = None
            _fsync_dir(self._dir)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _failed(self, e: OSError) -> None:
        now = wall_clock_us()
        before = self.status
        reason = _reason(e)
        self.status = SaveStatus(
            before.saved, before.failures + 1, before.last_saved_us,
            before.failing_since_us or now, reason,
        )  # fmt: skip
        if before.failing_since_us is None:
            last = before.last_saved_us
            resume = (
                f"a restart now resumes from the cursor saved at {format_time(last)}"
                if last is not None
                else "a restart now starts without a cursor"
            )
            self._notices.append(
                f"cannot save the cursor to {self._path}: {reason}; following goes on, and "
                f"every later save tries again ({resume})"
            )

    def _saved(self, cursor: str) -> None:
        now = wall_clock_us()
        before = self.status
        self._last = cursor
        self.status = SaveStatus(before.saved + 1, before.failures, now)
        if before.failing_since_us is not None:
            seconds = (now - before.failing_since_us) / US
            self._notices.append(
                f"cursor saved again to {self._path}, after {seconds:.0f} s of failed saves"
            )

    def take_notices(self) -> list[str]:
        """Lines for the operator since the last call: saving failed, saving works again."""
        notices, self._notices = self._notices, []
        return notices


def _read_only(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _mtime_us(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns // 1000
    except OSError:
        return None


def _fsync_dir(directory: Path) -> None:
    # Without this the rename itself may be lost in a crash, leaving the old cursor.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return str(e) or type(e).__name__
