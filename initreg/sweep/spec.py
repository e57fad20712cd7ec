"""The sweep spec (YAML): a base run config, the parameters to vary, the seeds.

.. code-block:: yaml

    name: lr-x-init                # default: the file's stem
    base:                          # a run config (`initreg train --config`), or `base: run.yaml`
      data: {name: digits}
      model: {name: mlp, depth: 2}
      train: {epochs: 5}
    method: grid                   # grid: the product of the lists | random: `trials` samples
                                   # | tpe: `trials` settings chosen by Optuna's TPE (initreg[optuna])
    params:                        # dotted run-config keys
      train.lr: [0.001, 0.01, 0.1]           # grid, random or tpe: a list of values
      model.init: [torch, kaiming_normal]
      # random or tpe only: a range {low, high, log: true, int: false}
    trials: 10                     # random, tpe: number of settings (seeded by `sample_seed`)
    startup_trials: 10             # tpe: settings drawn at random before the model is used
    seeds: 3                       # or a list [0, 1, 2]: each run sets `seed` and `train.seed`
                                   # (at most 10,000 runs = settings × seeds)
    metric: val_loss               # the figure's metric (and `mode` min/max); tpe minimizes/maximizes
                                   # its mean over seeds
    pruner: {name: median, warmup_epochs: 2}   # or successive_halving; see initreg.sweep.prune
    checkpoint_every: 1            # each run checkpoints every N epochs: a rerun resumes it (0: never)
    executor: local                # local | ray
    workers: null                  # local: default = CPU count, one thread each; tpe: settings per batch
    address: null                  # ray: auto or HOST:PORT (default: start a local instance)
    ray: {num_cpus: 1, num_gpus: 0, runtime_env: null, ship_code: false, storage_path: null}

Every run is validated before anything starts: an unknown key, an empty list or a value of
the wrong type is a one-line `ConfigError`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ConfigError
from ..registry import check_keys, format_validation_error
from ..utils.io import read_yaml_mapping
from .prune import build_pruner

__all__ = ["MAX_RUNS", "SweepSpec", "Trial", "load_spec", "config_hash"]

MAX_RUNS = 10_000  # runs (settings × seeds) in one sweep: every one is validated before the sweep starts
METRICS = ("val_loss", "val_acc", "val_ece", "train_loss", "train_acc", "test_loss", "test_acc", "test_ece", "best_val_loss")


class Range(BaseModel):
    """A random-search range: uniform in [low, high] (log-uniform with ``log: true``)."""

    model_config = ConfigDict(extra="forbid")
    low: float
    high: float
    log: bool = False
    int: bool = False

    @pydantic.model_validator(mode="after")
    def _check(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"a range needs low < high; got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0; got low={self.low}")
        return self

    def sample(self, rng: random.Random) -> float | int:
        if self.log:
            v = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            v = rng.uniform(self.low, self.high)
        return int(round(v)) if self.int else v


@dataclass(frozen=True)
class Trial:
    """One run of the sweep: its varied params, its seed and the full resolved config."""

    params: dict[str, Any]
    seed: int
    config: dict[str, Any]  # the resolved RunConfig as JSON-able dict
    hash: str


def config_hash(config: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit hash of a resolved run config (progress and name excluded)."""
    c = json.loads(json.dumps(config, sort_keys=True, default=str))
    c.pop("name", None)
    c.get("train", {}).pop("progress", None)
    c.get("train", {}).pop("checkpoint_every", None)  # how often a run saves itself does not change what it computes
    return hashlib.sha256(json.dumps(c, sort_keys=True).encode()).hexdigest()[:16]


def _set(cfg: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = cfg
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"sweep params: {key!r}: {p!r} is not a section")
    node[parts[-1]] = value


class RayOptions(BaseModel):
    """``executor: ray``: what each trial asks of the cluster, and how its code and files travel."""

    model_config = ConfigDict(extra="forbid")
    num_cpus: float = Field(1, gt=0)  # per trial (the trial trains with this many threads, at least 1)
    num_gpus: float = Field(0, ge=0)  # per trial
    runtime_env: dict[str, Any] | None = None  # Ray's runtime_env for the sweep's job (working_dir, py_modules, pip, env_vars)
    ship_code: bool = False  # add this initreg package to runtime_env.py_modules: workers need torch, not initreg
    storage_path: str | None = None  # a folder every node sees: run folders are written there (else sent to the driver)
    local_cpus: int | None = Field(None, ge=1)  # no address: the local instance's CPUs (default: workers, else CPU count)


