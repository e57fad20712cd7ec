"""The lab: one experiment per lecture claim, each with a falsifiable verdict.

Experiments live in ``initreg/lab/claims/`` (one file per claim, discovered on import);
`run_lab` runs them in parallel, caches finished ones, and writes the report.
"""

from .experiment import Context, Experiment, Outcome, experiment, experiments
from .results import LabResults
from .runner import discover, run_lab, select

__all__ = ["Context", "Experiment", "LabResults", "Outcome", "discover", "experiment", "experiments", "run_lab", "select"]
