"""Smoke test: the package imports and the CLI answers --help."""

from initreg.cli import main


def test_cli_help_exits_zero(capsys):
    assert main(["--help"]) == 0
    assert "initreg" in capsys.readouterr().out
