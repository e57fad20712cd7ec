"""How a lecture claim becomes an experiment.

An experiment is a function ``run(ctx) -> Outcome`` registered under its claim id with the
lecture's statement, the settings it uses (quick and full), the seeds it needs, its
**criteria** (`initreg.lab.verdict.Criterion`: metric, unit, threshold, direction, the date
each last changed) and a notes template. The function measures — one value per seed for
each criterion's part, in ``Outcome.measurements`` — and the lab judges (`judge`), so a
claim cannot grade itself. The notes template is filled from this run's ``numbers`` (and
``settings``, ``seeds``), so no note states a number that this run did not measure.

>>> from initreg.lab import experiment, Outcome
>>> from initreg.lab.verdict import Criterion
>>> @experiment("X0", title="demo", statement="a twin with the feature scores higher",
...             criteria=[Criterion("gain", metric="score with − without", unit="", direction=">", threshold=0)],
...             notes="mean gain {gain[mean]:.2f} over {n_seeds} seeds",
...             settings={"quick": {"a": 1}, "full": {"a": 1}}, register=False)
... def demo(ctx):
...     gains = [1.0 + 0.1 * s for s in ctx.seeds]
...     return Outcome(measurements={"gain": gains}, numbers={"gain": ctx.summarize(gains), "n_seeds": len(gains)})
>>> demo.claim, [c.part for c in demo.criteria]
('X0', ['gain'])
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
from .verdict import Criterion, combine, criteria_hash, judge

__all__ = ["Experiment", "Outcome", "Context", "experiment", "experiments", "stacked_note"]

experiments: Registry = Registry("experiment")


@dataclass
class Outcome:
    """What an experiment measured.

    Args:
        measurements: per declared criterion part, one value per seed (in ``ctx.seeds`` order):
            the paired effect of that seed's two arms, or the seed's value for an exact check.
            The lab judges them; the experiment never returns a verdict itself.
        numbers: the numbers behind it (floats, lists, `mean_ci` dicts, short strings), the only
            source of the numbers the notes template shows.
        figures: file names (in ``ctx.dir``) of the figures to show in the report.
        holds: only for experiments declared without criteria (a legacy boolean verdict).
        notes: only for experiments declared without a notes template (legacy free text).
    """

    measurements: dict[str, Sequence[float]] = field(default_factory=dict)
    numbers: dict[str, Any] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    holds: bool | None = None
    notes: str = ""


@dataclass
class Context:
    """What an experiment gets from the lab."""

    quick: bool
    seeds: list[int]
    settings: dict[str, Any]
    dir: Path  # this claim's folder: write figures here
    log: Callable[[str], None] = print
    artefacts: Path | None = None  # the lab's cache of trained models shared between claims (`initreg.lab.artefacts`)

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
    criterion: str  # the criteria in words (generated from ``criteria`` when they are declared)
    settings: dict[str, dict[str, Any]]  # {"quick": {...}, "full": {...}}
    fn: Callable[[Context], Outcome]
    lecture: tuple[str, ...] = ()  # lecture part ids (e.g. ("L2",))
    seeds: dict[str, int] = field(default_factory=lambda: {"quick": 3, "full": 5})
    order: float = 0.0  # position in the report (default: the claim number)
    criteria: tuple[Criterion, ...] = ()  # the judged parts, declared before the run
    headline: str | None = None  # the part shown in the headline table (default: the first)
    notes: str | None = None  # str.format template over this run's numbers, settings and seeds

    def criteria_hash(self) -> str:
        """Hash of the declared criteria, seeds and budgets (see `initreg.lab.verdict.criteria_hash`)."""
        return criteria_hash(self.criteria, {"seeds": self.seeds, "settings": self.settings})

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
                           "criteria": self.criteria_hash(), "notes": self.notes,
                           "source": self.source_hash(), "library": library_hash(), "version": __version__,
                           "torch": torch.__version__}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def __call__(self, ctx: Context) -> Outcome:
        return self.fn(ctx)

    def judge(self, o: Outcome, ctx: Context) -> dict[str, Any]:
        """The record fields that the lab derives from an outcome: each declared part judged
        from its per-seed values, the claim's verdict, the headline part's effect, interval and
        threshold, and the notes filled from this run's numbers. Raises ``ValueError`` when the
        outcome does not measure what was declared (a missing or extra part, a wrong count)."""
        if not self.criteria:  # legacy: a boolean verdict and free-text notes
            if o.holds is None:
                raise ValueError(f"experiment {self.claim} declares no criteria, so its Outcome must set holds")
            return {"verdict": "holds" if o.holds else "does_not_hold", "holds": bool(o.holds), "parts": [],
                    "seeds": list(ctx.seeds), "criteria_hash": self.criteria_hash(), "notes": o.notes}
        if o.holds is not None:
            raise ValueError(f"experiment {self.claim} declares criteria: the lab judges them, so its Outcome must not set holds")
        declared = [c.part for c in self.criteria]
        if set(o.measurements) != set(declared):
            raise ValueError(f"experiment {self.claim} must measure exactly its declared parts {declared}; "
                             f"got {sorted(o.measurements)}")
        min_seeds = self.seeds["quick" if ctx.quick else "full"]
        parts = [judge(c, o.measurements[c.part], ctx.seeds, min_seeds=min_seeds) for c in self.criteria]
        verdict = combine(p["verdict"] for p in parts)
        head = next(p for p in parts if p["part"] == self.headline)
        notes = o.notes
        if self.notes is not None:
            try:
                notes = self.notes.format_map({**o.numbers, "settings": ctx.settings, "seeds": ctx.seeds,
                                               "n_seeds": len(ctx.seeds), "parts": {p["part"]: p for p in parts}})
            except (KeyError, IndexError, ValueError, TypeError, AttributeError) as e:
                raise ValueError(f"experiment {self.claim}: its notes template does not fit this run's numbers: "
                                 f"{type(e).__name__}: {e}") from None
        return {"verdict": verdict, "holds": verdict == "holds", "parts": parts, "seeds": list(ctx.seeds),
                "headline": self.headline, "effect": head["effect"], "interval": head["interval"],
                "threshold": head["threshold"], "unit": head["unit"], "direction": head["direction"],
                "metric": head["metric"], "criteria_hash": self.criteria_hash(), "notes": notes}


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


MIN_SEEDS = {"quick": 3, "full": 5}  # the fewest seeds a claim may declare per mode


def experiment(claim: str, *, title: str, statement: str, settings: dict[str, dict[str, Any]],
               criteria: Sequence[Criterion] | None = None, notes: str | None = None, headline: str | None = None,
               criterion: str | None = None, lecture: Sequence[str] = (), seeds: dict[str, int] | None = None,
               order: float | None = None, register: bool = True) -> Callable[[Callable[[Context], Outcome]], Experiment]:
    """Decorator: turn ``run(ctx) -> Outcome`` into a registered :class:`Experiment`.

    ``criteria`` (one `Criterion` per judged part) and ``notes`` (a ``str.format`` template over
    the outcome's numbers, ``settings`` and ``seeds``) are the declared form; ``criterion``
    (free text, with ``Outcome.holds``) is the legacy form. ``seeds`` defaults to
    ``MIN_SEEDS`` and may not go below it.
    """
    if set(settings) != {"quick", "full"}:
        raise ValueError(f"experiment {claim}: settings must have exactly the keys 'quick' and 'full'; got {sorted(settings)}")
    seeds = dict(seeds or MIN_SEEDS)
    if set(seeds) != {"quick", "full"}:
        raise ValueError(f"experiment {claim}: seeds must have exactly the keys 'quick' and 'full'; got {sorted(seeds)}")
    for mode, lo in MIN_SEEDS.items():
        if seeds[mode] < lo:
            raise ValueError(f"experiment {claim}: seeds[{mode!r}] must be >= {lo} (too few seeds cannot decide); "
                             f"got {seeds[mode]}")
    crit = tuple(criteria or ())
    if crit:
        parts = [c.part for c in crit]
        if len(set(parts)) != len(parts):
            raise ValueError(f"experiment {claim}: criterion parts must be unique; got {parts}")
        if headline is not None and headline not in parts:
            raise ValueError(f"experiment {claim}: headline={headline!r} is not a declared part; known: {parts}")
        criterion = criterion or "; ".join(f"({c.part}) {c.sentence()}" for c in crit)
    elif criterion is None:
        raise ValueError(f"experiment {claim}: declare its criteria (criteria=[Criterion(...)])")

    def wrap(fn: Callable[[Context], Outcome]) -> Experiment:
        exp = Experiment(claim=claim, title=title, statement=statement, criterion=criterion, settings=settings, fn=fn,
                         lecture=tuple(lecture), seeds=seeds, criteria=crit,
                         headline=(headline or crit[0].part) if crit else None, notes=notes,
                         order=_claim_order(claim) if order is None else order)
        if register:
            experiments.register(claim, exp)
        return exp

    return wrap
