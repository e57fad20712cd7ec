"""Trained models shared between claims (`initreg.lab.artefacts`): R1 and R12 share the plain
overfitting baseline — trained once per seed, loaded by the other claim, the same weights as
training it again; a changed spec or seed is a different artefact."""

import torch

from initreg.lab import Context
from initreg.lab.artefacts import artefact_key, shared_models
from initreg.lab.claims import _overfit
from initreg.lab.claims import r01_activity_penalty as r1
from initreg.lab.claims import r12_mixup_smoothing_overfit as r12

torch.set_num_threads(1)


def test_the_plain_baseline_is_trained_once_and_equals_a_fresh_training(tmp_path):
    first, info = _overfit.plain_models(tmp_path, 0, 100, 2, [0, 1])
    assert info == {"cached": 0, "trained": 2} and len(list(tmp_path.glob("overfit-plain-seed*.pt"))) == 2
    again, info = _overfit.plain_models(tmp_path, 0, 100, 2, [1, 2])
    assert info == {"cached": 1, "trained": 1}
    fresh, info = _overfit.plain_models(None, 0, 100, 2, [1])
    assert info == {"cached": 0, "trained": 1}
    for a, b, c in zip(first[1].parameters(), again[0].parameters(), fresh[0].parameters()):
        assert torch.equal(a, b)
        torch.testing.assert_close(a, c)  # stacked with other seeds vs alone: float rounding at most


def test_the_key_covers_spec_seed_and_name():
    k = artefact_key("a", {"lr": 1}, 0)
    assert k != artefact_key("a", {"lr": 2}, 0) and k != artefact_key("a", {"lr": 1}, 1) and k != artefact_key("b", {"lr": 1}, 0)


def test_a_damaged_file_is_retrained(tmp_path):
    build = lambda s: torch.nn.Linear(2, 1)  # noqa: E731
    calls = []
    train = lambda ms, ss: calls.append(list(ss))  # noqa: E731
    shared_models(tmp_path, "x", {}, [0], build, train)
    next(tmp_path.glob("x-seed0-*.pt")).write_bytes(b"half a file")
    _, info = shared_models(tmp_path, "x", {}, [0], build, train)
    assert info == {"cached": 0, "trained": 1} and calls == [[0], [0]]


def test_r1_and_r12_share_their_plain_models(tmp_path):
    def ctx(claim, exp, **st):
        return Context(quick=True, seeds=[0, 1, 2], settings={**exp.mode_settings(True), **st},
                       dir=tmp_path / claim, log=lambda m: None, artefacts=tmp_path / "artefacts")

    tiny = {"train_size": 200, "epochs": 2}
    o1 = r1.run(ctx("R1", r1.run, **tiny))
    o12 = r12.run(ctx("R12", r12.run, **tiny, alpha=0.2))
    assert o1.numbers["plain_models"] == {"cached": 0, "trained": 3}
    assert o12.numbers["plain_models"] == {"cached": 3, "trained": 0}
    assert o1.numbers["plain"]["test_loss"] == o12.numbers["plain"]["test_loss"]
