"""Decode: raw journal entries become Records, whatever rendering the event came in."""

from logwatch.decode.ansi import strip_ansi
from logwatch.decode.decoder import NO_TIME, UNKNOWN_INSTANCE, Decoder, DecodeSettings
from logwatch.decode.json_format import parse_json
from logwatch.decode.tracing import TracingEvent
from logwatch.decode.tracing_text import parse_text

__all__ = [
    "NO_TIME",
    "UNKNOWN_INSTANCE",
    "DecodeSettings",
    "Decoder",
    "TracingEvent",
    "parse_json",
    "parse_text",
    "strip_ansi",
]
