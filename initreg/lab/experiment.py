"""How a lecture claim becomes an experiment.

An experiment is a function ``run(ctx) -> Outcome`` registered under its claim id with the
lecture's statement, the settings it uses (quick and full) and a **criterion fixed in the
code before the run**. The lab calls it, caches its result by a hash of its settings,
seeds and source, and reports it.

>>> from initreg.lab import experiment, Outcome
>>> @experiment("X0", title="demo", statement="1 + 1 = 2", criterion="sum == 2",
...             settings={"quick": {"a": 1}, "full": {"a": 1}}, register=False)
... def demo(ctx):
...     s = ctx.settings["a"] + 1
...     return Outcome(holds=s == 2, numbers={"sum": s})
>>> demo.claim, demo.title
('X0', 'demo')
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..registry import Registry
from ..utils.stats import mean_ci

__all__ = ["Experiment", "Outcome", "Context", "experiment", "experiments", "stacked_note"]

experiments: Registry = Registry("experiment")


@dataclass
class Outcome:
    """What an experiment found.

    Args:
        holds: the verdict of the fixed criterion (for every seed, unless the criterion
            says otherwise).
        numbers: the key numbers behind it (floats, lists, or `mean_ci` dicts).
        figures: file names (in ``ctx.dir``) of the figures to show in the report.
        notes: Markdown: what was run, what was seen, caveats (e.g. where the lecture is wrong).
    """

    holds: bool
    numbers: dict[str, Any] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    notes: str = ""


@dataclass
class Context:
    """What an experiment gets from the lab."""

    quick: bool
    seeds: list[int]
    settings: dict[str, Any]
    dir: Path  # this claim's folder: write figures here
    log: Callable[[str], None] = print

    def figure(self, name: str) -> Path:
        """Path for a figure file in this claim's folder."""
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir / name

    @staticmethod
    def summarize(values: Sequence[float]) -> dict[str, float]:
        """Mean with a 95% CI over seeds."""
        return mean_ci(values)


_LIBRARY_HASH: str | None = None


def library_hash() -> str:
    """Hash of every ``.py`` file of the installed ``initreg`` package (path and content),
    computed once per process: part of each lab cache key, so a library edit reruns the claims
    instead of serving results the current code would not reproduce."""
    global _LIBRARY_HASH
    if _LIBRARY_HASH is None:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
        _LIBRARY_HASH = h.hexdigest()[:16]
    return _LIBRARY_HASH


@dataclass
class Experiment:
    claim: str  # the lecture's claim id, e.g. "C1"
    title: str
    statement: str  # the lecture's claim, in words
    criterion: str  # the falsifiable criterion, fixed before the run
    settings: dict[str, dict[str, Any]]  # {"quick": {...}, "full": {...}}
    fn: Callable[[Context], Outcome]
    lecture: tuple[str, ...] = ()  # lecture part ids (e.g. ("L2",))
    seeds: dict[str, int] = field(default_factory=lambda: {"quick": 2, "full": 5})
    order: float = 0.0  # position in the report (default: the claim number)

    def mode_settings(self, quick: bool) -> dict[str, Any]:
        return dict(self.settings["quick" if quick else "full"])

    def default_seeds(self, quick: bool) -> int:
        return self.seeds["quick" if quick else "full"]

    def source_hash(self) -> str:
        """Hash of the module that defines the experiment (a code change invalidates caches)."""
        try:
            src = inspect.getsource(inspect.getmodule(self.fn))
        except (OSError, TypeError):
            src = self.fn.__qualname__
        return hashlib.sha256(src.encode()).hexdigest()[:16]

    def key(self, quick: bool, seeds: list[int]) -> str:
        """The cache key of a run: claim, mode, settings, seeds, the claim's source, the source
        of the whole ``initreg`` package (an edit anywhere in the library can change a number)
        and the versions of the package and torch. A finished result is reused only under the same key."""
        import torch

        from .. import __version__

        blob = json.dumps({"claim": self.claim, "quick": quick, "settings": self.mode_settings(quick), "seeds": seeds,
                           "source": self.source_hash(), "library": library_hash(), "version": __version__,
                           "torch": torch.__version__}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def __call__(self, ctx: Context) -> Outcome:
        return self.fn(ctx)


def stacked_note(result: Any, what: str = "models") -> str:
    """How a claim's seeds were trained, for its notes: ``result`` is the `SeedsResult` of
    `initreg.train.multiseed.train_seeds` (or `fit_seeds`).

    >>> from initreg.train.multiseed import SeedsResult
    >>> r = SeedsResult([None, None]); r.vectorized = True
    >>> print(stacked_note(r, "teachers"))
    the 2 seeds' teachers trained as one stacked model (2 copies)
    """
    k = len(result)
    if result.vectorized:
        return f"the {k} seeds' {what} trained as one stacked model ({k} copies)"
    if k == 1:
        return f"one seed's {what}: nothing to stack"
    return f"the {k} seeds' {what} trained one at a time: {result.reason}"


def _claim_order(claim: str) -> float:
    m = re.match(r"[A-Za-z]+(\d+)", claim)
    return float(m.group(1)) if m else 1e9


def experiment(claim: str, *, title: str, statement: str, criterion: str, settings: dict[str, dict[str, Any]],
               lecture: Sequence[str] = (), seeds: dict[str, int] | None = None, order: float | None = None,
               register: bool = True) -> Callable[[Callable[[Context], Outcome]], Experiment]:
    """Decorator: turn ``run(ctx) -> Outcome`` into a registered :class:`Experiment`."""
    if set(settings) != {"quick", "full"}:
        raise ValueError(f"experiment {claim}: settings must have exactly the keys 'quick' and 'full'; got {sorted(settings)}")

    def wrap(fn: Callable[[Context], Outcome]) -> Experiment:
        exp = Experiment(claim=claim, title=title, statement=statement, criterion=criterion, settings=settings, fn=fn,
                         lecture=tuple(lecture), seeds=seeds or {"quick": 2, "full": 5},
                         order=_claim_order(claim) if order is None else order)
        if register:
            experiments.register(claim, exp)
        return exp

    return wrap
