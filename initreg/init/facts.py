"""The init-scheme registry, and what each scheme declares about itself.

Every scheme in `inits` is registered with a :class:`SchemeFacts`: how it is applied, its
weight variance, whether it uses the activation after the layer, whether it needs data,
how it initializes biases, and whether it is ``torch.nn.init``'s function of the same name.
Callers (`initialize`, `weight_variance`, the CLI) read these facts and never test a
scheme's name — as Keras' ``VarianceScaling`` carries its own scale, mode and distribution,
and torch's ``BasePruningMethod`` its ``PRUNING_TYPE``.

>>> f = scheme_facts("xavier_normal")
>>> f.torch_name, f.activation, f.needs_data
('xavier_normal_', 'on_request', False)
>>> scheme_facts("critical").activation, scheme_facts("lsuv").needs_data
('always', True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from ..registry import Registry

__all__ = ["SchemeFacts", "inits", "register_scheme", "scheme_facts", "schemes_with"]

inits: Registry = Registry("init scheme")


@dataclass(frozen=True)
class SchemeFacts:
    """What a registered init scheme tells its callers.

    Attributes:
        applies_to: ``"tensor"`` — called once per weight, ``fn(weight, **params)``;
            ``"model"`` — walks the model itself, ``fn(model, data, **params)`` (LSUV);
            ``"keep"`` — changes nothing (PyTorch's own init stays).
        variance: ``E[w²]`` for ``(shape, **params)`` (the config's params); ``None`` when it
            depends on data or on the model.
        activation: ``"always"`` — the scheme is defined by the activation after the layer
            (``auto``, ``critical``): `initialize` always passes it as ``activation=``;
            ``"on_request"`` — the scheme has a gain that can be computed from that
            activation, only when asked (``gain: auto`` or ``initialize(..., gains=True)``);
            ``"never"`` — the activation plays no part.
        gain_params: the parameters that set the gain explicitly (``gain``; ``a`` and
            ``nonlinearity`` for Kaiming): when the config sets one, ``gains=True`` leaves the
            scheme alone.
        needs_data: `initialize` must be given ``data=`` (LSUV).
        bias_std: ``params -> σ_b``: biases are drawn ``N(0, σ_b²)`` (``critical``) whatever
            ``zero_bias`` says; ``None``: biases are zeroed when ``zero_bias`` (kept otherwise).
        gain: ``params -> g``, the gain to report for one layer (``None``: the scheme has none).
        details: ``params -> {...}``, extra numbers for the per-layer report.
        torch_name: the ``torch.nn.init`` function that this scheme equals (same signature,
            same tensor under the same generator), or ``None`` for initreg's own schemes.
    """

    applies_to: Literal["tensor", "model", "keep"] = "tensor"
    variance: Callable[..., float] | None = None
    activation: Literal["always", "on_request", "never"] = "never"
    gain_params: tuple[str, ...] = ()
    needs_data: bool = False
    bias_std: Callable[[dict[str, Any]], float] | None = None
    gain: Callable[[dict[str, Any]], float | None] | None = None
    details: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    torch_name: str | None = None

    def __post_init__(self) -> None:
        if self.applies_to not in ("tensor", "model", "keep"):
            raise ConfigError(f"applies_to must be one of tensor, model, keep; got applies_to={self.applies_to!r}")
        if self.activation not in ("always", "on_request", "never"):
            raise ConfigError(f"activation must be one of always, on_request, never; got activation={self.activation!r}")

    @property
    def bias(self) -> str:
        """How biases are initialized, in words (for listings)."""
        if self.applies_to == "keep":
            return "kept"
        return "N(0, sigma_b^2)" if self.bias_std is not None else "zeros (zero_bias=True)"


def register_scheme(name: str, description: str, facts: SchemeFacts | None = None):
    """Decorator: register ``fn`` in `inits` under ``name`` with its :class:`SchemeFacts`."""

    def add(fn):
        inits.register(name, fn, description=description, facts=facts or SchemeFacts())
        return fn

    return add


def scheme_facts(name: str) -> SchemeFacts:
    """The :class:`SchemeFacts` of a registered scheme (an unknown name lists the known ones)."""
    return inits.meta(name)["facts"]


def schemes_with(**conditions: Any) -> list[str]:
    """Names of the schemes whose facts have the given values (``schemes_with(activation="on_request")``).

    >>> schemes_with(needs_data=True)
    ['lsuv']
    """
    return [n for n in inits.names() if all(getattr(scheme_facts(n), k) == v for k, v in conditions.items())]
