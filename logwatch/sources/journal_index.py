"""What journal files' index tells without reading their entries: which of zipnet's
writers a journal holds, matches on them, and each host's first and last entry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from logwatch.records import HOSTNAME, IDENTIFIER, UNIT
from logwatch.units import Writers

NO_UNIT = "logwatch-no-unit.invalid"
"""A unit no journal holds: matches that select nothing."""
HOSTS_LOOKED_UP = 10_000
"""Past this many hosts, asking the index host by host costs more than reading."""
Span = tuple[int, int]
"""The stamps of a host's first and last entry (of a selection)."""


class JournalIndex:
    """What journal files' index tells without reading their entries, each host asked on
    its own: one host's clock runs forward, so its first entry (of a time range) is its
    earliest and its last is its latest; the hosts' clocks differ, so every host is asked.
    Each answer is None when the index cannot tell (files sd-journal refuses; for the end,
    more than HOSTS_LOOKED_UP hosts): the caller reads the entries instead."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = list(files)

    def end_us(self) -> int | None:
        """The stamp of the latest entry: each host's last, and the last of all (for
        entries naming no host); None also when the files hold no entry."""
        found = self._ask(
            lambda reader: [{}, *({HOSTNAME: h} for h in reader.query_unique(HOSTNAME))],
            limit=HOSTS_LOOKED_UP,
        )
        return max((span[1] for _, span in found or () if span is not None), default=None)

    def spans(
        self,
        writers: Writers,
        hosts: Iterable[str],
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> dict[str, Span] | None:
        """Each host's first and last entry stamped within [since_us, until_us] (None: no
        bound) among the entries of `writers` (their units, or for entries naming none
        their syslog identifiers); a host with none there is left out."""
        found = self._ask(lambda _: [{HOSTNAME: h} for h in hosts], writers, since_us, until_us)
        if found is None:
            return None
        return {match[HOSTNAME]: span for match, span in found if span is not None}

    def span(
        self, writers: Writers, since_us: int | None = None, until_us: int | None = None
    ) -> Span | None:
        """The first and last entry of `writers` stamped within [since_us, until_us], of
        any host (None also when there is none)."""
        found = self._ask(lambda _: [{}], writers, since_us, until_us)
        return None if not found else found[0][1]

    def units(
        self, writers: Writers, since_us: int | None = None, until_us: int | None = None
    ) -> list[str] | None:
        """The units of `writers` with an entry stamped within [since_us, until_us]."""
        found = self._ask(
            lambda reader: [{UNIT: u} for u in writers_in(reader, writers)[0]],
            None,
            since_us,
            until_us,
        )
        return None if found is None else [m[UNIT] for m, span in found if span is not None]

    def _ask(
        self,
        lookups: Callable[[Any], list[dict[str, str]]],
        writers: Writers | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        *,
        limit: int | None = None,
    ) -> list[tuple[dict[str, str], Span | None]] | None:
        """The span of the entries each of `lookups(reader)` matches (ANDed with matches
        on `writers`' units and identifiers when given); None past `limit` lookups."""
        try:
            from systemd import journal
        except ImportError:
            return None
        try:
            reader = journal.Reader(files=self.files)
        except OSError:
            return None
        try:
            asked = lookups(reader)
            if limit is not None and len(asked) > limit:
                return None
            units, names = writers_in(reader, writers) if writers is not None else ([], [])
            found = []
            for match in asked:
                reader.flush_matches()
                if writers is not None:
                    match_writers(reader, units, names)
                    reader.add_conjunction()
                if match:
                    reader.add_match(**match)
                found.append((match, _span(reader, since_us, until_us)))
            return found
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        finally:
            reader.close()


def _span(reader: Any, since_us: int | None, until_us: int | None) -> Span | None:
    """The stamps of the first and the last entry `reader` (with its matches) holds
    within [since_us, until_us], each found by a seek."""
    if since_us is None:
        reader.seek_head()
    else:
        reader.seek_realtime(since_us)
    if not reader._next():
        return None
    first = reader._get_realtime()
    if until_us is None:
        reader.seek_tail()
    else:
        reader.seek_realtime(until_us + 1)
    if not reader._previous():
        return None
    last = reader._get_realtime()
    if (until_us is not None and first > until_us) or (since_us is not None and last < since_us):
        return None
    return first, last


def writers_in(reader: Any, writers: Writers) -> tuple[list[str], list[str]]:
    """The values of _SYSTEMD_UNIT and SYSLOG_IDENTIFIER the journal holds that are
    `writers`'."""
    units = [u for u in reader.query_unique(UNIT) if writers.unit(u)]
    names = [i for i in reader.query_unique(IDENTIFIER) if writers.identifier(i)]
    return units, names


def match_writers(reader: Any, units: Sequence[str], names: Sequence[str]) -> None:
    """Journal matches on `units` or `names` (on nothing when both are empty)."""
    for unit in units:
        reader.add_match(**{UNIT: unit})
    if names:
        reader.add_disjunction()
        for name in names:
            reader.add_match(**{IDENTIFIER: name})
    if not units and not names:
        reader.add_match(**{UNIT: NO_UNIT})
