"""Notebook use: no backend switch on import, figures returned, reports as text and HTML tables."""

from __future__ import annotations

import json
import subprocess
import sys

import torch
from torch import nn

from initreg.data import Splits
from initreg.init import initialize
from initreg.lab import LabResults
from initreg.probe import probe
from initreg.train import fit


def test_importing_initreg_keeps_the_backend_and_open_figures():
    """A notebook's backend and figures survive initreg's import and its plots (Agg used to close them)."""
    code = """
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
mine = plt.figure()
import initreg, initreg.plot, initreg.probe, initreg.train
from initreg.train.history import History
fig = initreg.plot.plot_history(History(records=[{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2}]))
print(matplotlib.get_backend(), plt.get_fignums() == [mine.number], type(fig).__name__, fig.number if hasattr(fig, "number") else None)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "/usr/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["svg", "True", "Figure", "None"], r.stdout  # the figure is not registered with pyplot


def test_plot_functions_return_the_figure_and_save_only_when_asked(tmp_path):
    from initreg.plot import plot_history
    from initreg.probe import plot_profile
    from initreg.train.history import History

    h = History(records=[{"epoch": i, "train_loss": 1 / i, "val_loss": 1.1 / i, "val_acc": 0.5} for i in (1, 2, 3)])
    fig = plot_history(h, title="mlp")
    assert [ax.get_title() for ax in fig.axes] == ["mlp loss", "mlp accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 1]
    assert not list(tmp_path.iterdir())
    fig2 = plot_history(h, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG" and fig2.axes
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    rep = probe(net, torch.randn(32, 4), torch.randint(0, 2, (32,)))
    f = plot_profile(rep, tmp_path / "p.png")
    assert (tmp_path / "p.png").exists() and len(f.axes) == 2


def _reports():
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    init = initialize(net, "kaiming_normal", generator=g)
    x, y = torch.randn(64, 4, generator=g), torch.randint(0, 3, (64,), generator=g)
    rep = probe(net, x, y)
    hist = fit(net, Splits("toy", x, y, x, y, x, y, 3), {"epochs": 25, "progress": "none"})
    return init, rep, hist


def test_reports_print_as_tables_and_render_as_html():
    init, rep, hist = _reports()
    s = str(rep)
    lines = s.splitlines()
    assert lines[0] == "signal propagation, layer by layer"
    assert lines[1].split()[:3] == ["#", "layer", "act"] and lines[3].split()[:3] == ["1", "0", "ReLU"]
    assert s.splitlines()[-2].startswith("verdict: " + rep.label)
    html = rep._repr_html_()
    assert html.count("<tr>") == 1 + len(rep.layers) and "<th>fwd ×</th>" in html

    hs = str(hist).splitlines()
    assert hs[0] == "training history (25 evaluations)"
    assert hs[1].split()[:3] == ["epoch", "step", "train_loss"]
    assert "…" in hs[13] and len(hs) == 3 + 21 + 2  # 10 first, an ellipsis, 10 last; then epochs and test lines
    assert hs[-1].startswith("test: loss=")
    assert hist._repr_html_().count("<tr>") == 1 + 21

    assert init._repr_html_().count("<tr>") == 1 + len(init) and "kaiming_normal" in init._repr_html_()


def test_html_cells_are_escaped():
    net = nn.Sequential()
    net.add_module("a<b>", nn.Linear(4, 4))
    rep = probe(net, torch.randn(16, 4))
    assert "a&lt;b&gt;" in rep._repr_html_() and "<b>\n" not in rep._repr_html_()


def test_lab_results_load_and_print(tmp_path):
    recs = [{"claim": "C1", "title": "deep nets need the right init", "verdict": "holds", "seeds": [0, 1, 2],
             "seconds": 12.3},
            {"claim": "C2", "title": "broken", "status": "error", "error": "ValueError: x", "seconds": 0.2}]
    (tmp_path / "results.json").write_text(json.dumps({"format": 2, "claims": recs}))
    res = LabResults.load(tmp_path)
    assert res == recs
    rows = str(res).splitlines()
    assert rows[0] == "lab results (2 claims)"
    assert rows[3].split()[0] == "C1" and "holds" in rows[3] and rows[3].split()[-2:] == ["3", "12"]
    assert rows[4].split()[0] == "C2" and "error" in rows[4] and "ValueError: x" in rows[4]
    assert res._repr_html_().count("<tr>") == 3


def test_a_returned_figure_displays_as_png_in_ipython_without_pyplot():
    """Jupyter shows a cell's value through IPython's display formatter; initreg's figures give
    it a PNG even when pyplot was never imported (the inline backend's printer is then absent)."""
    code = """
import sys
from IPython.core.formatters import DisplayFormatter
from initreg.plot import plot_history
from initreg.train.history import History
fig = plot_history(History(records=[{"epoch": 1, "train_loss": 1.0, "val_loss": 1.2}]))
data, _ = DisplayFormatter().format(fig)
print("matplotlib.pyplot" in sys.modules, sorted(data), data["image/png"][:4] == b"\\x89PNG")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PATH": "/usr/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "['image/png',", "'text/plain']", "True"], r.stdout
