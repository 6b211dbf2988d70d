"""The live dashboard of `logwatch follow`: rounds, committee and clients of every instance."""

from __future__ import annotations

import contextlib
import os
import termios
import time
import tty
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.text import Text

from logwatch.engine.outputs import AlertTransition
from logwatch.engine.views import InstanceView
from logwatch.sinks import Output
from logwatch.sinks.dashboard_view import RECENT_TRANSITIONS, Frame, render
from logwatch.sinks.text_output import format_summary

REFRESH_PER_SECOND = 4


class Keys:
    """Keys pressed on the controlling terminal, read without waiting: the terminal is in
    cbreak mode (keys come one by one, unechoed; Ctrl-C still interrupts) until `close`.
    The terminal, not stdin: `follow -` reads its entries from stdin."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._saved: list[Any] | None = None
        try:
            fd = os.open("/dev/tty", os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            return  # no terminal (a service, a pipe): no keys, nothing to restore
        try:
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except termios.error:
            os.close(fd)
            return
        self._fd = fd

    def read(self) -> str:
        """What was typed since the last call ('' for nothing)."""
        if self._fd is None:
            return ""
        try:
            return os.read(self._fd, 64).decode("utf-8", "replace")
        except BlockingIOError:
            return ""
        except OSError:
            return ""

    def close(self) -> None:
        if self._fd is None:
            return
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        os.close(self._fd)
        self._fd = None


class Dashboard:
    """The live dashboard: give it the engine's views with `update`, alert transitions with
    `emit`; it draws itself on `console` (rich Live, full screen) between `start` and `stop`.

    Refresh: no thread. `update` redraws at most REFRESH_PER_SECOND times a second (timed
    with `clock`, which only throttles drawing and is never shown); a frame skipped by the
    throttle is drawn by the next call, so call `update` at least every 1/REFRESH_PER_SECOND
    s even when idle, which also keeps the ages ticking. Rendering is a pure function of
    the views, `now_us`, notes and transitions.
    """

    def __init__(
        self,
        console: Console,
        *,
        fallback_window_s: float = 30.0,
        screen: bool = True,
        keep_last_frame: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """fallback_window_s: W for the committee cells while P is unknown (the engine's
        RuleSettings.fallback_window_s). screen: draw on the alternate screen, which keeps
        a resized or full-height frame clean and leaves no trail in the scrollback; without
        it the frame is drawn in place one line shorter than the terminal.
        keep_last_frame: with `screen`, print the last frame on the normal screen at `close`."""
        self._console = console
        self._screen = screen
        self._keep_last_frame = keep_last_frame
        self._clock = clock
        self._frame = Frame((), 0, (), (), 0, fallback_window_s)
        self._live: Live | None = None
        self._last_draw: float | None = None
        self._closed = False
        self._keys: Keys | None = None

    def take_keys(self) -> bool:
        """Act on the keys typed since the last call: `?` shows or hides the legend; True
        when `q` asks to quit."""
        typed = self._keys.read() if self._keys is not None else ""
        if typed.count("?") % 2:
            self._frame = replace(self._frame, legend=not self._frame.legend)
            self.refresh()
        return "q" in typed or "Q" in typed

    def update(self, views: Sequence[InstanceView], now_us: int, notes: Sequence[str] = ()) -> None:
        """The engine's latest state; redraws unless the last frame was drawn too recently."""
        self._frame = replace(self._frame, views=tuple(views), now_us=now_us, notes=tuple(notes))
        if self._live is None:
            return
        if self._last_draw is None or self._clock() - self._last_draw >= 1 / REFRESH_PER_SECOND:
            self.refresh()

    def emit(self, output: Output) -> None:
        """Keeps alert transitions for the "recent" strip; rounds show through the views."""
        if isinstance(output, AlertTransition):
            f = self._frame
            recent = (*f.recent[-(RECENT_TRANSITIONS - 1) :], output)
            self._frame = replace(f, recent=recent, transitions=f.transitions + 1)

    def start(self) -> None:
        if self._live is None:
            # get_renderable: each refresh draws the latest frame afresh.
            self._live = Live(
                console=self._console,
                screen=self._screen,
                auto_refresh=False,
                get_renderable=lambda: self,
            )
            self._live.start()
            if self._console.is_terminal:
                self._keys = Keys()
            self.refresh()

    def refresh(self) -> None:
        """Draws the current frame now."""
        if self._live is not None:
            self._live.refresh()
            self._last_draw = self._clock()

    def stop(self) -> None:
        if self._keys is not None:
            self._keys.close()
            self._keys = None
        if self._live is not None:
            self._live.stop()
            self._live = None

    def close(self, summary: dict[str, Any] | None) -> None:
        """Leaves the screen; prints the last frame (when it showed anything) and the summary."""
        if self._closed:
            return
        self._closed = True
        was_live = self._live is not None
        self.stop()
        # In place, Live leaves the last frame on the screen already.
        if was_live and self._screen and self._keep_last_frame and self._frame.views:
            self._console.print(self)
        if summary is not None:
            self._console.print(Text(format_summary(summary)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height if options.height is not None else options.size.height
        if self._live is not None and not self._screen:
            height -= 1  # Live in place turns a full-height frame's last line into "..."
        yield from render(self._frame, options.max_width, height)
