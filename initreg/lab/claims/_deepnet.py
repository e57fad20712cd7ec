"""Shared by the init claims (C5–C8): a deep chain of Linear → activation, its measured
per-layer variances (forward: pre-activations; backward: gradients w.r.t. them) and the
mean-field prediction (`initreg.init.meanfield`), and the standard figure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ...init import initialize, predicted_variances, weight_variance
from ...nn.activations import make_activation

__all__ = ["SATURATED", "chain", "measure", "theory", "plot_variances"]

SATURATED = 0.99  # a unit with |x_l| above this counts as saturated


def chain(widths: Sequence[int], activation: str | dict, scheme: str | dict, *, seed: int,
          zero_bias: bool = True, last_activation: bool = True) -> nn.Sequential:
    """``Linear(w0→w1) → f → … → Linear(w_{L-1}→w_L) [→ f]`` initialized with ``scheme``
    (``"torch"``: PyTorch's default weights *and* biases)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b))
            if last_activation or i < len(widths) - 2:
                layers.append(make_activation(activation))
        net = nn.Sequential(*layers)
    initialize(net, scheme, generator=torch.Generator().manual_seed(seed), zero_bias=zero_bias, gains=False)
    return net


def measure(net: nn.Sequential, x: torch.Tensor, *, seed: int) -> dict[str, list[float]]:
    """Per Linear layer: ``forward`` = E[y_l²] (pre-activation), ``post`` = E[x_l²],
    ``backward`` = E[(∂L/∂y_l)²] for ``L = Σ r·out`` with ``r ~ N(0, 1)`` (so the gradient
    arriving at the output has variance 1), ``saturated`` = fraction of |x_l| > `SATURATED`."""
    ys: list[torch.Tensor] = []
    posts: list[torch.Tensor] = []
    h = x
    mods = list(net)
    for i, m in enumerate(mods):
        h = m(h)
        if isinstance(m, nn.Linear):
            h.retain_grad()
            ys.append(h)
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            if nxt is None or isinstance(nxt, nn.Linear):
                posts.append(h)
        else:
            posts.append(h)
    for p in posts:
        if p.requires_grad and not p.is_leaf:
            p.retain_grad()
    r = torch.randn(h.shape, generator=torch.Generator().manual_seed(10_000 + seed))
    (h * r).sum().backward()
    return {
        "forward": [float(y.detach().double().pow(2).mean()) for y in ys],
        "post": [float(p.detach().double().pow(2).mean()) for p in posts],
        "backward": [float(y.grad.double().pow(2).mean()) for y in ys],
        "backward_post": [float(p.grad.double().pow(2).mean()) for p in posts],
        "saturated": [float((p.detach().abs() > SATURATED).double().mean()) for p in posts],
    }


def theory(widths: Sequence[int], activation: str | dict, scheme: str | dict, *, input_moment: float = 1.0,
           bias_var: float = 0.0) -> dict[str, list[float]]:
    """Mean-field prediction for :func:`chain` (every layer followed by ``activation``)."""
    fans = [(a, b) for a, b in zip(widths[:-1], widths[1:])]
    wv = [weight_variance(scheme, (b, a), activation=activation) for a, b in fans]
    p = predicted_variances(activation, fans, weight_var=wv, bias_var=bias_var, input_moment=input_moment)
    # Var(∂L/∂x_l) = fan_out_{l+1} · v_{l+1} · δ_{l+1}; 1 at the output
    bpost = [fans[i + 1][1] * wv[i + 1] * p.backward[i + 1] for i in range(len(fans) - 1)] + [1.0]
    return {"forward": p.forward, "backward": p.backward, "post": p.post, "backward_post": bpost}


def plot_variances(path, curves: dict[str, dict[str, Any]], title: str, theory_curves: dict[str, dict[str, Any]] | None = None,
                   keys: tuple[str, str] = ("forward", "backward")):
    """Two log-scale panels (forward, backward): measured (markers, one line per seed) and
    theory (dashed), per label. ``keys``: ``("forward", "backward")`` for pre-activations,
    ``("post", "backward_post")`` for activation outputs."""
    from ...plot import new_figure, save_figure

    fig, (af, ab) = new_figure(2)
    colors = {}
    for i, (label, runs) in enumerate(curves.items()):
        c = f"C{i % 10}"
        colors[label] = c
        for j, run in enumerate(runs if isinstance(runs, list) else [runs]):
            layers = range(1, len(run[keys[0]]) + 1)
            af.plot(layers, run[keys[0]], "o-", ms=3, color=c, alpha=0.8, label=label if j == 0 else None)
            ab.plot(layers, run[keys[1]], "o-", ms=3, color=c, alpha=0.8, label=label if j == 0 else None)
    for label, th in (theory_curves or {}).items():
        c = colors.get(label, "k")
        layers = range(1, len(th[keys[0]]) + 1)
        af.plot(layers, th[keys[0]], "--", color=c, lw=1.5, label=f"{label} (theory)")
        ab.plot(layers, th[keys[1]], "--", color=c, lw=1.5)
    titles = {"forward": "forward: E[y_l²] (pre-activation)", "backward": "backward: E[(∂L/∂y_l)²]",
              "post": "forward: E[x_l²] (activation output)", "backward_post": "backward: E[(∂L/∂x_l)²]"}
    for ax, what in ((af, titles[keys[0]]), (ab, titles[keys[1]])):
        ax.set_yscale("log")
        ax.set_xlabel("layer l")
        ax.set_title(what, fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
    af.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def log2_ratio(a: float, b: float) -> float:
    """``log2(a/b)``, −inf/inf/nan-safe."""
    if a <= 0 or b <= 0:
        return -math.inf if a <= 0 < b else math.nan
    return math.log2(a / b)
