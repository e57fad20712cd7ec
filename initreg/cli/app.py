"""The typer application and the consoles shared by every command module."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["app", "console", "err_console"]

app = typer.Typer(
    name="initreg",
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
