"""Execute the tutorials (jupytext percent-format ``NN_name.py`` files) into notebooks with outputs.

    python tutorials/execute.py                      # every tutorial -> docs/tutorials/NN_name.ipynb
    python tutorials/execute.py 01_deep_net_does_not_train.py     # one of them
    python tutorials/execute.py --if-stale           # only those whose notebook is older than its
                                                     # source or any file of initreg/ (make docs)

Each tutorial runs in a fresh Jupyter kernel (nbclient + ipykernel) in an empty temporary
folder (what it writes, e.g. a sweep's database, goes there), with one thread, and must finish
within its wall-clock budget, kernel start included: 60 s (`BUDGET_S`; the environment variable
``TUTORIAL_BUDGET_S`` changes it, e.g. on a machine shared with other work). A cell that raises
or a tutorial over budget is a one-line error and exit status 1; the notebook is written only
when the tutorial succeeded, so the site never shows a half-run one. Its markdown links to docs
pages are rewritten to the site's addresses (`site_links`).

The tests (``tests/tutorials/``) call `execute` too and write the same notebooks, so in CI
`make test` executes each tutorial once and `make docs` renders what it wrote.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "docs" / "tutorials"
BUDGET_S = float(os.environ.get("TUTORIAL_BUDGET_S", 60))  # wall seconds per tutorial, on a 2-core CPU


def tutorials() -> list[Path]:
    """The tutorial sources, in order (``NN_name.py``)."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


class TutorialError(RuntimeError):
    """A tutorial failed: a cell raised, or it ran past its budget. The message is one line."""


@dataclass
class Executed:
    source: Path
    notebook: Path
    seconds: float  # wall clock, kernel start to last cell
    cpu_seconds: float  # the kernel's user + system time (what a machine shared with others still measures)
    slowest_cell: tuple[int, float]  # (index of the code cell, 0-based among code cells; seconds)


def _cell_seconds(cell) -> float:
    from datetime import datetime

    t = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def execute(source: str | Path, out_dir: str | Path = OUT, *, budget_s: float = BUDGET_S) -> Executed:
    """Run one tutorial in a fresh kernel and write ``out_dir/<stem>.ipynb`` with its outputs.

    Raises `TutorialError` (one line: the tutorial, the cell, the exception or the time) when a
    cell raises or the whole run takes longer than ``budget_s`` seconds.
    """
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    source = Path(source)
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("MPLBACKEND", None)  # the kernel's own (inline) backend shows the figures
    name = source.name
    t0, ru0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    deadline = t0 + budget_s
    try:
        with tempfile.TemporaryDirectory(prefix="initreg-tutorial-") as cwd:
            client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": cwd}},
                                    timeout_func=lambda cell: max(1, int(deadline - time.monotonic()) + 1),
                                    record_timing=True)
            client.execute(env=env)
    except CellTimeoutError:
        raise TutorialError(f"{name}: still running after {budget_s:.0f} s, its wall-clock budget") from None
    except CellExecutionError as e:
        code = [c for c in nb.cells if c.cell_type == "code"]
        failed = next(((i, c) for i, c in enumerate(code, 1)
                       if any(o.output_type == "error" for o in c.get("outputs", []))), None)
        if failed is None:
            raise TutorialError(f"{name}: {str(e).strip().splitlines()[-1]}") from None
        i, cell = failed
        err = next(o for o in cell.outputs if o.output_type == "error")
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        raise TutorialError(f"{name}: code cell {i} ({first[:60]}) raised {err.ename}: {err.evalue}"
                            .splitlines()[0]) from None
    except DeadKernelError as e:
        raise TutorialError(f"{name}: the kernel died ({e})".splitlines()[0]) from None
    seconds = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel has exited and been waited for
    cpu = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
    code = [c for c in nb.cells if c.cell_type == "code"]
    slow = max(range(len(code)), key=lambda i: _cell_seconds(code[i])) if code else 0
    slowest = (slow, _cell_seconds(code[slow]) if code else 0.0)
    if seconds > budget_s:
        raise TutorialError(f"{name}: took {seconds:.1f} s, over its {budget_s:.0f} s budget "
                            f"(slowest code cell {slowest[0]}: {slowest[1]:.1f} s)")
    for c in code:  # timestamps would make every build differ
        c.metadata.pop("execution", None)
    site_links(nb)
    out = Path(out_dir) / f"{source.stem}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".ipynb.tmp")
    import nbformat

    nbformat.write(nb, tmp)
    tmp.replace(out)
    return Executed(source, out, seconds, cpu, slowest)


def _site_link(target: str) -> str:
    path, hash_, anchor = target.partition("#")
    if path.endswith("index.md"):
        path = path[: -len("index.md")]
    elif path.endswith(".md"):
        path = path[: -len(".md")] + "/"
    elif path.endswith(".ipynb"):
        path = path[: -len(".ipynb")] + "/"
    else:
        return target
    return "../" + path + hash_ + anchor


def site_links(nb) -> None:
    """Rewrite the markdown cells' relative links to docs pages (``../probe.md``) and to other
    tutorials (``05_x.ipynb``) into the site's addresses: in the site a tutorial is the page
    ``tutorials/<stem>/``, so they become ``../../probe/`` and ``../05_x/``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\]\((?!https?://|#)([^)\s]+)\)", lambda m: f"]({_site_link(m.group(1))})",
                                 cell.source)


def is_stale(source: Path, out_dir: Path = OUT) -> bool:
    """The executed notebook is missing, or older than its source or any file of the package."""
    out = out_dir / f"{source.stem}.ipynb"
    if not out.exists():
        return True
    newest = max([source.stat().st_mtime] + [p.stat().st_mtime for p in (ROOT / "initreg").rglob("*.py")])
    return out.stat().st_mtime < newest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="tutorial files (default: all of tutorials/)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the executed notebooks")
    ap.add_argument("--if-stale", action="store_true", help="skip tutorials whose notebook is up to date")
    ap.add_argument("--budget", type=float, default=BUDGET_S, help="seconds per tutorial")
    a = ap.parse_args(argv)
    sources = [HERE / Path(n).name for n in a.names] or tutorials()
    for s in sources:
        if not s.is_file():
            print(f"tutorials: no tutorial {s.name!r}; known: {', '.join(p.name for p in tutorials())}",
                  file=sys.stderr)
            return 2
    for s in sources:
        if a.if_stale and not is_stale(s, a.out):
            print(f"{s.name}: up to date")
            continue
        try:
            r = execute(s, a.out, budget_s=a.budget)
        except TutorialError as e:
            print(e, file=sys.stderr)
            return 1
        print(f"{s.name}: {r.seconds:.1f} s ({r.cpu_seconds:.1f} s CPU) -> {r.notebook.relative_to(ROOT) if r.notebook.is_relative_to(ROOT) else r.notebook}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
