"""Byte streams for the readers: peeking without losing bytes, decompression, bounded lines."""

from __future__ import annotations

import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from typing import IO, cast

from logwatch.records import Unreadable

MAX_LINE = 16 << 20
"""A line longer than this is reported unreadable and skipped, so memory stays bounded."""
SAMPLE = 64 << 10
"""How much of an input format detection looks at, at most."""

_BLOCK = 1 << 20

STREAM_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error)
"""What a truncated or corrupt .gz/.xz (or a failing disk) raises in the middle of a read."""

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
JOURNAL_MAGIC = b"LPKSHHRH"


class _Replay(io.RawIOBase):
    """The bytes already taken for detection, then the rest of the stream."""

    def __init__(
        self, prefix: bytes, rest: io.BufferedIOBase, error: BaseException | None = None
    ) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        if self._error is not None:
            # Detection already hit the broken spot; the reader reports it after the
            # good bytes, where it happened.
            error, self._error = self._error, None
            raise error
        # read1 returns what is there without waiting for a full buffer: a live pipe
        # hands each line on as it arrives.
        data = self._rest.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


def peek(
    stream: io.BufferedIOBase, enough: int, *, until_line: bool = False
) -> tuple[bytes, io.BufferedIOBase]:
    """The first bytes of `stream` (at least `enough`, or up to a first newline with
    until_line, or all of it if shorter) and a stream that still yields every byte."""
    chunks: list[bytes] = []
    size = 0
    while size < enough:
        chunk = stream.read1(SAMPLE)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if until_line and b"\n" in chunk:
            break
    prefix = b"".join(chunks)
    return prefix, replay(prefix, stream)


def replay(
    prefix: bytes, rest: io.BufferedIOBase, error: BaseException | None = None
) -> io.BufferedIOBase:
    """A stream of `prefix` (bytes already read from `rest`), then `error` if one was met
    reading them, then the rest."""
    return io.BufferedReader(_Replay(prefix, rest, error), buffer_size=SAMPLE)


def decompressed(
    stream: io.BufferedIOBase,
) -> tuple[io.BufferedIOBase, str | None, io.BufferedIOBase | None]:
    """`stream` itself, or a decompressing view of it when it starts with gzip/xz magic;
    also the compression's name and the compressed stream (which closing the view
    leaves open)."""
    head, stream = peek(stream, 6)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=stream, mode="rb"), "gzip", stream
    if head.startswith(XZ_MAGIC):
        return lzma.LZMAFile(cast(IO[bytes], stream), mode="rb"), "xz", stream
    return stream, None, None


def sample_text(data: bytes, limit: int = 200) -> str:
    """A short printable excerpt of bad input for Unreadable.sample."""
    return data[:limit].decode("utf-8", "replace")


def lines(stream: io.BufferedIOBase, origin: str) -> Iterator[bytes | Unreadable]:
    """Each line of `stream` without its line end; an over-long line is an Unreadable and
    skipped, so a file without newlines cannot exhaust memory.

    Reads blocks of what is there (`read1`), so a pipe's lines come as they arrive, and
    splits them in one C call: a readline() per line costs more than the split.
    """
    read = getattr(stream, "read1", stream.read)
    rest = b""
    skipping = False  # inside an over-long line, up to its end
    while True:
        block = read(_BLOCK)
        if not block:
            break
        if skipping:
            cut = block.find(b"\n")
            if cut < 0:
                continue
            block = block[cut + 1 :]
            skipping = False
        parts = (rest + block).split(b"\n") if rest else block.split(b"\n")
        rest = parts.pop()
        for line in parts:
            yield line[:-1] if line[-1:] == b"\r" else line
        if len(rest) >= MAX_LINE:
            yield Unreadable(origin, "line longer than 16 MiB", sample_text(rest))
            rest = b""
            skipping = True
    if rest:
        yield rest
