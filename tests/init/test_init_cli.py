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


def test_inits_lists_the_facts(capsys, monkeypatch):
    from initreg.cli.app import console

    monkeypatch.setattr(console, "width", 240)
    assert main(["inits"]) == 0
    out = capsys.readouterr().out
    for name in ("trunc_normal", "sparse", "dirac", "eye", "ones", "xavier_normal_", "kaiming_normal_", "gain: auto",
                 "N(0, sigma_b^2)"):
        assert name in out, name
    assert "data batch (needs data=)" in out  # from lsuv's facts


def test_init_command_torch_default_and_gain_option(capsys):
    args = ["init", "xavier_normal", "-s", "depth=2", "-s", "width=16", "-s", "activation=relu", "--input-shape", "12",
            "--outputs", "3"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "gain per layer 1 x3 (torch's default gain" in out
    assert main([*args, "--gain"]) == 0
    assert "gain per layer 1.414 (relu) x2, 1 (identity) x1 (gain: auto" in capsys.readouterr().out
    assert main([*args[:1], "normal", *args[2:], "--gain"]) == 0  # no gain to compute: the scheme as given
    assert "init: normal (no gain)" in capsys.readouterr().out
    assert main(["init", "xavier_normal", "-p", "gain=auto", "-s", "depth=1", "-s", "width=8", "--input-shape", "4"]) == 0
    assert "gain: auto, computed" in capsys.readouterr().out
    assert main(["init", "normal", "-p", "gain=auto", "--input-shape", "4"]) == 2
    assert "gain: auto needs a scheme whose gain can be computed" in capsys.readouterr().err


def test_probe_xavier_means_torchs_and_the_gain_is_shown(capsys):
    # the README's example, smaller: Xavier (gain 1) in a deep ReLU net vanishes; --gain is the corrected init
    base = ["probe", "--model", "mlp", "--depth", "20", "--width", "64", "--activation", "relu", "--init",
            "xavier_normal", "--data", "digits", "--jacobian", "0", "--no-figure"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "init: xavier_normal, gain per layer 1 x21 (torch's default gain" in out
    assert "verdict: vanishing" in out
    assert main([*base, "--gain"]) == 0
    out = capsys.readouterr().out
    assert "gain per layer 1.414 (relu) x20, 1 (identity) x1 (gain: auto" in out and "verdict: healthy" in out
    assert main(["probe", "--gain", "--data", "digits", "--no-figure"]) == 2
    assert "--gain sets the gain of --init's scheme: give --init too" in capsys.readouterr().err
