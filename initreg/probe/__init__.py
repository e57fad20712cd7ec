"""The signal-propagation probe: see exploding and vanishing signals and gradients, layer by layer.

Three ways to use it:

- ``with Probe(model) as p: loss.backward()`` then ``p.report()`` — one pass, any module;
- ``fit(..., callbacks=[ProbeCallback(every=k)])`` — every k steps while training;
- ``initreg probe --model mlp --depth 30 --activation relu --init xavier_normal``.

Each `ProbeReport` has per-layer statistics (activation mean/std, dead and saturated units,
gradient RMS w.r.t. each layer's output and weights, update-to-weight ratios), the
mean-field prediction next to them (`initreg.init.meanfield`, via `initreg.probe.theory`),
a verdict per layer and overall (healthy / vanishing / exploding / saturated / dead, see
`Thresholds`) with the layer where it starts, and optionally the singular values of the
input–output Jacobian.
"""

from ..nn.activations import activation_bounds, is_activation
from .callback import ProbeCallback
from .core import Probe, probe, weight_layers
from .figure import plot_profile
from .jacobian import jacobian_singular_values
from .report import LayerStats, ProbeReport
from .theory import expectations, variance_map
from .verdict import LABELS, Thresholds, layer_verdict, overall_verdict

__all__ = ["LABELS", "LayerStats", "Probe", "ProbeCallback", "ProbeReport", "Thresholds", "activation_bounds",
           "expectations", "is_activation", "jacobian_singular_values", "layer_verdict", "overall_verdict",
           "plot_profile", "probe", "variance_map", "weight_layers"]
