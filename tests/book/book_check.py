"""The course's static site (``make book``) as a reader sees it, in headless Chromium: ``make book-test``.

    python tests/book/book_check.py [SITE] [--screenshot PNG]

SITE defaults to ``build/book/_build/html``. The site is served from a local HTTP server and every
page is opened in Chromium (the browser test's: playwright driving Debian's /usr/bin/chromium).
Each page must

* load with no console error, no failed request and no request to anywhere but the local server
  (such requests are blocked and reported: the site must work offline);
* show every image (``naturalWidth > 0``), render every formula with the site's own MathJax, and
  show no raw widget (``HBox(children=...)``);
* link only to files that exist (HTTP 200; anchors are not checked);
* for a notebook's page: show as many figures as the notebook stores image outputs, and link the
  notebook for download.

Finally the search page must find a word that occurs on lesson 3's page and on no other page, and
list lesson 3 among its results. Exit status 1, with each problem named, when anything fails.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from browser_check import BROKEN_WIDGET_TEXT, CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the browser test's setup)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SITE = REPO_ROOT / "build" / "book" / "_build" / "html"
SEARCH_PAGE = "notebooks/03_upsampling_autoencoder.html"  # the lesson whose distinctive word is searched
VIEWPORT = {"width": 1280, "height": 1600}

# What the browser reports about a page (links: every href/src, resolved by the browser).
PAGE_FACTS_JS = """() => {
    const urls = [];
    for (const el of document.querySelectorAll('a[href], link[href]')) urls.push(el.href);
    for (const el of document.querySelectorAll('script[src], img[src], source[src], iframe[src]')) urls.push(el.src);
    const article = document.querySelector('article') ?? document.body;
    const prose = article.cloneNode(true);
    prose.querySelectorAll('.cell, script, style, .math').forEach(node => node.remove());
    return {
        urls,
        images: Array.from(document.images).map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0})),
        figures: document.querySelectorAll('.cell_output img').length,
        math: document.querySelectorAll('.math').length,
        unrendered_math: Array.from(document.querySelectorAll('.math'))
            .filter(node => !node.querySelector('mjx-container')).map(node => node.textContent.slice(0, 60)),
        text: document.body.innerText,
        prose: prose.innerText,
    };
}"""

# Wait for MathJax's first typesetting, when the page loads MathJax at all.
MATHJAX_DONE_JS = "async () => { if (window.MathJax?.startup?.promise) await window.MathJax.startup.promise; }"

# For the screenshots: the first progress bar (else figure, else formula) near the top, with the text before it.
SCROLL_TO_OUTPUTS_JS = """() => {
    const target = document.querySelector('.aeh-progress') ?? document.querySelector('.cell_output img')
        ?? document.querySelector('mjx-container');
    const cell = target?.closest('.cell');
    const anchor = cell?.previousElementSibling ?? cell ?? target;
    anchor?.scrollIntoView({block: 'start'});
}"""

SEARCH_DONE_JS = "() => document.querySelector('#search-results .search-summary')?.innerText.trim().length > 0"
SEARCH_RESULTS_JS = "() => Array.from(document.querySelectorAll('#search-results ul.search li a')).map(a => a.href)"


@dataclass
class PageReport:
    """What one page showed; ``problems`` is filled by the checks, each naming the page."""

    path: str  # relative to the site, e.g. notebooks/01_conv_autoencoder.html
    facts: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Serving the site
# ---------------------------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002  (the stdlib's name)
        """No access log on the terminal: problems are reported by the checks."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A browser that drops a connection (a page closed mid-download) is normal; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serving(site: Path) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 (a port the OS picks) while the block runs; yields its base URL."""
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, relative to it (not the copied sources or theme files)."""
    pages = (path.relative_to(site) for path in site.rglob("*.html"))
    return sorted(page.as_posix() for page in pages if not {"_static", "_sources"} & set(page.parts))


def expected_figures(notebook_path: Path) -> int:
    """How many figures a notebook's page must show: its stored outputs that hold an image."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return sum(any(mime.startswith("image/") for mime in output.get("data", {}))
               for cell in notebook.cells for output in cell.get("outputs", []))


# ---------------------------------------------------------------------------------------------
# Checks (plain Python on what the browser reported)
# ---------------------------------------------------------------------------------------------


def link_status(url: str, cache: dict[str, int]) -> int:
    """HTTP status of ``url`` from the local server (cached: most pages share the theme's files)."""
    if url not in cache:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                cache[url] = response.status
        except urllib.error.HTTPError as error:
            cache[url] = error.code
    return cache[url]


def page_problems(report: PageReport, base: str, repo: Path, statuses: dict[str, int]) -> list[str]:
    """Everything wrong with one loaded page, judged from ``report.facts`` (see PAGE_FACTS_JS)."""
    facts, name, problems = report.facts, report.path, []
    for image in facts["images"]:
        if not image["ok"]:
            problems.append(f"{name}: image not shown: {image['src']}")
    if facts["unrendered_math"]:
        problems.append(f"{name}: {len(facts['unrendered_math'])} of {facts['math']} formulas not rendered by MathJax, "
                        f"first: {facts['unrendered_math'][0]!r}")
    for text in BROKEN_WIDGET_TEXT:
        if text in facts["text"]:
            problems.append(f"{name}: a widget is shown raw ({text!r}): book/build.py must replace it")
    internal = sorted({url.split("#")[0].split("?")[0] for url in facts["urls"] if url.startswith(base)})
    for url in internal:
        status = link_status(url, statuses)
        if status != 200:
            problems.append(f"{name}: broken link to {url.removeprefix(base)} (HTTP {status})")

    notebook = repo / Path(name).with_suffix(".ipynb")
    if notebook.is_file():
        wanted, shown = expected_figures(notebook), facts["figures"]
        if shown != wanted:
            problems.append(f"{name}: shows {shown} figures, but {notebook.relative_to(repo)} stores {wanted} images")
        if not any(url.split("?")[0].endswith(f"/{notebook.name}") for url in internal):
            problems.append(f"{name}: no download link to {notebook.name}")
    return problems


