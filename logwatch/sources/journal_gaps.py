"""The journal gone before a follow read it: after a saved cursor, or while it followed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from logwatch.cursor import CursorPoint
from logwatch.sources.tail import FileHeader
from logwatch.times import US, format_time


@dataclass(frozen=True, slots=True)
class Gap:
    """Entries of one writer (sequence-number space) the journal no longer held when the
    follow got to them: vacuumed while logwatch was down, or while it was behind.

    entries: how many, when the numbering tells (None: the writer's files are all gone).
    after_us: the time of the last entry before the gap; until_us: of the first after
        it, None when none is left yet.
    """

    seqnum_id: str
    entries: int | None
    after_us: int
    until_us: int | None

    @property
    def seconds(self) -> float:
        """How much time the gap spans (0 when its end is not known)."""
        if self.until_us is None:
            return 0.0
        return max(0, self.until_us - self.after_us) / US


@dataclass(frozen=True, slots=True)
class Resume:
    """How a follow resumes from a saved cursor.

    after: per sequence-number space, the saved place to read right after; only spaces
        whose files are still there.
    from_us: where files of any other writer are read from: the oldest saved time.
    gaps: what came after the cursor and is gone.
    """

    after: Mapping[str, CursorPoint]
    from_us: int
    gaps: tuple[Gap, ...]

    def note(self) -> str:
        """The operator's one line about the gaps, empty when there are none."""
        if not self.gaps:
            return ""
        known = [g.entries for g in self.gaps if g.entries is not None]
        count = sum(known) if known and len(known) == len(self.gaps) else None
        seconds = max(g.seconds for g in self.gaps)
        first = min(g.after_us for g in self.gaps)
        if seconds:
            what = f"{seconds:.1f} s of journal after it"
            what += f" ({count:,} entries)" if count is not None else ""
        else:
            what = f"{count:,} entries after it" if count is not None else "entries after it"
        return (
            f"saved cursor ({format_time(first)}): {what} no longer in the journal "
            "(vacuumed while logwatch was not reading); resuming at the oldest entry left"
        )


def plan_resume(points: Iterable[CursorPoint], files: Iterable[FileHeader]) -> Resume | None:
    """Where to resume after the saved cursor `points` (one per space; the newest of a
    space wins) in a journal of `files` (their headers); None when there are no points.

    A writer's entries are numbered without a gap across the files it rotates through, so
    the oldest number left after the cursor says how many are gone. A writer whose files
    are all gone leaves no number: the oldest entry any file holds after the cursor's time
    says how much time is.
    """
    saved: dict[str, CursorPoint] = {}
    for p in points:
        if p.seqnum >= saved.get(p.seqnum_id, p).seqnum:
            saved[p.seqnum_id] = p
    if not saved:
        return None
    headers = list(files)
    gaps: list[Gap] = []
    after: dict[str, CursorPoint] = {}
    for sid, p in saved.items():
        own = [h for h in headers if h.seqnum_id == sid]
        if own:
            after[sid] = p
            gap = _gap_in_space(p, own)
        else:
            gap = _gap_of_vanished(p, headers)
        if gap is not None:
            gaps.append(gap)
    return Resume(after, min(p.realtime_us for p in saved.values()), tuple(gaps))


def _gap_in_space(p: CursorPoint, own: list[FileHeader]) -> Gap | None:
    later = [h for h in own if h.n_entries and h.tail_seqnum > p.seqnum]
    if later:
        first = min(later, key=lambda h: h.head_seqnum)
        if first.head_seqnum <= p.seqnum + 1:
            return None
        return Gap(
            p.seqnum_id, first.head_seqnum - p.seqnum - 1, p.realtime_us, first.head_realtime_us
        )
    # Nothing after the cursor left, yet the writer numbered past it (an empty file
    # started from a rotated one carries the last number on).
    last = max(h.tail_seqnum for h in own)
    if last > p.seqnum:
        return Gap(p.seqnum_id, last - p.seqnum, p.realtime_us, None)
    return None


def _gap_of_vanished(p: CursorPoint, headers: list[FileHeader]) -> Gap | None:
    later = [
        h.head_realtime_us for h in headers if h.n_entries and h.tail_realtime_us >= p.realtime_us
    ]
    oldest = min(later, default=None)
    if oldest is not None and oldest <= p.realtime_us:
        # Other files cover the time after the cursor: nothing is known to be missing.
        return None
    return Gap(p.seqnum_id, None, p.realtime_us, oldest)


class Ledger:
    """Per writer (sequence-number space), how far its entries were examined: handed out,
    or passed over by the unit matches. A writer numbers its entries without a gap across
    the files it rotates through, so a file of it read to its end that begins past the
    next number due shows entries gone in between (a file vacuumed before it was read)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}

    def start_at(self, seqnum_id: str, seqnum: int, realtime_us: int) -> None:
        """Everything of the writer up to `seqnum` counts as examined."""
        self._seen[seqnum_id] = (seqnum, realtime_us)

    def examine(self, header: FileHeader) -> Gap | None:
        """A file (its header as it is now) was read to its end: the gap before it, if any.
        Before a writer's first file is read, nothing is due of it."""
        if not header.n_entries:
            return None
        sid = header.seqnum_id
        seen = self._seen.get(sid)
        gap = None
        if seen is not None and header.head_seqnum > seen[0] + 1:
            gap = Gap(sid, header.head_seqnum - seen[0] - 1, seen[1], header.head_realtime_us)
        if seen is None or header.tail_seqnum > seen[0]:
            self._seen[sid] = (header.tail_seqnum, header.tail_realtime_us)
        return gap

    def keep_only(self, seqnum_ids: set[str]) -> None:
        """Forget the writers that have no file left."""
        for sid in [s for s in self._seen if s not in seqnum_ids]:
            del self._seen[sid]
