"""Tests of the site check (book_check.py): planted mistakes in a copy of the built site must fail it,
each named with its page and file. Run by ``make book-test`` after ``make book``.

All plants go into one copy, each on its own page, and one run of the checker looks at them all
(a browser start costs seconds). The untouched lesson 1 page must pass in the same run, or the
other tests would prove nothing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from book_check import DEFAULT_SITE, REPO_ROOT, SEARCH_PAGE, check_site, expected_figures

LESSON = "notebooks/0{}_{}.html".format
PAGES = {
    "clean": LESSON(1, "conv_autoencoder"),
    "missing image": LESSON(2, "denoising_autoencoder"),
    "raw widget": LESSON(3, "upsampling_autoencoder"),
    "lost figure": "notebooks/04a_flowers_course_classifiers.html",
    "no mathjax": LESSON(5, "autoencoder_vs_pca"),
    "broken link": "intro.html",
    "outside request": "api.html",
}


@pytest.fixture(scope="module")
def built_site() -> Path:
    if not (DEFAULT_SITE / "index.html").is_file():
        pytest.fail(f"no built site at {DEFAULT_SITE}: run `make book` first (make book-test does)")
    return DEFAULT_SITE


def _edit(path: Path, pattern: str, replacement: str) -> str:
    """Replace the first match of ``pattern`` in ``path``; return the matched text (the plant must take)."""
    text = path.read_text()
    match = re.search(pattern, text)
    assert match, f"cannot plant: {pattern!r} not in {path}"
    path.write_text(text[:match.start()] + match.expand(replacement) + text[match.end():])
    return match.group(0)


@pytest.fixture(scope="module")
def planted(built_site: Path, tmp_path_factory) -> dict:
    """A copy of the site with one mistake per page; the checker's problems and what was planted."""
    site = tmp_path_factory.mktemp("book") / "html"
    shutil.copytree(built_site, site)
    facts = {}
    # a link to a page that does not exist
    _edit(site / PAGES["broken link"], r'href="notebooks/01_conv_autoencoder\.html"', 'href="notebooks/missing.html"')
    # an image file deleted from the site
    image = re.search(r'src="\.\./(_images/[^"]+\.png)"', (site / PAGES["missing image"]).read_text()).group(1)
    (site / image).unlink()
    facts["image"] = image
    # a progress bar shown as its raw widget repr
    _edit(site / PAGES["raw widget"], r'<div class="aeh-progress"',
          r'<pre>HBox(children=(HTML(value=""), FloatProgress(value=30.0, max=30.0)))</pre>\g<0>')
    # a figure lost from a lesson's page (its <img> removed)
    _edit(site / PAGES["lost figure"], r'<img alt="\.\./_images/[^"]+" src="\.\./_images/[^"]+" />', "")
    # MathJax not loaded: the formulas stay TeX
    _edit(site / PAGES["no mathjax"], r'<script defer="defer" src="\.\./_static/mathjax/tex-chtml\.js[^"]*"></script>', "")
    # a script from a CDN
    _edit(site / PAGES["outside request"], r"</head>", '<script src="https://cdn.example.invalid/planted.js"></script></head>')
    facts["problems"] = check_site(site, pages=sorted(PAGES.values()), search=False)
    print("\n".join(facts["problems"]))  # shown by pytest when a test fails
    return facts


def _problems_of(planted: dict, kind: str) -> list[str]:
    return [problem for problem in planted["problems"] if problem.startswith(PAGES[kind] + ":")]


def test_untouched_page_passes(planted: dict) -> None:
    assert _problems_of(planted, "clean") == []


def test_broken_link_is_named(planted: dict) -> None:
    assert "intro.html: broken link to notebooks/missing.html (HTTP 404)" in _problems_of(planted, "broken link")


def test_missing_image_is_named(planted: dict) -> None:
    problems = _problems_of(planted, "missing image")
    assert f"{PAGES['missing image']}: image not shown: ../{planted['image']}" in problems
    assert any(f"broken link to {planted['image']} (HTTP 404)" in problem for problem in problems)


def test_raw_widget_is_named(planted: dict) -> None:
    assert any("a widget is shown raw ('HBox(children')" in problem for problem in _problems_of(planted, "raw widget"))


def test_lost_figure_is_counted(planted: dict) -> None:
    stored = expected_figures(REPO_ROOT / "notebooks/04a_flowers_course_classifiers.ipynb")  # one of them was removed
    assert (f"{PAGES['lost figure']}: shows {stored - 1} figures, but notebooks/04a_flowers_course_classifiers.ipynb "
            f"stores {stored} images" in _problems_of(planted, "lost figure"))


def test_unrendered_math_is_named(planted: dict) -> None:
    assert any("formulas not rendered by MathJax" in problem for problem in _problems_of(planted, "no mathjax"))


def test_request_outside_the_site_is_blocked_and_named(planted: dict) -> None:
    assert ("api.html: request to outside the site (blocked): https://cdn.example.invalid/planted.js"
            in _problems_of(planted, "outside request"))


def test_search_that_misses_lesson_3_fails(built_site: Path) -> None:
    problems = check_site(built_site, pages=["search.html"], search_word="zyxwvutsrq")
    assert problems == [f"search.html: searching for 'zyxwvutsrq' should list {SEARCH_PAGE}, but lists nothing"]
