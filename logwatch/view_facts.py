"""Facts read off an engine InstanceView that it does not state itself."""

from __future__ import annotations

from logwatch.engine import InstanceView


def has_entries(view: InstanceView) -> bool:
    """Whether anything of the instance was read (a watch started on a named instance, in
    follow or check, has a view before it has any entry)."""
    return view.entries_seen
