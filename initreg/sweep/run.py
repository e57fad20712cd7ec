"""Run a sweep: expand the spec, skip finished runs, execute the rest with a local process
pool or on Ray, record each result in SQLite as it arrives, then draw the figure."""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .spec import SweepSpec, Trial, load_spec
from .store import FINISHED, Store

__all__ = ["run_sweep", "execute_trial", "sweep_dir"]


def sweep_dir(spec: SweepSpec, out: str | Path = "sweeps") -> Path:
    return Path(out) / spec.name


def _metrics(h) -> dict[str, Any]:
    last = h.last
    m: dict[str, Any] = {k: v for k, v in last.items() if k.startswith(("train_", "val_")) and isinstance(v, (int, float))}
    for k, v in (h.test or {}).items():
        m[f"test_{k}"] = v
    vals = [r["val_loss"] for r in h.records if "val_loss" in r and not math.isnan(r["val_loss"])]
    if vals:
        m["best_val_loss"] = min(vals)
    m["steps"], m["epochs"] = h.steps, h.epochs
    if h.diverged:
        m["diverged_step"] = h.diverged_step
    return m


def execute_trial(config: dict[str, Any], runs_dir: str, name: str, threads: int | None = 1) -> dict[str, Any]:
    """Run one trial (in a worker) and return its outcome; never raises."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    os.environ.setdefault("MPLBACKEND", "Agg")
    t0 = time.perf_counter()
    host = socket.gethostname()
    try:
        from ..runs import load_config, run

        res = run(load_config({**config, "name": name}), runs_dir)
        h = res.history
        return {"status": "diverged" if h.diverged else "done", "metrics": _metrics(h),
                "seconds": time.perf_counter() - t0, "run_dir": str(res.dir), "host": host}
    except Exception as e:  # a failing run is recorded; the sweep goes on
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "seconds": time.perf_counter() - t0, "host": host}


def _start_worker(parent_pid: int, stop) -> None:
    """A pool worker's initializer: exit with the parent (or on its stop event), one thread."""
    from ..utils.procs import guard_worker

    guard_worker(parent_pid, stop)
    _init_worker()


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one intra-op thread per worker: W one-thread processes beat one W-thread process
    os.environ.setdefault("MPLBACKEND", "Agg")


def _local(todo: list[Trial], store: Store, runs_dir: str, workers: int, done: Callable[[Trial, dict], None]) -> None:
    if workers <= 1:
        for t in todo:
            store.start(t.hash)
            done(t, execute_trial(t.config, runs_dir, t.hash, threads=None))
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    stop = ctx.Event()  # set on an interrupt: the workers exit instead of finishing their runs
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker,
                                initargs=(os.getpid(), stop)) as pool:
        try:
            futs = {}
            for t in todo:
                store.start(t.hash)
                futs[pool.submit(execute_trial, t.config, runs_dir, t.hash)] = t
            for f in cf.as_completed(futs):
                t = futs[f]
                try:
                    res = f.result()
                except Exception as e:  # the worker process died
                    res = {"status": "failed", "error": f"worker failed: {type(e).__name__}: {e}"}
                done(t, res)
        except BaseException:  # Ctrl-C: finished runs are in the database; a rerun resumes
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _ray(todo: list[Trial], store: Store, runs_dir: str, workers: int | None, address: str | None,
         done: Callable[[Trial, dict], None]) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError("executor 'ray' needs Ray: pip install 'initreg[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            kw["address"] = address
        else:
            kw["num_cpus"] = workers or os.cpu_count() or 1
        ray.init(**kw)
    try:
        remote = ray.remote(num_cpus=1)(execute_trial)
        pending = {}
        for t in todo:
            store.start(t.hash)
            pending[remote.remote(t.config, runs_dir, t.hash, 1)] = t
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                t = pending.pop(ref)
                try:
                    res = ray.get(ref)
                except Exception as e:  # the task or its worker died
                    res = {"status": "failed", "error": f"ray task failed: {type(e).__name__}: {e}"}
                done(t, res)
    finally:
        if started_here:
            ray.shutdown()


def run_sweep(spec: SweepSpec | str | Path | dict, out: str | Path = "sweeps", *, executor: str | None = None,
              workers: int | None = None, address: str | None = None, figure: bool = True,
              on_result: Callable[[Trial, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a sweep; returns ``{"dir", "db", "total", "skipped", "ran", "status": {...}}``.

    Finished runs (``done``/``diverged``) in the database are skipped; ``pending``,
    ``running`` (from a killed sweep) and ``failed`` runs are run again.
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    executor = executor or spec.executor
    if executor not in ("local", "ray"):
        raise ConfigError(f"executor must be 'local' or 'ray'; got executor={executor!r}")
    workers = workers or spec.workers
    address = address or spec.address
    trials = spec.expand()
    d = sweep_dir(spec, out)
    d.mkdir(parents=True, exist_ok=True)
    (d / "spec.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    store = Store(d / "sweep.db")
    try:
        store.set_meta("spec", spec.model_dump(mode="json"))
        store.add(trials)
        seen: set[str] = set()
        todo = []
        for t in trials:
            if t.hash in seen:
                continue
            seen.add(t.hash)
            if store.status(t.hash) not in FINISHED:
                todo.append(t)
        runs_dir = str((d / "runs").resolve())

        def done(t: Trial, res: dict[str, Any]) -> None:
            store.finish(t.hash, res)
            if on_result:
                on_result(t, res)

        if todo:
            if executor == "local":
                n = workers or os.cpu_count() or 1
                _local(todo, store, runs_dir, min(n, len(todo)), done)
            else:
                _ray(todo, store, runs_dir, workers, address, done)
        rows = store.rows([t.hash for t in trials])
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        fig = None
        if figure and any(r["status"] in FINISHED for r in rows):
            from .figure import plot_sweep

            plot_sweep(rows, spec.metric, d / "sweep.png", params=list(spec.params))
            fig = d / "sweep.png"
        return {"dir": d, "db": store.path, "total": len(seen), "skipped": len(seen) - len(todo), "ran": len(todo),
                "status": counts, "figure": fig}
    finally:
        store.close()
