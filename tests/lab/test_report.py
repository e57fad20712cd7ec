"""Synthetic claim records in the lab's record format (one per verdict, an error row, an
old-format row) and a folder with their figures, for the report tests."""

from __future__ import annotations

from pathlib import Path

from initreg.lab.verdict import Criterion, combine, judge

NOTES = """Set-up: a 784-256-10 MLP, *dropout* 0.5 on the hidden layer,
Adam lr 1e-3; the two arms share **everything** but dropout.

| seed | test error (no dropout) | test error (dropout) |
|---|---|---|
| 0 | 4.1 | 3.2 |
| 1 | 4.3 | 3.0 |

- a list item with `code_name`
- another with *emphasis*
"""


def _part(name, values, *, threshold=0.0, direction=">", kind="paired", unit="pp"):
    """A part judged by the lab's own `judge`, so the records have the lab's exact shape."""
    c = Criterion(name, metric=f"{name} per seed", unit=unit, direction=direction, threshold=threshold, kind=kind,
                  text=f"*{name}* in words")
    return judge(c, values, seeds=[0, 1, 2], min_seeds=3)


def _record(claim, parts, *, headline=None, title="a claim", figures=()):
    h = next(p for p in parts if p["part"] == (headline or parts[0]["part"]))
    verdict = combine(p["verdict"] for p in parts)
    return {"claim": claim, "title": title, "statement": "The lecture says *dropout* lowers the **test** error.",
            "lecture": ["R5", "R6"], "settings": {"epochs": 3, "data": {"train_size": 500, "name": "mnist1d"}},
            "quick": True, "status": "ok", "seconds": 12.345, "seeds": [0, 1, 2], "verdict": verdict,
            "holds": verdict == "holds", "headline": h["part"],
            "effect": h["effect"], "interval": h["interval"], "threshold": h["threshold"], "unit": h["unit"],
            "direction": h["direction"], "metric": h["metric"],
            "criteria_hash": f"{sum(map(ord, claim)):016x}", "parts": parts,
            "numbers": {"gain_pp": {"mean": 0.9, "ci": 0.31, "lo": 0.59, "hi": 1.21, "n": 3, "min": 0.7, "max": 1.1},
                        "per_layer_std": [0.1 * i for i in range(12)],  # longer than any old cut-off
                        "missing": [None, None],
                        "runs": [{"seed": 0, "acc": 0.91}, {"seed": 1, "acc": 0.93}],
                        "nested": {"relu_sigma1_last_hidden_log10_ratio": -0.000012345,
                                   "deep": {"k1": 1, "k2": "text", "k3": True, "k4": {}}},
                        "flag": False, "name": "mnist1d", "matrix": [[1, 2], [3, 4]]},
            "figures": list(figures), "notes": NOTES}


def records() -> list[dict]:
    holds = _record("C11", [_part("dropout_lowers_test_error", [2.0, 2.5, 3.0]),
                            _part("rank_is_exact", [1.0, 1.0, 1.0], kind="exact", unit="", threshold=0.5)],
                    title="Dropout lowers the test error", figures=["curve.png", "diagram.svg"])
    fails = _record("C12", [_part("soft_targets_gain", [-2.0, -2.5, -3.0])], title="Distillation beats labels")
    unsure = _record("C13", [_part("qat_gap", [-0.4, 0.6, 1.1], threshold=0.5, direction="<"),
                             _part("fp8_error", [0.1, 0.12, 0.1], kind="exact", threshold=0.15, direction="<"),
                             _part("diverged_gap", [1.0, float("nan"), 2.0])],
                     title="Quantization regularizes", figures=["gone.png"])
    error = {"claim": "C14", "title": "Pruning crashes", "statement": "Pruning *keeps* accuracy.", "lecture": ["R9"],
             "settings": {"epochs": 1}, "quick": True, "status": "error", "seconds": 0.5, "seeds": [0, 1, 2],
             "verdict": None, "holds": None, "error": "RuntimeError: boom in C14",
             "traceback": "Traceback (most recent call last):\nRuntimeError: boom in C14", "numbers": {}, "figures": [],
             "notes": ""}
    old = {"claim": "K3", "title": "Old-format record", "statement": "Overfitting *shows* late.", "lecture": ["K3"],
           "criterion": "the gap grows by **more** than 1 pp", "quick": True, "status": "ok", "holds": True,
           "seconds": 3.0, "seeds": [0, 1], "numbers": {"gap": 2.5}, "figures": [], "notes": "old *notes*"}
    return [holds, fails, unsure, error, old]


