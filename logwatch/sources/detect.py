"""Opening an input (path, directory or stdin) and telling its format from its first bytes."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from logwatch.errors import InputError, UsageError
from logwatch.sources.stream import (
    JOURNAL_MAGIC,
    SAMPLE,
    STREAM_ERRORS,
    decompressed,
    peek,
    replay,
)

FORMATS = (
    "journal",
    "export",
    "json",
    "json-seq",
    "short-iso",
    "short-iso-precise",
    "short-precise",
    "short",
    "short-unix",
    "with-unit",
    "cat",
)
"""Input formats by name: journal files, and what `journalctl -o NAME` writes."""

_PERMISSION = "permission denied; run as root or add yourself to the systemd-journal group"


@dataclass(frozen=True, slots=True)
class Source:
    """An opened input: journal files on disk are read by path, anything else as a stream.

    compression: `gzip` or `xz` when the stream is decompressed on the fly.
    compressed: then the compressed stream under it, to close after reading.
    """

    origin: str
    fmt: str
    stream: io.BufferedIOBase | None = None
    files: tuple[str, ...] = ()
    compression: str | None = None
    compressed: io.BufferedIOBase | None = None

    def close(self) -> None:
        """Close the input's streams (journal files are closed by their reader)."""
        for stream in (self.stream, self.compressed):
            if stream is not None:
                stream.close()


_ISO = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
_SHAPES = (
    (re.compile(_ISO + rb"\.\d+(?:[+-]\d\d:?\d\d) "), "short-iso-precise"),
    (re.compile(_ISO + rb"(?:[+-]\d\d:?\d\d) "), "short-iso"),
    (re.compile(rb"\d{9,11}\.\d{1,9} "), "short-unix"),
    (re.compile(rb"[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d\.\d+ "), "short-precise"),
    (re.compile(rb"[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d "), "short"),
    (re.compile(rb"(?:[A-Z][a-z]{2} )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ "), "with-unit"),
    (re.compile(rb"__[A-Z0-9_]+="), "export"),
    # A bare tracing line (full or compact, perhaps coloured): `journalctl -o cat`.
    (re.compile(rb"(?:\x1b\[[0-9;]*m)*" + _ISO + rb"(?:\.\d+)?Z"), "cat"),
)
_FIELD_LINE = re.compile(rb"[A-Z_][A-Z0-9_]*=")
_JOURNAL_KEYS = ("__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP")
_TRACING_KEYS = ("timestamp", "level", "fields", "target")


def _json_shape(line: bytes) -> str | None:
    try:
        obj = json.loads(line)
    except ValueError:
        # Not complete within the sample (a huge first line): judge by the keys seen.
        if b'"__CURSOR"' in line or b'"__REALTIME_TIMESTAMP"' in line:
            return "json"
        return "cat" if b'"level"' in line or b'"timestamp"' in line else None
    if not isinstance(obj, dict):
        return None
    if any(k in obj for k in _JOURNAL_KEYS):
        return "json"
    if any(k in obj for k in _TRACING_KEYS):
        return "cat"
    return "json" if "MESSAGE" in obj else None


def _shape(line: bytes, sample: bytes) -> str | None:
    if line.startswith(b"\x1e"):
        return "json-seq"
    if line.startswith(b"{"):
        return _json_shape(line)
    for pattern, fmt in _SHAPES:
        if pattern.match(line):
            return fmt
    if _FIELD_LINE.match(line) and (b"\nMESSAGE=" in sample or b"\nMESSAGE\n" in sample):
        return "export"
    return None


def sniff(sample: bytes, final: bool) -> str | None:
    """The format of an input that starts with `sample`, or None if it cannot be told
    (yet: `final` says whether more input could follow within the sample limit).

    An input with nothing but blank lines and journalctl's `-- ... --` markers is `cat`
    (it reads as nothing at all).
    """
    if sample.startswith(JOURNAL_MAGIC):
        return "journal"
    pieces = sample.split(b"\n")
    if not final and len(pieces) > 1:
        pieces.pop()  # an incomplete last line says too little
    meaningful = False
    for raw in pieces:
        line = raw.rstrip(b"\r")
        if not line.strip() or (line.startswith(b"-- ") and line.endswith(b" --")):
            continue
        meaningful = True
        fmt = _shape(line, sample)
        if fmt is not None:
            return fmt
    if final and not meaningful:
        return "cat"
    return None


