"""What the simulator emits: tracing events (LogLine) with fields as zipnet records them."""

from __future__ import annotations

from dataclasses import dataclass

STYLES = ("full", "full-ansi", "compact", "json", "json-flat", "journald")
"""How zipnet's tracing output can reach the journal (LOGS.md, "How the same event looks")."""

DEFAULT_START_US = 1_795_600_800_000_000
"""2026-11-25T10:00:00Z, the time LOGS.md's examples use."""


@dataclass(frozen=True, slots=True)
class Display:
    """A field value recorded with `%` (Display): every formatter writes it bare, unquoted."""

    text: str


Value = int | str | Display
"""A field value: an int, a plain string (`?`-style: quoted with Rust escapes), or Display."""
Fields = tuple[tuple[str, Value], ...]
Span = tuple[str, Fields]


@dataclass(frozen=True, slots=True)
class LogLine:
    """One tracing event as a zipnet process emits it, before any rendering.

    fields: the event's fields in call order; spans: (name, fields) from the root span
    inward. unit/ident are set only for lines of unrelated programs (noise), whose
    message is written verbatim in every style.
    """

    time_us: int
    instance: str
    role: str
    host: str
    level: str
    target: str
    message: str
    fields: Fields = ()
    spans: tuple[Span, ...] = ()
    pid: int = 1000
    unit: str | None = None
    ident: str | None = None

    @property
    def unit_name(self) -> str:
        return self.unit or f"zipnet-{self.role}@{self.instance}.service"

    @property
    def identifier(self) -> str:
        return self.ident or f"zipnet-{self.role}"
