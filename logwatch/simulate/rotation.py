"""Export entries that make systemd-journal-remote rotate its journal file at once.

journal-remote (systemd 252) rotates a file when the file's header limits are reached,
and has no signal or option to ask for it. One limit is the table of field names (333
buckets, full at three quarters): an entry with that many new field names fills it, and
before the next entry journal-remote archives the file (`NAME@SEQNUM_ID-HEAD-TIME.journal`)
and writes on into a new one of the same sequence-number space. That is the rotation a
collector does when a file is full, on demand: for tests and the soak in bench/.
"""

from __future__ import annotations

ROTATE_UNIT = "logwatch-rotate.service"
"""The unit the two entries are written as: nothing logwatch follows."""
_NEW_FIELDS = 260
_BOOT_ID = b"6c6f67776174636820726f7461746521"


def rotation_export(realtime_us: int) -> bytes:
    """Two export entries stamped `realtime_us`: one that fills the file's field table,
    and one after it that journal-remote writes into the new file."""
    stamp = b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n" % (
        realtime_us,
        realtime_us,
        _BOOT_ID,
    )
    unit = b"_SYSTEMD_UNIT=%s\n" % ROTATE_UNIT.encode()
    names = b"".join(b"LOGWATCH_ROTATE_%03d=1\n" % k for k in range(_NEW_FIELDS))
    return (
        stamp + unit + b"MESSAGE=rotate the journal file\n" + names + b"\n"
        + stamp + unit + b"MESSAGE=journal file rotated\n\n"
    )  # fmt: skip
