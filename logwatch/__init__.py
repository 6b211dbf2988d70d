"""logwatch: watch zipnet instances through their journald logs."""

__version__ = "0.1.0"
