"""Activation functions by name.

A registry of factories ``name -> nn.Module``. (The full table — formula, derivative,
corrected range, gains — builds on these names.)
"""

from __future__ import annotations

from torch import nn

from ..registry import Registry

__all__ = ["activations", "make_activation"]

activations: Registry = Registry("activation")

activations.register("identity", lambda: nn.Identity())
activations.register("linear", lambda: nn.Identity())
activations.register("sigmoid", lambda: nn.Sigmoid())
activations.register("tanh", lambda: nn.Tanh())
activations.register("relu", lambda: nn.ReLU())
activations.register("softplus", lambda: nn.Softplus())


def _leaky(negative_slope: float = 0.01) -> nn.Module:
    return nn.LeakyReLU(negative_slope)


def _elu(alpha: float = 1.0) -> nn.Module:
    return nn.ELU(alpha)


activations.register("leaky_relu", _leaky)
activations.register("elu", _elu)
activations.register("gelu", lambda: nn.GELU())
activations.register("silu", lambda: nn.SiLU())
activations.register("selu", lambda: nn.SELU())
activations.register("mish", lambda: nn.Mish())


def make_activation(name: str | dict, **params) -> nn.Module:
    """Build a registered activation: ``make_activation("leaky_relu", negative_slope=0.1)``."""
    cfg = {"name": name, **params} if isinstance(name, str) else {**name, **params}
    return activations.build(cfg)
