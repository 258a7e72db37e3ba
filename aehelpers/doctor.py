"""``python -m aehelpers.doctor``: say what is wrong with a set-up, and how to fix each problem.

Each check is a small function that returns a :class:`CheckResult` (OK, WARN or FAIL, what it
found, and the fix); every path a check looks at is an argument, so the tests can plant each
problem in a temporary folder. The command prints one line per check and exits with 1 when
something blocks the lessons (a FAIL), else 0. Warnings (no Flowers-102, little disk space, no
widget extension) leave the exit code at 0: the lessons run, some less well.

Why one command: a learner's problems (a wrong package, a CUDA-less PyTorch wheel, damaged data,
an unwritable folder) show up deep inside a notebook as tracebacks; one command checks them all
in a few seconds, before the first lesson.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings
from types import ModuleType
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .paths import CACHE_DIR, CHECKPOINT_DIR, REPO_ROOT

OK, WARN, FAIL = "OK", "WARN", "FAIL"
MIN_PYTHON = (3, 10)
REQUIREMENTS = REPO_ROOT / "requirements.txt"
MIN_FREE_BYTES = 1_000_000_000  # lesson 4's decoded-image cache is about 0.4 GB; leave room for checkpoints
REPORT_WIDTH = 110
WIDGET_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
TORCH_INDEX = "https://download.pytorch.org/whl"
# A pin line: name, optional extras, ==, version; an environment marker or comment may follow.
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict: ``status`` is OK, WARN or FAIL; ``fix`` is empty when nothing needs doing."""

    name: str
    status: str
    found: str
    fix: str = ""


# --- Python and packages ------------------------------------------------------------------------


def check_python(version: Sequence[int] = tuple(sys.version_info[:3]), minimum: tuple[int, int] = MIN_PYTHON) -> CheckResult:
    """FAIL below ``minimum`` (3.10): the package uses 3.10's syntax and standard library."""
    shown = ".".join(map(str, version))
    if tuple(version[:2]) >= minimum:
        return CheckResult("Python", OK, f"{shown} ({sys.executable})")
    need = ".".join(map(str, minimum))
    return CheckResult(
        "Python", FAIL, f"{shown} ({sys.executable}); the lessons need Python {need} or newer",
        f"install Python {need}+ (python.org, your package manager or conda), then make a new environment with it: "
        f"python3.11 -m venv .venv && .venv/bin/python -m pip install -r requirements.txt",
    )


def read_pins(requirements: Path) -> dict[str, str]:
    """The ``name==version`` pins of a requirements file, in file order; other lines are skipped."""
    pins: dict[str, str] = {}
    for line in requirements.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def _same_version(installed: str, pinned: str) -> bool:
    # PEP 440's ==: '2.14.1+cu130' (a CUDA build) satisfies torch==2.14.1, and '1.0' equals '1.0.0'.
    try:
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(f"=={pinned}").contains(installed, prereleases=True)
    except Exception:  # packaging missing, or a version it cannot parse: compare the text
        return installed.split("+")[0] == pinned.split("+")[0]


def check_packages(requirements: Path = REQUIREMENTS) -> CheckResult:
    """FAIL when a pinned package is missing or at another version, with the pip command that fixes it.

    Why pinned versions matter: the stored notebooks' numbers and the tests were made with them.
    """
    if not requirements.is_file():
        return CheckResult(
            "packages", WARN, f"no requirements file at {requirements}, so the versions were not checked",
            "pass the project's pins: python -m aehelpers.doctor --requirements /path/to/aehelpers/requirements.txt",
        )
    pins = read_pins(requirements)
    missing: list[str] = []
    different: dict[str, str] = {}  # name -> the version installed
    for name, pinned in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if not _same_version(installed, pinned):
            different[name] = installed
    if not missing and not different:
        return CheckResult("packages", OK, f"all {len(pins)} pinned packages of {requirements.name} installed at their versions")
    found = "; ".join(
        part for part in (
            f"missing: {', '.join(missing)}" if missing else "",
            "other versions: " + ", ".join(f"{n} {v} (pinned {pins[n]})" for n, v in different.items()) if different else "",
        ) if part
    )
    to_fix = [name for name in pins if name in missing or name in different]
    python = _shell_path(Path(sys.executable))
    fix = (
        f"{python} -m pip install {' '.join(f'{n}=={pins[n]}' for n in to_fix)}\n"
        f"(or everything at once: {python} -m pip install -r {_shell_path(requirements)})"
    )
    return CheckResult("packages", FAIL, found, fix)


