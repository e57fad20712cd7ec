"""The `>>>` examples in the foundation's docstrings run and are right."""

import doctest
import importlib

import pytest

MODULES = ["initreg.registry", "initreg.data.config", "initreg.data.sources", "initreg.models.build",
           "initreg.models.low_rank", "initreg.utils.io", "initreg.utils.stats", "initreg.metrics.calibration",
           "initreg.lab.experiment", "initreg.train.fit"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
