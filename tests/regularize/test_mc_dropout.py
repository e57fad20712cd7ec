"""MC dropout: modes and BatchNorm statistics untouched, seeding, mean vs weight scaling, errors."""

import pytest
import torch
from torch import nn

from initreg.errors import ConfigError
from initreg.nn import Dropout
from initreg.regularize.mc_dropout import mc_predict, weight_scaling_predict


def _model(mode="inverted"):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), Dropout(0.5, mode=mode), nn.Linear(16, 3))


def test_modes_and_bn_stats_untouched():
    m = _model()
    m.train()
    m(torch.randn(32, 6))  # give BN non-trivial running stats
    m[0].eval()  # a mixed state must come back exactly
    modes = [x.training for x in m.modules()]
    buffers = {k: v.clone() for k, v in m.state_dict().items()}
    mc_predict(m, torch.randn(10, 6), samples=5, generator=torch.Generator().manual_seed(0))
    assert [x.training for x in m.modules()] == modes
    for k, v in m.state_dict().items():
        assert torch.equal(v, buffers[k]), k


def test_seeded_and_global_rng_untouched():
    m, x = _model(), torch.randn(10, 6)
    state = torch.random.get_rng_state()
    a = mc_predict(m, x, samples=7, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.random.get_rng_state(), state)
    b = mc_predict(m, x, samples=7, generator=torch.Generator().manual_seed(3))
    c = mc_predict(m, x, samples=7, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])


def test_one_sample_has_zero_variance_and_probabilities_sum_to_one():
    mean, var = mc_predict(_model(), torch.randn(4, 6), samples=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(var, torch.zeros_like(var))
    assert torch.allclose(mean.sum(1), torch.ones(4))


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_logit_mean_converges_to_weight_scaling(mode):
    # Dropout feeds a linear layer directly, so E[logits] is exactly the eval-mode logits.
    # The Monte-Carlo error of the mean is sd/sqrt(N): check within 5 standard errors.
    m, x, n = _model(mode).double(), torch.randn(8, 6, dtype=torch.float64), 1000
    mean, var = mc_predict(m, x, samples=n, generator=torch.Generator().manual_seed(1), output="logits")
    ws = weight_scaling_predict(m, x, output="logits")
    assert ((mean - ws).abs() <= 5 * (var / n).sqrt() + 1e-12).all()
    assert (var > 0).all()


def test_variance_matches_numpy_definition():
    m, x = _model(), torch.randn(3, 6)
    gen = torch.Generator().manual_seed(5)
    mean, var = mc_predict(m, x, samples=6, generator=gen, output="logits")
    # redo the 6 passes by hand with the same seeding
    gen = torch.Generator().manual_seed(5)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        m.eval()
        m[3].train()
        with torch.no_grad():
            ys = torch.stack([m(x) for _ in range(6)])
    assert torch.allclose(mean, ys.mean(0), atol=1e-6)
    assert torch.allclose(var, ys.var(0, unbiased=False), atol=1e-6)


def test_errors():
    with pytest.raises(ConfigError, match="has no dropout layer"):
        mc_predict(nn.Linear(2, 2), torch.randn(1, 2))
    with pytest.raises(ConfigError, match=r"samples must be an integer >= 1; got samples=0"):
        mc_predict(_model(), torch.randn(1, 6), samples=0)
    with pytest.raises(ConfigError, match=r"output must be 'probs' or 'logits'; got output='p'"):
        mc_predict(_model(), torch.randn(1, 6), output="p")


def test_works_with_torch_dropout():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)).eval()
    mean, var = mc_predict(m, torch.randn(5, 3), samples=10, generator=torch.Generator().manual_seed(0))
    assert (var.sum(1) > 0).any() and not m.training
