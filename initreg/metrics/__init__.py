"""Evaluation metrics: accuracy, expected calibration error, reliability bins."""

from .calibration import accuracy, expected_calibration_error, reliability_bins

__all__ = ["accuracy", "expected_calibration_error", "reliability_bins"]