def _shell_path(path: Path) -> str:
    """A path as short as it can be while still right from the current folder (for commands to copy)."""
    try:
        # absolute(), not resolve(): a venv's python is a symlink, and its own path is the one to run.
        relative = path.absolute().relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return str(relative) if relative.parts and relative.parts[0] != ".." else str(path)


# --- The device ---------------------------------------------------------------------------------


def _probe(device: str) -> None:
    """A tiny matrix product and convolution on ``device``; raises when the device cannot compute.

    Why a convolution too: the lessons are convolutional, and cuDNN can fail where plain CUDA works.
    """
    import torch
    import torch.nn.functional as F

    x = torch.arange(4.0, device=device)
    conv = F.conv2d(torch.ones(1, 1, 4, 4, device=device), torch.ones(1, 1, 3, 3, device=device))
    got = (float((x @ x).cpu()), float(conv.sum().cpu()))
    if got != (14.0, 36.0):
        raise RuntimeError(f"wrong results {got}, expected (14.0, 36.0)")


def nvidia_gpu_visible(device_file: Path = Path("/dev/nvidia0")) -> bool:
    """True when this machine shows signs of an NVIDIA GPU: ``nvidia-smi`` on the PATH or its device file."""
    return shutil.which("nvidia-smi") is not None or device_file.exists()


def _nvidia_smi_summary() -> str:
    """The GPU and driver as nvidia-smi reports them, or why it could not say."""
    if shutil.which("nvidia-smi") is None:
        return "nvidia-smi is not on the PATH"
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"nvidia-smi did not run ({type(err).__name__})"
    text = (done.stdout or done.stderr).strip().splitlines()
    return f"nvidia-smi: {text[0] if text else 'no output'}" + ("" if done.returncode == 0 else f" (exit {done.returncode})")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _torch_install(pins: Mapping[str, str], cuda_tag: str) -> str:
    """The pip command that swaps in PyTorch's build for one CUDA version (torchvision must match it).

    Why --force-reinstall: pip counts 2.14.1+cu130 as 2.14.1 already installed, and would do nothing.
    """
    wanted = " ".join(f"{name}=={pins[name]}" for name in ("torch", "torchvision") if name in pins)
    return f"python -m pip install --force-reinstall --no-deps {wanted} --index-url {TORCH_INDEX}/{cuda_tag}"


