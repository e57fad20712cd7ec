"""Accuracy, expected calibration error (15 bins) and reliability bins."""

import math

import pytest
import torch

from initreg.metrics import accuracy, expected_calibration_error, reliability_bins


def _ece_reference(probs, y, bins):
    """The textbook definition, written as plainly as possible."""
    conf, pred = probs.max(1)
    n, total = len(y), 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        mask = (conf >= lo) & ((conf < hi) if b < bins - 1 else (conf <= hi))
        if mask.any():
            total += mask.sum().item() / n * abs((pred[mask] == y[mask]).float().mean().item() - conf[mask].mean().item())
    return total


def test_ece_matches_the_definition():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(3 * torch.randn(500, 10, generator=g), dim=1)
    y = torch.randint(0, 10, (500,), generator=g)
    for bins in (1, 15, 40):
        assert expected_calibration_error(probs, y, bins) == pytest.approx(_ece_reference(probs, y, bins), abs=1e-6)


def test_ece_is_zero_for_a_calibrated_predictor():
    # confidence 0.75 on every example and exactly 75% correct
    probs = torch.tensor([[0.75, 0.25]]).repeat(400, 1)
    y = torch.zeros(400, dtype=torch.long)
    y[:100] = 1
    assert expected_calibration_error(probs, y) == pytest.approx(0.0, abs=1e-6)


def test_ece_of_an_overconfident_predictor():
    probs = torch.tensor([[0.99, 0.01]]).repeat(100, 1)
    y = torch.cat([torch.zeros(60), torch.ones(40)]).long()
    assert expected_calibration_error(probs, y) == pytest.approx(0.99 - 0.6, abs=1e-6)


def test_reliability_bins_counts_and_edges():
    probs = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]])
    b = reliability_bins(probs, torch.tensor([0, 1, 1]), bins=4)
    assert b["count"].tolist() == [0, 0, 1, 2]  # 0.5 → bin 2; 0.8 and 1.0 → the last bin
    assert b["edges"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="bins must be >= 1; got bins=0"):
        reliability_bins(probs, torch.tensor([0, 1, 1]), bins=0)


def test_nan_outputs_and_empty_inputs_give_nan_not_a_crash():
    assert math.isnan(expected_calibration_error(torch.full((3, 2), math.nan), torch.tensor([0, 1, 0])))
    assert math.isnan(expected_calibration_error(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)))


def test_accuracy_hard_and_soft_labels():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert accuracy(logits, torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])) == pytest.approx(2 / 3)
