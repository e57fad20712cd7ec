"""Each claim's own words in the report's languages: title, statement, criteria, notes,
the phrases a claim computes (``numbers["words"]``) and the text in its figures.

English comes from the claim's declarations (``@experiment(title=..., statement=...,
criteria=..., notes=...)``; `initreg.lab.texts.claim_text` gives either). Every other language
lives in package data, one YAML file per claim, ``initreg/lab/locale/<lang>/<CLAIM_ID>.yaml``::

    title: "..."
    statement: "..."      # quotes the lecture's own wording (locale/<lang>/lecture.txt), errata marked
    criteria:
      <part name>: {metric: "...", text: "..."}
    notes: "..."          # str.format template with the same placeholders as the claim's NOTES
    words: {"<English string the claim puts into its numbers>": "<translation>"}
    figures: {"<English text in one of the claim's figures>": "<translation>"}

``locale/<lang>/_common.yaml`` holds ``words`` and ``figures`` shared by every claim (the
shared plot helpers' axis labels, say); a claim's own entries win. A ``words`` or ``figures``
key is either the exact English text or a ``str.format`` template whose fields (``{}``,
``{0}`` or ``{name}``) match any text and are filled into the translation, which may reorder
them: ``"k = {} is too small": "k = {} мало"`` translates ``"k = 3 is too small"``; the text a
field matched is looked up in turn (so ``"{} (theory)"`` also translates what ``{}`` matched).

`localize` turns a ``results.json`` record into the reader's language (the report calls it),
so a report is re-rendered in another language from ``results.json`` without a rerun.

>>> g = Glossary({"seed {} of {}": "сид {} из {}", "loss": "потери"})
>>> g("seed 2 of 5"), g("loss"), g("accuracy")
('сид 2 из 5', 'потери', 'accuracy')
"""

from __future__ import annotations

import copy
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .messages import CATALOGUE, languages, message, unit_text
from .verdict import criterion_sentence

__all__ = ["ClaimText", "Glossary", "LOCALE_DIR", "figure_glossary", "figure_text_hash", "lecture_text", "locale_files",
           "locale_text", "localize"]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_KEYS = {"title", "statement", "criteria", "notes", "words", "figures"}
_COMMON = "_common"


class Glossary:
    """English text → translation: exact strings first, then ``str.format`` templates whose
    fields match any text (see the module docstring). Calling it returns the translation, or
    the text unchanged when no entry matches; `get` returns ``None`` then.

    >>> g = Glossary({"{} (theory)": "{} (теория)", "tanh, zero bias": "tanh, нулевое смещение",
    ...               "{} beats {}": "{1} уступает {0}"})
    >>> g("tanh, zero bias (theory)"), g("A beats B")
    ('tanh, нулевое смещение (теория)', 'B уступает A')

    Lines and ``"; "``/``", "`` lists are translated piece by piece (a list only when every
    piece has an entry), so a template need not describe a joined list:

    >>> g = Glossary({"{} by {}": "{} на {}", "total: {}": "всего: {}", "| run | loss |": "| прогон | лосс |"})
    >>> g("softplus by 14, elu by 1; total: 2"), g("| run | loss |\\n|---|---|")
    ('softplus на 14, elu на 1; всего: 2', '| прогон | лосс |\\n|---|---|')

    A field matches within one line unless its template spans lines, and may match nothing:

    >>> Glossary({"{}\\n{} groups of {}": "{}\\n{} групп по {}", "| {} | {} |": "| {} | {} |", "yes": "да"})(
    ...     "BN\\n6 groups of 36"), Glossary({"| {} | {} |": "| {} | {} |", "yes": "да"})("| a |  |\\n| b | yes |")
    ('BN\\n6 групп по 36', '| a |  |\\n| b | да |')
    """

    def __init__(self, entries: Mapping[str, str] | None = None):
        self.entries: dict[str, str] = dict(entries or {})
        self._exact: dict[str, str] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for src, dst in self.entries.items():
            pattern = _template_pattern(src)
            if pattern is None:
                self._exact[src] = dst
            else:
                self._exact.setdefault(src.replace("{{", "{").replace("}}", "}"), dst)
                self._patterns.append((pattern, dst))
        self._patterns.sort(key=lambda p: -len(p[0].pattern))  # the most specific template first

    def get(self, text: str) -> str | None:
        if text in self._exact:
            return self._exact[text]
        joined = self._pieces(text, strict=True)
        if joined is not None:
            return joined
        for pattern, dst in self._patterns:
            m = pattern.fullmatch(text)
            if m:  # each matched piece is itself looked up: "{} (theory)" translates what {} matched too
                found = {k: self(v) for k, v in m.groupdict().items()}
                args = [found[k] for k in sorted((k for k in found if k.startswith("_")), key=lambda k: int(k[1:]))]
                try:
                    return dst.format(*args, **{k: v for k, v in found.items() if not k.startswith("_")})
                except (KeyError, IndexError, ValueError):
                    return None
        return self._pieces(text, strict=False)

    def _pieces(self, text: str, strict: bool) -> str | None:
        """A text of several lines (a Markdown table), or a list joined by ``"; "`` or ``", "``
        (what a claim builds with ``", ".join(...)``), translated piece by piece. ``strict``:
        only when every piece with words in it has an entry (tried before the templates, which
        would otherwise swallow the rest of a list); otherwise (tried after them) the lines of a
        text that have an entry are translated and the others kept."""
        for sep in ("\n", "; ", ", ") if strict else ("\n",):
            if sep in text:
                pieces = [p if not re.search(r"[^\W\d_]{2}", p) else self.get(p) for p in text.split(sep)]
                if all(p is not None for p in pieces):
                    return sep.join(pieces)  # type: ignore[arg-type]
                if not strict:
                    return sep.join(p if t is None else t for p, t in zip(text.split(sep), pieces))
        return None

    def __call__(self, text: str) -> str:
        got = self.get(text)
        return text if got is None else got

    def __or__(self, other: Glossary) -> Glossary:
        return Glossary({**self.entries, **other.entries})

    def __len__(self) -> int:
        return len(self.entries)


