"""``initreg activations``, ``inits``, ``init``, ``critical``."""

from initreg.cli import main


def test_activations_table_and_figure(tmp_path, capsys):
    fig = tmp_path / "act.png"
    assert main(["activations", "--figure", str(fig)]) == 0
    out = capsys.readouterr().out
    assert "softplus" in out and "(0, ∞)" in out and "[0, ∞)" in out  # corrected and lecture's ELU range
    assert "1.4142" in out  # ReLU gain
    assert fig.stat().st_size > 10_000


def test_inits_init_and_critical(capsys):
    assert main(["inits"]) == 0
    assert "kaiming_normal" in capsys.readouterr().out
    assert main(["init", "xavier_normal", "-s", "depth=2", "-s", "width=16", "-s", "activation=tanh",
                 "--input-shape", "12", "--outputs", "3"]) == 0
    out = capsys.readouterr().out
    assert "tanh" in out and "mean-field E[y_l^2]" in out
    assert main(["critical", "tanh", "--q-star", "1"]) == 0
    assert "sigma_w = 1.46741" in capsys.readouterr().out


def test_cli_errors_exit_2(capsys):
    assert main(["init", "he"]) == 2
    assert "unknown init scheme 'he'" in capsys.readouterr().err
    assert main(["critical", "relu", "--sigma-b", "0.5"]) == 2
    assert "no critical point" in capsys.readouterr().err
    assert main(["init", "-p", "oops"]) == 2
