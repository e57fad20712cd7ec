"""The one exception type users see.

`ConfigError` is a `ValueError`: it carries a message that names the argument, the value
received and what is allowed. The CLI prints it as one or two lines (no traceback) and
exits with status 2.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError"]


class ConfigError(ValueError):
    """A bad user choice: unknown name, out-of-range value, unknown key."""


class DataError(ConfigError):
    """A data set that is missing or malformed (NaN, wrong shape, bad labels)."""
