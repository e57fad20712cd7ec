"""The lab report in the lecture's language: ``initreg lab --quick --lang ru --only C3,C5``
writes a Russian report (prose Cyrillic, no English interface word left, figures in Russian),
and ``initreg report --lang`` re-renders either language from ``results.json`` alone."""

from __future__ import annotations

import base64
import json
import re
from html import escape

import pytest
from test_report import Page

from initreg.cli import main
from initreg.lab import messages
from initreg.lab.texts import claim_text

CYRILLIC = re.compile(r"[а-яё]", re.I)
WORD = re.compile(r"[^\W\d_]+")


class Prose(Page):
    """The page's prose: text outside code, tables, figures and the folded numbers."""

    SKIP = Page.SKIP | {"table", "figure", "details"}


def interface_words() -> set[str]:
    """The English catalogue's words (4+ letters) that the Russian catalogue does not use itself
    (``initreg``, ``torch``, ``Python`` are names, the same in both)."""
    def words(lang: str) -> set[str]:
        # not the placeholders, nor code (`docs/LECTURE.md`)
        texts = (re.sub(r"\{\w+\}|`[^`]*`", " ", s) for s in messages.CATALOGUE[lang].values())
        return {w.lower() for s in texts for w in WORD.findall(s)}

    return {w for w in words("en") if len(w) >= 4} - words("ru")


@pytest.fixture(scope="module")
def ru(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab-ru")
    assert main(["lab", "--quick", "--lang", "ru", "--only", "C3,C5", "--out", str(out)]) == 0
    return out


def test_interface_words_are_the_ones_a_reader_would_see():
    words = interface_words()
    assert {"holds", "verdict", "criterion", "lecture", "seeds", "inconclusive", "threshold", "effect"} <= words
    assert not {"initreg", "torch", "python"} & words


def test_the_prose_is_russian(ru):
    html = (ru / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ru">' in html
    # a word has two letters or more: a single letter is a formula's variable (n, w, z in Var(w) = 1/(3n))
    words = [w for w in WORD.findall(Prose(html).visible) if len(w) >= 2]
    share = sum(bool(CYRILLIC.search(w)) for w in words) / len(words)
    assert len(words) > 300 and share >= 0.85, f"{share:.0%} of {len(words)} words are Cyrillic"


def test_no_english_interface_word_is_left(ru):
    page = Page((ru / "index.html").read_text(encoding="utf-8"))  # also the tables' headers and cells
    left = {w.lower() for w in WORD.findall(page.visible)} & interface_words()
    assert not left, f"English words left in the Russian report: {sorted(left)}"
    md = re.sub(r"`[^`]*`", " ", (ru / "summary.md").read_text(encoding="utf-8"))
    assert not {w.lower() for w in WORD.findall(md)} & interface_words()


def test_claims_speak_russian_with_their_numbers(ru):
    html = (ru / "index.html").read_text(encoding="utf-8")
    doc = json.loads((ru / "results.json").read_text(encoding="utf-8"))
    c3 = next(r for r in doc["claims"] if r["claim"] == "C3")
    t3, t5 = claim_text("C3", "ru"), claim_text("C5", "ru")
    assert escape(t3.title) in html and escape(t5.title) in html
    assert f"{c3['numbers']['dev_2']['max']:.4f}" in html  # the Russian notes carry this run's numbers
    stable = c3["numbers"]["words"]["stable"]  # a phrase the claim computed, shown in Russian
    assert escape(t3.words(stable)) in html and t3.words(stable) != stable and escape(stable) not in html
    assert "точная проверка" in html and "С5" not in html  # ids stay Latin


def test_figures_are_the_russian_ones(ru):
    html = (ru / "index.html").read_text(encoding="utf-8")
    for claim, name in (("C3", "c03_softmax"), ("C5", "c05_variance")):
        folder = ru / "claims" / claim
        assert (folder / f"{name}.png").is_file() and (folder / f"{name}.ru.png").is_file()
        ru_png = base64.b64encode((folder / f"{name}.ru.png").read_bytes()).decode()
        en_png = base64.b64encode((folder / f"{name}.png").read_bytes()).decode()
        assert ru_png in html and en_png not in html


def test_report_rerenders_either_language_without_a_rerun(ru, capsys):
    lab_html = (ru / "index.html").read_text(encoding="utf-8")
    stamp = {p: p.stat().st_mtime_ns for p in ru.glob("claims/*/*")}
    assert main(["report", str(ru), "--lang", "en"]) == 0
    en = (ru / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in en and "Softmax example" in en and "Пример" not in en
    en_png = base64.b64encode((ru / "claims" / "C3" / "c03_softmax.png").read_bytes()).decode()
    assert en_png in en
    assert main(["report", str(ru), "--lang", "ru"]) == 0
    assert (ru / "index.html").read_text(encoding="utf-8") == lab_html
    assert stamp == {p: p.stat().st_mtime_ns for p in ru.glob("claims/*/*")}  # nothing ran again


@pytest.mark.parametrize("cmd", [["lab", "--only", "C3", "--lang", "fr"], ["report", ".", "--lang", "fr"]])
def test_an_unknown_language_is_one_line_exit_2(cmd, capsys, tmp_path):
    assert main([*cmd, "--out", str(tmp_path)] if cmd[0] == "lab" else cmd) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lang must be one of en, ru; got 'fr'" in err


def test_list_in_russian(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["lab", "--list", "--only", "C3", "--lang", "ru"]) == 0
    out = capsys.readouterr().out
    assert claim_text("C3", "ru").title in out and "утверждения лаборатории" in out and "точная проверка" in out
    out = re.sub(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", " ", out)  # the parts' ids (snake_case) are names
    assert not {w.lower() for w in WORD.findall(out)} & interface_words()
