"""Run a sweep: expand the spec (or, for ``method: tpe``, ask Optuna batch by batch), skip
finished runs, execute the rest with a local process pool or on Ray, record each result in
SQLite as it arrives, then draw the figure.

Each run's folder is ``runs/<hash>/``; it checkpoints every ``checkpoint_every`` epochs, so a
run that a killed sweep left unfinished continues from its last checkpoint when the sweep is
rerun (`initreg.runs.run` with ``resume_dir``), and ends as an uninterrupted run would. With a
pruner, each run reports its metric at every evaluation and stops at once when pruned
(`initreg.sweep.prune`). SIGINT/SIGTERM stop the sweep (`initreg.utils.procs.StopOnSignal`):
the workers are stopped, finished results are kept, and `Interrupted` is raised (exit 130
from the CLI); a second signal exits at once.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import socket
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..utils.procs import Interrupted, StopOnSignal
from .spec import SweepSpec, Trial, load_spec
from .store import FINISHED, Store

__all__ = ["run_sweep", "execute_trial", "sweep_dir"]

Done = Callable[[Trial, dict], None]


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


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return buf.getvalue()


def _unpack(data: bytes, parent: Path, name: str) -> Path:
    """Extract a run folder sent by a worker into ``parent/name`` (replacing an older copy)."""
    target = parent / name
    if target.exists():
        shutil.rmtree(target)
    parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12: refuse links and paths that leave `parent`
            tar.extractall(parent, filter="data")
        else:
            tar.extractall(parent)  # noqa: S202 - the archive comes from this sweep's own worker
    return target


def _checkpoint_epoch(run_dir: Path) -> int | None:
    """The epoch of the run folder's checkpoint, or None (no folder, no checkpoint, unreadable)."""
    from ..train.checkpoint import load_checkpoint

    ck = run_dir / "checkpoint.pt"
    if not ((run_dir / "config.yaml").is_file() and ck.is_file()):
        return None
    try:
        return int(load_checkpoint(ck)["epoch"])
    except Exception:  # a checkpoint cut short: start the run again
        return None


def execute_trial(config: dict[str, Any], runs_dir: str, name: str, threads: int | None = 1, *, judge: Any = None,
                  checkpoint_every: int = 0, pack: bool = False) -> dict[str, Any]:
    """Run one trial (in a worker) and return its outcome; never raises.

    The run folder is ``runs_dir/name``; a checkpoint there (left by a killed sweep) is
    resumed. ``judge``: the sweep's `initreg.sweep.judge.Judge` (the run reports to it and
    stops when pruned). ``pack``: train in a temporary folder and return the run folder as
    bytes (``files``) for the driver to unpack — for workers that do not share its disk."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    os.environ.setdefault("MPLBACKEND", "Agg")
    t0 = time.perf_counter()
    host = socket.gethostname()
    tmp = tempfile.mkdtemp(prefix="initreg-trial-") if pack else None
    try:
        from ..runs import load_config, run
        from .prune import Reporter

        cfg = {**config, "name": name, "train": dict(config.get("train") or {})}
        if checkpoint_every and not cfg["train"].get("checkpoint_every"):
            cfg["train"]["checkpoint_every"] = checkpoint_every
        out = Path(tmp or runs_dir)
        run_dir = out / name
        resumed = _checkpoint_epoch(run_dir)
        cbs = [Reporter(judge, name, judge.pruner.metric)] if judge is not None else []
        res = run(load_config(cfg), out, callbacks=cbs, resume_dir=run_dir if resumed is not None else None)
        h = res.history
        m = _metrics(h)
        status = "diverged" if h.diverged else "done"
        if cbs and cbs[0].pruned:
            status = "pruned"
            m.update(cbs[0].pruned)
        if resumed is not None:
            m["resumed_epoch"] = resumed
        out_res = {"status": status, "metrics": m, "seconds": time.perf_counter() - t0, "run_dir": str(res.dir),
                   "host": host}
        if pack:
            out_res["files"] = _pack(res.dir)
        return out_res
    except Exception as e:  # a failing run is recorded; the sweep goes on
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "seconds": time.perf_counter() - t0, "host": host}
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _start_worker(parent_pid: int, stop) -> None:
    """A pool worker's initializer: exit with the parent (or on its stop event), one thread."""
    import torch

    from ..utils.procs import guard_worker

    guard_worker(parent_pid, stop)
    torch.set_num_threads(1)  # one intra-op thread per worker: W one-thread processes beat one W-thread process
    os.environ.setdefault("MPLBACKEND", "Agg")


