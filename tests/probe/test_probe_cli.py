"""`initreg probe`: a registered model, a user's factory, JSON and figure, one-line errors."""

import json
import textwrap

import pytest

from initreg.cli import main


def test_probe_registered_model_writes_json_and_figure(tmp_path, capsys):
    js, fig = tmp_path / "r.json", tmp_path / "r.png"
    rc = main(["probe", "--model", "mlp", "--depth", "6", "--width", "64", "--activation", "relu",
               "--init", "{name: normal, std: 1.0}", "--data", "digits", "--jacobian", "0",
               "--json", str(js), "--figure", str(fig)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "verdict: exploding" in out and "theory (mean-field) predicts: exploding" in out
    d = json.loads(js.read_text())
    assert d["verdict"]["label"] == "exploding" and len(d["layers"]) == 7
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_probe_user_factory(tmp_path, monkeypatch, capsys):
    (tmp_path / "probe_cli_models.py").write_text(textwrap.dedent("""
        import torch
        def build(input_shape, num_outputs):
            return torch.nn.Sequential(torch.nn.Linear(input_shape[0], 32), torch.nn.Tanh(),
                                       torch.nn.Linear(32, num_outputs))
        def not_a_model():
            return 42
        def broken():
            raise RuntimeError("no GPU here")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["probe", "--module", "probe_cli_models:build", "--data", "digits", "--jacobian", "1", "--no-figure"])
    out = capsys.readouterr().out
    assert rc == 0 and "verdict:" in out and "Jacobian" in out
    rc = main(["probe", "--module", "probe_cli_models:not_a_model", "--data", "digits", "--no-figure"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "returned int, not a torch.nn.Module" in err and "\n" not in err
    rc = main(["probe", "--module", "probe_cli_models:broken", "--data", "digits", "--no-figure"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "raised RuntimeError: no GPU here" in err


@pytest.mark.parametrize("spec,msg", [("no_such_pkg_xyz.models:build", "cannot import 'no_such_pkg_xyz.models'"),
                                      ("json:nope", "has no attribute 'nope'"),
                                      ("justamodule", "must look like package.module:function")])
def test_probe_bad_module_is_one_line_exit_2(spec, msg, capsys):
    rc = main(["probe", "--module", spec, "--data", "digits", "--no-figure"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and msg in err and "Traceback" not in err and len(err.splitlines()) <= 2


def test_probe_help_has_an_example(capsys):
    assert main(["probe", "--help"]) == 0
    assert "Example: initreg probe" in capsys.readouterr().out
