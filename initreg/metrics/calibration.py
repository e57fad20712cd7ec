"""Accuracy and expected calibration error.

ECE (Naeini et al. 2015; Guo et al. 2017, "On Calibration of Modern Neural Networks"):
split predictions into ``bins`` equal-width confidence bins and average the gap between
accuracy and mean confidence, weighted by bin size:
``ECE = Σ_b (|B_b|/n) · |acc(B_b) − conf(B_b)|``.
"""

from __future__ import annotations

import torch

__all__ = ["accuracy", "expected_calibration_error", "reliability_bins", "calibration_errors", "calibration_errors_along"]


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


def calibration_errors(probs: torch.Tensor, y: torch.Tensor, bins: int = 15) -> torch.Tensor:
    """`expected_calibration_error` of K models at once: ``probs (K, N, C)``, labels ``y (K, N)``;
    returns ``(K,)`` (NaN where a model's probabilities are not finite). One pass, no loop
    over the models (`initreg.train.multiseed` evaluates K stacked copies with it).

    >>> p = torch.tensor([[[0.9, 0.1], [0.8, 0.2]]]).expand(3, 2, 2)
    >>> [round(e, 3) for e in calibration_errors(p, torch.tensor([0, 1]).expand(3, 2)).tolist()]  # ½·0.1 + ½·0.8, each
    [0.45, 0.45, 0.45]
    """
    return calibration_errors_along(probs, y, bins, class_dim=2)


def calibration_errors_along(probs: torch.Tensor, y: torch.Tensor, bins: int = 15, *, class_dim: int = 2) -> torch.Tensor:
    """`calibration_errors` with the classes along ``class_dim`` (1 for ``(K, C, N)``: reducing
    over a leading axis is several times faster on the CPU than over a short last one)."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1; got bins={bins}")
    k, n = y.shape
    if n == 0:
        return torch.full((k,), float("nan"))
    conf, pred = probs.float().max(class_dim)  # (K, N)
    correct = (pred == y).float()
    idx = torch.clamp(torch.nan_to_num(conf * bins, nan=0.0).long(), min=0, max=bins - 1)
    idx = idx + torch.arange(k, device=idx.device).view(k, 1) * bins  # copy k's bins: k·bins … (k+1)·bins − 1
    flat = idx.reshape(-1)
    count = torch.bincount(flat, minlength=k * bins).float().view(k, bins)
    conf_sum = torch.bincount(flat, weights=conf.reshape(-1), minlength=k * bins).view(k, bins)
    acc_sum = torch.bincount(flat, weights=correct.reshape(-1), minlength=k * bins).view(k, bins)
    safe = count.clamp(min=1)
    ece = (count / n * (acc_sum / safe - conf_sum / safe).abs()).sum(1)
    finite = torch.isfinite(probs).flatten(1).all(1)
    return torch.where(finite, ece, torch.full_like(ece, float("nan")))
