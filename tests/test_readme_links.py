"""The docs site's navigation: README.md links every page of the site (by its Markdown source in
the repository), every relative link it has points at a file that exists, and every tutorial is
in the navigation and the tutorials' index."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _links(text: str) -> set[str]:
    return {t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text)
            if not t.startswith(("http://", "https://", "mailto:", "#"))}


def _nav_pages(nav) -> list[str]:
    out = []
    for entry in nav:
        if isinstance(entry, str):
            out.append(entry)
        else:
            for v in entry.values():
                out.extend(_nav_pages(v) if isinstance(v, list) else [v])
    return out


def test_every_relative_link_of_the_readme_exists():
    missing = sorted(p for p in _links(README) if not (ROOT / p).exists())
    assert not missing, f"README.md links files that do not exist: {missing}"


def test_the_readme_links_every_page_of_the_site():
    links = _links(README)
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    unlinked = []
    for page in _nav_pages(nav):
        source = (ROOT / "docs" / page).read_text() if page.endswith(".md") else ""
        if page.endswith(".ipynb"):  # a tutorial: its source is tutorials/<stem>.py
            wanted = {f"tutorials/{Path(page).stem}.py"}
        elif source.startswith('--8<-- "'):  # a page that only includes a repository file (the changelog)
            wanted = {f"docs/{page}", source.split('"')[1]}
        else:
            wanted = {f"docs/{page}"}
        if not wanted & links:
            unlinked.append(page)
    assert not unlinked, f"README.md does not link these pages of the site: {unlinked}"
    assert "`make docs`" in README and "site/" in README  # and says how the site is built


def test_five_tutorials_each_in_the_site_navigation_and_its_index():
    sources = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
    assert [p.name for p in sources] == ["01_deep_net_does_not_train.py", "02_init_for_any_activation.py",
                                         "03_regularize_an_overfitting_model.py", "04_compress_as_a_regularizer.py",
                                         "05_many_seeds_and_sweeps.py"]
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = _nav_pages(cfg["nav"])
    index = (ROOT / "docs" / "tutorials" / "index.md").read_text()
    for src in sources:
        assert f"tutorials/{src.stem}.ipynb" in pages, src.name
        assert f"]({src.stem}.ipynb)" in index, src.name
    plugin = next(p["mkdocs-jupyter"] for p in cfg["plugins"] if isinstance(p, dict) and "mkdocs-jupyter" in p)
    assert plugin["execute"] is False and plugin["allow_errors"] is False  # rendered from the executed copies
