"""Log text fitted to the dashboard's cells: escaped, then cut or wrapped between escapes."""

from __future__ import annotations

import re

from rich.cells import cell_len

from logwatch.escape import escape_text

NAME_LIMIT = 256  # escape at most this much of a name: a 1 MiB host name costs nothing
# One shown character, or one escape as escape_text writes it (`\e`, `\x07`, `\u202e`, `\\`):
# a cut between two of these never leaves half an escape on the screen.
_TOKEN = re.compile(r"\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|.)|.", re.S)


def visible(value: str) -> str:
    """`value` as the dashboard shows log text: every control, escape and bidi character
    as a visible escape (`\\e[2J`), at most NAME_LIMIT characters of it."""
    return escape_text(value, limit=NAME_LIMIT)


def cut_at(text: str, width: int) -> int:
    """The length of the longest prefix of (escaped) `text` within `width` cells that does
    not end inside an escape."""
    used = end = 0
    for m in _TOKEN.finditer(text):
        w = cell_len(m.group())
        if used + w > width:
            break
        used += w
        end = m.end()
    return end


def fit(text: str, width: int) -> str:
    """Escaped `text` in at most `width` cells: whole, or cut between escapes with `…`."""
    if cell_len(text) <= width:
        return text
    return text[: cut_at(text, max(0, width - 1))] + "…"


def wrap(text: str, width: int, most: int) -> list[str]:
    """Escaped `text` in at most `most` lines of `width` cells, at spaces where it can and
    never inside an escape; the last line is cut with `…` only when even that is not
    enough."""
    lines: list[str] = []
    rest = text
    while rest and len(lines) < most - 1 and cell_len(rest) > width:
        end = cut_at(rest, width)
        space = rest.rfind(" ", 0, end + 1)
        cut = space if space > width // 2 else max(end, 1)
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    lines.append(fit(rest, width))
    return lines
