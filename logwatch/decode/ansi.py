"""Strip terminal escape sequences (tracing-subscriber's colours, or a client's) from text."""

from __future__ import annotations

import re

# Every CSI sequence (colours, cursor moves), OSC strings (titles, hyperlinks) and the
# two-character escapes: a client may write any of them, and none belongs in a message.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")

# The SGR codes tracing-subscriber (nu-ansi-term) writes: reset, bold, dimmed, italic
# and the five level colours. Plain `str.replace` of these is several times faster
# than the regex, and they are nearly all we ever see.
TRACING_CODES = (
    "\x1b[0m",
    "\x1b[2m",
    "\x1b[3m",
    "\x1b[1m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[31m",
    "\x1b[34m",
    "\x1b[35m",
)


def strip_ansi(text: str) -> str:
    """`text` without ANSI escape sequences; `text` itself when it holds no ESC."""
    if "\x1b" not in text:
        return text
    for code in TRACING_CODES:
        text = text.replace(code, "")
    if "\x1b" in text:
        text = _ESCAPE.sub("", text)
    return text
