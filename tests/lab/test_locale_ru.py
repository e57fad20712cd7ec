"""The Russian text of every lab claim (``initreg/lab/locale/ru/<CLAIM>.yaml``) is complete and fits its claim.

For every registered claim: a file that parses, the same criteria parts, a notes template with exactly the
placeholders of the claim's NOTES (field, conversion and format spec), no number written into the Russian
text that the English does not contain, a ``words`` table that covers every English string the claim can
put into its words (and into the other string-valued numbers its notes show), and Russian prose.

Which strings a claim can produce is read from its source (``ast``), not from one run's numbers: a run
takes one branch of each ``if``, so recorded numbers would leave the other branches untested, and a new
string in a claim fails here before any lab run. An f-string is covered by a key in which each replacement
field is ``{}`` (the translation captures the text there and may reorder it: ``{0}``, ``{1}``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import string
from pathlib import Path

import pytest
import yaml

import initreg.lab.claims as claims_pkg
from initreg.lab.experiment import experiments

LOCALE = Path(claims_pkg.__file__).resolve().parents[1] / "locale" / "ru"

for _m in pkgutil.iter_modules(claims_pkg.__path__):
    if not _m.name.startswith("_"):
        importlib.import_module(f"{claims_pkg.__name__}.{_m.name}")

CLAIMS = sorted(name for name in experiments)
KEYS = {"title", "statement", "criteria", "notes", "words", "figures"}
# names kept in Latin letters in the Russian text (the lecture itself writes them so)
TECHNICAL = {
    "relu", "leaky", "elu", "softplus", "sigmoid", "tanh", "softmax", "log", "sum", "exp", "xavier", "glorot",
    "kaiming", "mnist", "lenet", "mlp", "adam", "adamw", "sgd", "batchnorm", "layernorm", "instancenorm",
    "groupnorm", "dropout", "mixup", "pytorch", "torch", "float", "fp", "bf", "int", "qat", "ece", "mse", "lr",
    "var", "std", "min", "max", "mc", "rms", "ulp", "nan", "inf", "argmax", "autograd", "torchao",
}
# the report's interface words: none may be left in English (issue 17)
INTERFACE = {"holds", "verdict", "criterion", "criteria", "lecture", "seed", "seeds", "claim", "interval",
             "threshold", "accuracy", "epoch", "epochs", "train", "test", "validation", "samples", "steps"}


def _claim(name: str):
    return experiments.get(name)


def _load(name: str) -> dict:
    path = LOCALE / f"{name}.yaml"
    assert path.is_file(), f"claim {name} has no Russian text: write {path}"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def _common() -> dict:
    data = yaml.safe_load((LOCALE / "_common.yaml").read_text(encoding="utf-8"))
    assert set(data) == {"words", "figures"}, f"_common.yaml: keys {sorted(data)}; expected words and figures"
    return data


def _fields(template: str) -> set[str]:
    """Every replacement field as written: name, conversion and format spec."""
    out = set()
    for _, field, spec, conv in string.Formatter().parse(template):
        if field is not None:
            out.add(field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else ""))
    return out


def _literal(template: str) -> str:
    """The template's text outside its replacement fields."""
    return "".join(lit for lit, *_ in string.Formatter().parse(template))


