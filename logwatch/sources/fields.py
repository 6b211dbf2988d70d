"""Which journal fields an Entry keeps: all a program sent, and the trusted ones logwatch uses."""

from __future__ import annotations

KEPT_TRUSTED = frozenset(("_SYSTEMD_UNIT", "_HOSTNAME", "_TRANSPORT", "_PID"))
"""Trusted (journald-added, `_`-prefixed) fields worth keeping; the other twenty-odd
(_CMDLINE, _BOOT_ID, _STREAM_ID, ...) are dropped, which keeps every reader fast and
every format's entries alike."""


def kept(name: str) -> bool:
    """Whether an Entry keeps the journal field `name` (__CURSOR and
    __REALTIME_TIMESTAMP become Entry.cursor and Entry.time_us instead)."""
    return name[:1] != "_" or name in KEPT_TRUSTED
