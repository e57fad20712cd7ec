"""`require`: an optional dependency, or one line naming its extra."""

from __future__ import annotations

import sys

import pytest

from initreg.utils.optional import EXTRAS, MissingExtraError, available, require


def test_require_returns_the_module():
    import json

    assert require("json", extra="plot") is json
    assert available("json") and not available("no_such_module_xyz")


def test_missing_module_names_the_extra_in_one_line():
    with pytest.raises(MissingExtraError) as e:
        require("no_such_module_xyz.sub", extra="aug", feature="image augmentation")
    msg = str(e.value)
    assert msg == ("image augmentation needs 'no_such_module_xyz', which is not installed: "
                   "pip install 'initreg[aug]'")
    assert isinstance(e.value, ImportError)


def test_unknown_extra_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"extra must be one of \[.*'plot'.*\]; got extra='plots'"):
        require("json", extra="plots")
    assert {"plot", "data", "aug", "text", "lab", "tensorboard", "mlflow", "ray", "lightning", "hf"} <= set(EXTRAS)


def test_cli_prints_a_missing_extra_as_one_line(monkeypatch, tmp_path, capsys):
    """mnist1d hidden (as in a core install): `initreg train` says which extra in one line, exit 2."""
    from initreg.cli import main

    monkeypatch.setitem(sys.modules, "mnist1d", None)  # import mnist1d now raises ImportError
    monkeypatch.setenv("INITREG_CACHE", str(tmp_path))  # no cached copy of the generated set
    code = main(["train", "--set", "data.name=mnist1d", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "data set 'mnist1d' needs 'mnist1d', which is not installed: pip install 'initreg[data]'" in err
