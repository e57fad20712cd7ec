"""Every command of the README's "What you can do with it" table runs on a fresh clone, as
printed (exit 0), in order, from a scratch folder holding a copy of ``examples/`` whose
budgets (epochs, train size, seeds, workers) are shrunk. `initreg lab` is only parsed
(``--list``): the quick lab takes minutes. Every ``*.yaml`` path the README names exists."""

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from initreg.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    """The ``initreg ...`` commands of the table, in reading order."""
    section = README.split("## What you can do with it", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|") and "initreg" in line]
    return [c for row in rows for c in re.findall(r"`(initreg [^`]+)`", row.rsplit("|", 2)[-2])]


def test_the_table_has_the_commands_it_should():
    cmds = readme_commands()
    assert len(cmds) >= 10
    for verb in ("lab", "train", "probe", "init", "inits", "activations", "critical", "sweep", "results", "synonyms"):
        assert any(c.split()[1] == verb for c in cmds), verb
    teacher = next(i for i, c in enumerate(cmds) if "--teacher runs/teacher" in c)
    assert any("examples/teacher.yaml" in c for c in cmds[:teacher])  # the teacher is trained first


def test_every_yaml_path_the_readmes_name_exists():
    for doc in (ROOT / "README.md", ROOT / "examples" / "README.md"):
        text = doc.read_text()
        paths = set(re.findall(r"(?<![\w/.-])((?:examples/)?[\w.-]+\.ya?ml)\b", text))
        paths -= {"config.yaml"}  # the file inside every run folder, not a path
        assert paths, doc
        for p in paths:
            base = ROOT if p.startswith("examples/") or doc.parent == ROOT else doc.parent
            assert (base / p).is_file(), f"{doc.name} names {p}, which does not exist"


def _shrink(examples: Path) -> None:
    """Small budgets in the copied configs; nothing else changes."""
    for f in examples.glob("*.yaml"):
        cfg = yaml.safe_load(f.read_text())
        base = cfg.get("base") if isinstance(cfg.get("base"), dict) else cfg
        if "train" in base:
            base["train"].update(epochs=1, progress="none")
        if "data" in base:
            base["data"]["train_size"] = 200
        if "seeds" in cfg:
            cfg["seeds"], cfg["workers"] = 1, 1
        f.write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    d = tmp_path_factory.mktemp("fresh-clone")
    shutil.copytree(ROOT / "examples", d / "examples")
    _shrink(d / "examples")
    return d


def _have_wordnet() -> bool:
    """WordNet is installed (`make wordnet`); in CI it must be."""
    from initreg.errors import DataError
    from initreg.regularize.text import load_wordnet

    try:
        load_wordnet()
    except DataError:
        if os.environ.get("CI"):
            raise
        return False
    return True


def test_every_readme_command_runs(scratch, monkeypatch, capsys):
    monkeypatch.chdir(scratch)
    ran = []
    for cmd in readme_commands():
        args = shlex.split(cmd)[1:]
        if args[0] == "lab":  # minutes even with --quick: check that it parses and selects claims
            args.append("--list")
        if args[0] == "synonyms" and not _have_wordnet():
            continue
        if args[0] == "report":  # re-renders a finished run: make one, the fastest claim
            assert main(["lab", "--quick", "--only", "C3", "--out", args[1]]) == 0
            capsys.readouterr()
        rc = main(args)
        out = capsys.readouterr()
        assert rc == 0, f"`{cmd}` exited {rc}: {out.err.strip()}"
        ran.append(cmd)
    assert (scratch / "runs" / "teacher" / "model.pt").is_file()
    assert (scratch / "sweeps" / "lr-x-init" / "sweep.db").is_file() and (scratch / "out.csv").is_file()
    assert len(ran) >= len(readme_commands()) - 1