def distinctive_word(reports: list[PageReport], page: str) -> str | None:
    """A word of ``page``'s prose (not code or outputs) that no other page contains anywhere: its most
    frequent one of 7 letters or more (long words are the ones a reader would search for)."""
    others = " ".join(report.facts["text"].lower() for report in reports if report.path != page)
    mine = next((report for report in reports if report.path == page), None)
    if mine is None:
        return None
    words = Counter(w for w in re.findall(r"[a-z]{7,}", mine.facts["prose"].lower()) if w not in others)
    return words.most_common(1)[0][0] if words else None


# ---------------------------------------------------------------------------------------------
# The browser side
# ---------------------------------------------------------------------------------------------


def open_page(context, base: str, path: str, outside: list[str]) -> tuple[PageReport, object]:
    """Load one page (with its images, scripts and MathJax) and gather its facts and load problems."""
    report = PageReport(path)
    page = context.new_page()
    blocked_before = len(outside)
    page.on("console", lambda message: message.type == "error"
            and report.problems.append(f"{path}: console error: {message.text[:300]}"))
    page.on("pageerror", lambda error: report.problems.append(f"{path}: script error: {str(error)[:300]}"))
    page.on("requestfailed", lambda request: request.url.startswith(base)
            and report.problems.append(f"{path}: request failed: {request.url} ({request.failure})"))
    page.on("response", lambda response: response.status >= 400
            and report.problems.append(f"{path}: HTTP {response.status} for {response.url}"))
    page.goto(base + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.evaluate(MATHJAX_DONE_JS)
    page.wait_for_load_state("networkidle")  # MathJax fetches its fonts and extensions after typesetting
    report.facts = page.evaluate(PAGE_FACTS_JS)
    report.problems += [f"{path}: request to outside the site (blocked): {url}" for url in outside[blocked_before:]]
    return report, page


def search_problems(context, base: str, word: str, expected: str) -> list[str]:
    """Search the site for ``word`` on its search page; lesson ``expected`` must be among the results."""
    page = context.new_page()
    try:
        page.goto(f"{base}search.html?q={word}", wait_until="load")
        try:
            page.wait_for_function(SEARCH_DONE_JS, timeout=20_000)
        except Exception:  # playwright's TimeoutError: reported as a problem, not a crash
            return [f"search.html: searching for {word!r} never finished (no search summary after 20 s)"]
        found = [url.removeprefix(base).split("?")[0].split("#")[0] for url in page.evaluate(SEARCH_RESULTS_JS)]
        if expected not in found:
            return [f"search.html: searching for {word!r} should list {expected}, but lists {found or 'nothing'}"]
        return []
    finally:
        page.close()


def check_site(site: Path, pages: list[str] | None = None, search: bool = True, search_word: str | None = None,
               screenshots: Path | None = None, repo: Path = REPO_ROOT, log=print) -> list[str]:
    """Open ``pages`` of the built ``site`` (default: all) in Chromium and return every problem found
    (empty: all good). ``search``: also search for ``search_word`` (default: a word found only on
    lesson 3's page), which must list lesson 3. ``screenshots``: save there a PNG of each
    notebook's page, scrolled to its first progress bar."""
    from playwright.sync_api import sync_playwright  # only `make book-test` installs playwright

    if not (site / "index.html").is_file():
        return [f"no built site at {site} (no index.html): run `make book` first"]
    pages = pages if pages is not None else site_pages(site)
    problems: list[str] = []
    outside: list[str] = []  # every request that left the local server, in order
    statuses: dict[str, int] = {}
    with serving(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, service_workers="block")

            def only_local(route) -> None:
                """Requests to the local server go through; anything else is recorded and blocked."""
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort("blockedbyclient")

            context.route("**/*", only_local)
            reports = []
            for path in pages:
                started = time.monotonic()
                report, page = open_page(context, base, path, outside)
                report.problems += page_problems(report, base, repo, statuses)
                if screenshots is not None and (repo / Path(path).with_suffix(".ipynb")).is_file():
                    screenshots.mkdir(parents=True, exist_ok=True)
                    page.evaluate(SCROLL_TO_OUTPUTS_JS)
                    page.screenshot(path=str(screenshots / f"{Path(path).stem}.png"))
                page.close()
                reports.append(report)
                problems += report.problems
                facts = report.facts
                log(f"{path}: {'ok' if not report.problems else 'FAILED'} ({len(facts['images'])} images, "
                    f"{facts['figures']} figures, {facts['math']} formulas, {time.monotonic() - started:.1f} s)")
            if search:
                word = search_word or distinctive_word(reports, SEARCH_PAGE)
                if word is None:
                    problems.append(f"search: no word found only on {SEARCH_PAGE} (is the page there?)")
                else:
                    search_found = search_problems(context, base, word, SEARCH_PAGE)
                    problems += search_found
                    log(f"search.html: {word!r} -> {'ok' if not search_found else 'FAILED'}")
        finally:
            browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", type=Path, default=DEFAULT_SITE, help=f"default: {DEFAULT_SITE}")
    parser.add_argument("--screenshots", type=Path, help="save a screenshot of each notebook's page in this folder")
    args = parser.parse_args(argv)
    started = time.monotonic()
    problems = check_site(args.site.resolve(), screenshots=args.screenshots)
    for problem in problems:
        print(f"  - {problem}")
    print(f"book: {len(site_pages(args.site))} pages checked in {time.monotonic() - started:.0f} s, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