def check_device(
    gpu_visible: bool | None = None, probe: Callable[[str], None] = _probe, pins: Mapping[str, str] | None = None
) -> CheckResult:
    """The device the lessons will use (CUDA, then MPS, then CPU), tried with a tiny computation.

    CPU-only is fine (OK). A GPU that PyTorch cannot use is a WARN (the lessons fall back to the
    CPU, slowly); a GPU that PyTorch picks but that fails to compute is a FAIL, because
    ``get_device()`` would choose it and every lesson would stop. ``gpu_visible`` overrides the
    look for an NVIDIA GPU; ``probe`` is the computation tried (both for tests); ``pins`` are the
    versions the fixes install (default: torch's own).
    """
    try:
        import torch
    except Exception as err:  # a broken install fails here, not only a missing one
        return CheckResult("device", FAIL, f"PyTorch cannot be imported ({_first_line(err)})",
                           "reinstall it: python -m pip install --force-reinstall -r requirements.txt")
    build = f"torch {torch.__version__}"
    pins = pins or {"torch": torch.__version__.split("+")[0]}
    with warnings.catch_warnings(record=True) as caught:
        # torch explains an old driver in a warning, not in the return value: keep it for the report.
        warnings.simplefilter("always")
        cuda = torch.cuda.is_available()
    if cuda:
        name = torch.cuda.get_device_name(0)
        try:
            probe("cuda")
        except Exception as err:
            return CheckResult(
                "device", FAIL, f"CUDA GPU {name} found, but a tiny computation on it failed ({_first_line(err)}); {build}",
                f"this PyTorch build does not work with this GPU or driver: most often the driver is older than the "
                f"build's CUDA {torch.version.cuda}\n(update the driver), or the GPU is older than the build supports "
                "('no kernel image'). Or install the build for your driver's CUDA (nvidia-smi shows it):\n"
                f"  {_torch_install(pins, 'cu1XX')}\n"
                "To run on the CPU meanwhile: export CUDA_VISIBLE_DEVICES=",
            )
        return CheckResult("device", OK, f"CUDA: {name} ({build}, CUDA {torch.version.cuda})")
    if torch.backends.mps.is_available():
        try:
            probe("mps")
        except Exception as err:
            return CheckResult(
                "device", FAIL, f"Apple MPS found, but a tiny computation on it failed ({_first_line(err)}); {build}",
                "update macOS, and reinstall PyTorch: python -m pip install --force-reinstall -r requirements.txt\n"
                "Meanwhile run the lessons on the CPU: device = ae.get_device('cpu')",
            )
        return CheckResult("device", OK, f"Apple MPS ({build})")
    visible = nvidia_gpu_visible() if gpu_visible is None else gpu_visible
    if not visible:
        return CheckResult("device", OK, f"CPU, no GPU found ({build}); the lessons run on the CPU (README: times)")
    said = f"; torch said: {_first_line(caught[0].message)}" if caught else ""
    if torch.version.cuda is None:
        return CheckResult(
            "device", WARN,
            f"an NVIDIA GPU is visible ({_nvidia_smi_summary()}), but {build} is a CPU-only build, "
            "so the lessons run on the CPU",
            "install a CUDA build of the same version (cu130 below: pick the one for the 'CUDA Version' that "
            "nvidia-smi shows; pytorch.org/get-started lists them):\n"
            f"  {_torch_install(pins, 'cu130')}",
        )
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None:
        # The most common cause, and a harmless one: a setting left over from a script or a shell profile.
        return CheckResult(
            "device", WARN,
            f"an NVIDIA GPU is visible ({_nvidia_smi_summary()}), but CUDA_VISIBLE_DEVICES={hidden!r} hides it "
            f"from {build}; the lessons run on the CPU",
            "unset CUDA_VISIBLE_DEVICES (or set it to the GPU's index, e.g. export CUDA_VISIBLE_DEVICES=0), "
            "then restart JupyterLab",
        )
    return CheckResult(
        "device", WARN,
        f"an NVIDIA GPU is visible ({_nvidia_smi_summary()}), but {build} (built for CUDA {torch.version.cuda}) "
        f"cannot use it{said}; the lessons run on the CPU",
        f"the NVIDIA driver is missing, not loaded or older than CUDA {torch.version.cuda} needs. Run nvidia-smi:\n"
        "if it fails, (re)install the driver and reboot; if its 'CUDA Version' is lower, update the driver or\n"
        f"install the PyTorch build for that CUDA: {_torch_install(pins, 'cu1XX')}",
    )


# --- Data ---------------------------------------------------------------------------------------


def _data() -> ModuleType:
    """``aehelpers.data``, imported by the checks that need it.

    Why not at the top: it needs numpy and torch, and the doctor must still run, and say so, when
    they are missing.
    """
    from . import data

    return data


def check_data_folder(root: Path, source: str = "") -> CheckResult:
    """FAIL when the data folder does not exist; ``source`` says where its path came from ("from --data")."""
    data_env = _data().DATA_ENV
    where = f"{root}" + (f" ({source})" if source else "")
    if root.is_dir():
        return CheckResult("data folder", OK, where)
    problem = "is a file, not a folder" if root.exists() else "does not exist"
    return CheckResult(
        "data folder", FAIL, f"{where} {problem}",
        f"point the data setting at the folder that holds MNIST/ and flowers-102/: export {data_env}=/path/to/data\n"
        "(to check a folder first: python -m aehelpers.doctor --data /path/to/data)",
    )


def _damaged(folder: Path, expected: dict[str, str]) -> tuple[list[str], list[str]]:
    """The names in ``expected`` missing from ``folder``, and those present whose md5 differs."""
    missing = [name for name in expected if not (folder / name).is_file()]
    damaged = [
        f"{name} (md5 {actual}, {(folder / name).stat().st_size:,} bytes)"
        for name in expected if name not in missing
        for actual in [_data().md5sum(folder / name)] if actual != expected[name]
    ]
    return missing, damaged


