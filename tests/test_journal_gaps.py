"""journal_gaps: where a follow resumes after a saved cursor and what is gone, from the
files' headers alone (the real files' cases are in tests/test_follow_vacuum.py)."""

from __future__ import annotations

from logwatch.cursor import CursorPoint
from logwatch.sources.journal_gaps import Gap, Ledger, plan_resume
from logwatch.sources.tail import FileHeader
from logwatch.times import US

T0 = 1_795_600_800_000_000
A, B = "a" * 32, "b" * 32


def point(space: str, seqnum: int, second: float) -> CursorPoint:
    return CursorPoint(space, seqnum, T0 + round(second * US), f"s={space};i={seqnum:x}")


def header(space: str, head: int, tail: int, first_s: float, last_s: float) -> FileHeader:
    n = tail - head + 1 if head else 0
    return FileHeader(
        b"\0" * 16, space, 2, n, head, tail, T0 + round(first_s * US), T0 + round(last_s * US), 0
    )


def test_nothing_gone_when_the_next_entry_is_there() -> None:
    plan = plan_resume([point(A, 10, 10)], [header(A, 1, 20, 1, 20)])
    assert plan is not None and plan.gaps == () and plan.note() == ""
    assert plan.after == {A: point(A, 10, 10)} and plan.from_us == T0 + 10 * US


def test_the_newest_point_of_a_space_wins() -> None:
    plan = plan_resume([point(A, 5, 5), point(A, 10, 10)], [header(A, 1, 20, 1, 20)])
    assert plan is not None and plan.after[A].seqnum == 10


def test_a_gap_in_a_writers_numbering_is_counted() -> None:
    plan = plan_resume([point(A, 10, 10)], [header(A, 31, 40, 31, 40), header(A, 41, 0, 0, 0)])
    assert plan is not None
    assert plan.gaps == (Gap(A, 20, T0 + 10 * US, T0 + 31 * US),)
    assert plan.note() == (
        "saved cursor (2026-11-25T10:00:10.000000Z): 21.0 s of journal after it (20 entries) "
        "no longer in the journal (vacuumed while logwatch was not reading); resuming at the "
        "oldest entry left"
    )


def test_an_empty_file_carries_the_writers_last_number_on() -> None:
    # Rotated, then the files with entries vacuumed: only the new, empty one is left.
    plan = plan_resume([point(A, 10, 10)], [header(A, 0, 25, 0, 0)])
    assert plan is not None and plan.gaps == (Gap(A, 15, T0 + 10 * US, None),)
    assert "15 entries after it no longer in the journal" in plan.note()


def test_a_writer_with_no_file_left_is_read_on_by_time() -> None:
    later = plan_resume([point(A, 10, 10)], [header(B, 1, 9, 16, 30)])
    assert later is not None and later.after == {}
    assert later.gaps == (Gap(A, None, T0 + 10 * US, T0 + 16 * US),)
    assert "6.0 s of journal after it no longer" in later.note()
    covered = plan_resume([point(A, 10, 10)], [header(B, 1, 9, 5, 30)])
    assert covered is not None and covered.gaps == ()  # another writer's file spans it


def test_no_points_no_plan() -> None:
    assert plan_resume([], [header(A, 1, 2, 1, 2)]) is None


def test_the_ledger_sees_a_file_that_begins_past_the_next_number_due() -> None:
    ledger = Ledger()
    assert ledger.examine(header(A, 1, 10, 1, 10)) is None  # nothing due yet
    assert ledger.examine(header(A, 11, 20, 11, 20)) is None
    assert ledger.examine(header(A, 31, 40, 31, 40)) == Gap(A, 10, T0 + 20 * US, T0 + 31 * US)
    assert ledger.examine(header(A, 31, 45, 31, 45)) is None  # the same file, grown
    assert ledger.examine(header(B, 0, 7, 0, 0)) is None  # holds no entry
    ledger.keep_only({B})
    assert ledger.examine(header(A, 90, 95, 90, 95)) is None  # forgotten: nothing due
