"""`RunConfig` and `run`: one training run, fully described by its config, written to a folder.

A run folder holds ``config.yaml`` (the resolved config + seed, versions and git hash),
``history.csv``, ``metrics.json``, ``model.pt`` (a ``state_dict``, loadable with
``torch.load(..., weights_only=True)``) and ``curves.png``. Every file is written atomically.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field

from ..data import DataConfig, Splits, load_data
from ..errors import ConfigError
from ..models import build_model
from ..models.zoo import models
from ..registry import check_keys, format_validation_error, validate_params
from ..utils.io import atomic_write, environment_info, read_yaml_mapping, write_json, write_text
from .callbacks import Callback
from .config import TrainConfig
from .fit import fit
from .history import History

__all__ = ["RunConfig", "load_config", "apply_overrides", "run", "RunResult"]


class RunConfig(BaseModel):
    """A whole run: data, model, training, seed. Unknown keys fail listing the valid ones."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # run name (default: model-data-timestamp)
    seed: int = 0  # the run's seed: model init, and train.seed (shuffling, dropout) unless that is set itself
    data: DataConfig = Field(default_factory=DataConfig)
    model: dict[str, Any] = Field(default_factory=lambda: {"name": "mlp"})  # {"name": ..., **params}: `initreg models`; "init": a scheme (`initreg inits`, default "auto")
    train: TrainConfig = Field(default_factory=TrainConfig)
    regularize: list[dict[str, Any]] = Field(default_factory=list)  # [{"name": ..., **params}]: `initreg.regularize`

    @pydantic.field_validator("regularize", mode="before")
    @classmethod
    def _regs(cls, v: Any) -> Any:
        from ..regularize import _load_all, regularizers

        _load_all()
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
            from ..nn.activations import activations

            if v["activation"] not in activations:
                raise ValueError(f"model {v['name']!r}: activation: {activations._unknown(v['activation'])}")
        if "init" in v:  # the init scheme's name is checked now too (its params when the model is built)
            from ..init import inits

            init = v["init"]
            name = init if isinstance(init, str) else init.get("name") if isinstance(init, Mapping) else None
            if name not in inits:
                raise ValueError(f"model {v['name']!r}: init: {inits._unknown(name)}")
        return v


def _check_keys(cfg: Mapping[str, Any]) -> None:
    """Friendlier unknown-key errors than pydantic's (which lists no valid keys)."""
    sections = {"data": DataConfig, "train": TrainConfig}
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


def run(config: RunConfig | Mapping[str, Any], out: str | Path | None = "runs", *,
        callbacks: Sequence[Callback] = (), data: Splits | None = None) -> RunResult:
    """Load data, build and train the model, and (if ``out``) write the run folder."""
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    if cfg.train.seeds > 1:  # K seeds at once (vectorized where possible): see multiseed
        from .multiseed import run_seeds

        return run_seeds(cfg, out, callbacks=callbacks, data=data)
    data = data if data is not None else load_data(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.num_outputs, seed=cfg.seed)
    from ..regularize import build_regularizers

    cbs = build_regularizers(cfg.regularize) + list(callbacks)
    hist = fit(model, data, cfg.train, callbacks=cbs)
    run_dir = None
    if out is not None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path(out) / cfg.name if cfg.name else _fresh_dir(Path(out), f"{cfg.model['name']}-{cfg.data.name}-{stamp}")
        run_dir.mkdir(parents=True, exist_ok=True)
        resolved = cfg.model_dump(mode="json")
        resolved["_meta"] = {"environment": environment_info(), "created": stamp, "data": data.describe(),
                             "diverged": hist.diverged}
        write_text(run_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))
        hist.write_csv(run_dir / "history.csv")
        write_json(run_dir / "metrics.json", hist.summary())
        atomic_write(run_dir / "model.pt", lambda t: torch.save(model.state_dict(), t))
        from ..plot import plot_history

        if hist.records:
            plot_history(hist, run_dir / "curves.png", title=cfg.model["name"])
    return RunResult(history=hist, model=model, data=data, dir=run_dir)
