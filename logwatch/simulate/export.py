"""LogLines as journal export text, as journald would have stored each rendering."""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Iterator

from logwatch.simulate.lines import LogLine
from logwatch.simulate.render import journald_fields, messages

_SYSLOG_PRIORITY = {"ERROR": "3", "WARN": "4", "INFO": "6", "DEBUG": "7", "TRACE": "7"}

_BOOT_EPOCH_US = 1_790_000_000_000_000
_NOT_PRINTABLE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _digest(*parts: str) -> str:
    return hashlib.md5(
        "/".join(parts).encode("utf-8", "surrogatepass"), usedforsecurity=False
    ).hexdigest()


def export_field(name: str, value: str | bytes) -> bytes:
    """One export-format field; text `value`s may carry raw bytes as surrogate escapes.

    Values journalctl would not print as text (control characters, invalid UTF-8) use the
    binary form: NAME, newline, 8-byte little-endian length, the bytes, newline.
    """
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
    if _NOT_PRINTABLE.search(data) is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return b"%s=%s\n" % (name.encode(), data)
    return b"%s\n%s%s\n" % (name.encode(), struct.pack("<Q", len(data)), data)


def _trusted_fields(line: LogLine, transport: str, seq: int) -> list[tuple[str, str]]:
    boot = _digest("boot", line.host)
    mono = line.time_us - _BOOT_EPOCH_US
    seqnum_id = _digest("seqnum", line.host)
    xor = int(_digest(str(seq), line.host)[:16], 16)
    exe = line.identifier if line.unit is not None else f"/usr/bin/{line.identifier}"
    out = [
        ("__CURSOR", f"s={seqnum_id};i={seq:x};b={boot};m={mono:x};t={line.time_us:x};x={xor:x}"),
        ("__REALTIME_TIMESTAMP", str(line.time_us)),
        ("__MONOTONIC_TIMESTAMP", str(mono)),
        ("_BOOT_ID", boot),
        ("_MACHINE_ID", _digest("machine", line.host)),
        ("_HOSTNAME", line.host),
        ("_UID", "998"),
        ("_GID", "998"),
        ("_COMM", line.identifier[:15]),
        ("_EXE", exe),
        ("_CMDLINE", f"{exe} --instance {line.instance}" if line.unit is None else exe),
        ("_CAP_EFFECTIVE", "0"),
        ("_SYSTEMD_CGROUP", f"/system.slice/{line.unit_name}"),
        ("_SYSTEMD_UNIT", line.unit_name),
        ("_SYSTEMD_SLICE", "system.slice"),
        ("_SYSTEMD_INVOCATION_ID", _digest("invocation", line.host, line.unit_name)),
        ("_PID", str(line.pid)),
        ("_TRANSPORT", transport),
    ]
    if transport == "stdout":
        out.append(("_STREAM_ID", _digest("stream", line.host, line.unit_name)))
    return out


def _entries(line: LogLine, style: str, seq: int) -> list[bytes]:
    if line.unit is not None:
        own = [
            ("SYSLOG_IDENTIFIER", line.identifier),
            ("SYSLOG_FACILITY", "3"),
            ("PRIORITY", _SYSLOG_PRIORITY.get(line.level, "6")),
            ("MESSAGE", line.message),
        ]
        fields = _trusted_fields(line, "syslog", seq) + own
        return [b"".join(export_field(k, v) for k, v in fields) + b"\n"]
    if style == "journald":
        fields = _trusted_fields(line, "journal", seq) + journald_fields(line)
        return [b"".join(export_field(k, v) for k, v in fields) + b"\n"]
    out = []
    for i, message in enumerate(messages(line, style)):
        own = [
            ("SYSLOG_IDENTIFIER", line.identifier),
            ("SYSLOG_FACILITY", "3"),
            ("PRIORITY", "6"),
            ("MESSAGE", message),
        ]
        fields = _trusted_fields(line, "stdout", seq + i) + own
        out.append(b"".join(export_field(k, v) for k, v in fields) + b"\n")
    return out


def to_export(line: LogLine, style: str, seq: int) -> bytes:
    """`line` as journal export text, as journald would have stored it in `style`.

    `seq` numbers the cursor; a multi-line message on stdout becomes several entries,
    numbered seq, seq+1, ... (entry_count() says how many). __REALTIME_TIMESTAMP is the
    tracing timestamp, so every rendering carries the same time.
    """
    return b"".join(_entries(line, style, seq))


def entry_count(line: LogLine, style: str) -> int:
    """How many journal entries `line` becomes in `style`."""
    if line.unit is not None or style == "journald":
        return 1
    return len(messages(line, style))


def export_stream(lines: Iterable[LogLine], style: str, start_seq: int = 1) -> Iterator[bytes]:
    """Export text for `lines`, entry by entry, numbering cursors from `start_seq`."""
    seq = start_seq
    for line in lines:
        for entry in _entries(line, style, seq):
            yield entry
            seq += 1


def export_bytes(lines: Iterable[LogLine], style: str) -> bytes:
    """All of `lines` as one export text, ready for systemd-journal-remote."""
    return b"".join(export_stream(lines, style))
