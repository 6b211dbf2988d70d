"""JSON lines on stdout for scripts: one object per line, UTF-8, stable keys (docs/json.md)."""

from __future__ import annotations

import json
import re
from typing import Any, TextIO

from logwatch.sinks import Output

# Characters a terminal may act on even inside a JSON string: the C1 controls (U+009B
# is a CSI) and the bidirectional overrides and isolates, which reorder what is shown.
# JSON escapes them (`\u202e`), and a parser reads back the same text.
_ACTIVE = re.compile("[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def dumps(obj: dict[str, Any]) -> str:
    """One JSON line, compact, keys in the order the contract gives them; UTF-8 but for
    the characters a terminal would act on, which are escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return _ACTIVE.sub(_escaped, text) if _ACTIVE.search(text) else text


def _escaped(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


class JsonLinesSink:
    """Writes each output as one JSON object per line; flushes every line when live."""

    def __init__(self, stream: TextIO, *, flush_each: bool = False) -> None:
        self._stream = stream
        self._flush_each = flush_each

    def emit(self, output: Output) -> None:
        self._stream.write(dumps(output.to_json()) + "\n")
        if self._flush_each:
            self._stream.flush()

    def close(self, summary: dict[str, Any] | None) -> None:
        if summary is not None:
            self._stream.write(dumps(summary) + "\n")
        self._stream.flush()
