"""``initreg datasets``, ``initreg models``, ``initreg train``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..errors import ConfigError
from .app import app, console
from .tables import new_table


@app.command("datasets")
def datasets_cmd() -> None:
    """List the registered data sets.

    Example: initreg datasets
    """
    from ..data import datasets_table

    t = Table(title="data sets (use as data.name)")
    t.add_column("name", style="bold")
    t.add_column("description")
    for r in datasets_table():
        t.add_row(r["name"], r["description"])
    console.print(t)


@app.command("models")
def models_cmd() -> None:
    """List the registered models and their parameters.

    Example: initreg models
    """
    from ..models import models_table

    t = Table(title="models (use as model.name; parameters as model.<param>)")
    t.add_column("name", style="bold")
    t.add_column("description")
    t.add_column("parameters (defaults)")
    for r in models_table():
        t.add_row(r["name"], r["description"], r["parameters"])
    console.print(t)


@app.command("train")
def train_cmd(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML run config (data, model, train, seed)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a key: --set train.lr=0.01 (repeatable)."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder for the run folder."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder with local MNIST / Fashion-MNIST / CIFAR-10 files."),
    teacher: Path | None = typer.Option(None, "--teacher", help="Distill from this trained run folder (config.yaml + model.pt): "
                                        "adds {name: distill, teacher: RUN_DIR} to regularize."),
    kd_temperature: float = typer.Option(4.0, "--kd-temperature", help="Distillation temperature T (with --teacher)."),
    kd_alpha: float = typer.Option(0.9, "--kd-alpha", help="Weight of the soft (teacher) term, in [0, 1] (with --teacher)."),
    resume: Path | None = typer.Option(None, "--resume", help="Continue a killed run in its folder from its last "
                                       "checkpoint (train.checkpoint_every); a finished run is left as it is."),
) -> None:
    """Train one model from a config; write config, history, metrics, weights and curves.

    Example: initreg train --set data.name=digits --set model.depth=3 --set train.epochs=5

    Example (distillation): initreg train --set model.width=32 --teacher runs/big-teacher --kd-temperature 4

    Example (resume): initreg train --set train.checkpoint_every=1 --set name=long, killed, then
    initreg train --resume runs/long
    """
    from ..data import load_data
    from ..train import load_config, run
    from ..utils.paths import safe_name, validate_out_dir
    from .checks import check_model_size, check_teacher

    if resume is not None:
        from ..runs import resume as resume_run

        if config is not None or set_ or teacher is not None:
            raise ConfigError("--resume continues the run as its folder's config.yaml describes it; "
                              "drop --config, --set and --teacher")
        res = resume_run(resume)
        if res is None:
            console.print(f"{resume}: the run had finished; nothing to resume")
            return
    else:
        overrides = list(set_) + ([f"data.data_dir={data_dir}"] if data_dir else [])
        cfg = load_config(config, overrides)
        if teacher is not None:
            check_teacher(teacher)
            kd = {"name": "distill", "teacher": str(teacher), "temperature": kd_temperature, "alpha": kd_alpha}
            cfg = load_config({**cfg.model_dump(mode="json"), "regularize": [*cfg.regularize, kd]})
        validate_out_dir(out, "--out")
        if cfg.name is not None:
            validate_out_dir(out / safe_name(cfg.name, "name (the run folder's name)"), "--out/name")
        data = load_data(cfg.data)
        check_model_size(cfg.model, data.input_shape, data.num_outputs)
        res = run(cfg, out, data=data)
    h = res.history
    console.print(f"[bold]{res.data.describe()}[/]")
    if h.diverged:
        console.print(f"[red]diverged[/] at step {h.diverged_step} (non-finite loss): the numbers below are from "
                      "before it; try a smaller train.lr or train.grad_clip", highlight=False)
    last = h.last
    t = new_table("result", "metric", "value", right=("value",))
    for k in ("epoch", "step", "train_loss", "val_loss", "val_acc", "val_ece"):
        if k in last:
            t.add_row(k, _fmt(last[k]))
    for k, v in (h.test or {}).items():
        t.add_row(f"test_{k}", _fmt(v))
    if h.diverged:
        t.add_row("diverged at step", str(h.diverged_step))
    if t.row_count:
        console.print(t)
    else:
        console.print(f"no metric was recorded ({h.steps} steps, {h.epochs} epochs)", highlight=False)
    console.print(f"run folder: {res.dir}", highlight=False, soft_wrap=True)


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
