"""Weight initialization: torch's init functions (drop-in), initreg's schemes, computed gains,
mean-field theory, and `initialize`.

- `schemes` — every in-place function of ``torch.nn.init`` with torch's signature, defaults
  and results (``kaiming_normal_(w, 0, "fan_in", "relu")`` works as in torch), plus
  initreg's own (``legacy_uniform_``, ``lecun_*``, ``variance_scaling_``); initreg's extras
  are keyword-only (``activation=`` for a computed gain);
- `facts` — the `inits` registry: each scheme with what its callers need to know;
- `gain` — variance-preserving gains for any activation by quadrature (``gain``), and
  torch's table (``calculate_gain``);
- `fan` — the fan convention (torch's ``(out, in, *kernel)``);
- `meanfield` — the q-map, χ₁ and layer-wise predicted variances;
- `critical` — edge-of-chaos ``(σ_w, σ_b)`` for any activation;
- `lsuv` — layer-sequential unit-variance init;
- `initialize` — apply a scheme to a whole model, finding the activation after each layer.

``import initreg.init as init`` can replace ``import torch.nn.init as init``: the same calls give
the same tensors (PyTorch's own ``TestNNInit`` passes against it).

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
>>> print(initialize(net, "kaiming_normal", generator=torch.Generator().manual_seed(0)).scheme)
kaiming_normal
"""

import warnings as _warnings

from .critical import CriticalPoint, critical_, critical_point
from .facts import SchemeFacts, inits, scheme_facts, schemes_with
from .fan import FAN_MODES, fan, fan_in_and_fan_out
from .gain import (
    TORCH_HEURISTIC_GAINS,
    TORCH_NONLINEARITIES,
    calculate_gain,
    gain,
    gauss_expectation,
    gauss_hermite,
    gauss_nodes,
    moments,
)
from .initialize import (
    InitReport,
    LayerInfo,
    LayerReport,
    auto_,
    initialize,
    resolve_layers,
    torch_default_,
)
from .lsuv import lsuv_
from .meanfield import (
    MeanFieldPrediction,
    chi1,
    fixed_point,
    model_variances,
    predicted_variances,
    qmap,
)
from .schemes import (
    constant_,
    dirac_,
    eye_,
    kaiming_normal_,
    kaiming_std,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    legacy_uniform_,
    normal_,
    ones_,
    orthogonal_,
    sparse_,
    trunc_normal_,
    uniform_,
    variance_scaling_,
    weight_variance,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)

__all__ = [
    "CriticalPoint", "FAN_MODES", "InitReport", "LayerInfo", "LayerReport", "MeanFieldPrediction", "SchemeFacts",
    "TORCH_HEURISTIC_GAINS", "TORCH_NONLINEARITIES", "auto_", "calculate_gain", "chi1", "constant_", "critical_",
    "critical_point", "dirac_", "eye_", "fan", "fan_in_and_fan_out", "fixed_point", "gain", "gauss_expectation",
    "gauss_hermite", "gauss_nodes", "initialize", "inits", "kaiming_normal_", "kaiming_std", "kaiming_uniform_",
    "lecun_normal_", "lecun_uniform_", "legacy_uniform_", "lsuv_", "model_variances", "moments", "normal_", "ones_",
    "orthogonal_", "predicted_variances", "qmap", "resolve_layers", "scheme_facts", "schemes_with", "sparse_",
    "torch_default_", "trunc_normal_", "uniform_", "variance_scaling_", "weight_variance", "xavier_normal_",
    "xavier_uniform_", "zeros_",
]

# torch.nn.init still has these names without the trailing underscore, deprecated since PyTorch 0.4
_DEPRECATED = {n[:-1]: n for n in ("uniform_", "normal_", "constant_", "eye_", "dirac_", "xavier_uniform_",
                                   "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")}


def __getattr__(name: str):
    """``initreg.init.normal(...)`` etc.: torch's deprecated aliases, with torch's FutureWarning."""
    if name in _DEPRECATED:
        new = globals()[_DEPRECATED[name]]

        def deprecated_init(*args, **kwargs):
            _warnings.warn(f"`initreg.init.{name}` is deprecated in favor of `initreg.init.{new.__name__}` "
                           f"(as `nn.init.{name}` in torch)", FutureWarning, stacklevel=2)
            return new(*args, **kwargs)

        deprecated_init.__name__ = name
        deprecated_init.__doc__ = f"Deprecated: use :func:`{new.__name__}`."
        return deprecated_init
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
