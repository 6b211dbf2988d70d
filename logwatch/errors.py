"""Errors a user can cause: caught once in the CLI, printed as one line, exit 2."""


class LogwatchError(Exception):
    """Base of every error the user can cause and fix (bad input, bad usage)."""


class UsageError(LogwatchError):
    """A command line or config value that makes no sense."""


class InputError(LogwatchError):
    """An input that cannot be opened or read at all (missing, unknown format, no permission)."""


class PatternError(LogwatchError):
    """A pattern file that cannot be loaded: names the file, the pattern and the reason."""
