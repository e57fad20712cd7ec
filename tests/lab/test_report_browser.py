"""The lab report in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by selenium) opens ``index.html`` from disk, offline.

Every check runs once per language of the report (``en``, ``ru``). By default the page is
built from the synthetic records of ``test_report.py``. With ``INITREG_REPORT_DIR=lab-out``
the test renders that folder's ``results.json`` (into a copy: the folder is left as it is) and
saves the top of each page in the docs: ``docs/img/report-top.png`` (English) and
``docs/img/report-top.ru.png`` (Russian)."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from initreg.lab.messages import languages, message
from initreg.lab.report import read_results, render_report, write_report

ROOT = Path(__file__).resolve().parents[2]
# test_report's synthetic records carry real claim ids with made-up numbers, which the claims'
# Russian notes templates do not fit: the page shows their English notes, as it should
pytestmark = pytest.mark.filterwarnings("ignore:claim .* notes template:UserWarning")


def _chromium() -> tuple[str, str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (it comes with the dev extra: make setup)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium is not installed: `make browser` installs Debian's chromium and "
                    "chromium-driver (needs apt-get and root)")
    return browser, driver


@pytest.fixture(scope="module", params=languages())
def page(request, tmp_path_factory):
    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    lang = request.param
    real = os.environ.get("INITREG_REPORT_DIR")
    out = tmp_path_factory.mktemp(f"browser-{lang}")
    if real:
        doc = read_results(real)
        if (Path(real) / "claims").is_dir():
            shutil.copytree(Path(real) / "claims", out / "claims")
        render_report(doc, out, lang=lang)
        claims = [r["claim"] for r in doc["claims"]]
    else:
        from test_report import ENV, make_figures, records

        make_figures(out)
        write_report(records(), out, quick=True, env=ENV, lang=lang)
        claims = [r["claim"] for r in records()]
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--disable-gpu", "--window-size=1280,1000", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        opts.add_argument("--no-sandbox")  # Chromium refuses to run as root inside its sandbox
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    except WebDriverException as e:
        pytest.skip(f"headless Chromium does not start here: {str(e).splitlines()[0]}")
    try:
        drv.get((out / "index.html").resolve().as_uri())
        yield {"driver": drv, "claims": claims, "real": bool(real), "out": out, "lang": lang}
    finally:
        drv.quit()


def test_no_console_errors(page):
    logs = page["driver"].get_log("browser")
    assert not [e for e in logs if e["level"] in ("SEVERE", "ERROR")], logs


def test_every_image_loads(page):
    broken = page["driver"].execute_script(
        "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt)")
    assert broken == []
    n = page["driver"].execute_script("return document.images.length")
    assert n >= (1 if page["real"] else 2)


def test_every_section_and_its_headline_link(page):
    d = page["driver"]
    ids = d.execute_script("return [...document.querySelectorAll('section')].map(s => s.id)")
    assert ids == page["claims"]
    dangling = d.execute_script("return [...document.querySelectorAll('a[href^=\"#\"]')]"
                                ".map(a => a.getAttribute('href').slice(1)).filter(i => !document.getElementById(i))")
    assert dangling == []
    last = page["claims"][-1]
    d.find_element("css selector", f'table.headline a[href="#{last}"]').click()  # a link jumps to its section
    top = d.execute_script(f"return document.getElementById('{last}').getBoundingClientRect().top")
    assert d.execute_script("return location.hash") == f"#{last}" and d.execute_script("return window.scrollY") > 0
    assert -5 < top < d.execute_script("return window.innerHeight") / 2  # the section is in view
    d.execute_script("window.scrollTo(0, 0)")


def test_forest_plots_are_drawn(page):
    sizes = page["driver"].execute_script(
        "return [...document.querySelectorAll('table.headline svg.forest')].map(s => s.getBoundingClientRect().width)")
    assert sizes and all(w > 100 for w in sizes)


def test_the_page_is_in_its_language(page):
    d = page["driver"]
    assert d.execute_script("return document.documentElement.lang") == page["lang"]
    heading = d.find_element("css selector", "h2#verdicts").text
    assert heading == message("headline.heading", page["lang"])


def test_screenshot_of_the_top(page, tmp_path):
    d = page["driver"]
    d.execute_script("window.scrollTo(0, 0)")
    name = "report-top.png" if page["lang"] == "en" else f"report-top.{page['lang']}.png"
    target = ROOT / "docs" / "img" / name if page["real"] else tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    png = base64.b64decode(d.get_screenshot_as_base64())
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    target.write_bytes(png)
