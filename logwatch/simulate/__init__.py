"""A deterministic zipnet log simulator: scripted scenarios, every rendering, export text.

Used by the tests, the demo and the benchmark:

    lines = Scenario("acme-mainnet").start().rounds(20).silence(30).rounds(5).lines()
    data = export_bytes(lines, "full-ansi")   # for systemd-journal-remote
"""

from logwatch.simulate.export import (
    entry_count,
    export_bytes,
    export_field,
    export_stream,
    to_export,
)
from logwatch.simulate.lines import (
    DEFAULT_START_US,
    STYLES,
    Display,
    Fields,
    LogLine,
    Span,
    Value,
)
from logwatch.simulate.render import journald_fields, messages, render, rust_debug
from logwatch.simulate.scenario import Scenario, healthy, merge, noise

__all__ = [
    "DEFAULT_START_US",
    "STYLES",
    "Display",
    "Fields",
    "LogLine",
    "Scenario",
    "Span",
    "Value",
    "entry_count",
    "export_bytes",
    "export_field",
    "export_stream",
    "healthy",
    "journald_fields",
    "merge",
    "messages",
    "noise",
    "render",
    "rust_debug",
    "to_export",
]
