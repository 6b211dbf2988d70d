"""Facts read off an engine InstanceView that it does not state itself."""

from __future__ import annotations

from logwatch.engine import InstanceView


def has_entries(view: InstanceView) -> bool:
    """Whether anything of the instance was read. The view keeps no entry count, so: any
    trace of a server, a round, a client or the aggregator. A watch started on a named
    instance (follow, check) has a view before it has any entry."""
    return bool(
        view.servers
        or view.last_round is not None
        or view.clients_active
        or view.clients_registered
        or view.aggregator_last_seen_us is not None
    )