def _f_template(node: ast.AST) -> str | None:
    """A string constant as it is; an f-string as a key with ``{}`` for each replacement field."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value.replace("{", "{{").replace("}", "}}") if isinstance(v, ast.Constant) else "{}"
                       for v in node.values)
    return None


def _strings(expr: ast.AST, keys: frozenset[str] = frozenset()) -> list[str]:
    """The English texts an expression can produce: its string constants and f-strings (every branch),
    not docstrings, subscripts, dict keys or other ``keys`` (the module's identifiers), and not texts
    without two Latin letters in a row."""
    skip: set[int] = set()
    for n in ast.walk(expr):
        if isinstance(n, (ast.FunctionDef, ast.Module)) and ast.get_docstring(n) is not None:
            skip.add(id(n.body[0].value))
        if isinstance(n, ast.JoinedStr):
            skip.update(id(v) for v in n.values)
        elif isinstance(n, ast.Subscript):
            skip.add(id(n.slice))
        elif isinstance(n, ast.Dict):
            skip.update(id(k) for k in n.keys if k is not None)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "join":
            skip.add(id(n.func.value))  # the separator
    out = []
    for n in ast.walk(expr):
        t = None if id(n) in skip else _f_template(n)
        if t is not None and t not in keys and re.search(r"[A-Za-z]{2}", t.replace("{}", "")):
            out.append(t)
    return out


def produced_words(name: str) -> set[str]:
    """The English strings claim ``name`` can put into its ``words`` (any ``*words*`` name or key) and into
    the other string-valued numbers its notes show (``numbers[KEY] = ...`` or a ``"KEY": ...`` entry for a
    top-level field KEY of the notes)."""
    exp = _claim(name)
    tree = ast.parse(inspect.getsource(inspect.getmodule(exp.fn)))
    shown = {f.split(".")[0].split("[")[0] for f in (fld for _, fld, _, _ in string.Formatter().parse(exp.notes or ""))
             if f} - {"words", "settings", "seeds", "parts", "n_seeds"}

    keys = frozenset(n.slice.value for n in ast.walk(tree) if isinstance(n, ast.Subscript)
                     and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)) | frozenset(
        k.value for n in ast.walk(tree) if isinstance(n, ast.Dict) for k in n.keys if isinstance(k, ast.Constant))

    def wanted(key: str) -> bool:
        return "words" in key or key in shown

    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Dict):
            for k, v in zip(n.keys, n.values):
                if isinstance(k, ast.Constant) and isinstance(k.value, str) and wanted(k.value):
                    out.update(_strings(v, keys))
        elif isinstance(n, (ast.Assign, ast.AugAssign)):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            for t in targets:
                if isinstance(t, ast.Name) and "words" in t.id:
                    out.update(_strings(n.value, keys))
                elif isinstance(t, ast.Subscript):
                    key = t.slice.value if isinstance(t.slice, ast.Constant) else None
                    if "words" in ast.unparse(t) or (isinstance(key, str) and wanted(key)):
                        out.update(_strings(n.value, keys))
        if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "stacked_note":
            out.update(_strings(n, keys))  # what was stacked ("teachers"), wherever the note goes
    if "stacked_note(" in ast.unparse(tree):  # its sentences come from initreg.lab.experiment
        out.update(_strings(ast.parse(inspect.getsource(importlib.import_module("initreg.lab.experiment").stacked_note))))
    return out


def cyrillic_share(text: str) -> float:
    """Share of Cyrillic letters among the letters of ``text`` outside replacement fields, `code`,
    formulas' single letters and the technical names kept in Latin (``TECHNICAL``)."""
    text = re.sub(r"`[^`]*`", " ", text)
    cyr = lat = 0
    for word in re.findall(r"[^\W\d_]+", text):
        if re.fullmatch(r"[A-Za-z]+", word):
            if word.lower() in TECHNICAL or len(word) <= 2 or not word.islower():
                continue  # names, formula letters, abbreviations (ReLU, MNIST, BN, Var)
            lat += len(word)
        else:
            cyr += sum(1 for ch in word if "\u0400" <= ch <= "\u04ff")
    return cyr / max(1, cyr + lat)


@pytest.mark.parametrize("name", CLAIMS)
def test_ru_file_fits_claim(name):
    exp, ru = _claim(name), _load(name)
    assert set(ru) == KEYS, f"{name}: keys {sorted(ru)}; expected {sorted(KEYS)}"
    for key in ("title", "statement", "notes"):
        assert isinstance(ru[key], str) and ru[key].strip(), f"{name}: {key} is empty"
    assert set(ru["criteria"]) == {c.part for c in exp.criteria}, f"{name}: criteria parts differ from the claim's"
    for part, entry in ru["criteria"].items():
        assert set(entry) == {"metric", "text"} and entry["metric"].strip(), f"{name}: criteria[{part}] needs metric and text"
        assert bool(entry["text"].strip()) == bool(next(c for c in exp.criteria if c.part == part).text.strip()), \
            f"{name}: criteria[{part}].text is empty where the English is not (or the other way round)"
    assert _fields(ru["notes"]) == _fields(exp.notes or ""), (
        f"{name}: notes placeholders differ: only Russian {sorted(_fields(ru['notes']) - _fields(exp.notes or ''))}, "
        f"only English {sorted(_fields(exp.notes or '') - _fields(ru['notes']))}")
    english_tokens = set(re.findall(r"\S*\d\S*", _literal(exp.notes or "")))
    for token in re.findall(r"[\w.\-−]*\d[\w.\-−]*", _literal(ru["notes"])):
        assert any(token in t for t in english_tokens), f"{name}: the Russian notes write the number {token!r}, the English do not"
    for table in ("words", "figures"):
        assert isinstance(ru[table], dict), f"{name}: {table} must be a mapping"
        for en, text in ru[table].items():
            assert isinstance(text, str) and (text.strip() or not en.strip()), f"{name}: {table}[{en!r}] is empty"
            n_en = sum(1 for _, f, _, _ in string.Formatter().parse(en) if f is not None)
            used = {int(f or i) for i, (_, f, _, _) in enumerate(x for x in string.Formatter().parse(text) if x[1] is not None)}
            assert used == set(range(n_en)), f"{name}: {table}[{en!r}] must use each of its {n_en} fields once: {text!r}"


@pytest.mark.parametrize("name", CLAIMS)
def test_ru_words_cover_claim(name):
    """Every English string the claim can produce has an entry, its own or a shared one (``_common.yaml``)."""
    missing = produced_words(name) - set(_load(name)["words"]) - set(_common()["words"])
    assert not missing, f"{name}: words has no Russian for {sorted(missing)}"


@pytest.mark.parametrize("name", CLAIMS)
def test_ru_text_is_russian(name):
    ru = _load(name)
    text = " ".join([ru["title"], ru["statement"], _literal(ru["notes"])]
                    + [v for entry in ru["criteria"].values() for v in entry.values()])
    assert cyrillic_share(text) >= 0.85, f"{name}: only {cyrillic_share(text):.0%} of the letters are Cyrillic"
    own = re.sub(r"«[^«»]*»|`[^`]*`", " ", text)  # the lecture's quoted words (its slide "Train, Validation, Test") may stay
    left = sorted({w for w in re.findall(r"[A-Za-z]+", own) if w.lower() in INTERFACE})
    assert not left, f"{name}: English interface words left in the Russian text: {left}"


def test_produced_words_sees_every_branch():
    """The source reader finds both branches of a conditional and an f-string's template (C3, K2)."""
    assert {"Both are within the tolerance on every seed.",
            "Softmax itself differs from torch by more than the tolerance on some seed."} <= produced_words("C3")
    assert "The optimism is larger than its seed-to-seed spread." in produced_words("K2")
    assert any("{}" in w for w in produced_words("C1"))
