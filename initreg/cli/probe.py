"""``initreg probe``: signal propagation of a model at init, layer by layer, with a verdict."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

import typer

from .app import app, console


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def load_factory(spec: str):
    """``"pkg.mod:fn"`` → the callable; a one-line `ConfigError` for every way it can fail."""
    from ..errors import ConfigError

    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr:
        raise ConfigError(f"--module must look like package.module:function (e.g. mypkg.models:build); got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: modules in the current folder import
    try:
        mod = importlib.import_module(mod_name)
    except Exception as e:  # ImportError, SyntaxError, or anything the module raises on import
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"--module: cannot import {mod_name!r}: {type(e).__name__}: {msg}") from None
    fn = getattr(mod, attr, None)
    if fn is None:
        public = [n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))]
        raise ConfigError(f"--module: {mod_name!r} has no attribute {attr!r}; callables there: {', '.join(public) or '(none)'}")
    if not callable(fn):
        raise ConfigError(f"--module: {spec!r} is a {type(fn).__name__}, not a callable model factory")
    return fn


def build_from_factory(spec: str, input_shape: tuple[int, ...], num_outputs: int, fn=None):
    """Call the user's factory (passing ``input_shape`` / ``num_outputs`` if it takes them)."""
    from torch import nn

    from ..errors import ConfigError

    fn = fn if fn is not None else load_factory(spec)
    kwargs: dict[str, Any] = {}
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    takes_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name, value in (("input_shape", tuple(input_shape)), ("num_outputs", num_outputs)):
        if name in params or takes_kw:
            kwargs[name] = value
    try:
        model = fn(**kwargs)
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else ""
        raise ConfigError(f"--module: {spec}({', '.join(kwargs)}) raised {type(e).__name__}: {msg}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"--module: {spec} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _apply_init(net, scheme: Any, seed: int, gain: bool):
    """`initialize` with ``gains=gain``; the per-layer report."""
    import torch

    from ..init import initialize

    return initialize(net, scheme, generator=torch.Generator().manual_seed(seed), gains=gain, warn=False)


@app.command("probe")
def probe_cmd(
    model: str = typer.Option("mlp", "--model", "-m", help="A registered model (`initreg models`)."),
    depth: int | None = typer.Option(None, "--depth", help="Hidden layers (mlp)."),
    width: int | None = typer.Option(None, "--width", help="Units per hidden layer (mlp)."),
    activation: str | None = typer.Option(None, "--activation", "-a", help="Activation name (`initreg activations`)."),
    init: str | None = typer.Option(None, "--init", "-i",
                                    help="Init scheme name, or a mapping such as '{name: normal, std: 1.0}' (default: the model builder's)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Another model parameter: --set norm=batch (repeatable)."),
    module: str | None = typer.Option(None, "--module", help="Your own model factory, package.module:function; "
                                      "called with input_shape= and num_outputs= if it takes them."),
    data: str = typer.Option("mnist5k", "--data", "-d", help="Data set the batch comes from (`initreg datasets`)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder with local MNIST / CIFAR files."),
    flatten: bool | None = typer.Option(None, "--flatten/--no-flatten", help="Flatten inputs (default: yes, except for --model cnn)."),
    batch_size: int = typer.Option(256, "--batch-size", "-b", min=2, help="Examples in the probed batch."),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights and of the batch."),
    jacobian: int = typer.Option(4, "--jacobian", min=0, help="Examples for the input-output Jacobian's singular values (0: skip)."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the full report as JSON here."),
    figure: Path | None = typer.Option(Path("probe.png"), "--figure", help="Forward/backward variance per layer, measured vs theory."),
    no_figure: bool = typer.Option(False, "--no-figure", help="Do not write the figure."),
    gain: bool = typer.Option(False, "--gain/--no-gain", help="Give --init the gain computed for the activation after "
                              "each layer (gain: auto; xavier_*, kaiming_*, orthogonal). Default: the scheme as torch "
                              "defines it (Xavier gain 1; Kaiming a=0, leaky_relu)."),
    wide: bool = typer.Option(False, "--wide", help="More columns: output std, gradient RMS, weight-gradient ratio."),
) -> None:
    """Probe how signals and gradients propagate through a model at init, layer by layer.

    One forward/backward pass on a batch: prints per layer the output std and its ratio to
    the input (measured and mean-field theory), dead and saturated units, the gradient RMS
    and its ratio to the output layer's, and a verdict (healthy / vanishing / exploding /
    saturated / dead) with the layer where the problem starts. Thresholds: docs/probe.md.

    Example: initreg probe --model mlp --depth 30 --activation relu --init xavier_normal --data mnist5k
    """
    import torch

    from ..data import load_data
    from ..errors import ConfigError
    from ..models import build_model
    from ..probe import plot_profile, probe
    from ..train import TrainConfig, loss_function
    from ..utils.paths import validate_out_file
    from .checks import check_model_size

    if json_path is not None:
        validate_out_file(json_path, "--json")
    if figure is not None and not no_figure:
        validate_out_file(figure, "--figure")
    torch.set_num_threads(min(torch.get_num_threads(), 4))
    factory = load_factory(module) if module is not None else None  # a bad path fails before any data loads
    auto_flat = model != "cnn" if module is None else True
    d = load_data({"name": data, "flatten": auto_flat if flatten is None else flatten,
                   **({"data_dir": str(data_dir)} if data_dir else {})})
    init_cfg = _parse_value(init) if init is not None else None
    if init_cfg is not None and not isinstance(init_cfg, (str, dict)):
        init_cfg = init  # e.g. --init 0: a scheme name (unknown names list the known ones), not YAML's 0
    if gain and init_cfg is None:
        raise ConfigError("--gain sets the gain of --init's scheme: give --init too (e.g. --init xavier_normal --gain)")
    init_rep = None
    if module is not None:
        if any(v is not None for v in (depth, width, activation)) or set_:
            raise ConfigError("--depth/--width/--activation/--set configure a registered --model; with --module, build the model in your factory")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = build_from_factory(module, d.input_shape, d.num_outputs, fn=factory)
        if init_cfg is not None:
            init_rep = _apply_init(net, init_cfg, seed, gain)
        what = module
    else:
        cfg: dict[str, Any] = {"name": model}
        for k, v in (("depth", depth), ("width", width), ("activation", activation)):
            if v is not None:
                cfg[k] = v
        for item in set_:
            if "=" not in item:
                raise ConfigError(f"--set expects key=value (e.g. norm=batch); got {item!r}")
            k, _, v = item.partition("=")
            cfg[k.strip().removeprefix("model.")] = _parse_value(v)
        check_model_size(cfg, d.input_shape, d.num_outputs)  # a huge model is an error, not an out-of-memory crash
        # --init is applied after the build with the same seeded generator that build_model would use
        net = build_model({**cfg, **({"init": "torch"} if init_cfg is not None else {})},
                          d.input_shape, d.num_outputs, seed=seed)
        if init_cfg is not None:
            init_rep = _apply_init(net, init_cfg, seed, gain)
            cfg["init"] = init_cfg
            if gain:
                cfg["gain"] = "auto"
        what = ", ".join(f"{k}={v}" for k, v in cfg.items())
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(d.x_train), generator=gen)[:batch_size]
    x, y = d.x_train[idx], d.y_train[idx]
    loss_fn = loss_function(TrainConfig(), d.task)
    try:
        rep = probe(net, x, y, loss_fn=loss_fn, jacobian=jacobian)
    except ConfigError:
        raise
    except RuntimeError as e:
        raise ConfigError(f"the model failed on a batch of shape {tuple(x.shape)}: {str(e).splitlines()[0]}") from None
    rep.meta.update({"model": what, "data": d.describe(), "batch_size": len(x), "seed": seed, "label": module or model})
    console.print(f"[bold]{what}[/] on {len(x)} examples of {d.describe()}", highlight=False)
    if init_rep is not None:
        rep.meta["init"] = init_rep.describe_gains()
        console.print(rep.meta["init"], markup=False, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = max(console.width, 160 if wide else 120)  # a file gets the whole table
    console.print(rep.table(wide=wide))
    if rep.meta.get("not_called"):
        console.print(f"not measured (forward never called): {', '.join(rep.meta['not_called'])}", highlight=False)
    style = "green" if rep.healthy else "red"
    console.print(f"verdict: [{style}]{rep.summary()}[/]", highlight=False)
    tv = rep.theory_verdict
    if tv is not None:
        fb = tv["first_bad"]
        where = f", starting at layer {fb['index']} ({fb['direction']})" if fb else ""
        console.print(f"theory (mean-field) predicts: {tv['label']}{where}", highlight=False)
    if rep.jacobian:
        j = rep.jacobian
        console.print(f"input-output Jacobian on {j['samples']} examples: singular values {j['min']:.3g} … {j['max']:.3g}, "
                      f"mean s² = {j['mean_sq']:.3g}, log10 spread = {j['log10_spread']:.2f}", highlight=False)
    if json_path is not None:
        console.print(f"report: {rep.write_json(json_path)}")
    if figure is not None and not no_figure:
        plot_profile(rep, figure, labels=[module or model])
        console.print(f"figure: {figure}")