def check_mnist(root: Path) -> CheckResult:
    """FAIL when any of MNIST's four .gz files is missing or differs from the official file (md5)."""
    data = _data()
    raw = root / "MNIST" / "raw"
    missing, damaged = _damaged(raw, data.MNIST_FILES)
    if not missing and not damaged:
        return CheckResult("MNIST", OK, f"4 files, md5 sums match the official files ({raw})")
    missing_text = "all 4 files" if len(missing) == len(data.MNIST_FILES) else ", ".join(missing)
    found = "; ".join(part for part in (
        f"missing under {raw}: {missing_text}" if missing else "",
        f"damaged (md5 differs from the official file): {', '.join(damaged)}" if damaged else "",
    ) if part) + "; every lesson needs MNIST"
    delete = "delete the damaged file(s), then " if damaged else ""
    fix = (
        f"{delete}copy the official files into {raw}, or point {data.DATA_ENV} at a folder that has them.\n"
        f"With internet: python -c \"import torchvision; torchvision.datasets.MNIST('{root}', download=True)\""
    )
    return CheckResult("MNIST", FAIL, found, fix)


def check_flowers(root: Path, expected_images: int | None = None) -> CheckResult:
    """WARN (only lesson 4 needs it) when Flowers-102's .mat files or jpg images are missing or damaged."""
    data = _data()
    if expected_images is None:
        expected_images = sum(data.FLOWERS_COUNTS.values())  # 8,189: the official splits together
    folder = root / "flowers-102"
    missing, damaged = _damaged(folder, data.FLOWERS_FILES)
    jpg = folder / "jpg"
    images = sum(1 for e in os.scandir(jpg) if e.name.startswith("image_") and e.name.endswith(".jpg")) if jpg.is_dir() else 0
    if not missing and not damaged and images == expected_images:
        return CheckResult("Flowers-102", OK, f"imagelabels.mat and setid.mat match (md5), {images:,} images ({folder})")
    if not folder.is_dir():
        found = f"not found ({folder})"
    else:
        found = "; ".join(part for part in (
            f"missing: {', '.join(missing)}" if missing else "",
            f"damaged (md5 differs): {', '.join(damaged)}" if damaged else "",
            f"{images:,} of {expected_images:,} images in {jpg}" if images != expected_images else "",
        ) if part) + f" ({folder})"
    fix = (
        f"only lesson 4 needs it. Put torchvision's Flowers-102 files in {folder} (imagelabels.mat, setid.mat,\n"
        f"jpg/image_00001.jpg ... image_{expected_images:05d}.jpg), or point {data.DATA_ENV} at a folder that has them.\n"
        f"With internet (330 MB): python -c \"import torchvision; torchvision.datasets.Flowers102('{root}', "
        "download=True)\""
    )
    return CheckResult("Flowers-102", WARN, found + "; lesson 4 cannot run without it", fix)


# --- Folders and disk space ---------------------------------------------------------------------


