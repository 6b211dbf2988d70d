"""What a follow could not keep: journal gone before it was read, files changed under it."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Losses:
    """Counts since the follow started, for /metrics (read from another thread: each
    change makes a new object).

    gaps: times entries were found gone (a saved cursor whose entries were vacuumed, a
        deleted file that could no longer be read to its end).
    entries: how many entries those gaps held, where the journal's numbering tells.
    seconds: how much time they spanned, where known.
    replaced: journal files replaced by another file under the same name.
    truncated: journal files cut short or rewritten in place under the follow.
    """

    gaps: int = 0
    entries: int = 0
    seconds: float = 0.0
    replaced: int = 0
    truncated: int = 0

    def with_gap(self, entries: int | None, seconds: float) -> Losses:
        """These counts and one more gap."""
        return replace(
            self,
            gaps=self.gaps + 1,
            entries=self.entries + (entries or 0),
            seconds=self.seconds + seconds,
        )

    def with_replaced(self) -> Losses:
        """These counts and one more file replaced."""
        return replace(self, replaced=self.replaced + 1)

    def with_truncated(self) -> Losses:
        """These counts and one more file cut short or rewritten."""
        return replace(self, truncated=self.truncated + 1)
