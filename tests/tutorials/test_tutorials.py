"""The tutorials (``tutorials/NN_*.py``, jupytext percent format) run end to end in a real
Jupyter kernel within their wall-clock budget, show their figures inline, use only public
API and link to pages that exist (that they appear in the docs site's navigation:
``tests/test_readme_links.py``).

Running a tutorial writes ``docs/tutorials/<stem>.ipynb`` with its outputs — the file the docs
site renders (``make docs`` reuses it instead of executing the tutorial again).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_executor():
    spec = importlib.util.spec_from_file_location("initreg_tutorials_execute", ROOT / "tutorials" / "execute.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


tut = _load_executor()
SOURCES = tut.tutorials()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_tutorial_runs_in_a_kernel_within_its_budget_and_shows_its_figures(source):
    try:
        run = tut.execute(source)  # raises TutorialError (one line) on an error or over budget
    except tut.TutorialError as e:
        pytest.fail(str(e), pytrace=False)
    assert run.seconds <= tut.BUDGET_S
    nb = nbformat.read(run.notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)  # every cell ran, in a kernel
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if o.output_type in ("execute_result", "display_data")
               and "Figure" in o.get("data", {}).get("text/plain", "")]
    assert figures, f"{source.name} shows no figure"
    for o in figures:  # a figure that is a cell's value shows as an image, not as "<Figure ...>"
        assert o.data["image/png"], o.data["text/plain"]
    assert not any("Traceback" in o.get("text", "") for o in outputs if o.output_type == "stream")


def _initreg_imports(tree: ast.AST) -> list[tuple[str, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "initreg":
            out += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names if a.name.split(".")[0] == "initreg"]
    return out


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_tutorial_uses_only_public_api(source):
    tree = ast.parse(source.read_text())
    imports = _initreg_imports(tree)
    assert imports, source.name
    for module, name in imports:
        assert not any(part.startswith("_") for part in module.split(".")), f"{source.name}: private module {module}"
        if not name:
            continue
        assert not name.startswith("_"), f"{source.name}: private name {module}.{name}"
        mod = importlib.import_module(module)
        assert hasattr(mod, name), f"{source.name}: {module} has no {name}"
        exported = getattr(mod, "__all__", None)
        assert exported is None or name in exported, f"{source.name}: {module}.{name} is not in its __all__"
    private = [n.attr for n in ast.walk(tree)
               if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")]
    assert not private, f"{source.name} reads private attributes: {private}"


def test_links_in_the_tutorials_point_at_pages_that_exist():
    for source in SOURCES:
        for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text()):
            if target.startswith(("http://", "https://", "#")):
                continue
            path = target.split("#")[0]
            if path.endswith(".ipynb"):  # another tutorial, by the name of its executed notebook
                assert (ROOT / "tutorials" / (Path(path).stem + ".py")).is_file(), f"{source.name}: {target}"
            else:
                assert (ROOT / "docs" / "tutorials" / path).resolve().is_file(), f"{source.name}: {target}"


def test_the_site_copy_links_docs_pages_by_their_site_address():
    """In the site a notebook is the page tutorials/NAME/: ``../probe.md`` must become ``../../probe/``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "See [the probe](../probe.md#the-theory-overlay), [speed](../speed.md), "
        "[the seeds tutorial](05_many_seeds_and_sweeps.ipynb) and [torch](https://pytorch.org/a.md).")])
    tut.site_links(nb)
    assert nb.cells[0].source == ("See [the probe](../../probe/#the-theory-overlay), [speed](../../speed/), "
                                  "[the seeds tutorial](../05_many_seeds_and_sweeps/) and "
                                  "[torch](https://pytorch.org/a.md).")


def _write(tmp_path: Path, name: str, *cells: str) -> Path:
    p = tmp_path / name
    p.write_text("".join(f"# %%\n{c}\n\n" for c in cells))
    return p


def test_a_cell_that_raises_is_one_line_naming_the_tutorial_cell_and_error(tmp_path):
    src = _write(tmp_path, "09_broken.py", "x = 1", "raise ValueError('lr=-1: must be > 0')")
    with pytest.raises(tut.TutorialError) as e:
        tut.execute(src, tmp_path / "out", budget_s=120)
    msg = str(e.value)
    assert msg == "09_broken.py: code cell 2 (raise ValueError('lr=-1: must be > 0')) raised ValueError: lr=-1: must be > 0"
    assert not (tmp_path / "out").exists()  # nothing half-run is written for the site


def test_a_tutorial_over_its_budget_stops_with_one_line(tmp_path):
    src = _write(tmp_path, "09_slow.py", "import time\ntime.sleep(120)")
    with pytest.raises(tut.TutorialError) as e:
        tut.execute(src, tmp_path / "out", budget_s=2)
    assert str(e.value) == "09_slow.py: still running after 2 s, its wall-clock budget"
    assert not (tmp_path / "out").exists()
