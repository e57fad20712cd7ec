"""The ``initreg`` command line: typer + rich.

Each command lives in its own module of this package and registers itself on `app`;
`main` turns a user error (bad config, unknown name, missing data) into one or two
lines on stderr and exit status 2 — never a traceback.
"""

from __future__ import annotations

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
    """Entry point of the ``initreg`` console script."""
    import pydantic

    from ..errors import ConfigError
    from ..registry import format_validation_error

    try:
        app(args=argv, prog_name="initreg")  # typer handles --help and usage errors (exit 2) itself
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except ConfigError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True, markup=True)
        return 2
    except pydantic.ValidationError as e:
        err_console.print(f"[bold red]error:[/] {format_validation_error(e)}", highlight=False, soft_wrap=True)
        return 2
    except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


def _console_script() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    _console_script()
