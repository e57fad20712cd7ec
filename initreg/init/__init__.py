"""Weight initialization: schemes, computed gains, mean-field theory, and `initialize`.

- `schemes` — in-place ``torch.nn.init``-style functions (``xavier_normal_``, ``kaiming_normal_``,
  ``legacy_uniform_``, ``orthogonal_``, ...), each in the `inits` registry by name;
- `gain` — variance-preserving gains for any activation by quadrature;
- `fan` — the fan convention (torch's ``(out, in, *kernel)``);
- `meanfield` — the q-map, χ₁ and layer-wise predicted variances;
- `critical` — edge-of-chaos ``(σ_w, σ_b)`` for any activation;
- `lsuv` — layer-sequential unit-variance init;
- `initialize` — apply a scheme to a whole model with the right gain per layer.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
>>> print(initialize(net, "kaiming_normal", generator=torch.Generator().manual_seed(0)).scheme)
kaiming_normal
"""

from .critical import CriticalPoint, critical_, critical_point
from .fan import FAN_MODES, fan, fan_in_and_fan_out
from .gain import (
    TORCH_HEURISTIC_GAINS,
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
    inits,
    kaiming_normal_,
    kaiming_std,
    kaiming_uniform_,
    lecun_normal_,
    lecun_uniform_,
    legacy_uniform_,
    normal_,
    orthogonal_,
    uniform_,
    variance_scaling_,
    weight_variance,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)

__all__ = [
    "CriticalPoint", "FAN_MODES", "InitReport", "LayerInfo", "LayerReport", "MeanFieldPrediction",
    "TORCH_HEURISTIC_GAINS", "auto_", "calculate_gain", "chi1", "constant_", "critical_", "critical_point", "fan",
    "fan_in_and_fan_out", "fixed_point", "gain", "gauss_expectation", "gauss_hermite", "gauss_nodes", "initialize",
    "inits",
    "kaiming_normal_", "kaiming_std", "kaiming_uniform_", "lecun_normal_", "lecun_uniform_", "legacy_uniform_",
    "lsuv_", "model_variances", "moments", "normal_", "orthogonal_", "predicted_variances", "qmap",
    "resolve_layers", "torch_default_", "uniform_", "variance_scaling_", "weight_variance", "xavier_normal_",
    "xavier_uniform_", "zeros_",
]
