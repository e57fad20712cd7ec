"""``initreg activations``, ``initreg inits``, ``initreg init``, ``initreg critical``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import ConfigError
from .app import app, console


def _parse_params(items: list[str], what: str) -> dict:
    import yaml

    out = {}
    for it in items:
        if "=" not in it:
            raise ConfigError(f"{what} must look like key=value; got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


@app.command("activations")
def activations_cmd(
    figure: Path | None = typer.Option(Path("activations.png"), "--figure", "-f",
                                       help="Where to write the plot of every function and its derivative ('' for none)."),
) -> None:
    """Print the activation table (formula, derivative, corrected range, zero-centred, forward and
    backward gain by quadrature) and plot each function with its derivative.

    Example: initreg activations --figure activations.png
    """
    import math

    from ..nn.activation_table import activations_table
    from ..nn.activations import activation_info
    from ..utils.paths import validate_out_file

    if figure and str(figure):
        validate_out_file(figure, "--figure")
    t = Table(title="activations (use as model.activation; gains: 1/sqrt(E\\[f(z)^2]), 1/sqrt(E\\[f'(z)^2]), z~N(0,1))")
    for col in ("name", "f(x)", "f'(x)", "range", "lecture's range", "zero-centred", "gain fwd", "gain bwd"):
        t.add_column(col, justify="right" if col.startswith("gain") else "left",
                     no_wrap=col in ("name", "range", "lecture's range") or col.startswith("gain"))
    rows = activations_table()
    for r in rows:
        bwd = "undefined" if math.isinf(r["gain_backward"]) else f"{r['gain_backward']:.4f}"
        t.add_row(r["name"], escape(r["formula_text"]), escape(r["derivative_text"]), escape(r["range"]), r["lecture_range"] or "",
                  "yes" if r["zero_centred"] else "no", f"{r['gain_forward']:.4f}", bwd)
    console.print(t)
    console.print("binary_step: true gradient 0 almost everywhere; straight_through=True backpropagates 1[|x|<=1] "
                  "(backward gain 1.2103). LaTeX formulas: initreg.nn.activations.activation_info(name).formula",
                  markup=False)
    if figure and str(figure):
        import torch

        from ..plot import new_figure, save_figure

        fig, axes = new_figure(4, math.ceil(len(rows) / 4), size=(3.0, 2.4))
        x = torch.linspace(-4, 4, 801, dtype=torch.float64)
        for ax, r in zip(axes, rows):
            info = activation_info(r["name"])
            ax.plot(x, info.f(x, **info.params), label="f")
            ax.plot(x, info.df(x, **info.params), "--", label="f'")
            ax.axhline(0, color="k", lw=0.4)
            ax.axvline(0, color="k", lw=0.4)
            ax.set_title(f"{r['name']}  {r['range']}", fontsize=8)
            ax.tick_params(labelsize=6)
        axes[0].legend(fontsize=6)
        for ax in axes[len(rows):]:
            ax.axis("off")
        console.print(f"figure: {save_figure(fig, figure)}")


@app.command("inits")
def inits_cmd() -> None:
    """List the init schemes (use as model.init, or in initreg.init.initialize).

    Example: initreg inits
    """
    import inspect

    from ..init import inits, scheme_facts

    t = Table(title="init schemes (use as model.init: <name> or {name: ..., param: value})")
    t.add_column("name", style="bold", no_wrap=True)
    t.add_column("what it does")
    t.add_column("parameters (defaults)")
    t.add_column("torch", no_wrap=True)
    t.add_column("activation")
    t.add_column("bias")
    for name in inits.names():
        fn = inits.get(name)
        f = scheme_facts(name)
        params = ", ".join(f"{p.name}={p.default!r}" if p.default is not inspect.Parameter.empty else p.name
                           for p in inspect.signature(fn).parameters.values()
                           if p.name not in ("tensor", "model", "data", "generator", "zero_bias", "method"))
        uses = {"always": "always", "on_request": "gain: auto", "never": "-"}[f.activation]
        t.add_row(name, escape(inits.meta(name).get("description", "") + (" (needs data=)" if f.needs_data else "")),
                  escape(params), f.torch_name or "-", uses, f.bias)
    console.print(t)
    console.print("torch: the torch.nn.init function it equals; activation: whether the activation after each layer "
                  "sets the gain (always, or on request with gain: auto / initreg init --gain)", markup=False)


@app.command("init")
def init_cmd(
    scheme: str = typer.Argument("auto", help="An init scheme name (initreg inits)."),
    param: list[str] = typer.Option([], "--param", "-p", help="A scheme parameter: -p std=0.01 (repeatable)."),
    model: str = typer.Option("mlp", "--model", "-m", help="A registered model (initreg models)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="A model parameter: -s depth=3 -s activation=tanh."),
    input_shape: str = typer.Option("784", "--input-shape", help="Input shape, e.g. 784 or 1,28,28."),
    outputs: int = typer.Option(10, "--outputs", min=1, help="Number of outputs."),
    seed: int = typer.Option(0, "--seed", help="Init seed."),
    gain: bool = typer.Option(False, "--gain/--no-gain", help="Give the scheme the gain computed for the activation "
                              "after each layer (gain: auto; xavier_*, kaiming_*, orthogonal). Default: the scheme "
                              "as torch defines it."),
) -> None:
    """Build a model, initialize it with a scheme and print the per-layer report (shape, fans,
    activation found, gain, resulting std) and the mean-field predicted variances.

    Example: initreg init kaiming_normal -s depth=4 -s activation=tanh
    """
    import torch

    from ..init import initialize, model_variances, scheme_facts
    from ..models import build_model

    try:
        shape = tuple(int(v) for v in input_shape.split(","))
    except ValueError:
        raise ConfigError(f"--input-shape must be comma-separated integers; got {input_shape!r}") from None
    if not shape or any(v < 1 for v in shape):
        raise ConfigError(f"--input-shape entries must be >= 1; got {input_shape!r}")
    cfg = {"name": model, **_parse_params(set_, "--set"), "init": "torch"}
    from .checks import check_model_size

    check_model_size(cfg, shape, outputs)
    net = build_model(cfg, shape, outputs, seed=seed)
    scfg = {"name": scheme, **_parse_params(param, "--param")}
    needs_data = scheme_facts(scheme).needs_data
    data = torch.randn(256, *shape, generator=torch.Generator().manual_seed(seed + 1)) if needs_data else None
    rep = initialize(net, scfg, generator=torch.Generator().manual_seed(seed), data=data, gains=gain)
    t = Table(title=f"{model} initialized with {scheme}")
    for col in ("layer", "kind", "shape", "fan_in", "fan_out", "activation", "found by", "gain", "std", "bias"):
        t.add_column(col)
    for r in rep:
        t.add_row(r.name, r.kind, str(tuple(r.shape)), str(r.fan_in), str(r.fan_out), escape(r.activation),
                  escape(r.resolved_by),
                  "" if r.gain is None else f"{r.gain:.4f}", f"{r.std:.4g}", r.bias)
    console.print(t)
    console.print(rep.describe_gains(), markup=False, highlight=False, soft_wrap=True)
    if rep.unresolved:
        console.print(f"[yellow]unresolved (initialized as linear):[/] {', '.join(rep.unresolved)}")
    try:
        p = model_variances(net)
        console.print("mean-field E[y_l^2] per layer (input E[x^2] = 1): "
                      + ", ".join(f"{v:.3g}" for v in p.forward), markup=False)
        console.print("mean-field E[(dL/dy_l)^2] per layer (output gradient variance 1): "
                      + ", ".join(f"{v:.3g}" for v in p.backward), markup=False)
    except ConfigError as e:
        console.print(f"(no mean-field prediction: {e})")


@app.command("critical")
def critical_cmd(
    activation: str = typer.Argument("tanh", help="A registered activation."),
    q_star: float | None = typer.Option(None, "--q-star", help="The fixed point q* to aim for."),
    sigma_b: float | None = typer.Option(None, "--sigma-b", help="The bias std (then q* is solved for)."),
    param: list[str] = typer.Option([], "--param", "-p", help="An activation parameter: -p negative_slope=0.1."),
) -> None:
    """The edge-of-chaos init for an activation: sigma_w, sigma_b with chi1 = 1 at the fixed point q*.

    Example: initreg critical tanh --sigma-b 0.2236
    """
    from ..init import critical_point

    p = critical_point(activation, q_star=q_star, sigma_b=sigma_b, **_parse_params(param, "--param"))
    console.print(f"{activation}: sigma_w = {p.sigma_w:.6g} (Var(w) = sigma_w^2/fan_in), sigma_b = {p.sigma_b:.6g}, "
                  f"q* = {p.q_star:.6g}, chi1 = {p.chi1:.6g}", markup=False, soft_wrap=True)
