"""C18's measurement logic: the warning lead, the hot-layer learning rate, location in a
direction, and a tiny end-to-end run judged by the lab."""

import math

import pytest
import torch

from initreg.data import load_data
from initreg.lab import Context
from initreg.lab.claims import c18_gradients as c18
from initreg.models import build_model
from initreg.probe import ProbeCallback, probe
from initreg.train import fit


def test_lead_counts_forward_passes_of_warning():
    assert c18.lead({"diverged": True, "diverged_step": 3, "first_flag": 1}) == 3.0
    assert c18.lead({"diverged": True, "diverged_step": 3, "first_flag": None}) == 0.0  # diverged unflagged
    assert math.isnan(c18.lead({"diverged": False, "diverged_step": None, "first_flag": 2}))


def test_hot_layer_scales_that_layers_update_only():
    d = load_data({"name": "digits", "train_size": 100})

    def run(factor):
        m = build_model({"name": "mlp", "depth": 3, "width": 16, "init": "torch"}, d.input_shape, 10, seed=0)
        w = [x for x in m.modules() if isinstance(x, torch.nn.Linear)][1].weight
        cb = ProbeCallback(every=1)
        cbs = [c18.HotLayer(w, factor), cb] if factor else [cb]
        fit(m, d, {"optimizer": "sgd", "lr": 0.01, "steps": 1, "batch_size": 50, "seed": 0, "progress": "none",
                   "evaluate_test": False}, callbacks=cbs)
        return [r.update_ratio for r in cb.reports[0].layers if r.update_ratio is not None]

    plain, hot = run(None), run(10.0)
    changed = [i for i, (a, b) in enumerate(zip(plain, hot)) if abs(b - a) > 1e-6 * a]
    assert changed == [1]  # the second Linear only
    assert hot[1] == pytest.approx(10 * plain[1], rel=1e-4)  # plain SGD: its learning rate ×10


def test_located_compares_in_the_overlays_direction():
    d = load_data({"name": "mnist5k"})
    x, y = d.x_train[:128], d.y_train[:128]
    m = build_model({"name": "mlp", "depth": 8, "width": 64, "activation": "relu",
                     "init": {"name": "normal", "std": 1.0}}, d.input_shape, 10, seed=0)
    rep = probe(m, x, y)
    ok, text = c18.located(rep)
    assert rep.label == "exploding" and ok and text.endswith("forward")
    assert c18.probe_first(rep, "forward") == rep.first_bad["index"]
    healthy = probe(build_model({"name": "mlp", "depth": 4, "width": 64, "activation": "relu",
                                 "init": {"name": "kaiming_normal", "activation": "relu"}}, d.input_shape, 10, seed=0), x, y)
    assert c18.located(healthy) == (False, "overlay names no layer") and c18.probe_first(healthy, "forward") is None


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_c18_tiny_run_is_judged(tmp_path, mode):
    s = {**c18.SETTINGS[mode], "depth": 6, "width": 32, "batch": 64, "lr_depth": 4, "lr_width": 32, "lr_steps": 4}
    ctx = Context(quick=True, seeds=[0, 1, 2], settings=s, dir=tmp_path, log=lambda m: None)
    out = c18.run(ctx)
    rec = c18.run.judge(out, ctx)
    assert [p["part"] for p in rec["parts"]] == [c.part for c in c18.CRITERIA]
    assert all(p["kind"] == "exact" and len(p["values"]) == 3 for p in rec["parts"])
    assert rec["headline"] == "flagged_before_divergence"
    assert "Negative control" in rec["notes"] and (tmp_path / "c18_lr.png").is_file()
    assert ("clipping run is made in full mode only" in rec["notes"]) == (mode == "quick")
    assert ("clip_loss" in out.numbers) == (mode == "full")