def _template_pattern(src: str) -> re.Pattern[str] | None:
    """A regex for ``src`` read as a ``str.format`` template (fields ``{}``, ``{0}`` or
    ``{name}``); None for a plain string (no fields, nothing but fields, or not a valid template:
    then it only matches exactly)."""
    try:
        pieces = list(string.Formatter().parse(src))
    except ValueError:
        return None
    if not any(name is not None for _, name, _, _ in pieces) or not any(lit for lit, _, _, _ in pieces):
        return None
    out, seen, auto = [], set(), 0
    for literal, name, _spec, _conv in pieces:
        out.append(re.escape(literal))
        if name is None:
            continue
        if name == "":
            name, auto = f"_{auto}", auto + 1
        elif name.isdigit():
            name = f"_{name}"
        elif not name.isidentifier() or name.startswith("_"):
            return None
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
        seen.add(name)
    try:
        # a field matches within one line unless the template itself spans lines: a one-line
        # template never swallows the rest of a table
        return re.compile("".join(out), re.S if "\n" in src else 0)
    except re.error:
        return None


@dataclass(frozen=True)
class ClaimText:
    """One claim's words in one language (`claim_text`)."""

    claim: str
    lang: str
    title: str
    statement: str
    criteria: dict[str, dict[str, str]]  # part -> {"metric": ..., "text": ...}
    notes: str | None
    words: Glossary = field(default_factory=Glossary)
    figures: Glossary = field(default_factory=Glossary)


def _check_lang(lang: str) -> None:
    if lang not in languages():
        raise ValueError(f"lang must be one of {', '.join(languages())}; got lang={lang!r}")


def locale_files(lang: str) -> dict[str, Path]:
    """Claim id → its YAML file in ``locale/<lang>/`` (the shared ``_common.yaml`` excluded)."""
    d = LOCALE_DIR / lang
    return {p.stem: p for p in sorted(d.glob("*.yaml")) if p.stem != _COMMON} if d.is_dir() else {}


@cache
def _load(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with keys {sorted(_KEYS)}; got {type(data).__name__}")
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    for key in ("title", "statement", "notes"):
        if key in data and not isinstance(data[key], str):
            raise ValueError(f"{path}: {key} must be a string; got {type(data[key]).__name__}")
    for key in ("words", "figures"):
        m = data.get(key) or {}
        if not isinstance(m, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in m.items()):
            raise ValueError(f"{path}: {key} must map English strings to translated strings")
        data[key] = m
    crit = data.get("criteria") or {}
    if not isinstance(crit, dict):
        raise ValueError(f"{path}: criteria must map each part name to {{metric: ..., text: ...}}")
    for part, c in crit.items():
        if not isinstance(c, dict) or set(c) - {"metric", "text"} or not all(isinstance(v, str) for v in c.values()):
            raise ValueError(f"{path}: criteria.{part} must be {{metric: str, text: str}}; got {c!r}")
    data["criteria"] = crit
    return data


def _common(lang: str) -> dict[str, Any]:
    p = LOCALE_DIR / lang / f"{_COMMON}.yaml"
    return _load(p) if p.is_file() else {"words": {}, "figures": {}, "criteria": {}}


def locale_text(claim: str, lang: str) -> ClaimText | None:
    """``claim``'s words in ``lang`` from ``locale/<lang>/<claim>.yaml``, with the shared glossary
    entries under its own; ``None`` for English (the claim's declarations hold it: see
    `initreg.lab.texts.claim_text`) and where that file does not exist."""
    _check_lang(lang)
    path = locale_files(lang).get(claim) if lang != "en" else None
    if path is None:
        return None
    data, common = _load(path), _common(lang)
    return ClaimText(claim=claim, lang=lang, title=data.get("title", ""), statement=data.get("statement", ""),
                     criteria=data["criteria"], notes=data.get("notes"),
                     words=Glossary(common["words"]) | Glossary(data["words"]),
                     figures=Glossary(common["figures"]) | Glossary(data["figures"]))


def figure_glossary(claim: str, lang: str) -> Glossary:
    """The text of ``claim``'s figures in ``lang``: its own ``figures`` entries over the shared ones."""
    ct = locale_text(claim, lang)
    if ct is not None:
        return ct.figures
    return Glossary(_common(lang)["figures"]) if lang != "en" else Glossary()


def figure_text_hash(claim: str) -> str:
    """A short hash of ``claim``'s figure glossaries in every language but English: part of the
    lab's cache key, since the translated figures are drawn when the claim runs."""
    import hashlib
    import json

    tables = {lang: figure_glossary(claim, lang).entries for lang in languages() if lang != "en"}
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]