class _Local:
    """A local process pool (or, with one worker, this process), kept open across batches."""

    def __init__(self, workers: int, runs_dir: str, judge: Any, checkpoint_every: int):
        self.workers, self.runs_dir, self.judge, self.ck = workers, runs_dir, judge, checkpoint_every
        self.pool: Any = None

    def __enter__(self) -> _Local:
        if self.workers > 1:
            import concurrent.futures as cf
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            self.stop = ctx.Event()  # set on an interrupt: the workers exit instead of finishing their runs
            self.pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_start_worker,
                                               initargs=(os.getpid(), self.stop))
        return self

    def __exit__(self, exc_type, *exc: Any) -> None:
        if self.pool is not None:
            if exc_type is not None:  # interrupted or failed: drop queued runs, stop the running ones
                self.stop.set()
                self.pool.shutdown(wait=False, cancel_futures=True)
            else:
                self.pool.shutdown()

    def run(self, todo: list[Trial], store: Store, done: Done, sig: StopOnSignal) -> None:
        if self.pool is None:
            for t in todo:
                if sig.requested:
                    raise Interrupted(sig.signal_name or "interrupt")
                store.start(t.hash)
                done(t, execute_trial(t.config, self.runs_dir, t.hash, threads=None, judge=self.judge,
                                      checkpoint_every=self.ck))
            return
        import concurrent.futures as cf

        futs = {}
        for t in todo:
            store.start(t.hash)
            futs[self.pool.submit(execute_trial, t.config, self.runs_dir, t.hash, judge=self.judge,
                                  checkpoint_every=self.ck)] = t
        while futs:
            ready, _ = cf.wait(futs, timeout=0.2, return_when=cf.FIRST_COMPLETED)
            if sig.requested:
                raise Interrupted(sig.signal_name or "interrupt")
            for f in ready:
                t = futs.pop(f)
                try:
                    res = f.result()
                except Exception as e:  # the worker process died
                    res = {"status": "failed", "error": f"worker failed: {type(e).__name__}: {e}"}
                done(t, res)


class _RemoteJudge:
    """A `Judge` running as a Ray actor on the driver's node (pickled into each task)."""

    def __init__(self, actor: Any, pruner: Any):
        self.actor, self.pruner = actor, pruner

    def report(self, trial: str, epoch: int, step: int, value: float) -> bool:
        import ray

        return ray.get(self.actor.report.remote(trial, epoch, step, value))


def ray_init_kwargs(spec: SweepSpec, address: str | None, workers: int | None) -> dict[str, Any]:
    """`ray.init`'s arguments: connect to ``address`` (or ``$RAY_ADDRESS``) without asking for
    CPUs — a running cluster has its own — or start a local instance of ``ray.local_cpus``
    (default: ``workers``, else the CPU count) CPUs.

    >>> from initreg.sweep import load_spec
    >>> spec = load_spec({"base": {"data": {"name": "digits"}}, "params": {"train.lr": [0.1]},
    ...                   "ray": {"runtime_env": {"env_vars": {"A": "1"}}}})
    >>> kw = ray_init_kwargs(spec, "auto", None)
    >>> kw["address"], "num_cpus" in kw, kw["runtime_env"]
    ('auto', False, {'env_vars': {'A': '1'}})
    >>> ray_init_kwargs(spec, None, 2)["address"], ray_init_kwargs(spec, None, 2)["num_cpus"]
    ('local', 2)
    """
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        kw["address"] = address
    else:
        kw["address"] = "local"  # a new local instance, even where a cluster is discoverable
        kw["num_cpus"] = spec.ray.local_cpus or workers or os.cpu_count() or 1
        if spec.ray.num_gpus:
            import torch

            kw["num_gpus"] = torch.cuda.device_count()
    env = dict(spec.ray.runtime_env or {})
    if spec.ray.ship_code:
        import initreg

        env["py_modules"] = [*env.get("py_modules", []), str(Path(initreg.__file__).parent)]
    if env:
        kw["runtime_env"] = env
    return kw


class _Ray:
    """Trials as Ray tasks with the spec's ``num_cpus``/``num_gpus``; run folders written to
    ``ray.storage_path`` or sent back to the driver."""

    def __init__(self, spec: SweepSpec, runs_dir: str, judge: Any, address: str | None, workers: int | None):
        self.spec, self.runs_dir, self.judge, self.address, self.workers = spec, runs_dir, judge, address, workers
        self.started_here = False

    def __enter__(self) -> _Ray:
        from ..utils.optional import require

        ray = self.ray = require("ray", extra="ray")
        if not ray.is_initialized():
            ray.init(**ray_init_kwargs(self.spec, self.address, self.workers))
            self.started_here = True
        o = self.spec.ray
        self.threads = max(1, int(o.num_cpus))
        self.remote = ray.remote(num_cpus=o.num_cpus, num_gpus=o.num_gpus, max_retries=0)(execute_trial)
        self.storage = None
        if o.storage_path:
            self.storage = str(Path(o.storage_path).expanduser().absolute() / self.spec.name / "runs")  # not the worker's cwd
        self.remote_judge = None
        if self.judge is not None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            from .judge import Judge

            here = ray.get_runtime_context().get_node_id()  # the database is on the driver's disk
            actor = ray.remote(num_cpus=0)(Judge).options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False)).remote(self.judge.pruner, self.judge.db)
            self.remote_judge = _RemoteJudge(actor, self.judge.pruner)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started_here:
            self.ray.shutdown()

    def run(self, todo: list[Trial], store: Store, done: Done, sig: StopOnSignal) -> None:
        ray = self.ray
        pending = {}
        for t in todo:
            store.start(t.hash)
            ref = self.remote.remote(t.config, self.storage or self.runs_dir, t.hash, self.threads,
                                     judge=self.remote_judge, checkpoint_every=self.spec.checkpoint_every,
                                     pack=self.storage is None)
            pending[ref] = t
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                if sig.requested:
                    raise Interrupted(sig.signal_name or "interrupt")
                for ref in ready:
                    t = pending.pop(ref)
                    try:
                        res = ray.get(ref)
                    except Exception as e:  # the task or its worker died
                        res = {"status": "failed", "error": f"ray task failed: {type(e).__name__}: {e}"}
                    files = res.pop("files", None)
                    if files is not None:
                        res["run_dir"] = str(_unpack(files, Path(self.runs_dir), t.hash))
                    done(t, res)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise


