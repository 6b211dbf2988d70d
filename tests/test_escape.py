"""No control, escape or bidi character survives escape_text."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from logwatch.escape import escape_text


def test_escape_sequences_become_visible() -> None:
    assert escape_text("\x1b[2J\x1b]0;pwned\x07") == "\\e[2J\\e]0;pwned\\x07"
    assert escape_text("a\u202eb") == "a\\u202eb"
    assert escape_text("tab\there\nnul\x00") == "tab\\there\\nnul\\x00"


def test_markup_is_left_as_text_for_rich_text_to_show() -> None:
    assert escape_text("[bold red]x[/]") == "[bold red]x[/]"


def test_limit_cuts_with_ellipsis() -> None:
    assert escape_text("x" * 10, limit=4) == "xxxx…"


@given(st.text())
def test_nothing_unsafe_survives(text: str) -> None:
    out = escape_text(text)
    assert not [ch for ch in out if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
