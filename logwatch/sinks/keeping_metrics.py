"""Metric families of what a follow could not keep: journal gone unread, its cursor unsaved."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from logwatch.cursor import CursorStore, SaveStatus
from logwatch.sources.losses import Losses
from logwatch.times import US


class KeepingCollector(Collector):
    """Reads, at scrape time, the live source's `Losses` and the cursor store's
    `SaveStatus` (both replaced whole on every change, so another thread may read them).
    Without a state directory there are no cursor series; the journal's are always there,
    at 0 for a source that keeps no count (journalctl, stdin)."""

    def __init__(
        self, losses: Callable[[], Losses], saving: Callable[[], SaveStatus] | None = None
    ) -> None:
        self._losses = losses
        self._saving = saving

    def collect(self) -> Iterator[Metric]:
        yield from journal_families(self._losses())
        if self._saving is not None:
            yield from cursor_families(self._saving())


def keeping_collector(source: object, store: CursorStore | None) -> KeepingCollector:
    """The collector for a follow's source (its `losses`, where it keeps them) and its
    cursor store (None: no --state-dir)."""

    def losses() -> Losses:
        found = getattr(source, "losses", None)
        return found if isinstance(found, Losses) else Losses()

    return KeepingCollector(losses, (lambda: store.status) if store is not None else None)


def journal_families(losses: Losses) -> Iterator[Metric]:
    """The journal's series."""
    gaps = CounterMetricFamily(
        "logwatch_journal_gaps",
        "Times journal entries were gone before logwatch read them (vacuumed while it was "
        "down or behind).",
    )
    gaps.add_metric([], losses.gaps)
    entries = CounterMetricFamily(
        "logwatch_journal_gap_entries",
        "Journal entries in those gaps, where the journal's numbering tells.",
    )
    entries.add_metric([], losses.entries)
    seconds = CounterMetricFamily(
        "logwatch_journal_gap_seconds", "Time spanned by those gaps, where known."
    )
    seconds.add_metric([], losses.seconds)
    changed = CounterMetricFamily(
        "logwatch_journal_files_changed",
        "Journal files changed under the follow: replaced by another file, or cut short "
        "or rewritten in place (set aside, read again when whole).",
        labels=["change"],
    )
    changed.add_metric(["replaced"], losses.replaced)
    changed.add_metric(["truncated"], losses.truncated)
    yield from (gaps, entries, seconds, changed)


def cursor_families(status: SaveStatus) -> Iterator[Metric]:
    """The cursor store's series."""
    saves = CounterMetricFamily("logwatch_cursor_saves", "Cursors written to the state dir.")
    saves.add_metric([], status.saved)
    errors = CounterMetricFamily(
        "logwatch_cursor_save_errors",
        "Cursor saves that failed (state dir read-only, full or removed).",
    )
    errors.add_metric([], status.failures)
    failing = GaugeMetricFamily(
        "logwatch_cursor_save_failing",
        "1 while the cursor cannot be saved: a restart would resume from an older one.",
    )
    failing.add_metric([], 0 if status.failing_since_us is None else 1)
    saved_at = GaugeMetricFamily(
        "logwatch_cursor_saved_timestamp_seconds",
        "When the cursor was last saved (0: not yet): time() minus this is how far back a "
        "restart would resume.",
    )
    saved_at.add_metric([], 0.0 if status.last_saved_us is None else status.last_saved_us / US)
    yield from (saves, errors, failing, saved_at)
