"""Models by name (``linear``, ``mlp``, ``cnn``, ``low_rank``) and the `LowRankLinear` bottleneck."""

from .build import build_model, models_table
from .low_rank import LowRankLinear
from .zoo import cnn, linear, low_rank, make_dropout, make_norm, mlp, models

__all__ = ["LowRankLinear", "build_model", "cnn", "linear", "low_rank", "make_dropout", "make_norm", "mlp", "models", "models_table"]
