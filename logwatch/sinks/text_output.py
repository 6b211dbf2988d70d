"""Plain text lines on stdout for people and grep: one line per alert transition or round."""

from __future__ import annotations

from typing import Any, TextIO

from logwatch.escape import escape_text
from logwatch.sinks import Output


def format_line(obj: dict[str, Any]) -> str:
    """The one-line text form of an output's JSON object; log-derived text is escaped."""
    kind = obj.get("type")
    at = obj.get("at", "")
    instance = escape_text(str(obj.get("instance", "")))
    if kind == "alert":
        state = str(obj["state"]).upper()
        summary = escape_text(str(obj.get("summary", "")), limit=300)
        return f"{at} {instance} {state:<8} {obj['alert']} ({obj['severity']}): {summary}"
    if kind == "round":
        leader = escape_text(str(obj.get("leader") or "-"))
        return (
            f"{at} {instance} ROUND    {obj['round']} "
            f"participants={obj['participants']} leader={leader}"
        )
    if kind == "event":
        fields = " ".join(f"{k}={v}" for k, v in obj.get("fields", {}).items())
        host = obj.get("host") or "-"
        text = escape_text(f"{host} {obj['event']} {fields}".rstrip(), limit=300)
        return f"{at} {instance} EVENT    {text}"
    return f"{at} {instance} {escape_text(str(obj), limit=300)}"


def format_summary(summary: dict[str, Any]) -> str:
    """The closing lines of a text run: what was read, what matched, what fired."""
    lines = [
        f"summary: {summary.get('entries', 0)} entries, "
        f"{summary.get('unmatched', 0)} unmatched, {summary.get('errors', 0)} unreadable"
    ]
    for name, info in sorted(summary.get("instances", {}).items()):
        alerts = ", ".join(f"{a}×{n}" for a, n in sorted(info.get("alerts", {}).items()))
        lines.append(
            f"  {escape_text(name)}: {info.get('rounds', 0)} rounds"
            + (f", alerts {alerts}" if alerts else ", no alerts")
        )
    for note in summary.get("notes", []):
        lines.append(f"  note: {escape_text(str(note))}")
    return "\n".join(lines)


class TextSink:
    """Writes one greppable line per output, then a short summary."""

    def __init__(self, stream: TextIO, *, flush_each: bool = False) -> None:
        self._stream = stream
        self._flush_each = flush_each

    def emit(self, output: Output) -> None:
        self._stream.write(format_line(output.to_json()) + "\n")
        if self._flush_each:
            self._stream.flush()

    def close(self, summary: dict[str, Any] | None) -> None:
        if summary is not None:
            self._stream.write(format_summary(summary) + "\n")
        self._stream.flush()
