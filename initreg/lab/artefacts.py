"""Trained models that several claims share: train once per seed, reuse from disk.

Several claims train the same baseline (the same model, data and training config, seed by
seed) and judge different things on it — R1 and R12 both compare against the plain
overfitting MLP of `initreg.lab.claims._overfit`. `shared_models` trains such a baseline
once per seed and caches each seed's trained weights in the lab's ``OUT/artefacts`` folder,
keyed by a hash of everything that determines them: the caller's ``spec`` (model, data and
training config), the seed and `initreg.lab.experiment.library_hash` (a library edit
retrains). Training is deterministic given that key, so a claim that loads the weights
measures exactly what it would have trained. Without a cache folder (``ctx.artefacts`` is
None, e.g. a claim called directly in a test) every call trains.

>>> import tempfile, torch
>>> from pathlib import Path
>>> def build(seed): return torch.nn.Linear(2, 1)
>>> def train(models, seeds):
...     for m, s in zip(models, seeds): torch.nn.init.constant_(m.weight, float(s))
>>> d = Path(tempfile.mkdtemp())
>>> ms, info = shared_models(d, "demo", {"lr": 1}, [3, 4], build, train)
>>> info, ms[1].weight.detach()[0, 0].item()
({'cached': 0, 'trained': 2}, 4.0)
>>> ms, info = shared_models(d, "demo", {"lr": 1}, [4, 5], build, train)
>>> info, ms[0].weight.detach()[0, 0].item()
({'cached': 1, 'trained': 1}, 4.0)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .experiment import library_hash

__all__ = ["artefact_key", "shared_models"]


def artefact_key(name: str, spec: Mapping[str, Any], seed: int) -> str:
    """The cache key of seed ``seed``'s ``name`` artefact trained as ``spec`` with this library."""
    blob = json.dumps({"name": name, "spec": spec, "seed": seed, "library": library_hash()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def shared_models(folder: Path | None, name: str, spec: Mapping[str, Any], seeds: Sequence[int],
                  build: Callable[[int], nn.Module], train: Callable[[list[nn.Module], list[int]], Any]
                  ) -> tuple[list[nn.Module], dict[str, int]]:
    """Seed by seed, ``build(seed)`` with the weights cached in ``folder`` under
    `artefact_key`, or, for the seeds not cached, trained by one ``train(models, seeds)``
    call (e.g. `fit_seeds`, stacked) and then cached. Returns the models (in ``seeds`` order)
    and how many were ``cached`` / ``trained``."""
    models = [build(s) for s in seeds]
    paths = [None if folder is None else Path(folder) / f"{name}-seed{s}-{artefact_key(name, spec, s)}.pt"
             for s in seeds]
    todo = []
    for i, (m, p) in enumerate(zip(models, paths)):
        if p is not None and p.exists():
            try:
                m.load_state_dict(torch.load(p, map_location="cpu", weights_only=True))
                continue
            except Exception:  # unreadable (half-written by a killed run, another format): retrain
                pass
        todo.append(i)
    if todo:
        train([models[i] for i in todo], [seeds[i] for i in todo])
        for i in todo:
            p = paths[i]
            if p is not None:
                p.parent.mkdir(parents=True, exist_ok=True)
                tmp = p.with_suffix(f".{os.getpid()}.tmp")
                torch.save(models[i].state_dict(), tmp)
                os.replace(tmp, p)  # atomic: a claim running beside this one never reads half a file
    return models, {"cached": len(seeds) - len(todo), "trained": len(todo)}