def lecture_text(lang: str = "ru") -> str:
    """The lecture's own text in ``lang``, as shipped with the package (``locale/<lang>/lecture.txt``)."""
    _check_lang(lang)
    p = LOCALE_DIR / lang / "lecture.txt"
    if not p.is_file():
        raise FileNotFoundError(f"no lecture text for lang={lang!r}; have: "
                                f"{', '.join(sorted(d.name for d in LOCALE_DIR.iterdir() if (d / 'lecture.txt').is_file()))}")
    return p.read_text(encoding="utf-8")


# ---------------------------------------------------------------- records


@cache
def _reasons(lang: str) -> Glossary:
    """The lab's English reasons (``reason.*``, as judge wrote them) → ``lang``."""
    en = CATALOGUE["en"]
    return Glossary({en[k]: CATALOGUE[lang][k] for k in en if k.startswith("reason.")})


def _map_strings(v: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(v, str):
        return fn(v)
    if isinstance(v, dict):
        return {k: _map_strings(x, fn) for k, x in v.items()}
    if isinstance(v, list):
        return [_map_strings(x, fn) for x in v]
    return v


def localize(rec: dict[str, Any], lang: str, *, notes: bool = True) -> dict[str, Any]:
    """A copy of a ``results.json`` record with its reader-facing words in ``lang``: title,
    statement, criteria (metric and sentence), units, the lab's reasons, the strings among the
    numbers (looked up in the ``words`` glossary), and the notes rendered from the ``lang``
    template with those numbers (the parts' verdicts as the reader's words). English returns ``rec``
    itself; a claim without a file for ``lang`` keeps its English words. ``notes=False`` leaves
    the notes as they are (a table row needs none)."""
    _check_lang(lang)
    if lang == "en":
        return rec
    r = copy.deepcopy(rec)
    ct = locale_text(str(rec.get("claim", "")), lang)
    parts, sentences = [], []
    for p in r.get("parts") or []:
        crit = (ct.criteria.get(p.get("part", "")) if ct else None) or {}
        if crit.get("metric"):
            p["metric"] = crit["metric"]
            if all(k in p for k in ("kind", "unit", "direction", "threshold")):
                p["text"] = criterion_sentence(p["kind"], crit["metric"], p["unit"], p["direction"], p["threshold"],
                                               crit.get("text", ""), lang)
        if p.get("reason"):
            p["reason"] = _reasons(lang)(p["reason"])
        p["unit"] = unit_text(p.get("unit") or "", lang)
        sentences.append(f"({p.get('part', '')}) {p.get('text', '')}")
        parts.append(p)
    if parts:
        r["parts"] = parts
        head = next((p for p in parts if p.get("part") == r.get("headline")), parts[0])
        r["metric"] = head.get("metric", r.get("metric"))
        r["criterion"] = "; ".join(sentences)
    if "unit" in r:
        r["unit"] = unit_text(r.get("unit") or "", lang)
    if ct is None:
        return r
    if ct.title:
        r["title"] = ct.title
    if ct.statement:
        r["statement"] = ct.statement
    if notes and ct.notes is not None and rec.get("status") != "error":
        r["notes"] = _notes(rec, ct, lang)
    if r.get("numbers"):  # the phrases among the numbers, as the notes show them
        r["numbers"] = _map_strings(r["numbers"], ct.words)
    return r


def _notes(rec: dict[str, Any], ct: ClaimText, lang: str) -> str:
    """The notes template of ``ct`` filled from the record as `Experiment.judge` fills the
    English one; the English notes when this record's numbers do not fit it."""
    numbers = _map_strings(rec.get("numbers") or {}, ct.words)
    seeds = rec.get("seeds") or []
    parts = {p.get("part"): {**p, "verdict": message(f"verdict.{p['verdict']}", lang)
                             if p.get("verdict") in ("holds", "does_not_hold", "inconclusive") else p.get("verdict")}
             for p in rec.get("parts") or []}
    try:
        return ct.notes.format_map({**numbers, "settings": rec.get("settings") or {}, "seeds": seeds,
                                    "n_seeds": len(seeds), "parts": parts})
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as e:
        import warnings

        warnings.warn(f"claim {ct.claim}: its {lang} notes template (locale/{lang}/{ct.claim}.yaml) does not fit "
                      f"this record's numbers ({type(e).__name__}: {e}); the report shows the English notes",
                      stacklevel=2)
        return rec.get("notes", "")