def _undetectable(origin: str, sample: bytes) -> InputError:
    if b"\0" in sample:
        what = "binary data that is not a journal file"
    else:
        what = "no line looks like journalctl output or zipnet's tracing lines"
    names = ", ".join(FORMATS)
    return InputError(f"{origin}: cannot tell the format ({what}); name it with --format ({names})")


def journal_files(directory: Path) -> tuple[str, ...]:
    """The journal files in `directory` and its subdirectories one level down (the
    machine-id directories of /var/log/journal), sorted."""
    found: list[str] = []
    try:
        # glob() yields nothing from a directory it may not list: ask first, so that
        # is said as what it is.
        os.listdir(directory)
        for pattern in ("*.journal", "*.journal~", "*/*.journal", "*/*.journal~"):
            found.extend(str(p) for p in directory.glob(pattern) if p.is_file())
    except PermissionError:
        raise InputError(f"{directory}: {_PERMISSION}") from None
    for name in found:
        if not os.access(name, os.R_OK):
            raise InputError(f"{name}: {_PERMISSION}")
    return tuple(sorted(found))


def _open_file(path: str) -> io.BufferedIOBase:
    try:
        if os.path.isdir(path):
            raise IsADirectoryError
        return cast(io.BufferedIOBase, open(path, "rb"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory") from None
    except PermissionError:
        raise InputError(f"{path}: {_PERMISSION}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror or exc})") from None


def open_source(path: str, fmt: str | None = None, stdin: BinaryIO | None = None) -> Source:
    """Open `path` (`-` is stdin) and tell its format, unless `fmt` names it.

    Raises InputError for what the user must fix: a missing path, no permission, a
    directory without journal files, an input whose format cannot be told.
    """
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if path == "-":
        origin = "<stdin>"
        raw = cast(io.BufferedIOBase, stdin if stdin is not None else sys.stdin.buffer)
    else:
        origin = path
        if os.path.isdir(path):
            if fmt not in (None, "journal"):
                raise InputError(f"{path}: is a directory; only journal files are read from one")
            files = journal_files(Path(path))
            if not files:
                raise InputError(
                    f"{path}: no journal files (*.journal) in this directory; "
                    "for a capture in another format name the file itself"
                )
            return Source(origin, "journal", files=files)
        raw = _open_file(path)
    compressed: io.BufferedIOBase | None = None
    try:
        stream, compression, compressed = decompressed(raw)
        head, stream = peek(stream, len(JOURNAL_MAGIC))
        if head.startswith(JOURNAL_MAGIC):
            if path != "-" and compression is None:
                stream.close()
                return Source(origin, "journal", files=(path,))
            return Source(origin, "journal", stream, (), compression, compressed)
        if fmt == "journal":
            raise InputError(f"{origin}: not a journal file; leave out --format to detect it")
        if fmt is None:
            fmt, stream = _detect(origin, stream)
    except STREAM_ERRORS as exc:
        raw.close()
        raise InputError(f"{origin}: corrupt compressed data, nothing readable ({exc})") from None
    except InputError:
        raw.close()
        raise
    return Source(origin, fmt, stream, (), compression, compressed)


def _detect(origin: str, stream: io.BufferedIOBase) -> tuple[str, io.BufferedIOBase]:
    """Read just enough of `stream` to tell its format; the stream returned still holds
    every byte. A live pipe is judged on its first complete line, without waiting."""
    sample = b""
    error: BaseException | None = None
    while True:
        try:
            chunk = stream.read1(SAMPLE - len(sample))
        except STREAM_ERRORS as exc:
            chunk, error = b"", exc
        sample += chunk
        final = not chunk or len(sample) >= SAMPLE
        fmt = sniff(sample, final)
        if fmt is not None:
            return fmt, replay(sample, stream, error)
        if final:
            if error is not None and not sample:
                raise InputError(f"{origin}: corrupt compressed data, nothing readable ({error})")
            raise _undetectable(origin, sample)
