"""The wheel as a user gets it: built, installed with no extras in a fresh venv, used from there.

Checks the lean core (at most 30 distributions, torch's own included), that package data
ships, that the library and the CLI work from the installed wheel alone, and that an optional
feature without its extra fails with one line naming the extra.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_DISTRIBUTIONS = 30


def _uv() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to make the fresh venv (the Makefile's set-up installs it)")
    return uv


def _torch_find_links() -> list[str]:
    """Where the CPU torch wheel lies (the Makefile's FIND_LINKS; a CUDA build is GBs)."""
    dirs = [d for d in ("/opt/wheels", str(ROOT)) if glob.glob(os.path.join(d, "torch-*.whl"))]
    return [a for d in dirs for a in ("--find-links", d)]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, **kw)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A venv with ``initreg`` installed from its freshly built wheel, no extras."""
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    r = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
              "-w", str(wheels), str(ROOT)])
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = wheels.glob("initreg-*.whl")
    venv = tmp / "venv"
    uv = _uv()
    r = _run([uv, "venv", "-q", "--python", sys.executable, str(venv)])
    assert r.returncode == 0, r.stderr[-2000:]
    py = venv / "bin" / "python"
    # torch pinned as the Makefile pins it (constraints.txt): the CPU wheel from the local disk
    base = [uv, "pip", "install", "-q", "--python", str(py), *_torch_find_links(),
            "-c", str(ROOT / "constraints.txt"), str(wheel)]
    r = _run([*base, "--offline"])  # from uv's cache, which the set-up filled
    if r.returncode != 0:
        r = _run(base)  # a cold cache: from the index
    assert r.returncode == 0, r.stderr[-2000:]
    return venv


def _distributions(venv: Path) -> list[str]:
    r = _run([_uv(), "pip", "list", "--python", str(venv / "bin" / "python"), "--format", "freeze"])
    assert r.returncode == 0, r.stderr
    return [line.split("==")[0].lower() for line in r.stdout.splitlines() if "==" in line]


pytestmark = pytest.mark.slow  # ~110 s on 2 shared cores: the fresh venv copies torch (~700 MB)


def test_core_install_is_lean(fresh):
    dists = _distributions(fresh)
    assert "initreg" in dists and "torch" in dists
    assert len(dists) <= MAX_DISTRIBUTIONS, f"{len(dists)} distributions: {sorted(dists)}"
    for heavy in ("matplotlib", "scikit-learn", "mlxtend", "kornia", "nltk", "pandas", "requests", "ray"):
        assert heavy not in dists, f"{heavy} is installed without any extra"


def test_package_data_ships(fresh):
    r = _run([str(fresh / "bin" / "python"), "-c", textwrap.dedent("""
        from importlib.resources import files
        t = files("initreg") / "lab" / "templates"
        print(sorted(p.name for p in t.iterdir()))
        ru = files("initreg") / "lab" / "locale" / "ru"
        print(sorted(p.name for p in ru.iterdir()))
        print((files("initreg") / "py.typed").is_file())
    """)], cwd=fresh)
    assert r.returncode == 0, r.stderr
    assert "report.html.j2" in r.stdout and "report.css" in r.stdout
    # the Russian report's text: the lecture, the shared glossary, one file per claim
    shipped = {p.name for p in (ROOT / "initreg" / "lab" / "locale" / "ru").iterdir()}
    assert {"lecture.txt", "_common.yaml", "C3.yaml"} <= shipped
    assert all(f"'{name}'" in r.stdout for name in shipped)
    assert r.stdout.strip().endswith("True")


def test_core_library_works_from_the_wheel(fresh):
    """Imports come from the installed wheel (run outside the repository), and fit trains."""
    script = textwrap.dedent("""
        import torch, initreg
        from initreg.init import initialize
        from initreg.regularize.penalties import WeightPenalty
        from initreg.regularize.early_stopping import EarlyStopping
        from initreg.probe import probe
        from initreg.train import fit
        from initreg.data import Splits
        assert "site-packages" in initreg.__file__, initreg.__file__
        g = torch.Generator().manual_seed(0)
        x = torch.randn(256, 8, generator=g)
        y = (x[:, 0] > 0).long()
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        initialize(model, "kaiming_normal", generator=g)
        print(probe(model, x[:64], y[:64]).label)
        data = Splits(name="toy", x_train=x[:192], y_train=y[:192], x_val=x[192:], y_val=y[192:],
                      x_test=x[192:], y_test=y[192:], num_classes=2)
        h = fit(model, data, {"epochs": 20, "lr": 0.05, "batch_size": 32}, callbacks=[WeightPenalty(l2=1e-4), EarlyStopping(patience=5)])
        print("val_acc", h.records[-1]["val_acc"])
    """)
    r = _run([str(fresh / "bin" / "python"), "-c", script], cwd=fresh)
    assert r.returncode == 0, r.stderr[-3000:]
    acc = float(r.stdout.split("val_acc")[-1])
    assert acc > 0.8, r.stdout


def test_cli_runs_from_the_wheel(fresh):
    exe = str(fresh / "bin" / "initreg")
    r = _run([exe, "init", "kaiming_normal", "-s", "depth=3", "--input-shape", "16"], cwd=fresh)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "kaiming" in r.stdout.lower()
    r = _run([exe, "probe", "--depth", "3", "--width", "32", "-d", "synthetic", "--no-figure"], cwd=fresh)
    assert r.returncode == 0, r.stderr[-2000:]
    r = _run([exe, "train", "--set", "data.name=synthetic", "--set", "train.epochs=2", "--set", "name=core",
              "--out", "runs"], cwd=fresh)
    assert r.returncode == 0, r.stderr[-2000:]
    run_dir = fresh / "runs" / "core"
    assert (run_dir / "history.csv").is_file() and (run_dir / "model.pt").is_file()
    assert not (run_dir / "curves.png").exists()  # figures need the plot extra


def test_missing_extra_is_one_line_naming_it(fresh):
    """The core install has no matplotlib or scikit-learn: using them says which extra to install."""
    exe = str(fresh / "bin" / "initreg")
    r = _run([exe, "train", "--set", "data.name=digits", "--out", "runs"], cwd=fresh)
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "'sklearn'" in err and "pip install 'initreg[data]'" in err, err
    r = _run([str(fresh / "bin" / "python"), "-c", "import initreg.plot"], cwd=fresh)
    assert r.returncode != 0 and "pip install 'initreg[plot]'" in r.stderr.splitlines()[-1], r.stderr