def _existing_ancestor(path: Path) -> Path:
    """``path`` itself or the nearest folder above it that exists (it may be a file in the way)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(folder: Path, name: str = "cache folder", purpose: str = "") -> CheckResult:
    """FAIL when ``folder`` cannot be created or a file cannot be written and deleted in it.

    Why write a probe instead of ``os.access``: access() ignores read-only mounts in some
    containers and says yes to root everywhere; a real write is the only honest answer.
    """
    about = f" ({purpose})" if purpose else ""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".doctor-probe-")
        try:
            os.write(handle, b"ok")
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as err:
        found = f"{folder} is not writable: {err.strerror or type(err).__name__}{about}"
        blocker = _existing_ancestor(folder)
        if not blocker.is_dir():
            fix = f"a file is in the way of the folder: move or delete it: rm {shlex.quote(str(blocker))}"
        else:
            fix = (f"give your user write access: chmod u+rwx {shlex.quote(str(blocker))}\n"
                   f"(if another user owns it: sudo chown -R $USER {shlex.quote(str(blocker))})")
        return CheckResult(name, FAIL, found, fix)
    return CheckResult(name, OK, f"{folder} is writable{about}")


def check_disk_space(folder: Path, minimum: int = MIN_FREE_BYTES) -> CheckResult:
    """WARN when the disk that holds ``folder`` has less than ``minimum`` bytes free."""
    where = _existing_ancestor(folder)
    free = shutil.disk_usage(where if where.is_dir() else where.parent).free
    found = f"{free / 1e9:.1f} GB free on the disk of {folder}"
    if free >= minimum:
        return CheckResult("disk space", OK, found)
    return CheckResult(
        "disk space", WARN, f"{found}; lesson 4's image cache needs about 0.4 GB, checkpoints a little more",
        f"free at least {minimum / 1e9:.1f} GB on that disk (emptying {CACHE_DIR.name}/ and {CHECKPOINT_DIR.name}/ is "
        "safe: they are rebuilt when needed)",
    )


# --- JupyterLab's widgets -----------------------------------------------------------------------


def _jupyter_dirs() -> tuple[list[Path], list[Path]]:
    """Where JupyterLab looks for lab extensions, and the config folders that may disable one."""
    try:
        from jupyter_core.paths import jupyter_config_path, jupyter_path
    except ImportError:  # no jupyter_core: look where pip puts them in this environment
        return [Path(sys.prefix, "share", "jupyter", "labextensions")], [Path(sys.prefix, "etc", "jupyter")]
    return [Path(p) for p in jupyter_path("labextensions")], [Path(p) for p in jupyter_config_path()]


def _disabled_in(config_dir: Path) -> bool:
    """True when ``labconfig/page_config.json`` in ``config_dir`` disables the widget extension."""
    page_config = config_dir / "labconfig" / "page_config.json"
    try:
        disabled = json.loads(page_config.read_text()).get("disabledExtensions", {})
    except (OSError, ValueError, AttributeError):
        return False
    # JupyterLab 3+ writes {name: true}; older versions wrote a list of names.
    return bool(disabled.get(WIDGET_EXTENSION)) if isinstance(disabled, dict) else WIDGET_EXTENSION in disabled


def _config_level(config_dir: Path) -> str:
    """The ``--level`` of ``jupyter labextension enable`` that writes to ``config_dir``.

    Why it matters: without it, enable writes to the environment's config, and a "disabled" in the
    user's own config still wins.
    """
    try:
        from jupyter_core.paths import jupyter_config_dir
    except ImportError:
        jupyter_config_dir = None
    if jupyter_config_dir is not None and config_dir.absolute() == Path(jupyter_config_dir()).absolute():
        return "user"
    return "sys_prefix" if config_dir.absolute() == Path(sys.prefix, "etc", "jupyter").absolute() else "system"


def check_widgets(
    extension_dirs: Sequence[Path] | None = None,
    config_dirs: Sequence[Path] | None = None,
    package: str = "jupyterlab_widgets",
) -> CheckResult:
    """WARN unless JupyterLab's widget extension is installed and enabled, so progress bars render.

    Without it the lessons still run, but tqdm's bars show as text like "HBox(children=...)".
    """
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return CheckResult("Jupyter widgets", WARN, f"{package} is not installed; progress bars will not render",
                           "python -m pip install -r requirements.txt (ipywidgets brings it), then restart JupyterLab")
    # Reinstall the very version that is there, alone: it puts the extension's files back, changing nothing else.
    fix = f"python -m pip install --force-reinstall --no-deps {package}=={version}, then restart JupyterLab"
    default_ext, default_cfg = _jupyter_dirs()
    ext_dirs = list(extension_dirs) if extension_dirs is not None else default_ext
    cfg_dirs = list(config_dirs) if config_dirs is not None else default_cfg
    found_in = next((d for d in ext_dirs if (d / WIDGET_EXTENSION / "package.json").is_file()), None)
    if found_in is None:
        return CheckResult(
            "Jupyter widgets", WARN,
            f"{package} {version} is installed, but its lab extension {WIDGET_EXTENSION} is in none of "
            f"{', '.join(map(str, ext_dirs))}; progress bars will not render", fix,
        )
    disabled = [d for d in cfg_dirs if _disabled_in(d)]
    if disabled:
        return CheckResult(
            "Jupyter widgets", WARN,
            f"{WIDGET_EXTENSION} is installed but disabled in {disabled[0] / 'labconfig' / 'page_config.json'}; "
            "progress bars will not render",
            f"jupyter labextension enable --level {_config_level(disabled[0])} {WIDGET_EXTENSION}, "
            "then restart JupyterLab",
        )
    return CheckResult("Jupyter widgets", OK, f"{package} {version}, {WIDGET_EXTENSION} enabled ({found_in})")


# --- The command --------------------------------------------------------------------------------


def run_checks(
    data: Path | None = None,
    requirements: Path = REQUIREMENTS,
    cache_dir: Path = CACHE_DIR,
    checkpoint_dir: Path = CHECKPOINT_DIR,
    data_source: str = "",
) -> list[CheckResult]:
    """Every check in the order of the report. A check that crashes becomes a FAIL, not a traceback."""
    def root() -> Path:
        # Found inside each data check, so that a missing numpy or torch becomes that check's FAIL.
        return data if data is not None else _data().data_root()

    def source() -> str:
        if data is not None:
            return data_source
        env = _data().DATA_ENV
        return f"from ${env}" if os.environ.get(env, "").strip() else f"the default, as ${env} is not set"

    try:
        pins = read_pins(requirements) if requirements.is_file() else None
    except OSError:
        pins = None
    checks: list[tuple[str, Callable[[], CheckResult]]] = [
        ("Python", check_python),
        ("packages", lambda: check_packages(requirements)),
        ("device", lambda: check_device(pins=pins)),
        ("data folder", lambda: check_data_folder(root(), source())),
        ("MNIST", lambda: check_mnist(root())),
        ("Flowers-102", lambda: check_flowers(root())),
        ("cache folder", lambda: check_writable(cache_dir, "cache folder", "lesson 4's decoded images")),
        ("checkpoints", lambda: check_writable(checkpoint_dir, "checkpoints", "saved training runs")),
        ("disk space", lambda: check_disk_space(cache_dir)),
        ("Jupyter widgets", check_widgets),
    ]
    results = []
    for name, check in checks:
        try:
            results.append(check())
        except ModuleNotFoundError as err:
            results.append(CheckResult(name, FAIL, f"cannot run: it needs {err.name}, which is not installed",
                                       "install the pinned packages (see 'packages'): python -m pip install -r requirements.txt"))
        except Exception as err:  # one broken check must not hide the others
            results.append(CheckResult(name, FAIL, f"the check itself failed: {_first_line(err)}",
                                       "please report this, with the doctor's output, as an issue of the project"))
    return results


def format_report(results: Sequence[CheckResult]) -> str:
    """One line per check (mark, name, what was found), an indented fix under each problem, a summary."""
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        head = f"{r.status:<4}  {r.name:<{width}}  "
        # Wrap what was found under its own column; fixes keep their own line breaks, so commands stay whole.
        found = textwrap.wrap(r.found, width=max(60, REPORT_WIDTH - len(head)), break_long_words=False,
                              break_on_hyphens=False) or [""]
        lines += [head + found[0]] + [" " * len(head) + rest for rest in found[1:]]
        for i, fix_line in enumerate(r.fix.splitlines()):
            lines.append(" " * 6 + ("Fix: " if i == 0 else "     ") + fix_line)
    fails = sum(r.status == FAIL for r in results)
    warns = sum(r.status == WARN for r in results)
    if fails:
        summary = (f"{_count(fails, 'problem blocks', 'problems block')} the lessons (FAIL), "
                   f"{_count(warns, 'warning', 'warnings')}: fix the FAIL lines, then run python -m aehelpers.doctor again.")
    elif warns:
        summary = f"Ready for the lessons, with {_count(warns, 'warning', 'warnings')} (WARN: worth fixing, not blocking)."
    else:
        summary = f"All {len(results)} checks passed: ready for the lessons."
    return "\n".join(lines + ["", summary])


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def exit_code(results: Sequence[CheckResult]) -> int:
    """1 when any check FAILs (something blocks the lessons), else 0: warnings do not fail a script."""
    return 1 if any(r.status == FAIL for r in results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run every check, print the report; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m aehelpers.doctor",
        description="Check the set-up for the aehelpers lessons and print a fix for each problem.",
    )
    parser.add_argument("--data", type=Path, help="the data folder to check (default: $AEHELPERS_DATA, else <repo>/data)")
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS, help="the pinned versions (default: %(default)s)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="the cache folder (default: %(default)s)")
    parser.add_argument("--checkpoint-dir", type=Path, default=CHECKPOINT_DIR, help="checkpoints (default: %(default)s)")
    args = parser.parse_args(argv)
    data = args.data.expanduser() if args.data is not None else None
    results = run_checks(data, args.requirements, args.cache_dir, args.checkpoint_dir, "from --data" if data else "")
    print(f"aehelpers doctor: checking the set-up in {REPO_ROOT}\n")
    print(format_report(results))
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
