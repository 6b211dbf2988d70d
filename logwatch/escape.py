"""Make untrusted log text safe to show: no control, escape or bidi character survives."""

from __future__ import annotations

import regex

# Controls (C0, C1, DEL), format characters (the bidi overrides and isolates that can
# reorder what an operator sees, CVE-2021-42574, zero-width ones), lone surrogates, and
# line/paragraph separators that some terminals honour.
_UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\\]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e", "\\": "\\\\"}


def _replace(m: regex.Match[str]) -> str:
    ch = m.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: str, limit: int | None = None) -> str:
    """`text` with every control, escape and bidi character written as a visible escape
    (`\\e[31m`, `\\x00`, `\\u202e`), cut to `limit` characters with `…` when given."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return _UNSAFE.sub(_replace, text)
