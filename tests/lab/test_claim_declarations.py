"""Every lab claim is declared the same way: criteria in data (judged by the lab, not by the
claim), enough seeds, lecture ids that exist, a `changed:` date logged in the public criteria
changelog, and a notes template that states no number this run did not measure."""

import re
from pathlib import Path

import pytest

from initreg.lab import experiments
from initreg.lab.runner import discover

ROOT = Path(__file__).resolve().parents[2]
# Claims still on the legacy boolean form, being moved to declared criteria; this set only shrinks.
LEGACY: set[str] = set()
# Names that contain digits but are not numbers: MNIST-1D, fp8, int8, L2, C12, R5, log10, ...
_NAME = re.compile(r"\b[A-Za-z][A-Za-z_-]*\d[\w-]*")
_FIELD = re.compile(r"\{[^{}]*\}")


def _claims():
    discover()
    return [experiments.get(n) for n in experiments.names()]


def stray_digits(template: str) -> list[str]:
    """Digits in a notes template outside ``{placeholders}`` and names like MNIST-1D or fp8."""
    text = template.replace("{{", "").replace("}}", "")
    text = _FIELD.sub(" ", text)
    text = _NAME.sub(" ", text)
    return re.findall(r"[^\s]*\d[^\s]*", text)


def test_stray_digits_helper():
    assert stray_digits("on MNIST-1D with fp8 and L2, C12 gains {gain[mean]:.1f} pp over {n_seeds} seeds") == []
    assert stray_digits("the teacher reached 71% on seeds 0-4") == ["71%", "0-4"]


def test_every_claim_declares_its_criteria():
    legacy = {e.claim for e in _claims() if not e.criteria}
    assert legacy <= LEGACY, f"new claims must declare criteria: {sorted(legacy - LEGACY)}"
    stale = LEGACY - legacy
    assert not stale, f"these claims declare criteria now: remove them from LEGACY: {sorted(stale)}"


@pytest.mark.parametrize("exp", [e for e in _claims() if e.criteria], ids=lambda e: e.claim)
def test_declared_claim(exp):
    assert exp.seeds["quick"] >= 3 and exp.seeds["full"] >= 5
    assert exp.notes is not None, f"{exp.claim}: declare a notes template (numbers come from this run)"
    assert stray_digits(exp.notes) == [], f"{exp.claim}: notes state numbers no run recomputes"
    lecture_ids = set(re.findall(r"\*\*([LKIR]\d+)\b", (ROOT / "docs" / "LECTURE.md").read_text()))
    assert exp.lecture and set(exp.lecture) <= lecture_ids, f"{exp.claim}: unknown lecture ids {exp.lecture}"
    log = (ROOT / "docs" / "criteria-changelog.md").read_text()
    for c in exp.criteria:
        assert re.search(rf"^\| {re.escape(c.changed)} \| [^|]*\b{exp.claim}\b", log, re.M), (
            f"{exp.claim}.{c.part} changed {c.changed}: log it in docs/criteria-changelog.md")


def test_every_claim_module_has_one_shape():
    """Like every timm model file: module-level SETTINGS, CRITERIA and NOTES, and one entry `run`."""
    import importlib

    for exp in _claims():
        mod = importlib.import_module(exp.fn.__module__)
        assert exp.fn.__name__ == "run", f"{exp.claim}: the entry function is {exp.fn.__name__!r}, not 'run'"
        assert mod.SETTINGS is exp.settings and tuple(mod.CRITERIA) == exp.criteria and mod.NOTES == exp.notes, (
            f"{exp.claim}: declare SETTINGS, CRITERIA and NOTES at module level and pass them to @experiment")
