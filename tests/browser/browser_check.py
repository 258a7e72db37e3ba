"""Every lesson as a learner sees it: JupyterLab in a real (headless) browser.

    python tests/browser/browser_check.py notebooks/*.ipynb [--screenshots DIR] [--open-only notebooks/exercises/*.ipynb]

``make test`` runs the notebooks with nbval, which never draws anything: a progress bar that shows
up as ``HBox(children=...)``, a figure that never appears or a red stderr box would all pass there.
This script starts JupyterLab (like ``make lab``), opens each notebook in Chromium and

1. before running anything, checks what a learner first sees, the stored outputs: figures are
   images, progress bars are bars or clean text (never ``HBox(children=...)`` or "Error displaying
   widget"), and nothing stored is an error or stderr;
2. runs all cells in quick mode (``AEHELPERS_QUICK=1``) and checks that the kernel started, that
   every code cell ran, that tqdm's progress bars are widgets at 100 %, that every cell that makes
   a figure shows an image, and that nothing went to stderr or raised;
3. saves a screenshot of the finished notebook.

With ``--readme-screenshot PATH`` it also saves the first notebook *as first opened*, before step 2,
to PATH: the README shows what a learner meets, the stored outputs of a full run (a trained loss
curve and reconstructions), never the one-epoch pictures of a quick run.

Nothing is left behind: the server works on copies of the notebooks (JupyterLab autosaves) and its
home, Jupyter, IPython, matplotlib and XDG folders all point into one temporary folder.
The browser side of the checks runs in JavaScript (``*_JS`` below); the judging is plain Python.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCREENSHOTS = REPO_ROOT / "tests" / "browser" / "screenshots"
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium: `playwright install` would download a browser
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 1600}  # tall, so a screenshot shows a good part of a lesson

# JupyterLab settings for the check. Notebooks render every cell (by default JupyterLab 4 leaves
# off-screen cells out of the page, where no check could see them) and no news pop-up is asked for.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        '{"fetchNews": "false", "checkForUpdates": false}',
}

# A cell "makes a figure" when it calls plt.subplots / plt.figure or an ae.show_* / plot_* / draw_*
# helper (not ae.show_source, which shows code), or assigns to fig / fig, ax / fig, axes: each of
# those must end with an image on show.
MAKES_FIGURE = re.compile(r"\bplt\.(subplots|figure)\(|^\s*fig\w*\s*(,[^=\n]*)?=|\bae\.(show|plot|draw)_(?!source\b)\w+\(", re.M)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# What a widget shows when it could not be drawn: its raw repr, or ipywidgets' error text.
BROKEN_WIDGET_TEXT = ("HBox(children", "Error displaying widget", "Loading widget")


# ---------------------------------------------------------------------------------------------
# What the browser reports about each cell, and how it is judged
# ---------------------------------------------------------------------------------------------


@dataclass
class ShownOutput:
    """One output as drawn on the page (``.jp-OutputArea-output``)."""

    mime_type: str  # the renderer JupyterLab chose: image/png, text/plain, a widget, ...
    text: str
    images: int
    progress_bars: list[str]  # the width of each ipywidgets progress bar, "100%" when full


@dataclass
class Cell:
    """One notebook cell: what its model holds (source, outputs) and what the page shows."""

    number: int  # 1-based position in the notebook, as a reader counts cells
    cell_type: str
    source: str
    execution_count: int | None
    prompt: str  # "[3]:", "[*]:" while running, "[ ]:" never run
    outputs: list[dict]  # nbformat outputs (output_type, name, ename, evalue, data keys, text)
    shown: list[ShownOutput]

    @classmethod
    def from_page(cls, facts: dict) -> Cell:
        return cls(**{**facts, "shown": [ShownOutput(**shown) for shown in facts["shown"]]})

    def name(self) -> str:
        first_line = next((line for line in self.source.splitlines() if line.strip()), "")
        return f"cell {self.number} `{first_line[:60]}`"

    def makes_figure(self) -> bool:
        return bool(MAKES_FIGURE.search(self.source))

    def images_shown(self) -> int:
        return sum(shown.images for shown in self.shown)


def _output_problems(cell: Cell) -> list[str]:
    """Errors and stderr (red boxes a learner should never see), and outputs left undrawn."""
    problems = []
    for output in cell.outputs:
        if output["output_type"] == "error":
            problems.append(f"raised {output['ename']}: {output['evalue']}")
        elif output["output_type"] == "stream" and output["name"] == "stderr":
            problems.append(f"wrote to stderr: {output['text'].strip()[:200]!r}")
    if len(cell.outputs) != len(cell.shown):  # JupyterLab draws one element per output
        problems.append(f"{len(cell.outputs)} outputs, {len(cell.shown)} drawn")
    return problems


def _widget_problem(shown: ShownOutput, must_be_widget: bool) -> str | None:
    """A widget (in the lessons: tqdm's progress bar) must be drawn as a full bar or, where allowed,
    as its clean, finished text: never as its raw repr or an error."""
    text = shown.text.strip()
    if shown.progress_bars:
        unfinished = [width for width in shown.progress_bars if width != "100%"]
        return f"progress bar stopped at {unfinished[0]}" if unfinished else None
    if shown.images and not any(broken in text for broken in BROKEN_WIDGET_TEXT):
        return None  # an explorer (aehelpers.explorers): its live widget, or as first opened its stored picture
    if not text or any(broken in text for broken in BROKEN_WIDGET_TEXT):
        return f"widget not drawn, the page shows {text[:80]!r}"
    if must_be_widget:
        return f"progress shown as text, not as a widget: {text[:80]!r}"
    if "%|" in text and "100%" not in text:  # tqdm's text: "epochs: 100%|##########| 30/30 [...]"
        return f"stored progress bar is not finished: {text[:80]!r}"
    return None


def _widget_problems(cell: Cell, must_be_widget: bool) -> list[str]:
    """The problems of each widget output, judged on what the page drew for it."""
    if len(cell.outputs) != len(cell.shown):
        return []  # already reported as undrawn outputs
    problems = [_widget_problem(shown, must_be_widget)
                for output, shown in zip(cell.outputs, cell.shown) if WIDGET_MIME in output["mime_types"]]
    return [problem for problem in problems if problem]


def stored_view_problems(cells: list[Cell]) -> list[str]:
    """What is wrong in a notebook as opened, before any cell runs (its saved outputs)."""
    problems = []
    for cell in (cell for cell in cells if cell.cell_type == "code"):
        found = _output_problems(cell) + _widget_problems(cell, must_be_widget=False)
        stored_images = sum("image/png" in output["mime_types"] for output in cell.outputs)
        if stored_images > cell.images_shown():
            found.append(f"{stored_images} stored figures, {cell.images_shown()} drawn as images")
        if cell.execution_count is not None and cell.makes_figure() and not stored_images:
            found.append("makes a figure but its stored outputs have no image")
        problems += [f"{cell.name()}: {problem}" for problem in found]
    return problems


def run_problems(cells: list[Cell]) -> list[str]:
    """What is wrong after running all cells: cells not run, errors, stderr, missing figures, bars."""
    code_cells = [cell for cell in cells if cell.cell_type == "code"]
    problems = []
    for cell in code_cells:
        found = _output_problems(cell) + _widget_problems(cell, must_be_widget=True)
        if cell.prompt.strip() == "[*]:":
            found.append("still running")
        if cell.execution_count is not None and cell.makes_figure() and not cell.images_shown():
            found.append("makes a figure but shows no image")
        stderr_boxes = [shown for shown in cell.shown if shown.mime_type == "application/vnd.jupyter.stderr"]
        if stderr_boxes and not found:  # drawn red although the model holds no error: say so
            found.append(f"shows stderr: {stderr_boxes[0].text.strip()[:200]!r}")
        problems += [f"{cell.name()}: {problem}" for problem in found]
    never_ran = [cell for cell in code_cells if cell.execution_count is None and cell.source.strip()]
    if never_ran:
        problems.append("never ran: " + ", ".join(cell.name() for cell in never_ran))
    return problems


# ---------------------------------------------------------------------------------------------
# JupyterLab in a temporary home
# ---------------------------------------------------------------------------------------------


def isolated_environment(scratch: Path) -> dict[str, str]:
    """The environment for JupyterLab, its kernels and Chromium: every folder they write to is in
    ``scratch``, quick mode is on, and the venv (``PATH``, the editable ``aehelpers``) is unchanged."""
    home = scratch / "home"
    folders = {
        "HOME": home,
        "JUPYTER_CONFIG_DIR": home / ".jupyter",
        "JUPYTER_DATA_DIR": home / ".local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": home / ".local/share/jupyter/runtime",
        "IPYTHONDIR": home / ".ipython",
        "MPLCONFIGDIR": home / ".config/matplotlib",
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local/share",
        "XDG_STATE_HOME": home / ".local/state",
        "XDG_RUNTIME_DIR": home / "runtime",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("JUPYTER")}
    environment.pop("MPLBACKEND", None)  # `make test` sets Agg, which would keep figures off the page
    environment.update({name: str(folder) for name, folder in folders.items()})
    environment["AEHELPERS_QUICK"] = "1"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in the repository
    return environment


def write_lab_settings(environment: dict[str, str]) -> None:
    """User settings, as a learner would set them in Settings, into the temporary Jupyter config."""
    settings_dir = Path(environment["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
    for relative_path, settings in LAB_SETTINGS.items():
        path = settings_dir / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(settings)


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    url: str  # http://127.0.0.1:PORT
    token: str
    process: subprocess.Popen


@contextmanager
def running_lab(root_dir: Path, scratch: Path, environment: dict[str, str], timeout: float = 90) -> Iterator[LabServer]:
    """JupyterLab as ``make lab`` starts it, but headless, on a free port with a fresh token and
    workspace; stopped by its process id afterwards, kernels included."""
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")  # the venv's, next to this python
    command = [
        str(jupyter), "lab", "--no-browser", "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root_dir}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--LabApp.workspaces_dir={scratch / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run cells through its commands
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = scratch / "jupyterlab.log"
    with open(log_path, "wb") as log:
        # A session of its own: a Ctrl-C in the terminal reaches this script, which stops the server.
        process = subprocess.Popen(command, env=environment, cwd=root_dir, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, process)
    try:
        _wait_until_serving(server, timeout, log_path)
        yield server
    finally:
        _stop(process)


def _wait_until_serving(server: LabServer, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"{server.url}/api/status", headers={"Authorization": f"token {server.token}"})
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({server.process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM lets the server shut its kernels down; whatever of its process group is left after
    15 s (the group holds only this server and its kernels) is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


# ---------------------------------------------------------------------------------------------
# The browser side: JavaScript run in the JupyterLab page
# ---------------------------------------------------------------------------------------------

# Open a notebook (JupyterLab starts its kernel, as for a learner) and return its panel.
OPEN_NOTEBOOK_JS = """async (path) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await panel.context.ready;
    app.shell.activateById(panel.id);
    return panel;
}"""

# The kernel is there, connected and idle (the toolbar says "idle" even before a kernel exists).
KERNEL_READY_JS = """(panel) => {
    const kernel = panel.sessionContext.session?.kernel;
    return panel.sessionContext.isReady && kernel?.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

KERNEL_STATUS_JS = """(panel) => {
    const kernel = panel.sessionContext.session?.kernel;
    return kernel ? `${kernel.name}: ${kernel.status}, ${kernel.connectionStatus}` : 'no kernel';
}"""

# Every output drawn, and no widget still "Loading widget...".
OUTPUTS_DRAWN_JS = """(panel) => panel.content.widgets.every(cell => {
    if (cell.model.type !== 'code') return true;
    const drawn = cell.node.querySelectorAll('.jp-OutputArea-output');
    return drawn.length === cell.model.outputs.length &&
        Array.from(drawn).every(node => node.childElementCount > 0 || node.innerText.trim() !== '') &&
        !cell.node.innerText.includes('Loading widget');
})"""

# Run all cells as the menu's Run > Run All Cells does; remember when it has finished.
RUN_ALL_JS = """(panel) => {
    panel.runAllFinished = false;
    window.jupyterapp.commands.execute('notebook:run-all-cells')
        .finally(() => { panel.runAllFinished = true; });
}"""

RUN_FINISHED_JS = """(panel) => panel.runAllFinished && panel.sessionContext.session?.kernel?.status !== 'busy'"""

# What the model holds and the page shows, per cell (see the Cell dataclass).
CELL_FACTS_JS = """(panel) => panel.content.widgets.map((cell, index) => {
    const model = cell.model, isCode = model.type === 'code';
    const outputs = isCode ? Array.from({length: model.outputs.length}, (_, i) => model.outputs.get(i).toJSON()) : [];
    const text = (value) => Array.isArray(value) ? value.join('') : (value ?? '');
    return {
        number: index + 1,
        cell_type: model.type,
        source: model.sharedModel.getSource(),
        execution_count: isCode ? model.executionCount : null,
        prompt: cell.node.querySelector('.jp-InputArea-prompt')?.textContent ?? '',
        outputs: outputs.map(output => ({
            output_type: output.output_type, name: output.name ?? null,
            ename: output.ename ?? null, evalue: output.evalue ?? null,
            mime_types: Object.keys(output.data ?? {}), text: text(output.text),
        })),
        shown: Array.from(cell.node.querySelectorAll('.jp-OutputArea-output')).map(node => ({
            mime_type: node.dataset.mimeType ?? '',
            text: node.innerText.slice(0, 500),
            images: node.querySelectorAll('img').length,
            progress_bars: Array.from(node.querySelectorAll('.widget-hprogress .progress-bar'))
                .map(bar => bar.style.width),
        })),
    };
})"""

# For the screenshot: the first progress bar (else the first figure) near the top of the view.
SCROLL_TO_RESULTS_JS = """(panel) => {
    const cells = panel.content.widgets;
    const first = (selector) => cells.findIndex(cell => cell.node.querySelector(selector));
    const index = first('.widget-hprogress') >= 0 ? first('.widget-hprogress') : first('.jp-OutputArea-output img');
    cells[Math.max(index - 1, 0)].node.scrollIntoView({block: 'start'});  // with the text that leads to it
}"""

# For the README's screenshot of a notebook as stored: the cell before the first stored progress bar
# (drawn as a widget or as its text), so the view starts with the text that leads to the training
# and goes on to its figures; without a bar, the cell before the last figure (the trained results).
SCROLL_TO_STORED_TRAINING_JS = """(panel) => {
    const cells = panel.content.widgets;
    const bar = cells.findIndex(cell => cell.node.querySelector('.widget-hprogress') ||
        /\\d+%\\|/.test(cell.node.querySelector('.jp-OutputArea')?.innerText ?? ''));
    const figures = cells.map((cell, i) => cell.node.querySelector('.jp-OutputArea-output img') ? i : -1)
        .filter(i => i >= 0);
    const index = bar >= 0 ? bar : (figures.length ? figures[figures.length - 1] : 0);
    cells[Math.max(index - 1, 0)].node.scrollIntoView({block: 'start'});
}"""

# Stop the kernel and close the tab without the "save changes?" dialog.
CLOSE_NOTEBOOK_JS = """async (panel) => { await panel.sessionContext.shutdown(); panel.dispose(); }"""


@contextmanager
def lab_page(server: LabServer, scratch: Path, environment: dict[str, str]) -> Iterator:
    """A headless Chromium tab with JupyterLab loaded (fresh workspace: ``?reset``)."""
    from playwright.sync_api import sync_playwright  # only `make browser-test` installs playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(scratch / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            env=environment, viewport=VIEWPORT, device_scale_factor=1,
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.goto(f"{server.url}/lab?reset&token={server.token}")
            page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
            page.evaluate("async () => { await window.jupyterapp.restored; window.jupyterapp.shell.collapseLeft(); }")
            yield page
        finally:
            browser.close()


def _wait(page, script: str, panel, seconds: float) -> bool:
    """Wait until ``script(panel)`` is true; False after ``seconds``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(script, arg=panel, timeout=seconds * 1000, polling=250)
        return True
    except PlaywrightTimeout:
        return False


def _cells(panel) -> list[Cell]:
    return [Cell.from_page(facts) for facts in panel.evaluate(CELL_FACTS_JS)]


def _screenshot(page, panel, scroll_script: str, path: Path) -> None:
    """Scroll the notebook with ``scroll_script(panel)`` and save the browser's view as ``path``."""
    panel.evaluate(scroll_script)
    page.wait_for_timeout(300)  # let the scroll and the last paint settle
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def check_one(page, name: str, screenshot: Path, run_timeout: float, log=print,
              stored_screenshot: Path | None = None, run: bool = True) -> list[str]:
    """Open one notebook, judge its stored view, run it all, judge the result, take a screenshot.

    ``run=False`` only opens and judges the stored view (an exercise notebook, whose untouched run
    stops at its first TODO by design; tests/test_exercise_notebooks.py checks that stop).

    ``stored_screenshot``: where to save the notebook as first opened (its stored outputs), taken
    before anything runs; why before: after Run All a quick run has replaced every stored figure.
    """
    panel = page.evaluate_handle(OPEN_NOTEBOOK_JS, name)
    try:
        if not _wait(page, KERNEL_READY_JS, panel, 90):
            return [f"kernel did not start ({panel.evaluate(KERNEL_STATUS_JS)})"]
        drawn = _wait(page, OUTPUTS_DRAWN_JS, panel, 30)
        problems = [f"as opened: {problem}" for problem in stored_view_problems(_cells(panel))]
        if not drawn and not problems:
            problems.append("as opened: the stored outputs were not all drawn within 30 s")
        if stored_screenshot is not None:
            _screenshot(page, panel, SCROLL_TO_STORED_TRAINING_JS, stored_screenshot)
        if not run:
            log(f"{name}: opened (not run)")
            _screenshot(page, panel, SCROLL_TO_RESULTS_JS, screenshot)
            return problems

        run_started = time.monotonic()
        panel.evaluate(RUN_ALL_JS)
        if not _wait(page, RUN_FINISHED_JS, panel, run_timeout):
            problems.append(f"run all cells: not finished after {run_timeout:.0f} s")
        log(f"{name}: ran all cells in {time.monotonic() - run_started:.0f} s")
        _wait(page, OUTPUTS_DRAWN_JS, panel, 30)  # widgets draw a moment after the kernel is idle
        problems += run_problems(_cells(panel))
        problems += drive_explorers(page)

        _screenshot(page, panel, SCROLL_TO_RESULTS_JS, screenshot)
        return problems
    finally:
        panel.evaluate(CLOSE_NOTEBOOK_JS)


# An explorer's parts on the page: its picture, its line of numbers, its controls (ipywidgets 8).
EXPLORER = ".jp-OutputArea-output:has(.widget-image):has(.widget-html)"
EXPLORER_STATE_JS = """(node) => ({
    numbers: node.querySelector('.widget-html')?.innerText ?? '',
    picture: node.querySelector('.widget-image')?.getAttribute('src') ?? '',
})"""


def drive_explorers(page, seconds: float = 10) -> list[str]:
    """Change one control of every explorer as a learner would, and check that the picture and the numbers
    follow: a dropdown gets its next option, else the first slider moves one step right (its keyboard
    handle). The numbers must then name the control and its new value ("normal digit 3", "z1 0.05": the
    explorers print their settings so; tests/test_explorers.py checks the numbers computed from them),
    and the picture must be a new one."""
    problems = []
    explorers = page.locator(EXPLORER)
    for index in range(explorers.count()):
        explorer = explorers.nth(index)
        before = explorer.evaluate(EXPLORER_STATE_JS)
        if explorer.locator(".widget-dropdown").count():
            control = explorer.locator(".widget-dropdown").first
            select = control.locator("select")
            options = select.locator("option").all_inner_texts()
            choice = (select.evaluate("(node) => node.selectedIndex") + 1) % len(options)
            select.select_option(index=choice)
            value = options[choice]
        else:
            control = explorer.locator(".widget-hslider").first
            control.locator(".noUi-handle").first.focus()
            page.keyboard.press("ArrowRight")
            value = control.locator(".widget-readout").inner_text().strip()
        expected = f"{control.locator('.widget-label').first.inner_text().strip()} {value}"
        deadline = time.monotonic() + seconds
        after = before
        while time.monotonic() < deadline and after["numbers"] == before["numbers"]:
            time.sleep(0.2)
            after = explorer.evaluate(EXPLORER_STATE_JS)
        name = f"explorer {index + 1} ({before['numbers'][:40]!r}...)"
        if after["numbers"] == before["numbers"]:
            problems.append(f"{name}: its numbers did not change within {seconds:.0f} s of a change to {expected!r}")
        elif expected not in after["numbers"]:
            problems.append(f"{name}: after setting {expected!r} the numbers read {after['numbers'][:120]!r}")
        if after["picture"] == before["picture"]:
            problems.append(f"{name}: its picture did not change")
    return problems


def stored_screenshot_path(screenshot_dir: Path, notebook: Path) -> Path:
    """Where the screenshot of a notebook as first opened (stored outputs, nothing run) is saved."""
    return screenshot_dir / f"{notebook.stem}-as-opened.png"


def check_notebooks(notebooks: list[Path], screenshot_dir: Path = DEFAULT_SCREENSHOTS,
                    run_timeout: float = 300, log=print, stored_view_of: Path | None = None,
                    open_only: list[Path] = ()) -> dict[str, list[str]]:
    """Check each notebook in JupyterLab; its file name -> its problems (empty: all good).

    The ``open_only`` notebooks are opened and their stored view judged, but not run.

    Screenshots go to ``screenshot_dir/<notebook name>.png``; for ``stored_view_of`` (one of
    ``notebooks``) also one as first opened, to ``stored_screenshot_path(screenshot_dir, notebook)``.
    """
    with tempfile.TemporaryDirectory(prefix="aehelpers-browser-", ignore_cleanup_errors=True) as temporary:
        scratch = Path(temporary)
        workdir = scratch / "notebooks"  # copies: autosave must not rewrite the committed notebooks
        workdir.mkdir()
        for notebook in [*notebooks, *open_only]:
            shutil.copy(notebook, workdir / notebook.name)
        environment = isolated_environment(scratch)
        write_lab_settings(environment)

        report = {}
        with running_lab(workdir, scratch, environment) as server, lab_page(server, scratch, environment) as page:
            for notebook in [*notebooks, *open_only]:
                started = time.monotonic()
                stored = stored_screenshot_path(screenshot_dir, notebook) if notebook == stored_view_of else None
                problems = check_one(page, notebook.name, screenshot_dir / f"{notebook.stem}.png", run_timeout, log,
                                     stored_screenshot=stored, run=notebook not in open_only)
                report[notebook.name] = [f"{notebook.name}, {problem}" for problem in problems]
                verdict = "ok" if not problems else "FAILED"
                log(f"{notebook.name}: {verdict} ({time.monotonic() - started:.0f} s in all)")
        return report


def save_small_screenshot(source: Path, target: Path, max_bytes: int = 300_000) -> None:
    """Copy a screenshot for the README, as a 256-colour PNG when the full-colour one is too big."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    if target.stat().st_size > max_bytes:
        Image.open(source).convert("RGB").quantize(colors=256).save(target, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--screenshots", type=Path, default=DEFAULT_SCREENSHOTS,
                        help="folder for one PNG per notebook (default: tests/browser/screenshots/)")
    parser.add_argument("--readme-screenshot", type=Path,
                        help="also save the first notebook as first opened (its stored full-run outputs, "
                             "before anything runs) here, under 300 KB")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for running one notebook")
    parser.add_argument("--open-only", nargs="*", type=Path, default=[],
                        help="notebooks to open and judge as stored, without running them (the exercises)")
    args = parser.parse_args(argv)

    if not os.environ.get("AEHELPERS_DATA"):
        print("warning: AEHELPERS_DATA is not set; the lessons will look for data in the default place")
    started = time.monotonic()
    readme_notebook = args.notebooks[0] if args.readme_screenshot else None
    report = check_notebooks(args.notebooks, args.screenshots, args.timeout, stored_view_of=readme_notebook,
                             open_only=args.open_only)
    problems = [problem for notebook_problems in report.values() for problem in notebook_problems]
    for problem in problems:
        print(f"  - {problem}")
    if args.readme_screenshot:
        save_small_screenshot(stored_screenshot_path(args.screenshots, readme_notebook), args.readme_screenshot)
    print(f"{len(report) - sum(map(bool, report.values()))} of {len(report)} notebooks passed in the browser "
          f"({time.monotonic() - started:.0f} s); screenshots in {args.screenshots}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
