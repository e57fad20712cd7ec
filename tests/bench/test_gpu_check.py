"""`python -m bench.gpu`: one line and exit 2 without a GPU, a dry run that runs a check on the
CPU, and a GPU section of BENCHMARKS.md that `make bench` keeps."""

from __future__ import annotations

import pytest
import torch

from bench import gpu
from bench import run as bench_run


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the script would run for real")
def test_without_a_gpu_it_exits_2_with_one_line(capsys):
    assert gpu.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no CUDA GPU present" in err and "--dry-run" in err


def test_unknown_check_is_one_line(capsys):
    assert gpu.main(["--dry-run", "--only", "fit,warp"]) == 2
    assert "unknown check(s) warp; known: fit, bf16, seeds, probe, lab" in capsys.readouterr().err


def test_dry_run_runs_the_checks_on_the_cpu(capsys, tmp_path):
    out = tmp_path / "B.md"
    assert gpu.main(["--dry-run", "--only", "fit,seeds", "--out", str(out)]) == 0
    assert "2 of 2 checks ran on the CPU" in capsys.readouterr().out
    assert not out.exists()  # a dry run writes nothing


def test_gpu_section_is_replaced_and_kept_by_make_bench(tmp_path, monkeypatch):
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nold table\n")
    gpu.write_section(out, "## GPU\n\nfirst")
    gpu.write_section(out, "## GPU\n\nsecond")
    text = out.read_text()
    assert text.count(gpu.START) == 1 and "second" in text and "first" not in text and "old table" in text
    monkeypatch.setattr(bench_run, "collect", lambda only=None, skip=None: [])
    assert bench_run.main(["--out", str(out)]) == 0
    assert "second" in out.read_text() and "old table" not in out.read_text()
