"""Runs: one training run (or K seeds of it) fully described by a `RunConfig`, written to a folder.

A run loads its data, builds the model(s) and the regularizers named in the config, trains
with `initreg.train.fit` (or `initreg.train.multiseed.fit_seeds` for ``train.seeds = K``)
and writes the run folder (`write_run_folder`). This sits above training: `initreg.train`
never imports it.

A single-seed run folder holds ``config.yaml`` (the resolved config + seed, versions and git
hash), ``history.csv``, ``metrics.json``, ``model.pt`` (a ``state_dict``, loadable with
``torch.load(..., weights_only=True)``) and ``curves.png`` (with the plot extra). A K-seed run folder holds
``config.yaml``, ``metrics.json`` (per-seed summaries, mean ± 95% CI of the test metrics,
whether the seeds ran vectorized and if not why) and one ``seed-<k>/`` folder per seed with
its ``history.csv``, ``metrics.json`` and ``model.pt``. Every file is written atomically. An
unnamed run's folder is ``<model>-<data>[-<K>seeds]-<time>``, with ``-2``, ``-3``, ... when
that name is taken (two runs started in the same second).

>>> import tempfile
>>> r = run({"data": {"name": "digits", "train_size": 100}, "model": {"name": "mlp", "depth": 1, "width": 8},
...          "train": {"epochs": 1, "progress": "none"}}, out=None)
>>> r.dir is None, r.history.epochs
(True, 1)
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field

from .data import DataConfig, Splits, load_data
from .errors import ConfigError
from .models import build_model
from .models.zoo import models
from .registry import check_keys, format_validation_error, validate_params
from .train.callbacks import Callback
from .train.checkpoint import LiveRecord, load_checkpoint
from .train.config import TrainConfig
from .train.fit import fit
from .train.history import History
from .train.multiseed import SeedsResult, fit_seeds
from .utils.io import atomic_write, environment_info, read_yaml_mapping, write_json, write_text
from .utils.optional import available
from .utils.stats import mean_ci

__all__ = ["RunConfig", "RunResult", "load_config", "apply_overrides", "run", "run_seeds", "resume", "write_run_folder"]


class RunConfig(BaseModel):
    """A whole run: data, model, training, seed. Unknown keys fail listing the valid ones."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # run name (default: model-data-timestamp)
    seed: int = 0  # the run's seed: model init, and train.seed (shuffling, dropout) unless that is set itself
    data: DataConfig = Field(default_factory=DataConfig)
    model: dict[str, Any] = Field(default_factory=lambda: {"name": "mlp"})  # {"name": ..., **params}: `initreg models`; "init": a scheme (`initreg inits`, default "auto")
    train: TrainConfig = Field(default_factory=TrainConfig)
    regularize: list[dict[str, Any]] = Field(default_factory=list)  # [{"name": ..., **params}]: `initreg.regularize`
    log: list[dict[str, Any]] = Field(default_factory=list)  # live loggers [{"name": "tensorboard" | "mlflow", **options}]: `initreg.loggers`

    @pydantic.field_validator("log", mode="before")
    @classmethod
    def _logs(cls, v: Any) -> Any:
        from .loggers import loggers

        items = [{"name": x} if isinstance(x, str) else x for x in (v or [])]
        for x in items:
            if not isinstance(x, Mapping) or "name" not in x:
                raise ValueError(f"each log entry must be a name or a mapping with 'name'; got {x!r}")
            loggers.get(x["name"])  # an unknown name lists the known ones
        return items

    @pydantic.field_validator("regularize", mode="before")
    @classmethod
    def _regs(cls, v: Any) -> Any:
        from .regularize import load_all, regularizers

        load_all()
        items = [{"name": x} if isinstance(x, str) else x for x in (v or [])]
        for x in items:
            if not isinstance(x, Mapping) or "name" not in x:
                raise ValueError(f"each regularize entry must be a name or a mapping with 'name'; got {x!r}")
            validate_params(regularizers.get(x["name"]), {k: y for k, y in x.items() if k != "name"},
                            where=f"regularizer {x['name']!r}")
        return items

    @pydantic.model_validator(mode="after")
    def _one_seed(self) -> RunConfig:
        """Entry points seed everything from one seed: a run's ``seed`` also seeds training,
        unless ``train.seed`` is given explicitly. (``data.seed`` fixes the split on its own.)"""
        if "seed" in self.model_fields_set and "seed" not in self.train.model_fields_set:
            self.train.seed = self.seed
        return self

    @pydantic.field_validator("model")
    @classmethod
    def _model(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "name" not in v:
            raise ValueError(f"model needs a 'name'; known models: {', '.join(models.names())}")
        fn = models.get(v["name"])
        validate_params(fn, {k: x for k, x in v.items() if k not in ("name", "init")}, where=f"model {v['name']!r}",
                        supplied={"input_shape", "num_outputs"})
        if isinstance(v.get("activation"), str):  # names are checked now, not when the model is built
            from .nn.activations import activations

            if v["activation"] not in activations:
                raise ValueError(f"model {v['name']!r}: activation: {activations.unknown_message(v['activation'])}")
        if "init" in v:  # the init scheme's name is checked now too (its params when the model is built)
            from .init import inits

            init = v["init"]
            name = init if isinstance(init, str) else init.get("name") if isinstance(init, Mapping) else None
            if name not in inits:
                raise ValueError(f"model {v['name']!r}: init: {inits.unknown_message(name)}")
        return v


def _check_keys(cfg: Mapping[str, Any]) -> None:
    """Friendlier unknown-key errors than pydantic's (which lists no valid keys)."""
    sections: dict[str, type[BaseModel]] = {"data": DataConfig, "train": TrainConfig}
    check_keys(cfg, list(RunConfig.model_fields))
    for sec, model in sections.items():
        sub = cfg.get(sec)
        if isinstance(sub, Mapping):
            check_keys(sub, list(model.model_fields), sec)


def load_config(source: str | Path | Mapping[str, Any] | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    """A validated `RunConfig` from a YAML file (or dict) plus ``key=value`` overrides."""
    if source is None:
        raw: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        raw = dict(source)
    else:
        raw = read_yaml_mapping(source, "config file")
    raw.pop("_meta", None)  # what `run` adds to a run folder's config.yaml (versions, git): not a setting
    raw.setdefault("model", {"name": "mlp"})
    raw = apply_overrides(raw, overrides)
    _check_keys(raw)
    try:
        return RunConfig(**raw)
    except pydantic.ValidationError as e:
        raise ConfigError(format_validation_error(e)) from None


def apply_overrides(cfg: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides (values parsed as YAML: numbers, booleans, lists)."""
    cfg = yaml.safe_load(yaml.safe_dump(cfg)) or {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value (e.g. train.lr=0.01); got {item!r}")
        key, _, val = item.partition("=")
        parts = key.strip().split(".")
        if not all(parts):
            raise ConfigError(f"--set: bad key {key!r}; use dotted keys like train.lr")
        node = cfg
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {p!r} is not a section")
        try:
            node[parts[-1]] = yaml.safe_load(val)
        except yaml.YAMLError:
            node[parts[-1]] = val
    return cfg


class RunResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    history: History
    model: torch.nn.Module
    data: Splits
    dir: Path | None
    histories: list[History] = Field(default_factory=list)  # train.seeds = K > 1: one per seed (history = the first)
    models: list[torch.nn.Module] = Field(default_factory=list)  # train.seeds = K > 1: one per seed


def _fresh_dir(out: Path, name: str) -> Path:
    """``out/name``, or ``out/name-2``, ``-3``, ... if taken (two runs in the same second)."""
    path, i = out / name, 1
    while path.exists():
        i += 1
        path = out / f"{name}-{i}"
    return path


def _save_state(model: torch.nn.Module, target: Any) -> None:
    torch.save(model.state_dict(), target)


def write_run_folder(out: str | Path, cfg: RunConfig, data: Splits, histories: Sequence[History],
                     models: Sequence[torch.nn.Module], *, seeds: SeedsResult | None = None,
                     run_dir: Path | None = None) -> Path:
    """Write a run folder under ``out`` (the layout in the module docstring) and return it:
    one seed's files at the top, or, with ``seeds`` (a K-seed `fit_seeds` result), a summary
    at the top and one ``seed-<k>/`` folder per seed."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    k = len(histories)
    multi = seeds is not None
    if run_dir is not None:
        pass  # chosen when the run started (live record, checkpoints)
    elif cfg.name:
        run_dir = Path(out) / cfg.name
    else:
        run_dir = _fresh_dir(Path(out), f"{cfg.model['name']}-{cfg.data.name}{f'-{k}seeds' if multi else ''}-{stamp}")
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = cfg.model_dump(mode="json")
    resolved["_meta"] = {"environment": environment_info(), "created": stamp, "data": data.describe()}
    if not multi:
        resolved["_meta"]["diverged"] = histories[0].diverged
    write_text(run_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
    if not multi:
        hist, model = histories[0], models[0]
        hist.write_csv(run_dir / "history.csv")
        write_json(run_dir / "metrics.json", hist.summary())
        atomic_write(run_dir / "model.pt", functools.partial(_save_state, model))
        if hist.records and available("matplotlib"):  # the plot extra; without it the folder has no curves.png
            from .plot import plot_history

            plot_history(hist, run_dir / "curves.png", title=cfg.model["name"])
        return run_dir
    assert seeds is not None
    summary: dict[str, Any] = {"seeds": k, "vectorized": seeds.vectorized, "reason": seeds.reason,
                               "per_seed": [h.summary() for h in histories]}
    tests = [h.test for h in histories if h.test]
    if tests:
        summary["test"] = {m: mean_ci([t[m] for t in tests]) for m in tests[0]}
    write_json(run_dir / "metrics.json", summary)
    for i, (h, m) in enumerate(zip(histories, models)):
        sd = run_dir / f"seed-{i}"
        h.write_csv(sd / "history.csv")
        write_json(sd / "metrics.json", h.summary())
        atomic_write(sd / "model.pt", functools.partial(_save_state, m))
    return run_dir


def _loggers(cfg: RunConfig, out: str | Path | None) -> list[Callback]:
    """The config's live loggers; a logger's files go to ``out/logs/<run name>/`` (the run
    folder itself is written when training ends)."""
    if not cfg.log:
        return []
    from .loggers import build_loggers

    name = cfg.name or f"{cfg.model['name']}-{cfg.data.name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    where = Path(out) / "logs" / name if out is not None else None
    return build_loggers(cfg.log, where, params=cfg.model_dump(mode="json", exclude={"log"}))


def run(config: RunConfig | Mapping[str, Any], out: str | Path | None = "runs", *,
        callbacks: Sequence[Callback] = (), data: Splits | None = None, resume_dir: Path | None = None) -> RunResult:
    """Load data, build and train the model, and (if ``out``) write the run folder.
    ``train.seeds = K > 1`` trains K seeds (`run_seeds`).

    With a folder, ``config.yaml`` is written first, ``history.csv``/``metrics.json`` at every
    evaluation, and ``checkpoint.pt`` every ``train.checkpoint_every`` epochs; ``resume_dir``
    (see `resume`) continues the run in that folder from its checkpoint."""
    from .regularize import build_regularizers

    cfg = config if isinstance(config, RunConfig) else load_config(config)
    if cfg.train.seeds > 1:
        return run_seeds(cfg, out, callbacks=callbacks, data=data)
    data = data if data is not None else load_data(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.num_outputs, seed=cfg.seed)
    cbs = build_regularizers(cfg.regularize) + _loggers(cfg, out) + list(callbacks)
    run_dir, ck = resume_dir, None
    if out is not None:
        if run_dir is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            run_dir = Path(out) / cfg.name if cfg.name else _fresh_dir(Path(out), f"{cfg.model['name']}-{cfg.data.name}-{stamp}")
        run_dir.mkdir(parents=True, exist_ok=True)
        if resume_dir is None:  # the config first, so a killed run can be resumed from its folder
            write_text(run_dir / "config.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
        elif (run_dir / "checkpoint.pt").is_file():
            ck = load_checkpoint(run_dir / "checkpoint.pt")
        cbs.append(LiveRecord(run_dir))
    hist = fit(model, data, cfg.train, callbacks=cbs, resume=ck,
               checkpoint=run_dir / "checkpoint.pt" if run_dir is not None and cfg.train.checkpoint_every else None)
    run_dir = write_run_folder(out, cfg, data, [hist], [model], run_dir=run_dir) if out is not None else None
    return RunResult(history=hist, model=model, data=data, dir=run_dir)


def resume(run_dir: str | Path) -> RunResult | None:
    """Continue a killed single-seed run in its folder from its last checkpoint (from the
    start without one); None when the run had already finished. History rows after the
    checkpoint are dropped and made again, so the run ends as an uninterrupted one would."""
    d = Path(run_dir)
    if not (d / "config.yaml").is_file():
        raise FileNotFoundError(f"{d / 'config.yaml'} not found: --resume needs a run folder made by initreg train")
    metrics = json.loads((d / "metrics.json").read_text()) if (d / "metrics.json").is_file() else {"status": "running"}
    if metrics.get("status") != "running" and (d / "model.pt").is_file():
        return None
    raw = dict(read_yaml_mapping(d / "config.yaml"))
    raw.pop("_meta", None)
    cfg = load_config(raw)
    if cfg.train.seeds > 1:
        raise ConfigError(f"--resume continues single-seed runs; {d} has train.seeds={cfg.train.seeds}")
    return run(cfg, d.parent, resume_dir=d)


def run_seeds(config: RunConfig | Mapping[str, Any], out: str | Path | None = "runs", *,
              callbacks: Sequence[Callback] = (), data: Splits | None = None) -> RunResult:
    """`run` for ``train.seeds = K``: K models (model seed ``cfg.seed + k``, train seed
    ``cfg.train.seed + k``) trained by `fit_seeds` — vectorized where the model allows."""
    from .regularize import build_regularizers

    cfg = config if isinstance(config, RunConfig) else load_config(config)
    data = data if data is not None else load_data(cfg.data)
    k = cfg.train.seeds
    models_ = [build_model(cfg.model, data.input_shape, data.num_outputs, seed=cfg.seed + i) for i in range(k)]

    def cbs(i: int) -> list[Callback]:
        return build_regularizers(cfg.regularize) + list(callbacks)

    hists = fit_seeds(models_, data, cfg.train, seeds=[cfg.train.seed + i for i in range(k)], callbacks=cbs)
    run_dir = write_run_folder(out, cfg, data, hists, models_, seeds=hists) if out is not None else None
    return RunResult(history=hists[0], model=models_[0], data=data, dir=run_dir, histories=list(hists), models=models_)
