"""Building blocks: activations (and, later, dropout and norm layers)."""

from .activations import activations, make_activation

__all__ = ["activations", "make_activation"]
