"""The `>>>` examples of the coverage work's modules run and are right."""

import doctest
import importlib

import pytest

MODULES = ["initreg.lab.coverage", "initreg.regularize.corrupt", "initreg.data.text",
           "initreg.lab.claims.k02_test_once", "initreg.lab.claims.i02_unit_variance",
           "initreg.lab.claims.i06_xavier_uniform"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
