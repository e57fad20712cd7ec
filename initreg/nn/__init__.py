"""Building blocks: activations (and, later, dropout and norm layers)."""

from .activations import activations, make_activation
from .dropout import Dropout, dropout, dropout_layers, is_dropout

__all__ = ["activations", "make_activation", "Dropout", "dropout", "dropout_layers", "is_dropout"]
