"""initreg: weight initialization and regularization for PyTorch — library, CLI and lab."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import ConfigError, DataError  # noqa: E402

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["ConfigError", "DataError", "Registry", "__version__"]


def __getattr__(name: str) -> Any:
    # `Registry` on first use (PEP 562): `import initreg` stays light (no pydantic, no registry)
    if name == "Registry":
        from .registry import Registry

        globals()["Registry"] = Registry
        return Registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
