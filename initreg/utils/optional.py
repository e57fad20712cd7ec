"""Optional dependencies: import one, or fail with a one-line error that names its extra.

The core install (``pip install initreg``) carries only what ``initreg.init``,
``initreg.regularize``, ``initreg.probe`` and ``fit`` need. Everything else lives in an extra
(``pip install 'initreg[plot]'``) and is imported where it is used, through :func:`require`:

>>> import math
>>> require("math", extra="plot") is math
True
>>> available("a_module_that_is_not_installed")
False
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["MissingExtraError", "require", "available", "EXTRAS"]

# extra -> what it enables (for the error message and the docs)
EXTRAS: dict[str, str] = {
    "plot": "figures",
    "data": "the digits, mnist5k and mnist1d data sets",
    "aug": "image augmentation",
    "text": "text augmentation",
    "report": "the lab's HTML report",
    "lab": "the lab",
    "tensorboard": "the TensorBoard logger",
    "mlflow": "the MLflow logger",
    "ray": "the sweep's Ray executor",
    "optuna": "the sweep's TPE search (method: tpe)",
    "lightning": "the Lightning callbacks",
    "hf": "the Hugging Face Trainer callback",
    "compress": "torchao int8 inference",
}


class MissingExtraError(ImportError):
    """An optional feature was used without its extra installed. The message is one line."""


def require(module: str, *, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``pip install 'initreg[extra]'``.

    ``feature`` describes what needed it (default: the extra's own description)."""
    if extra not in EXTRAS:
        raise ValueError(f"extra must be one of {sorted(EXTRAS)}; got extra={extra!r}")
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        missing = getattr(e, "name", None) or top
        what = feature or EXTRAS[extra]
        raise MissingExtraError(
            f"{what} needs {missing!r}, which is not installed: pip install 'initreg[{extra}]'"
        ) from e


def available(module: str) -> bool:
    """Whether ``module`` can be imported (found on the path), without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
