"""``initreg sweep`` and ``initreg results``."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import typer

from .app import app, console
from .tables import new_table


@app.command("sweep")
def sweep_cmd(
    spec: Path = typer.Argument(..., help="Sweep spec (YAML): base config, params (grid lists / random ranges), seeds."),
    executor: str | None = typer.Option(None, "--executor", "-e", help="local (a process pool) or ray (default: the spec's, else local)."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster: auto or HOST:PORT (default: start a local Ray)."),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Local worker processes, one thread each (default: CPU count)."),
    out: Path = typer.Option(Path("sweeps"), "--out", "-o", help="Parent folder of the sweep folder (OUT/NAME/sweep.db)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate the spec and list the runs; run nothing."),
) -> None:
    """Run a grid, random or TPE (Optuna) search over any config keys × seeds; results go to SQLite.

    Each run is one row of OUT/NAME/sweep.db (config hash, config, status, metrics, timings,
    run folder). Rerunning skips finished runs and resumes unfinished ones from their last
    checkpoint, so a killed sweep loses no finished result. Diverged runs are recorded as
    diverged; with a pruner (median, successive_halving) bad runs stop early as pruned. At the end
    OUT/NAME/sweep.png shows the metric against each swept parameter (mean ± 95% CI over seeds).

    Example: initreg sweep sweep.yaml --workers 2   (then: initreg results sweeps/NAME)
    """
    from ..sweep import load_spec, run_sweep
    from ..sweep.run import sweep_dir
    from ..utils.paths import validate_out_dir

    s = load_spec(spec)
    if not dry_run:
        validate_out_dir(out, "--out")
        validate_out_dir(sweep_dir(s, out), "--out/name")
        _check_models(s)
    if dry_run and s.method == "tpe":
        console.print(f"sweep {s.name!r}: {s.trials * len(s.seed_list)} runs ({s.trials} settings chosen by TPE while "
                      f"it runs × {len(s.seed_list)} seeds), executor {executor or s.executor}", highlight=False)
        return
    if dry_run:
        trials = s.expand()
        console.print(f"sweep {s.name!r}: {len(trials)} runs ({len(s.combos())} settings × {len(s.seed_list)} seeds), "
                      f"method {s.method}, executor {executor or s.executor}")
        for t in trials[:20]:
            console.print(f"  {t.hash}  seed={t.seed}  {t.params}", highlight=False)
        if len(trials) > 20:
            console.print(f"  ... {len(trials) - 20} more")
        return

    def show(t, res) -> None:
        style = {"done": "green", "diverged": "yellow", "pruned": "yellow"}.get(res["status"], "red")
        m = res.get("metrics") or {}
        v = m.get(s.metric)
        extra = f"{s.metric}={v:.4g}" if isinstance(v, float) else res.get("error", "")
        if "pruned_epoch" in m:
            extra += f" (pruned at epoch {m['pruned_epoch']})"
        if "resumed_epoch" in m:
            extra += f" (resumed from the checkpoint of epoch {m['resumed_epoch']})"
        console.print(f"[{style}]{res['status']:>8}[/] seed={t.seed} {t.params} {extra}", highlight=False)

    r = run_sweep(s, out, executor=executor, workers=workers, address=address, on_result=show)
    console.print(f"sweep {s.name!r}: {r['total']} runs, {r['skipped']} already finished, {r['ran']} run now; "
                  f"status {r['status']}")
    console.print(f"database: {r['db']}" + (f"  figure: {r['figure']}" if r["figure"] else ""))


def _check_models(spec) -> None:
    """Every distinct model of the sweep fits in memory (built on the meta device)."""

    from ..data import load_data
    from .checks import check_model_size

    shapes: dict[str, tuple] = {}
    seen: set[str] = set()
    for t in spec.expand():
        key = json.dumps([t.config["data"], t.config["model"]], sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        dkey = json.dumps(t.config["data"], sort_keys=True, default=str)
        if dkey not in shapes:
            d = load_data(t.config["data"])
            shapes[dkey] = (d.input_shape, d.num_outputs)
        check_model_size(t.config["model"], *shapes[dkey])


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)


@app.command("results")
def results_cmd(
    sweep: Path = typer.Argument(..., help="A sweep folder (with sweep.db), its .db file, or its YAML spec."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write one row per run to this CSV file."),
    metric: str | None = typer.Option(None, "--metric", "-m", help="Metric for the summary and figure (default: the spec's)."),
    figure: Path | None = typer.Option(None, "--figure", help="Also draw the figure to this PNG."),
) -> None:
    """Print a sweep's runs and a summary (mean ± 95% CI over seeds per setting), or export them.

    Example: initreg results sweeps/lr-x-init --csv results.csv
    """
    from ..errors import ConfigError
    from ..sweep import open_store, plot_sweep
    from ..sweep.figure import aggregate
    from ..utils.paths import validate_out_file

    if csv_path is not None:
        validate_out_file(csv_path, "--csv")
    if figure is not None:
        validate_out_file(figure, "--figure")
    store = open_store(sweep)
    try:
        rows = store.rows()
        spec = store.meta("spec", {}) or {}
    finally:
        store.close()
    metric = metric or spec.get("metric", "val_loss")
    params = list(spec.get("params") or sorted({k for r in rows for k in r["params"]}))
    mkeys = sorted({k for r in rows for k in r["metrics"]})
    if metric not in mkeys and rows and any(r["status"] == "done" for r in rows):
        raise ConfigError(f"--metric {metric!r} is not recorded; recorded metrics: {', '.join(mkeys)}")
    if csv_path is not None:
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["hash", *params, "seed", "status", *mkeys, "seconds", "run_dir", "error"])
            for r in rows:
                w.writerow([r["hash"], *[json.dumps(r["params"].get(p)) if isinstance(r["params"].get(p), (list, dict))
                                         else r["params"].get(p) for p in params], r["seed"], r["status"],
                            *[r["metrics"].get(k) for k in mkeys], r["seconds"], r["run_dir"], r["error"]])
        console.print(f"wrote {len(rows)} rows to {csv_path}")
        return
    t = new_table(f"runs ({len(rows)})", *params, "seed", "status", metric, "epochs", "s", right=(metric, "epochs", "s"))
    for r in rows:
        st = {"done": "green", "diverged": "yellow", "pruned": "yellow"}.get(r["status"], "red")
        t.add_row(*[_fmt(r["params"].get(p)) for p in params], str(r["seed"]), f"[{st}]{r['status']}[/]",
                  _fmt(r["metrics"].get(metric)), _fmt(r["metrics"].get("epochs")), _fmt(r["seconds"]))
    console.print(t)
    s = new_table(f"{metric}: mean ± 95% CI over seeds", *params, "seeds", "mean", "± CI", "diverged", "pruned",
                  right=("mean", "± CI"))
    for a in aggregate(rows, metric):
        st = a["stat"]
        s.add_row(*[_fmt(a["params"].get(p)) for p in params], str(a["n"]), _fmt(st["mean"]) if st else "",
                  _fmt(st["ci"]) if st else "", str(a["diverged"]), str(a["pruned"]))
    console.print(s)
    if figure is not None:
        plot_sweep(rows, metric, figure, params=params)
        console.print(f"figure: {figure}")