class SweepSpec(BaseModel):
    """A validated sweep spec (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "sweep"
    base: dict[str, Any] = Field(default_factory=dict)  # a run config
    method: Literal["grid", "random", "tpe"] = "grid"
    params: dict[str, list[Any] | Range] = Field(default_factory=dict)
    trials: int = Field(10, ge=1, le=MAX_RUNS)  # random / tpe search: number of settings
    sample_seed: int = 0  # random / tpe search: seed of the sampler
    startup_trials: int = Field(10, ge=1)  # tpe: random settings before the model is used
    pruner: dict[str, Any] | None = None  # {name: median | successive_halving, **options}
    checkpoint_every: int = Field(1, ge=0)  # each run's checkpoint.pt every N epochs, unless its config sets it; 0: never
    seeds: int | list[int] = 1  # a count (0..N-1) or the seed values
    metric: str = "val_loss"
    mode: Literal["min", "max"] = "min"
    executor: Literal["local", "ray"] = "local"
    workers: int | None = Field(None, ge=1)
    address: str | None = None  # ray: "auto" or HOST:PORT (default: $RAY_ADDRESS, else start a local instance)
    ray: RayOptions = Field(default_factory=RayOptions)

    @pydantic.field_validator("seeds")
    @classmethod
    def _seeds(cls, v: int | list[int]) -> int | list[int]:
        if isinstance(v, int) and v < 1:
            raise ValueError(f"seeds must be >= 1 or a non-empty list; got seeds={v}")
        if isinstance(v, list) and (not v or len(set(v)) != len(v)):
            raise ValueError(f"seeds must be a non-empty list of distinct integers; got seeds={v}")
        return v

    @pydantic.field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        from ..utils.paths import safe_name

        try:
            return safe_name(v, "name")
        except ConfigError as e:
            raise ValueError(str(e)) from None  # pydantic reports it as `name: ...`

    @pydantic.field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}; got metric={v!r}")
        return v

    @pydantic.field_validator("method", mode="before")
    @classmethod
    def _method(cls, v: Any) -> Any:
        if v not in ("grid", "random", "tpe"):
            raise ValueError(f"method must be one of grid, random, tpe; got method={v!r}")
        return v

    @pydantic.field_validator("executor", mode="before")
    @classmethod
    def _executor(cls, v: Any) -> Any:
        if v not in ("local", "ray"):
            raise ValueError(f"executor must be one of local, ray; got executor={v!r}")
        return v

    def build_pruner(self):
        """The spec's pruner (`initreg.sweep.prune`), or None."""
        return None if self.pruner is None else build_pruner(self.pruner, metric=self.metric, mode=self.mode)

    @pydantic.model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if self.pruner is not None:
            try:
                self.build_pruner()
            except ConfigError as e:
                raise ValueError(str(e)) from None
            k = (self.base.get("train") or {}).get("seeds", 1) if isinstance(self.base.get("train"), Mapping) else 1
            if k != 1 or "train.seeds" in self.params:
                raise ValueError("a pruner judges single-seed runs; drop train.seeds from base/params (the sweep's "
                                 "seeds: key already runs each seed as its own run)")
        if not self.params:
            raise ValueError("params is empty: give at least one key with values, e.g. params: {train.lr: [0.01, 0.1]}")
        for k, v in self.params.items():
            if isinstance(v, list) and not v:
                raise ValueError(f"params: {k!r} has no values (an empty list); give at least one")
            if isinstance(v, Range) and self.method == "grid":
                raise ValueError(f"params: {k!r} is a range {{low, high}}, which needs method: random or tpe; grid needs a list")
            if k in ("seed", "train.seed", "name"):
                raise ValueError(f"params: {k!r} is set per run by the sweep; use seeds: instead")
        settings = self.trials if self.method != "grid" else math.prod(len(v) for v in self.params.values()
                                                                          if isinstance(v, list))
        runs = settings * (self.seeds if isinstance(self.seeds, int) else len(self.seeds))
        if runs > MAX_RUNS:
            raise ValueError(f"the sweep has {runs} runs ({settings} settings × seeds); at most {MAX_RUNS}")
        return self

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def combos(self) -> list[dict[str, Any]]:
        """The parameter settings (without seeds), in a deterministic order (tpe: chosen while the
        sweep runs; here, a random sample of the same size, to validate the runs up front)."""
        keys = list(self.params)
        if self.method == "grid":
            return [dict(zip(keys, vals)) for vals in itertools.product(*(self.params[k] for k in keys))]
        rng = random.Random(self.sample_seed)
        out = []
        for _ in range(self.trials):
            out.append({k: (v.sample(rng) if isinstance(v, Range) else rng.choice(v)) for k, v in self.params.items()})
        return out

    def expand(self) -> list[Trial]:
        """Every run (combo × seed), each config validated as a `RunConfig`."""
        return self.trials_for(self.combos())

    def trials_for(self, settings: list[dict[str, Any]]) -> list[Trial]:
        """The runs of ``settings`` (each × seeds), each config validated as a `RunConfig`."""
        from ..runs import load_config

        trials = []
        for params in settings:
            for s in self.seed_list:
                raw = json.loads(json.dumps(self.base))
                for k, v in params.items():
                    _set(raw, k, v)
                raw["seed"] = s
                raw.setdefault("train", {})["seed"] = s
                raw["train"].setdefault("progress", "none")
                try:
                    cfg = load_config(raw)
                except ConfigError as e:
                    where = ", ".join(f"{k}={v!r}" for k, v in params.items())
                    raise ConfigError(f"sweep {self.name!r}, run {where}: {e}") from None
                resolved = cfg.model_dump(mode="json")
                trials.append(Trial(params=params, seed=s, config=resolved, hash=config_hash(resolved)))
        return trials


def load_spec(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> SweepSpec:
    """A validated `SweepSpec` from a YAML file or a dict (``base: path.yaml`` is loaded)."""
    name = None
    if isinstance(source, Mapping):
        raw = dict(source)
        root = Path.cwd()
    else:
        p = Path(source)
        raw = read_yaml_mapping(p, "sweep spec")
        name, root = p.stem, p.parent
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if name and "name" not in raw:
        raw["name"] = name
    if isinstance(raw.get("base"), str):
        bp = (root / raw["base"]) if not Path(raw["base"]).is_absolute() else Path(raw["base"])
        raw["base"] = read_yaml_mapping(bp, "sweep base config")
    check_keys(raw, list(SweepSpec.model_fields), "sweep spec")
    try:
        spec = SweepSpec(**raw)
    except pydantic.ValidationError as e:
        raise ConfigError(f"sweep spec: {format_validation_error(e)}") from None
    spec.expand()  # validate every run now: bad keys/values fail before anything runs
    return spec
