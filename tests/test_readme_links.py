"""README.md links every page of the docs site (by its Markdown source in the repository) and
every relative link it has points at a file that exists."""

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
