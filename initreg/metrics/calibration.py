"""Accuracy and expected calibration error.

ECE (Naeini et al. 2015; Guo et al. 2017, "On Calibration of Modern Neural Networks"):
split predictions into ``bins`` equal-width confidence bins and average the gap between
accuracy and mean confidence, weighted by bin size:
``ECE = Σ_b (|B_b|/n) · |acc(B_b) − conf(B_b)|``.
"""

from __future__ import annotations

import torch

__all__ = ["accuracy", "expected_calibration_error", "reliability_bins"]


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose argmax equals the label (or the soft label's argmax)."""
    if y.ndim == 2:
        y = y.argmax(1)
    return (logits.argmax(1) == y).float().mean().item() if len(y) else float("nan")


def reliability_bins(probs: torch.Tensor, y: torch.Tensor, bins: int = 15) -> dict[str, torch.Tensor]:
    """Per-bin count, mean confidence and accuracy (for ECE and reliability diagrams)."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1; got bins={bins}")
    if len(probs) != len(y):
        raise ValueError(f"probs and labels must have the same length; got {len(probs)} and {len(y)}")
    conf, pred = probs.max(1)
    correct = (pred == y).float()
    # bin b holds conf in [b/bins, (b+1)/bins); conf = 1 goes to the last bin; NaN to bin 0
    idx = torch.clamp(torch.nan_to_num(conf * bins, nan=0.0).long(), min=0, max=bins - 1)
    count = torch.bincount(idx, minlength=bins).float()
    conf_sum = torch.bincount(idx, weights=conf, minlength=bins)
    acc_sum = torch.bincount(idx, weights=correct, minlength=bins)
    safe = count.clamp(min=1)
    return {"count": count, "confidence": conf_sum / safe, "accuracy": acc_sum / safe,
            "edges": torch.linspace(0, 1, bins + 1)}


def expected_calibration_error(probs: torch.Tensor, y: torch.Tensor, bins: int = 15) -> float:
    """ECE with ``bins`` equal-width bins; ``probs`` are softmax outputs ``(N, C)``.

    >>> p = torch.tensor([[0.9, 0.1], [0.8, 0.2]])
    >>> round(expected_calibration_error(p, torch.tensor([0, 1])), 3)  # ½·|1 − 0.9| + ½·|0 − 0.8| (two bins)
    0.45
    """
    if len(y) == 0 or not bool(torch.isfinite(probs).all()):
        return float("nan")  # no predictions, or a diverged model's NaN/Inf outputs
    if y.ndim == 2:
        y = y.argmax(1)
    b = reliability_bins(probs.float(), y, bins)
    return float((b["count"] / len(y) * (b["accuracy"] - b["confidence"]).abs()).sum())