def make_figures(out: Path) -> None:
    """A real PNG (matplotlib) and an SVG in ``out/claims/C11``; C13's ``gone.png`` stays missing."""
    from initreg.plot import new_figure, save_figure

    fig, ax = new_figure()
    ax.plot([0, 1, 2], [3, 1, 2])
    ax.set_ylabel("test error, pp")
    save_figure(fig, out / "claims" / "C11" / "curve.png")
    (out / "claims" / "C11" / "diagram.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>')


# ---------------------------------------------------------------- tests

import base64  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
from html.parser import HTMLParser  # noqa: E402

import pytest  # noqa: E402

from initreg.lab import messages  # noqa: E402
from initreg.lab.report import (  # noqa: E402
    format_value,
    key_numbers,
    read_results,
    render_report,
    verdict_text,
    write_report,
)

ENV = {"initreg": "0.1.0", "torch": "2.13", "python": "3.11", "git": "abc123"}


class Page(HTMLParser):
    """index.html as what a reader sees: text outside code, ids, links, images, sections."""

    SKIP = {"code", "pre", "style", "title", "svg"}

    def __init__(self, text: str):
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []  # visible text outside code/pre
        self.all_text: list[str] = []
        self.ids: set[str] = set()
        self.sections: list[str] = []
        self.links: list[str] = []
        self.imgs: list[str] = []
        self.svgs = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "svg":
            self.svgs += 1
        if tag not in {"img", "meta", "br", "hr", "input", "line", "rect", "circle"}:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        self.all_text.append(data)
        if not self.SKIP & set(self.stack):
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(self.text)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    make_figures(out)
    doc = write_report(records(), out, quick=True, env=ENV)
    html = (out / "index.html").read_text(encoding="utf-8")
    return {"out": out, "doc": doc, "html": html, "page": Page(html), "md": (out / "summary.md").read_text()}


def _section(html: str, claim: str) -> str:
    m = re.search(rf'<section id="{claim}">(.*?)</section>', html, re.S)
    assert m, f"no section {claim}"
    return m.group(1)


def test_no_raw_markdown_and_nothing_cut(report):
    text = report["page"].visible
    assert "|---" not in text and "| seed |" not in text
    assert not re.findall(r"(?<![\w*])\*{1,2}[^\s*][^*\n]*\*{1,2}(?![\w*])", text), "literal *emphasis* in the text"
    assert not re.search(r"[\d.]\s?…|…\s?[\]}]|, …", " ".join(report["page"].all_text)), "a value cut with …"
    assert "None" not in text and "[None" not in report["html"]
    assert "fixed before the run" not in report["html"]
    assert "docs/criteria-changelog.md" in report["html"] and "date it last changed" in text


def test_every_section_present_and_headline_links_resolve(report):
    page = report["page"]
    claims = [r["claim"] for r in records()]
    assert page.sections == claims
    inner = [h[1:] for h in page.links if h.startswith("#")]
    assert set(claims) <= set(inner)
    assert all(i in page.ids for i in inner), [i for i in inner if i not in page.ids]
    assert not [h for h in page.links if not h.startswith("#")], "the page links out: it must open offline"
    assert "<script" not in report["html"] and "<link" not in report["html"]


def test_images_are_data_uris_that_decode_and_a_missing_figure_is_named(report):
    imgs = report["page"].imgs
    assert len(imgs) == 2
    png, svg = imgs
    assert png.startswith("data:image/png;base64,")
    assert base64.b64decode(png.split(",", 1)[1], validate=True)[:8] == b"\x89PNG\r\n\x1a\n"
    assert svg.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(svg.split(",", 1)[1], validate=True).startswith(b"<svg")
    c13 = _section(report["html"], "C13")
    assert "<img" not in c13 and "<code>gone.png</code>" in c13


def test_a_figure_name_cannot_reach_outside_the_claim_folder(tmp_path):
    make_figures(tmp_path)
    rec = {**records()[0], "claim": "C12", "figures": ["../C11/curve.png"]}
    write_report([rec], tmp_path, quick=True, env=ENV)
    html = (tmp_path / "index.html").read_text()
    assert "data:image" not in html and "<code>../C11/curve.png</code> is missing" in html


def test_the_three_verdicts_and_an_error_row_render(report):
    html = report["html"]
    head = html.split('<h2 id="verdicts">', 1)[1].split("</table>", 1)[0]
    for cls, word in (("holds", "holds"), ("does_not_hold", "does not hold"), ("inconclusive", "inconclusive"),
                      ("error", "error")):
        assert f'<span class="badge {cls}">{word}</span>' in head
    assert verdict_text({"status": "error"}) == "error" and verdict_text({"verdict": "does_not_hold"}) == "does not hold"
    assert verdict_text({"holds": True}) == "holds"  # an old record's boolean
    c12 = _section(html, "C12")
    assert "the other side of the threshold" in c12 and "[-3.74, -1.26]" in c12 and "soft_targets_gain" in c12
    c13 = _section(html, "C13")
    assert "contains the threshold" in c13 and "Inconclusive parts: <code>qat_gap</code>, <code>diverged_gap</code>" in c13
    assert "a seed&#39;s value is NaN" in c13  # the lab's reason for a part it could not decide
    assert not re.search(r"\bnan\b", Page(c13).visible)  # an undefined effect shows as —, not nan
    assert "range over seeds" in _section(html, "C11")  # an exact part shows [min, max], not a t-interval
    c14 = _section(html, "C14")
    assert "<pre>Traceback (most recent call last):\nRuntimeError: boom in C14</pre>" in c14
    assert "RuntimeError: boom in C14" in head
    # the headline row: effect with unit and interval, threshold, number of seeds
    row = head.split('href="#C11"', 1)[1].split("</tr>", 1)[0]
    assert "+2.5 pp" in row and "[1.26, 3.74]" in row and "&gt; 0 pp" in row and ">3</td>" in row


def test_parts_table_shows_criterion_date_and_verdict(report):
    c11 = _section(report["html"], "C11")
    parts = c11.split('<table class="parts">', 1)[1].split("</table>", 1)[0]
    assert parts.count("<tr>") == 3 and parts.count("2026-12-06") == 2
    assert "<em>dropout_lowers_test_error</em>" in parts  # the criterion's Markdown is rendered
    assert "R5, R6" in c11


def test_notes_are_rendered_markdown(report):
    c11 = _section(report["html"], "C11")
    notes = c11.split('<div class="notes">', 1)[1].split("</div>", 1)[0]
    assert "<table>" in notes and "<td>4.1</td>" in notes
    assert "<em>dropout</em>" in notes and "<strong>everything</strong>" in notes and "<code>code_name</code>" in notes
    first = re.search(r"<p>(.*?)</p>", notes, re.S).group(1)
    assert "Set-up" in first and "share" in first  # one paragraph, not one per source line
    assert notes.count("<li>") == 2


def test_numbers_are_small_tables_below_a_fold(report):
    c11 = _section(report["html"], "C11")
    numbers = c11.split("<details>", 1)[1].split("</details>", 1)[0]
    assert "<summary>All numbers of this run (8)</summary>" in numbers
    assert ", ".join(format_value(0.1 * i) for i in range(12)) in numbers  # every value, none cut
    assert "0.9 ± 0.31" in numbers and "n = 3, from 0.7 to 1.1" in numbers
    assert "<code>relu_sigma1_last_hidden_log10_ratio</code>" in numbers and "-1.23e-05" in numbers
    assert numbers.count('<table class="kv">') >= 3  # nested dicts are nested tables
    assert '<th><code>seed</code></th><th><code>acc</code></th>' in numbers  # a list of records is a grid
    assert "(empty)" in numbers and "None" not in numbers and "{" not in numbers
    head = report["html"].split('<h2 id="verdicts">', 1)[1].split("</table>", 1)[0]
    assert "relu_sigma1" not in head  # variable names stay below the fold


def _svg_geometry(svg: str) -> dict:
    thr = float(re.search(r'<line x1="([\d.]+)"[^>]*stroke-dasharray', svg).group(1))
    bar = re.search(r'<line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)" y2="[\d.]+" stroke="#\w+" stroke-width="4"', svg)
    seeds = re.findall(r'<circle cx="([\d.]+)"[^>]*fill="none"', svg)
    return {"threshold": thr, "lo": float(bar.group(1)), "hi": float(bar.group(2)), "seeds": [float(s) for s in seeds]}


def test_forest_plot_places_interval_against_threshold(report):
    head = report["html"].split('<h2 id="verdicts">', 1)[1].split("</table>", 1)[0]
    rows = {re.search(r'href="#(\w+)"', r).group(1): r for r in head.split("<tr>")[2:]}
    svgs = {c: re.search(r"<svg.*?</svg>", r, re.S).group(0) for c, r in rows.items() if "<svg" in r}
    assert set(svgs) == {"C11", "C12", "C13"}  # no plot for an error or a record without an interval
    g = _svg_geometry(svgs["C11"])
    assert len(g["seeds"]) == 3 and g["threshold"] < g["lo"] < g["hi"]  # holds: interval above 0
    g = _svg_geometry(svgs["C12"])
    assert g["lo"] < g["hi"] < g["threshold"]  # does not hold: interval below 0
    g = _svg_geometry(svgs["C13"])
    assert g["lo"] < g["threshold"] < g["hi"]  # inconclusive: straddles
    assert "aria-label=" in svgs["C11"] and "seeds: 2, 2.5, 3" in svgs["C11"]


def test_results_json_round_trips_and_hashes_the_criteria(report, tmp_path):
    out, doc = report["out"], report["doc"]
    back = read_results(out)
    assert back == json.loads(json.dumps(doc)) and back["format"] == 2 and back["quick"] is True
    assert [r["claim"] for r in back["claims"]] == [r["claim"] for r in records()]
    assert back["env"] == ENV and re.fullmatch(r"[0-9a-f]{16}", back["criteria_hash"])
    changed = records()
    changed[0]["criteria_hash"] = "0" * 16
    doc2 = write_report(changed, tmp_path, quick=True, env=ENV)
    assert doc2["criteria_hash"] != doc["criteria_hash"]
    render_report(back, tmp_path)  # re-render from results.json alone
    assert (tmp_path / "index.html").read_text().count("<section id=") == len(records())


def test_read_results_accepts_the_old_list_and_rejects_others(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps([records()[-1]]))
    doc = read_results(tmp_path / "results.json")
    assert doc["format"] == 1 and doc["claims"][0]["claim"] == "K3" and doc["quick"] is True
    render_report(doc, tmp_path)
    html = (tmp_path / "index.html").read_text()
    assert "older lab without declared criteria" in html and "<strong>more</strong>" in html
    k3 = _section(html, "K3")
    assert "own check (its criterion, below) it holds" in k3 and "interval lies" not in k3
    assert "Hash of all criteria" not in html and "Generated" not in html  # nothing to say: not said
    (tmp_path / "results.json").write_text(json.dumps({"format": 7}))
    with pytest.raises(ValueError, match=r"format=2 and a 'claims' list; got format=7"):
        read_results(tmp_path)
    with pytest.raises(FileNotFoundError, match="results file not found"):
        read_results(tmp_path / "nowhere")


def test_summary_md_is_the_headline_table_with_whole_cells(report):
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(report["md"])
    cells, row = [], []
    for tok in tokens:
        if tok.type == "inline" and any(t.type in ("th_open", "td_open") for t in tokens[tokens.index(tok) - 1:][:1]):
            row.append(tok.content)
        if tok.type == "tr_close":
            cells.append(row)
            row = []
    assert cells[0] == ["claim", "title", "verdict", "headline effect (95% interval)", "threshold", "seeds"]
    body = {r[0]: r for r in cells[1:]}
    assert list(body) == [r["claim"] for r in records()]
    for r in records():
        assert body[r["claim"]][1] == r["title"]  # whole, never cut
    assert body["C11"][2] == "**holds**" and body["C12"][2] == "**does not hold**"
    assert body["C11"][3].startswith("+2.5 pp [1.26, 3.74]") and body["C14"][3] == "RuntimeError: boom in C14"
    assert "…" not in report["md"]
    assert "- **C12** (does not hold)" in report["md"] and "- **C11**" not in report["md"]


def test_format_helpers():
    assert format_value(0.000012345) == "1.23e-05" and format_value(3.14159) == "3.14" and format_value(7) == "7"
    assert format_value({"mean": 1.0, "ci": 0.25}) == "1 ± 0.25"
    assert format_value(list(range(10))) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"  # nothing cut
    assert format_value([None, None]) == "—, —" and format_value(None) == "—" and format_value(True) == "yes"
    assert format_value(float("nan")) == "nan" and format_value({"a": [1, 2]}) == "a: 1, 2"
    rec = {"numbers": {"a": 1.0, "b": [1, 2], "c": {"mean": 2.0, "ci": 0.1}, "d": 3, "e": True}}
    assert key_numbers(rec) == "a=1, c=2 ± 0.1, d=3"


# ---------------------------------------------------------------- the message catalogue

_ROOT = Path(__file__).resolve().parents[2] / "initreg"
_TEMPLATES = _ROOT / "lab" / "templates"
_CALL = re.compile(r"""\b(?:t|tmd|message|_t)\(\s*f?["']([^"']+)["']""")


def _used_keys() -> set[str]:
    """Message keys named in the template, the report and the CLI table; an f-string key
    (``f"verdict.{v}"``) stands for each of its values."""
    used = set()
    dynamic = {"verdict": ("holds", "does_not_hold", "inconclusive", "error"), "interval": ("paired", "exact"),
               "direction": (">", "<"), "explain": ("holds", "does_not_hold", "inconclusive", "error")}
    srcs = [_TEMPLATES / "report.html.j2", _ROOT / "lab" / "report.py", _ROOT / "cli" / "lab.py",
            _ROOT / "lab" / "verdict.py", _ROOT / "lab" / "i18n.py", _ROOT / "lab" / "results.py"]
    used |= {k for k in messages.CATALOGUE["en"] if k.startswith("unit.")}  # messages.unit_text: one per unit word
    for src in srcs:
        for key in _CALL.findall(src.read_text()):
            m = re.match(r"(\w+(?:\.why)?)\.\{", key)
            used |= {f"{m.group(1)}.{v}" for v in dynamic[m.group(1).split(".")[0]]} if m else {key}
    return used


def test_every_message_key_used_exists_and_every_key_is_used():
    used = _used_keys()
    for lang, cat in messages.CATALOGUE.items():
        assert used <= set(cat), f"{lang}: keys used but missing: {sorted(used - set(cat))}"
    literals = set()  # keys chosen by an expression: message("value.yes" if v else "value.no")
    for src in [_TEMPLATES / "report.html.j2", _ROOT / "lab" / "report.py", _ROOT / "cli" / "lab.py",
                _ROOT / "lab" / "verdict.py", _ROOT / "lab" / "results.py"]:
        literals |= set(re.findall(r"""["']([\w.<>]+)["']""", src.read_text()))
    unused = set(messages.CATALOGUE["en"]) - used - literals
    assert not unused, f"keys nobody uses: {sorted(unused)}"


def test_every_language_has_the_same_keys_and_placeholders():
    def fields(s: str) -> set[str]:
        return set(re.findall(r"\{(\w+)\}", s))

    en = messages.CATALOGUE["en"]
    for lang, cat in messages.CATALOGUE.items():
        assert set(cat) == set(en), lang
        assert all(fields(cat[k]) == fields(en[k]) for k in en), lang


def test_template_has_no_words_of_its_own():
    """Every word on the page comes from the catalogue: strip the template's tags and Jinja
    expressions, and no letters are left."""
    src = (_TEMPLATES / "report.html.j2").read_text()
    src = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", src, flags=re.S)
    src = re.sub(r"<style>.*?</style>|<[^>]+>|&\w+;", " ", src, flags=re.S)
    assert not re.findall(r"[^\W\d_]+", src)


def test_message_errors_name_the_language_and_the_key():
    with pytest.raises(ValueError, match=r"lang must be one of en, ru; got lang='xx'"):
        messages.message("page.title", "xx")
    with pytest.raises(KeyError, match=r"message key 'no.such' is not in the 'en' catalogue"):
        messages.message("no.such")
    with pytest.raises(ValueError, match="lang must be one of en, ru"):
        write_report(records(), Path("/nonexistent-never-written"), quick=True, env=ENV, lang="xx")


def test_save_figure_keeps_labels_inside_the_image(tmp_path):
    """A y-label longer than the axes are high (C4's was) is kept whole: the saved image grows
    to hold it instead of cutting its ends off."""
    from matplotlib.image import imread

    from initreg.plot import new_figure, save_figure

    fig, ax = new_figure(size=(4.0, 2.0))
    ax.plot([0, 1], [0, 1])
    ax.set_ylabel("L-infinity distance between hidden units (1e-12 = exactly 0)", fontsize=12)
    h_canvas = fig.get_size_inches()[1] * 110
    img = imread(save_figure(fig, tmp_path / "f.png"))
    assert img.shape[0] > h_canvas + 50
    ink = (img[:, :, :3] < 0.5).any(axis=2)
    rows = ink[:, : img.shape[1] // 8].any(axis=1).nonzero()[0]  # the label's column, left of the axes
    assert rows.min() > 0 and rows.max() < img.shape[0] - 1, "the label touches the image's edge: clipped"


def test_cli_table_shows_verdict_effect_interval_threshold_and_seeds(monkeypatch, tmp_path, capsys):
    import initreg.lab as lab
    from initreg.cli import main

    def fake_run_lab(ids, *, on_result, **kw):
        recs = records()
        recs[0]["cached"] = True
        for r in recs:
            on_result(r)
        return recs

    monkeypatch.setattr(lab, "run_lab", fake_run_lab)
    monkeypatch.setenv("COLUMNS", "220")
    assert main(["lab", "--quick", "--only", "C11", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "C11 holds" in out and "(cached)" in out and "C12 does not hold" in out and "C14 error" in out
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in re.split("[│┃]", line)[1:-1]]
        if len(cells) == 7 and cells[0]:
            rows[cells[0]] = cells
    assert rows["claim"][:6] == ["claim", "title", "verdict", "headline effect (95% interval)", "threshold", "seeds"]
    assert rows["C11"][2:6] == ["holds", "+2.5 pp [1.26, 3.74]", "> 0 pp", "3"]
    assert rows["C13"][2:6] == ["inconclusive", "+0.433 pp [-1.46, 2.33]", "< 0.5 pp", "3"]
    assert rows["C14"][2:4] == ["error", "RuntimeError: boom in C14"]
    assert rows["K3"][2:4] == ["holds", "gap=2.5"]  # an old record without an effect shows its numbers
    assert f"report: {tmp_path / 'index.html'}" in out


def test_lecture_coverage_table_links_claims_and_names_untestable_parts(report):
    m = re.search(r'<h2 id="coverage">.*?</table>', report["html"], re.S)
    assert m, "no lecture-coverage table"
    table = m.group(0)
    rows = dict(re.findall(r"<tr><td>([LKIR]\d+) [^<]+</td><td>(.*?)</td></tr>", table, re.S))
    assert len(rows) == 29 and list(rows)[:2] == ["L1", "L2"]
    assert "<tr><td>L4 Softmax</td>" in table  # each part with its title
    assert "not testable: a definition" in rows["L1"]
    assert '<a href="#C11">C11</a>' in rows["R5"] and '<a href="#C11">C11</a>' in rows["R6"]  # the records' lecture ids
    assert "no claim in this report" in rows["K1"]