def _settings(spec: SweepSpec, store: Store, batch: int) -> Iterator[list[Trial]]:
    """Batches of runs: grid/random all at once; tpe ``batch`` settings at a time, each told to
    Optuna (from the database) before the next batch is asked."""
    if spec.method != "tpe":
        yield spec.expand()
        return
    from .search import TpeSearch

    search = TpeSearch(spec)
    asked = 0
    while asked < spec.trials:
        handles = search.ask(min(batch, spec.trials - asked))
        asked += len(handles)
        yield [t for _, params in handles for t in spec.trials_for([params])]
        for handle, params in handles:
            rows = store.rows([t.hash for t in spec.trials_for([params])])
            search.tell(handle, [r["metrics"].get(spec.metric) if r["status"] in FINISHED else None for r in rows])


def run_sweep(spec: SweepSpec | str | Path | dict, out: str | Path = "sweeps", *, executor: str | None = None,
              workers: int | None = None, address: str | None = None, figure: bool = True,
              on_result: Callable[[Trial, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a sweep; returns ``{"dir", "db", "total", "skipped", "ran", "status": {...}}``.

    Finished runs (``done``/``diverged``/``pruned``) in the database are skipped; ``pending``,
    ``running`` (from a killed sweep: resumed from their checkpoint) and ``failed`` runs are run again.
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    executor = executor or spec.executor
    if executor not in ("local", "ray"):
        raise ConfigError(f"executor must be 'local' or 'ray'; got executor={executor!r}")
    workers = workers or spec.workers
    address = address or spec.address
    d = sweep_dir(spec, out)
    d.mkdir(parents=True, exist_ok=True)
    (d / "spec.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    store = Store(d / "sweep.db")
    try:
        store.set_meta("spec", spec.model_dump(mode="json"))
        runs_dir = str((d / "runs").resolve())
        pruner = spec.build_pruner()
        judge = None
        if pruner is not None:
            from .judge import Judge

            judge = Judge(pruner, str(store.path.resolve()))
        hashes: list[str] = []
        seen: set[str] = set()
        ran = 0

        def done(t: Trial, res: dict[str, Any]) -> None:
            store.finish(t.hash, res)
            if on_result:
                on_result(t, res)

        if executor == "local":
            n = workers or os.cpu_count() or 1
            ex: Any = _Local(n, runs_dir, judge, spec.checkpoint_every)
            batch = n
        else:
            ex = _Ray(spec, runs_dir, judge, address, workers)
            batch = workers or 1
        in_process = executor == "local" and batch <= 1  # a signal interrupts the run in this process at once

        def stop_workers() -> None:
            if getattr(ex, "pool", None) is not None:
                ex.stop.set()

        with ex, StopOnSignal(on_exit_now=stop_workers, raise_first=in_process) as sig:
            for trials in _settings(spec, store, batch):
                store.add(trials, start=len(hashes))
                todo = []
                for t in trials:
                    if t.hash in seen:
                        continue
                    seen.add(t.hash)
                    hashes.append(t.hash)
                    if store.status(t.hash) not in FINISHED:
                        todo.append(t)
                if todo:
                    try:
                        ex.run(todo, store, done, sig)
                        if sig.requested:
                            raise Interrupted(sig.signal_name or "interrupt")
                    except Interrupted as e:
                        n_done = sum(r["status"] in FINISHED for r in store.rows(hashes))
                        raise Interrupted(f"{e}: stopped with {n_done} of {len(hashes)} runs finished; rerun the "
                                          "sweep to resume") from None
                    ran += len(todo)
        rows = store.rows(hashes)
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        fig = None
        if figure and any(r["status"] in FINISHED for r in rows):
            from .figure import plot_sweep

            plot_sweep(rows, spec.metric, d / "sweep.png", params=list(spec.params))
            fig = d / "sweep.png"
        return {"dir": d, "db": store.path, "total": len(seen), "skipped": len(seen) - ran, "ran": ran,
                "status": counts, "figure": fig}
    finally:
        store.close()

