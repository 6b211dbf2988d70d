"""logwatch.triage: one stage says whose an entry is and whether a pattern can claim it.
Whatever asks it (a reader before it reads an entry in full, or the stage on whole
entries), the steps, counts and times are those of decoding every entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache

import pytest
from conftest import CAPTURE_FORMATS, Captures
from test_prefilter import lines, matcher, signed

from logwatch.pipeline import Selection
from logwatch.records import Entry, Glance, Passing, Unreadable
from logwatch.simulate import LogLine, Scenario, merge
from logwatch.sources import open_inputs
from logwatch.triage import Triage
from logwatch.units import UnitTemplate, Writers

INSTANCE, OTHER = "acme-mainnet", "beta-testnet"
# Forms whose lines name no writer (cat) leave the triage nothing to go on.
NAMELESS = {"cat"}
# Forms whose capture time is whole seconds: another program's entry passes with it.
COARSE = {"short", "short-iso", "with-unit"}


@cache
def two_instances() -> tuple[LogLine, ...]:
    """lines() (one instance, its mosaik noise, other programs) and a second instance on
    the same hosts."""
    other = Scenario(OTHER, servers=3, clients=3, seed=3).start().rounds(8).lines()
    return tuple(merge(lines(), other))


def triage(selected: Sequence[str] | None) -> Triage:
    template = UnitTemplate()
    chosen = None if selected is None else Writers(template, selected)
    return Triage(Writers(template), matcher().screen(), chosen)


@pytest.mark.parametrize("selected", [None, [INSTANCE]], ids=["all", "one-instance"])
@pytest.mark.parametrize("fmt", CAPTURE_FORMATS)
def test_every_source_triaged_reads_as_decoding_every_entry(
    captures: Captures, fmt: str, selected: list[str] | None
) -> None:
    path = str(captures.make(list(two_instances()), "full-ansi", fmt))
    selection = Selection(None if selected is None else frozenset(selected))
    whole = list(open_inputs([path], fmt=None))
    assert all(i.__class__ in (Entry, Unreadable) for i in whole)
    decoded, decoded_tally = signed(whole, selection)

    # The readers ask the triage before reading each entry in full...
    asked = list(open_inputs([path], triage=triage(selected)))
    # ...and the stage alone, on whole entries, answers the same.
    staged = list(triage(selected).stream(whole))
    for items in (asked, staged):
        seen, tally = signed(items, selection)
        assert tally == decoded_tally
        if fmt in COARSE:
            # Its own stamp is not read: the time it moves the clock to lags, within
            # the second its capture time names. Every record is the same.
            assert [s for s in seen if s[0] != "tick"] == [s for s in decoded if s[0] != "tick"]
            ticks = [s[1] for s in seen if s[0] == "tick"]
            exact = [s[1] for s in decoded if s[0] == "tick"]
            assert len(ticks) == len(exact)
            assert all(0 <= e - t < 1_000_000 for t, e in zip(ticks, exact, strict=True))
            assert ticks != exact  # not vacuous: the lag shows
        else:
            assert seen == decoded
        kinds = Counter(i.__class__ for i in items)
        if fmt in NAMELESS:
            assert kinds[Glance] == kinds[Passing] == 0
            continue
        # Not vacuous: other programs pass, most of the mosaik noise is glanced at.
        assert kinds[Passing] >= 50
        assert kinds[Glance] >= 150
        if selected is not None:
            # And the other instance's lines are glanced at, not decoded.
            others = sum(1 for i in items if isinstance(i, Entry) and OTHER in str(i.fields))
            assert others == 0
    # A stage that knows nothing asks nothing.
    assert not Triage().asks
    assert list(Triage().stream(whole)) == whole


@pytest.mark.parametrize("selected", [None, [INSTANCE]], ids=["all", "one-instance"])
def test_a_triage_that_needs_no_glance_has_journal_files_pass_those_entries_by(
    captures: Captures, selected: list[str] | None
) -> None:
    # The first look of journal files asks their index who wrote when: what the triage
    # would glance at comes as a Passing at the same time, its host never looked up.
    path = str(captures.make(list(two_instances()), "full-ansi", "journal"))
    glancing = list(open_inputs([path], triage=triage(selected)))
    quiet = triage(selected)
    quiet.glances = False
    passing = list(open_inputs([path], triage=quiet))
    assert sum(isinstance(i, Glance) for i in glancing) >= 150
    assert len(passing) == len(glancing)
    for g, p in zip(glancing, passing, strict=True):
        if isinstance(g, Glance):
            assert p == Passing(g.time_us)
        else:
            assert p == g


def test_a_settling_triage_stops_screening_where_it_rejects_little(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logwatch.triage as module

    monkeypatch.setattr(module, "SETTLED_AFTER", 8)
    screen = matcher().screen()
    claimed = "round finalized"
    assert screen.candidate(claimed) is not None
    settling, steady = Triage(None, screen), Triage(None, screen, settles=False)
    for t in (settling, steady):
        for _ in range(7):
            assert t.candidate(claimed) == claimed
        assert t.candidate("gossip round complete") is None
        assert t.screen is not None
    # The eighth was the only one rejected: the settling triage stops asking the screen.
    assert settling.candidate(claimed) == claimed
    assert settling.screen is None and settling.candidate("gossip round complete") is not None
    assert steady.candidate(claimed) == claimed
    assert steady.screen is not None and steady.candidate("gossip round complete") is None
