"""The measurement logic of claims R4 (normalization layers at a small batch) and R11F (flips
on mirror-invariant digits), on cases whose answer is known — not their verdicts."""

import torch
from torch import nn

from initreg.data import load_data
from initreg.lab.claims.r04_norm_small_batch import freeze_affine_, norm_affine_moved
from initreg.lab.claims.r11f_flips import mirror, scores
from initreg.models import build_model
from initreg.train import fit


def _net(norm):
    return build_model({"name": "cnn", "channels": [2, 3], "hidden": 4, "norm": norm}, (1, 8, 8), 3, seed=0)


def test_norm_affine_moved_is_zero_at_init_and_counts_gamma_and_beta_of_every_norm_kind():
    for norm in ("batch", "instance", "layer"):
        m = _net(norm)
        assert norm_affine_moved(m) == 0.0
        ns = [x for x in m.modules() if isinstance(x, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm))]
        assert len(ns) == 2
        with torch.no_grad():
            ns[0].weight.add_(0.5)  # 2 of 5 γ entries moved by 0.5
            ns[1].bias.fill_(-0.25)  # 3 of 5 β entries at −0.25
        assert abs(norm_affine_moved(m) - (0.5 * 2 / 5 + 0.25 * 3 / 5)) < 1e-7


def test_frozen_affine_stays_put_in_training_while_the_learned_one_moves():
    d = load_data({"name": "digits", "options": {"classes": [0, 1, 8]}, "train_size": 40, "flatten": False})
    cfg = {"optimizer": "adam", "lr": 1e-2, "batch_size": 8, "epochs": 2, "seed": 0, "progress": "none"}
    learned, frozen = _net("instance"), freeze_affine_(_net("instance"))
    conv0 = frozen[0].weight.detach().clone()
    fit(learned, d, cfg)
    fit(frozen, d, cfg)
    assert norm_affine_moved(learned) > 0.01
    assert norm_affine_moved(frozen) == 0.0
    assert not torch.equal(frozen[0].weight, conv0)  # the rest of the frozen net still trains


def test_mirror_flips_flattened_and_image_shaped_inputs_left_right():
    x = torch.arange(2 * 1 * 2 * 3, dtype=torch.float32).reshape(2, 1, 2, 3)
    want = torch.tensor([[2.0, 1, 0], [5, 4, 3]])
    assert torch.equal(mirror(x, (1, 2, 3))[0, 0], want)
    assert torch.equal(mirror(x.reshape(2, 6), (1, 2, 3)), mirror(x, (1, 2, 3)).reshape(2, 6))
    assert torch.equal(mirror(mirror(x, (1, 2, 3)), (1, 2, 3)), x)


def test_scores_of_a_mirror_invariant_model_are_the_same_on_mirrored_images():
    d = load_data({"name": "digits", "options": {"classes": [0, 1, 8]}, "train_size": 30, "test_fraction": 0.5,
                   "val_fraction": 0.0})

    class Symmetrized(nn.Module):  # f(x) + f(mirror x): its predictions cannot change under a mirror
        def __init__(self):
            super().__init__()
            self.f = nn.Linear(64, 3)

        def forward(self, x):
            return self.f(x) + self.f(mirror(x, (1, 8, 8)))

    torch.manual_seed(0)
    r = scores(Symmetrized(), d)
    assert abs(r["test_err"] - r["mirrored_err"]) < 1e-9 and 0 <= r["test_err"] <= 100 and r["test_loss"] > 0
