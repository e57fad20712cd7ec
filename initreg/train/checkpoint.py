"""Checkpoints of a `fit` run at an epoch boundary, and the live record of a run folder.

A checkpoint holds everything the rest of the run depends on: the model, optimizer,
scheduler and loss-scaler states, the random streams (batch order, the model's dropout RNG,
the callbacks' generators), the epoch and step, and the history so far. `fit` resumed from
it continues exactly where the run was: on the CPU the final weights and metrics are
bit-identical to an uninterrupted run (wall-clock ``seconds`` aside). Only tensors, numbers,
strings and plain containers are stored, so it loads with ``torch.load(weights_only=True)``.
A callback's own memory (e.g. early stopping's best value) is not in it.

`LiveRecord` rewrites ``history.csv`` and ``metrics.json`` atomically at every evaluation, so a
killed run leaves its curves so far.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..utils.io import atomic_write, write_json, write_text
from .callbacks import Callback, TrainState

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint", "restore", "LiveRecord"]

CHECKPOINT_FORMAT = 1


def _state_dict(obj: Any) -> Any:
    return None if obj is None else obj.state_dict()


def save_checkpoint(path: str | Path, state: TrainState, data_order: torch.Generator, *,
                    loader: torch.Generator | None = None) -> Path:
    """Write the run's state at the end of epoch ``state.epoch`` (atomically); ``loader``: a
    streamed DataLoader's own generator, if it has one."""
    ck = {
        "format": CHECKPOINT_FORMAT, "epoch": state.epoch, "step": state.step,
        "model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
        "scheduler": _state_dict(state.scheduler), "scaler": _state_dict(state.scaler),
        "data_order": data_order.get_state(), "model_noise": torch.get_rng_state(),
        "generator": state.generator.get_state(),
        "streams": [g.get_state() for g in state.streams.values()],
        "records": [dict(r) for r in state.history.records],
        "loader": None if loader is None else loader.get_state(),
    }
    return atomic_write(path, functools.partial(torch.save, ck))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by `save_checkpoint` (loaded with ``weights_only=True``)."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ck, Mapping) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an initreg checkpoint of format {CHECKPOINT_FORMAT}")
    return dict(ck)


def restore(ck: Mapping[str, Any], state: TrainState, data_order: torch.Generator, *,
            loader: torch.Generator | None = None) -> None:
    """Put a checkpoint's state back into a freshly set-up `fit` (inside its RNG fork)."""
    state.model.load_state_dict(ck["model"])
    state.optimizer.load_state_dict(ck["optimizer"])
    if state.scheduler is not None and ck["scheduler"] is not None:
        state.scheduler.load_state_dict(ck["scheduler"])
    if state.scaler is not None and ck["scaler"] is not None:
        state.scaler.load_state_dict(ck["scaler"])
    data_order.set_state(ck["data_order"])
    if loader is not None and ck.get("loader") is not None:
        loader.set_state(ck["loader"])
    torch.set_rng_state(ck["model_noise"])
    state.generator.set_state(ck["generator"])
    gens = list(state.streams.values())
    if len(gens) != len(ck["streams"]):
        raise ValueError(f"the checkpoint has {len(ck['streams'])} callback streams but this run has {len(gens)} "
                         "callbacks: resume with the run's own config")
    for g, s in zip(gens, ck["streams"]):
        g.set_state(s)
    state.epoch, state.step = int(ck["epoch"]), int(ck["step"])
    state.history.records[:] = [dict(r) for r in ck["records"]]


class LiveRecord(Callback):
    """Rewrite ``run_dir/history.csv`` and ``run_dir/metrics.json`` (``status: running``) at
    every evaluation, atomically."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)

    def on_evaluate(self, state: TrainState, record: dict[str, Any]) -> None:
        hist = state.history
        rows = [*hist.records, record]  # fit appends the record after its callbacks ran
        keys: list[str] = []
        for r in rows:
            keys += [k for k in r if k not in keys]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
        write_text(self.run_dir / "history.csv", buf.getvalue())
        write_json(self.run_dir / "metrics.json", {"status": "running", "epochs": state.epoch, "steps": state.step,
                                                   "final": record})
