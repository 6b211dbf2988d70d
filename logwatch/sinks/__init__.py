"""Where results go: JSON lines, plain text lines, the replay report, the live dashboard."""

from __future__ import annotations

from typing import Any, Protocol


class Output(Protocol):
    """Anything the engine emits (an alert transition, a round) in its JSON-contract form."""

    def to_json(self) -> dict[str, Any]: ...


class Sink(Protocol):
    """Receives engine outputs one by one, and the summary once at the end (None when the
    run ended on input it could not read: its error is the answer, not a summary)."""

    def emit(self, output: Output) -> None: ...

    def close(self, summary: dict[str, Any] | None) -> None: ...
