"""The package's import structure: light entry points, no cycles, no private names across modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import initreg

ROOT = Path(initreg.__file__).parent
MODULES = sorted(
    ".".join(("initreg", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for p in ROOT.rglob("*.py"))


def _fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON value."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_callback_base_loads_with_torch_alone():
    """`from initreg.train import Callback` after `import torch`: at most 5 initreg modules,
    no pydantic, under 0.1 s (best of 3 fresh interpreters)."""
    code = """
import json, sys, time
import torch
t = time.perf_counter()
from initreg.train import Callback, TrainState
dt = time.perf_counter() - t
print(json.dumps({"dt": dt, "mods": sorted(m for m in sys.modules if m.split(".")[0] == "initreg"),
                  "pydantic": "pydantic" in sys.modules, "fit": "initreg.train.fit" in sys.modules}))
"""
    runs = [_fresh(code) for _ in range(3)]
    r = min(runs, key=lambda r: r["dt"])
    assert len(r["mods"]) <= 5, r["mods"]
    assert not r["pydantic"] and not r["fit"]
    assert r["dt"] < 0.1, r


def test_import_initreg_does_not_load_pydantic():
    r = _fresh("import json, sys, initreg; print(json.dumps('pydantic' in sys.modules))")
    assert r is False


def test_public_names_stay_importable():
    r = _fresh("""
import json
from initreg.train import Callback, TrainState, fit, run, run_seeds, load_config, RunConfig, History, TrainConfig
from initreg.train.multiseed import SeedsResult, fit_seeds, train_seeds
from initreg.runs import run as run2
print(json.dumps([run is run2, callable(fit), Callback.on_batch(Callback(), None, 1, 2) == (1, 2)]))
""")
    assert r == [True, True, True]


# ---- the import graph ---------------------------------------------------------------------------

def _module_of(path: Path) -> str:
    return ".".join(("initreg", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path):
    """Every ``import`` / ``from … import`` in the file — at module level or inside functions —
    except under ``if TYPE_CHECKING:``; as ``(target module, imported names, line)``."""
    mod = _module_of(path)
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def walk(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for c in child.orelse:
                    yield from walk_one(c)
                continue
            yield from walk_one(child)

    def walk_one(node):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [a.name for a in node.names], node.lineno
        yield from walk(node)

    yield from walk(tree)


def _graph() -> dict[str, set[str]]:
    known = set(MODULES)
    g: dict[str, set[str]] = {m: set() for m in MODULES}
    for p in ROOT.rglob("*.py"):
        src = _module_of(p)
        for target, names, _ in _imports(p):
            if target.split(".")[0] != "initreg":
                continue
            # `from pkg import sub` imports the submodule pkg.sub; `from mod import name` imports mod
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            for t in subs or [target]:
                if t in known and t != src:
                    g[src].add(t)
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return out


def test_the_graph_builder_sees_function_level_imports_and_skips_type_checking(tmp_path):
    g = _graph()
    assert "initreg.train.callbacks" in g["initreg.regularize.mixup"]
    # a function-level import counts: fit_seeds falls back to nothing above it, run() imports regularize
    assert "initreg.regularize" in g["initreg.runs"]
    # TYPE_CHECKING-only imports do not: callbacks.py names the data splits in annotations only
    assert "initreg.data" not in g["initreg.train.callbacks"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    """Every import counts, inside functions too (only ``if TYPE_CHECKING:`` blocks are skipped)."""
    assert _cycles(_graph()) == []


def test_no_module_imports_a_private_name_from_another():
    known = set(MODULES)
    bad = []
    for p in ROOT.rglob("*.py"):
        src = _module_of(p)
        for target, names, line in _imports(p):
            if target.split(".")[0] != "initreg" or target == src:
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")
                       and f"{target}.{n}" not in known]
            if private:
                bad.append(f"{p.relative_to(ROOT.parent)}:{line}: from {target} import {', '.join(private)}")
    assert bad == []


@pytest.mark.parametrize("chunk", range(4))
def test_every_module_imports_in_a_fresh_interpreter(chunk):
    """Each module imports first, with no other initreg module loaded: 4 fresh interpreters,
    each importing its share of the modules one at a time, forgetting every initreg module
    in between (so a module that only works after another was imported fails here)."""
    mods = MODULES[chunk::4]
    r = _fresh(f"""
import importlib, json, sys
bad = {{}}
for m in {mods!r}:
    for k in [k for k in sys.modules if k.split(".")[0] == "initreg"]:
        del sys.modules[k]
    try:
        importlib.import_module(m)
    except Exception as e:
        bad[m] = f"{{type(e).__name__}}: {{e}}"
print(json.dumps(bad))
""")
    assert r == {}
