"""The ``initreg`` command line: typer + rich.

Each command lives in its own module of this package and registers itself on `app`;
every command turns a user error (bad config, unknown name, missing data, a path that
cannot be written) into one line on stderr and exit status 2 — never a traceback.
"""

from __future__ import annotations

import os
import sys

# Each module adds its commands to `app` on import.
from . import activations as _activations  # noqa: F401
from . import augment as _augment  # noqa: F401
from . import basics as _basics  # noqa: F401
from . import lab as _lab  # noqa: F401
from . import probe as _probe  # noqa: F401
from . import sweep as _sweep  # noqa: F401
from .app import app, console, err_console

__all__ = ["app", "console", "err_console", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``initreg`` console script: the exit status (user errors: 2, see `app`)."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # a terminal has no screen: pyplot, if used, draws off-screen
    try:
        app(args=argv, prog_name="initreg")  # typer handles --help and usage errors (exit 2) itself
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:  # outside a command (while the app is being set up)
        err_console.print("interrupted")
        return 130
    return 0


def _console_script() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    _console_script()
