"""The report's languages: glossaries, the claims' locale files through the loader, records
localized for the reader, figures saved in every language, the lecture's parts in both."""

from __future__ import annotations

import copy

import pytest

from initreg.lab import messages
from initreg.lab.i18n import (
    Glossary,
    figure_glossary,
    lecture_text,
    locale_files,
    locale_text,
    localize,
)
from initreg.lab.lecture import LECTURE_IDS, TITLES, UNTESTABLE_TEXT, coverage_of
from initreg.lab.texts import claim_text
from initreg.lab.verdict import Criterion, judge


def test_glossary_exact_templates_reordering_and_nesting():
    g = Glossary({"loss": "потери", "{} (theory)": "{} (теория)", "{} beats {}": "{1} уступает {0}",
                  "k = {k} of {n}, k = {k}": "k = {k} из {n}", "{0, 1}": "{0, 1}!", "{}": "никогда"})
    assert g("loss") == "потери" and g.get("accuracy") is None and g("accuracy") == "accuracy"
    assert g("loss (theory)") == "потери (теория)"  # what {} matched is translated in turn
    assert g("A beats B") == "B уступает A"
    assert g("k = 3 of 9, k = 3") == "k = 3 из 9" and g.get("k = 3 of 9, k = 4") is None  # a repeated name
    assert g("{0, 1}") == "{0, 1}!"  # not a template: matches exactly only
    assert g.get("anything") is None  # a key of nothing but fields would match every text: exact only


@pytest.mark.parametrize("claim", sorted(locale_files("ru")))
def test_every_ru_file_loads_and_its_templates_match(claim):
    """Through the loader the report uses: the claim's parts, and each ``{}`` key translates a text
    that fills it (a key the matcher could not read would silently stay English)."""
    exp = claim_text(claim, "en")
    ru = locale_text(claim, "ru")
    assert ru.title and ru.statement and ru.notes is not None
    assert set(ru.criteria) == set(exp.criteria)
    for table in (ru.words, ru.figures):
        for key in table.entries:
            if "{}" in key:
                filled = key.replace("{}", "Q7")
                assert table.get(filled) is not None, f"{claim}: {key!r} does not match {filled!r}"


def test_claim_text_in_english_is_the_declaration():
    c3 = claim_text("C3", "en")
    assert c3.title == "Softmax example" and "example_matches_lecture" in c3.criteria
    assert claim_text("C3", "ru").title != c3.title
    with pytest.raises(ValueError, match="lang must be one of en, ru; got lang='de'"):
        claim_text("C3", "de")


def _record():
    parts = [judge(Criterion("gain", metric="test error without − with", unit="pp", direction=">", threshold=0.0),
                   [1.0, 2.0], seeds=[0, 1], min_seeds=3)]
    return {"claim": "C3", "title": "Softmax example", "statement": "english", "status": "ok", "seeds": [0, 1],
            "parts": parts, "headline": "gain", "unit": "pp", "metric": parts[0]["metric"], "notes": "english notes",
            "numbers": {}, "settings": {}}


def test_localize_translates_units_reasons_and_criteria_and_leaves_the_record():
    rec = _record()
    before = copy.deepcopy(rec)
    ru = localize({**rec, "claim": "X0"}, "ru")  # no file for X0: the lab's own words still translate
    assert rec == before and localize(rec, "en") is rec
    p = ru["parts"][0]
    assert p["unit"] == "п. п." and ru["unit"] == "п. п."
    assert p["reason"] == "сидов 2, меньше минимума утверждения (3)"
    assert ru["title"] == "Softmax example" and p["metric"] == "test error without − with"


