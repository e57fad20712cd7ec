"""initreg: weight initialization and regularization for PyTorch — library, CLI and lab."""

__version__ = "0.1.0"

from .errors import ConfigError, DataError  # noqa: E402
from .registry import Registry  # noqa: E402

__all__ = ["ConfigError", "DataError", "Registry", "__version__"]
