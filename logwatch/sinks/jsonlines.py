"""JSON lines for scripts: one object per line, UTF-8, stable keys (DESIGN.md contract)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from logwatch.sinks import Output


def dumps(obj: dict[str, Any]) -> str:
    """One JSON line, compact, keys in the order the contract gives them."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class JsonLinesSink:
    """Writes each output as one JSON object per line; flushes every line when live."""

    def __init__(self, stream: TextIO, *, flush_each: bool = False) -> None:
        self._stream = stream
        self._flush_each = flush_each

    def emit(self, output: Output) -> None:
        self._stream.write(dumps(output.to_json()) + "\n")
        if self._flush_each:
            self._stream.flush()

    def close(self, summary: dict[str, Any]) -> None:
        self._stream.write(dumps(summary) + "\n")
        self._stream.flush()
