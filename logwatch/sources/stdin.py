"""Following entries piped in (`logwatch follow -`): JSON or text lines on stdin."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from logwatch.records import Entry, RawItem, Unreadable
from logwatch.sources.live import StartPoint, triaged
from logwatch.triage import Triage

MAX_BATCH = 5000
BACKLOG = 10000
"""Entries read ahead of the pipeline at most; past it the reader waits (back-pressure)."""


class StdinFollower:
    """Entries piped in (`follow -`, JSON or text), read on a thread so the clock still
    moves while the pipe is quiet."""

    def __init__(self, fmt: str | None, stream: BinaryIO | None = None) -> None:
        """stream: what is piped in (default: the process's stdin)."""
        from logwatch.sources import open_inputs

        self._items: queue.Queue[Entry | Unreadable | None] = queue.Queue(maxsize=BACKLOG)
        self._done = False
        self._error: BaseException | None = None

        def opened() -> Iterator[Entry | Unreadable]:
            # Opened on the thread: telling the format waits for the first bytes, and a
            # quiet pipe must not hold up the follow's start.
            return open_inputs(["-"], fmt, stdin=stream)  # type: ignore[return-value]

        self._thread = threading.Thread(target=self._pump, args=(opened,), daemon=True)

    def _pump(self, opened: Callable[[], Iterator[Entry | Unreadable]]) -> None:
        try:
            for item in opened():
                self._items.put(item)
        except BaseException as exc:
            # Raised where the entries are taken, as it would be without the thread;
            # the end is still marked, or the follow would wait for it forever.
            self._error = exc
        finally:
            self._items.put(None)

    def start(self, **_: Any) -> StartPoint:
        self._thread.start()
        return StartPoint("stdin")

    def poll(self, timeout_s: float, triage: Triage | None = None) -> list[RawItem]:
        """What came through the pipe since the last call (see LiveSource.poll)."""
        out: list[Entry | Unreadable] = []
        if self._done:
            if self._error is not None:
                # The entries read before it were handed out last time.
                error, self._error = self._error, None
                raise error
            time.sleep(timeout_s)
            return []
        try:
            item = self._items.get(timeout=timeout_s)
            while True:
                if item is None:
                    self._done = True
                    break
                out.append(item)
                if len(out) >= MAX_BATCH:
                    break
                item = self._items.get_nowait()
        except queue.Empty:
            pass
        return triaged(out, triage)

    @property
    def finished(self) -> bool:
        """The pipe has closed and everything in it was handed out (a reader's error
        too: the next poll raises it)."""
        return self._done and self._error is None

    @property
    def cursor(self) -> str | None:
        return None

    def take_notices(self) -> list[str]:
        return []

    def close(self) -> None:
        return None
