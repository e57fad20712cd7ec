"""The typer application and the consoles shared by every command module.

Every command runs inside `_Group.invoke`, which turns a user error into one line on stderr
and exit status 2 — a bad config or name (`ConfigError`, a pydantic `ValidationError`) and
any `OSError` (a path that cannot be read or written: the line names the path) — and an
interrupt into exit status 130. The console script and typer's `CliRunner` see the same
exit codes.
"""

from __future__ import annotations

import typer
from rich.console import Console
from typer.core import TyperGroup

__all__ = ["app", "console", "err_console", "fail", "os_error_text"]


def os_error_text(e: OSError) -> str:
    """One line for an `OSError`: the path(s), then the reason.

    >>> os_error_text(PermissionError(13, "Permission denied", "/root/x"))
    "'/root/x': Permission denied"
    """
    reason = e.strerror or (str(e).splitlines()[0] if str(e) else type(e).__name__)
    paths = [str(p) for p in (e.filename, e.filename2) if p is not None]
    return f"{' -> '.join(repr(p) for p in paths)}: {reason}" if paths else f"{type(e).__name__}: {reason}"


def fail(message: str) -> None:
    """Print ``error: message`` as one line on stderr (the message is not read as markup)."""
    from rich.text import Text

    err_console.print(Text.assemble(("error:", "bold red"), " ", " ".join(str(message).splitlines())),
                      highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    """typer's group, with the user-error handling of every command (see the module docstring)."""

    def invoke(self, ctx):
        import pydantic

        from ..errors import ConfigError
        from ..registry import format_validation_error
        from ..utils.optional import MissingExtraError

        try:
            return super().invoke(ctx)
        except ConfigError as e:
            fail(str(e))
        except pydantic.ValidationError as e:
            fail(format_validation_error(e))
        except MissingExtraError as e:  # an optional feature without its extra: the line names the pip install
            fail(str(e))
        except OSError as e:
            fail(os_error_text(e))
        except KeyboardInterrupt as e:  # Ctrl-C, or a command's own stop on SIGINT/SIGTERM (its message)
            err_console.print(f"interrupted: {e}" if str(e) else "interrupted", highlight=False, soft_wrap=True,
                              markup=False)
            raise typer.Exit(130) from None
        raise typer.Exit(2)


app = typer.Typer(
    name="initreg",
    cls=_Group,
    help=(
        "Weight initialization and regularization for PyTorch: apply every classic init and "
        "regularizer, see why it works (or fails), trust the numbers.\n\n"
        "Example: initreg lab --quick --only C1   (run one lecture claim and write a report)"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console()
err_console = Console(stderr=True)
