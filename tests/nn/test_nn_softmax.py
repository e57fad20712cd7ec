"""Stable softmax / log-softmax: the lecture's example, extremes, agreement with torch."""

import torch

from initreg.nn.softmax import Softmax, log_softmax, logsumexp, softmax


def test_lecture_example():
    p = softmax(torch.tensor([1.3, 5.1, 2.2, 0.7, 1.1], dtype=torch.float64))
    assert [round(float(v), 2) for v in p] == [0.02, 0.90, 0.05, 0.01, 0.02]
    assert [round(float(v), 4) for v in p] == [0.0202, 0.9025, 0.0497, 0.0111, 0.0165]


def test_extreme_logits_no_overflow():
    z = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [3e38, 0.0, -3e38]])
    p = softmax(z)
    lp = log_softmax(z)
    assert torch.isfinite(p).all() and torch.isfinite(lp[:2]).all()
    assert torch.allclose(p.sum(1), torch.ones(3))
    assert torch.allclose(p[:2], torch.softmax(z[:2], 1))
    assert torch.allclose(lp[:2], torch.log_softmax(z[:2], 1), atol=2e-3)  # float32 ulp at 1e4 is 1e-3
    # close logits near 1e4: the small log-sum must not be rounded away against the shift (torch agrees to 1e-6)
    near = torch.tensor([1e4, 1e4 - 1.0, 1e4 - 2.0, 1e4 - 0.5])
    assert torch.allclose(log_softmax(near), torch.log_softmax(near, 0), rtol=0, atol=1e-6)
    assert float(lp[0, 1]) == -2e4  # exact in the tail, where log(softmax) would be -inf
    naive = torch.exp(z[:1]) / torch.exp(z[:1]).sum()
    assert torch.isnan(naive).any()


def test_agrees_with_torch_and_gradients():
    z = torch.randn(7, 11, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 30
    for dim in (0, 1, -1):
        assert torch.allclose(softmax(z, dim), torch.softmax(z, dim))
        assert torch.allclose(log_softmax(z, dim), torch.log_softmax(z, dim))
        assert torch.allclose(logsumexp(z, dim), torch.logsumexp(z, dim))
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: log_softmax(t, 1), (z[:3, :4].detach().requires_grad_(True),))
    assert torch.allclose(Softmax(log=True)(z), torch.log_softmax(z, -1))
    assert torch.equal(logsumexp(torch.full((2, 3), -float("inf"))), torch.full((2,), -float("inf")))