def test_localize_fills_the_ru_notes_with_the_records_numbers():
    from initreg.lab.claims.c03_softmax import run  # noqa: F401  (registers C3)

    rec = _record()
    ru_text = locale_text("C3", "ru")
    rec["parts"] = [judge(Criterion(part, metric="m", unit="", direction="<", threshold=1.0, kind="exact"), [0.1, 0.2],
                          seeds=[0, 1]) for part in ru_text.criteria]
    rec["settings"] = {"logits": [1.3, 5.1], "extreme": 1e4}
    stat = {"mean": 0.0123, "max": 0.0456, "ci": 0.01}
    rec["numbers"] = {k: stat for k in ("dev_2", "dev_4", "softmax_err", "log_softmax_err", "naive_nan")}
    rec["numbers"].update(rounded_2=[0.02, 0.9], rounded_4=[0.0202, 0.9025],
                          words={"stable": "Both are within the tolerance on every seed."})
    ru = localize(rec, "ru")
    assert ru["title"] == ru_text.title and ru["statement"] == ru_text.statement
    assert "0.0456" in ru["notes"] and ru_text.words("Both are within the tolerance on every seed.") in ru["notes"]
    assert ru["numbers"]["words"]["stable"] != rec["numbers"]["words"]["stable"]
    assert ru["parts"][0]["metric"] == ru_text.criteria[ru["parts"][0]["part"]]["metric"]
    assert "точная проверка" in ru["parts"][0]["text"]
    bad = {**rec, "numbers": {}}  # numbers that do not fit the template: the English notes stay, with a warning
    with pytest.warns(UserWarning, match=r"claim C3: its ru notes template .* does not fit this record's numbers"):
        assert localize(bad, "ru")["notes"] == "english notes"


def test_figures_are_saved_in_every_language_with_every_kind_of_text(tmp_path):
    from initreg.plot import figure_translations, new_figure, save_figure, translated_texts

    fig, (a, b) = new_figure(2)
    a.plot([0, 1], [1, 2], label="train")
    a.set_title("loss")
    a.set_xlabel("epoch")
    a.set_xticks([0, 1], ["first", "last"])
    a.annotate("best", (0.5, 1.5))
    a.legend()
    b.bar(["dropout", "none"], [1, 2])
    fig.suptitle("C0: a figure")
    table = Glossary({"train": "обучение", "loss": "потери", "epoch": "эпоха", "first": "первая", "last": "последняя",
                      "best": "лучшая", "dropout": "дропаут", "C0: {}": "C0: рисунок"})
    save_figure(fig, tmp_path / "plain.png")
    with translated_texts(fig, table.get) as changed:
        fig.canvas.draw()
        texts = {t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")) if t.get_text()}
        assert changed >= 8
        assert {"обучение", "потери", "эпоха", "первая", "последняя", "лучшая", "дропаут", "C0: рисунок"} <= texts
    fig.canvas.draw()
    after = {t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")) if t.get_text()}
    assert {"train", "loss", "first", "dropout", "C0: a figure"} <= after and "обучение" not in after
    with figure_translations({"ru": table.get}):
        save_figure(fig, tmp_path / "f.png")
    assert (tmp_path / "f.ru.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "f.png").read_bytes() == (tmp_path / "plain.png").read_bytes()  # English unchanged
    with figure_translations({"ru": {}.get}):  # nothing to translate: no (stale) Russian copy
        save_figure(fig, tmp_path / "f.png")
    assert not (tmp_path / "f.ru.png").exists()
    assert not list(tmp_path.glob("*.ru.png"))


def test_figure_glossary_of_a_claim():
    g = figure_glossary("C5", "ru")
    assert g("layer l") == "слой l" and len(figure_glossary("C5", "en")) == 0


def test_lecture_parts_and_reasons_in_every_language():
    for lang in messages.languages():
        assert set(TITLES[lang]) == set(LECTURE_IDS), lang
        assert set(UNTESTABLE_TEXT[lang]) == set(UNTESTABLE_TEXT["en"]), lang
        assert all(TITLES[lang][i].strip() for i in LECTURE_IDS)
    rows = {r["lecture_id"]: r for r in coverage_of([("C3", ["L4"])], "ru")}
    assert rows["L4"]["title"] == "Софтмакс" and rows["L4"]["claims"] == ["C3"]
    assert rows["L1"]["untestable_because"].startswith("это определение")
    assert "Инициализация весов и регуляризация" in lecture_text("ru")
    with pytest.raises(ValueError, match="lang must be one of en, ru"):
        coverage_of([], "fr")
