"""`DataConfig` and `load_data`: a named source → seeded, stratified, standardized splits."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pydantic
import torch
from pydantic import BaseModel, ConfigDict, Field

from ..errors import DataError
from ..registry import validate_params
from .sources import Raw, sources
from .splits import Splits, check_arrays, stratified_split

__all__ = ["DataConfig", "load_data", "datasets_table"]


class DataConfig(BaseModel):
    """Which data set and how to split it. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    name: str = "mnist5k"  # a registered data set: `initreg datasets`
    train_size: int | None = Field(None, ge=1)  # keep only this many train examples (stratified), for scarce-data experiments
    val_fraction: float = Field(0.15, ge=0.0, lt=1.0)  # of the pool left after the test split
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)  # used only when the set has no test split of its own
    label_noise: float = Field(0.0, ge=0.0, le=1.0)  # fraction of *train* labels replaced by a random other class
    flatten: bool = True  # (N, D) inputs; False keeps (N, C, H, W) or (N, C, L)
    standardize: bool = True  # one global mean/std from the train split
    seed: int = 0  # split, subset and label-noise seed
    data_dir: str | None = None  # folder for mnist / fashion-mnist / cifar10
    options: dict[str, Any] = Field(default_factory=dict)  # the source's own parameters (e.g. synthetic: target, rank)

    @pydantic.field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        sources.get(v)
        return v


def load_data(config: DataConfig | dict[str, Any] | str) -> Splits:
    """Load a registered data set into :class:`Splits`.

    Steps: read the raw source; validate it (NaN/Inf, shapes, label range); split into
    train/val/test, stratified by class and seeded (a set with its own test split keeps
    it); optionally subsample train (stratified) and corrupt a fraction of train labels;
    standardize with one global mean/std of the train split (per-pixel std blows up pixels
    that are constant in a small train split); flatten if asked.

    >>> d = load_data({"name": "digits", "train_size": 100})
    >>> d.sizes()["train"], d.input_shape
    (100, (64,))
    """
    if isinstance(config, str):
        config = {"name": config}
    if isinstance(config, dict):
        try:
            config = DataConfig(**config)
        except pydantic.ValidationError as e:
            from ..registry import format_validation_error

            raise DataError(f"data: {format_validation_error(e)}") from None
    fn = sources.get(config.name)
    opts = dict(config.options)
    if "data_dir" in inspect.signature(fn).parameters and config.data_dir is not None:
        opts["data_dir"] = config.data_dir
    raw: Raw = fn(**validate_params(fn, opts, where=f"data set {config.name!r} options"))
    return _prepare(config, raw)


def _prepare(cfg: DataConfig, raw: Raw) -> Splits:
    ncls = raw.num_classes or None
    check_arrays(cfg.name, raw.x, raw.y, ncls)
    rng = np.random.default_rng(cfg.seed)
    strat = raw.num_classes > 0
    if raw.test is not None:
        check_arrays(cfg.name + " (test split)", raw.test[0], raw.test[1], ncls)
        if raw.test[0].shape[1:] != raw.x.shape[1:]:
            raise DataError(f"data set {cfg.name!r}: test inputs have shape {raw.test[0].shape[1:]} but train {raw.x.shape[1:]}")
        tr, va = stratified_split(raw.y, (1 - cfg.val_fraction, cfg.val_fraction), rng, strat)
        x_pool, y_pool = raw.x, raw.y
        xte, yte = raw.test
    else:
        rest = 1 - cfg.test_fraction
        tr, va, te = stratified_split(raw.y, (rest * (1 - cfg.val_fraction), rest * cfg.val_fraction, cfg.test_fraction), rng, strat)
        x_pool, y_pool = raw.x, raw.y
        xte, yte = raw.x[te], raw.y[te]
    if cfg.train_size is not None:
        if cfg.train_size > len(tr):
            raise DataError(f"data set {cfg.name!r}: train_size={cfg.train_size} exceeds the {len(tr)} train examples available")
        sub = stratified_split(y_pool[tr], (cfg.train_size / len(tr),), rng, strat)[0] if strat else rng.permutation(len(tr))[: cfg.train_size]
        if len(sub) != cfg.train_size:  # per-class rounding: top up / trim to the exact size
            extra = np.setdiff1d(np.arange(len(tr)), sub)
            sub = np.concatenate([sub, rng.permutation(extra)])[: cfg.train_size]
        tr = tr[sub]
    xtr, ytr = x_pool[tr].copy(), y_pool[tr].copy()
    xva, yva = x_pool[va], y_pool[va]
    noisy = 0
    if cfg.label_noise > 0:
        if not strat:
            raise DataError(f"label_noise applies to classification sets; {cfg.name!r} is regression")
        flip = rng.random(len(ytr)) < cfg.label_noise
        shift = rng.integers(1, raw.num_classes, size=len(ytr))
        ytr[flip] = (ytr[flip] + shift[flip]) % raw.num_classes
        noisy = int(flip.sum())
    mean, std = (float(xtr.mean()), float(xtr.std())) if cfg.standardize else (0.0, 1.0)
    std = std if std > 0 else 1.0

    def tx(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray((a - mean) / std, dtype=np.float32))
        return t.reshape(len(t), int(np.prod(a.shape[1:]))) if cfg.flatten else t  # explicit width: a split may be empty

    def ty(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).long() if strat else torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return Splits(
        name=cfg.name, x_train=tx(xtr), y_train=ty(ytr), x_val=tx(xva), y_val=ty(yva), x_test=tx(xte), y_test=ty(yte),
        num_classes=raw.num_classes, task=raw.task,
        meta={"mean": mean, "std": std, "noisy_labels": noisy, "image_shape": tuple(raw.x.shape[1:]),
              "description": raw.description, "config": cfg.model_dump()},
    )


def datasets_table() -> list[dict[str, str]]:
    """Name and description of every registered data set (for `initreg datasets`)."""
    return [{"name": n, "description": sources.meta(n).get("description", "")} for n in sources.names()]
