"""``python -m aehelpers.doctor``: each check plants its problem and must name it, with the fix."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from aehelpers import doctor
from aehelpers.data import FLOWERS_FILES, DataError, load_mnist
from aehelpers.doctor import FAIL, OK, WARN, WIDGET_EXTENSION, CheckResult

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def healthy(tmp_path, mnist_root) -> list[str]:
    """Options for a set-up with nothing wrong, whatever the machine: a pin the environment meets, fresh folders."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"# only a pin that is met\npytest=={importlib.metadata.version('pytest')}\n")
    return ["--data", str(mnist_root), "--requirements", str(requirements),
            "--cache-dir", str(tmp_path / "cache"), "--checkpoint-dir", str(tmp_path / "checkpoints")]


def replace_option(options: list[str], name: str, value: Path) -> list[str]:
    options = list(options)
    options[options.index(name) + 1] = str(value)
    return options


def run_main(options: list[str], capsys) -> tuple[int, str]:
    code = doctor.main(options)
    return code, capsys.readouterr().out


def line_of(output: str, name: str) -> str:
    """The report's line for one check (its first line, where the mark is)."""
    return next(line for line in output.splitlines() if line[6:].startswith(name))


def test_healthy_setup_passes_and_exits_zero(healthy, capsys):
    # The control for every test below: with nothing planted the doctor exits 0, so their exit code 1 is the plant's.
    code, output = run_main(healthy, capsys)
    assert code == 0, output
    for name in ("packages", "data folder", "MNIST", "cache folder", "checkpoints"):
        assert line_of(output, name).startswith("OK "), output
    assert "FAIL" not in output


def test_healthy_data_passes_the_data_checks(mnist_root, monkeypatch, tmp_path):
    # Through the environment variable, as a learner sets it (the default when --data is not given).
    monkeypatch.setenv("AEHELPERS_DATA", str(mnist_root))
    results = {r.name: r for r in doctor.run_checks(cache_dir=tmp_path / "cache", checkpoint_dir=tmp_path / "ckpt")}
    assert results["data folder"].status == OK and "$AEHELPERS_DATA" in results["data folder"].found
    assert results["MNIST"].status == OK
    if not (mnist_root / "flowers-102").is_dir():
        pytest.skip("no Flowers-102 in the data folder")
    assert results["Flowers-102"].status == OK and "8,189 images" in results["Flowers-102"].found


def test_empty_data_folder_fails_mnist_and_warns_flowers(healthy, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    mnist = doctor.check_mnist(empty)
    assert mnist.status == FAIL and "all 4 files" in mnist.found and "torchvision.datasets.MNIST" in mnist.fix
    flowers = doctor.check_flowers(empty)
    assert flowers.status == WARN and "lesson 4" in flowers.fix and "Flowers102" in flowers.fix
    code, output = run_main(replace_option(healthy, "--data", empty), capsys)
    assert code == 1
    assert line_of(output, "MNIST").startswith("FAIL") and line_of(output, "Flowers-102").startswith("WARN")
    assert "Fix: copy the official files" in output


def test_missing_data_folder_fails_with_the_setting_to_change(healthy, tmp_path, capsys):
    result = doctor.check_data_folder(tmp_path / "nowhere", "from --data")
    assert result.status == FAIL and "does not exist" in result.found and "export AEHELPERS_DATA=" in result.fix
    code, output = run_main(replace_option(healthy, "--data", tmp_path / "nowhere"), capsys)
    assert code == 1 and line_of(output, "data folder").startswith("FAIL")


def test_damaged_mnist_file_fails_its_md5(mnist_copy, healthy, capsys):
    damaged = mnist_copy / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-100])  # a download cut short
    result = doctor.check_mnist(mnist_copy)
    assert result.status == FAIL
    assert "t10k-images-idx3-ubyte.gz" in result.found and "damaged" in result.found
    assert "train-images" not in result.found  # the intact files are not blamed
    assert result.fix.startswith("delete the damaged file")
    code, output = run_main(replace_option(healthy, "--data", mnist_copy), capsys)
    assert code == 1 and line_of(output, "MNIST").startswith("FAIL")


def test_flowers_damaged_or_incomplete_is_a_warning(tmp_path, mnist_root):
    if not (mnist_root / "flowers-102" / "setid.mat").is_file():
        pytest.skip("no Flowers-102 in the data folder")
    folder = tmp_path / "flowers-102"
    (folder / "jpg").mkdir(parents=True)
    for name in FLOWERS_FILES:
        (folder / name).write_bytes((mnist_root / "flowers-102" / name).read_bytes())
    (folder / "setid.mat").write_bytes(b"not a mat file")
    for i in range(1, 11):
        (folder / "jpg" / f"image_{i:05d}.jpg").write_bytes(b"")
    result = doctor.check_flowers(tmp_path)
    assert result.status == WARN
    assert "setid.mat" in result.found and "imagelabels.mat" not in result.found
    assert "10 of 8,189 images" in result.found


def test_wrong_package_version_fails_with_the_pip_command(healthy, tmp_path, capsys):
    requirements = tmp_path / "wrong.txt"
    requirements.write_text("numpy==0.0.1  # far too old\nno-such-package-aehelpers==1.0\n")
    result = doctor.check_packages(requirements)
    assert result.status == FAIL
    assert f"numpy {importlib.metadata.version('numpy')} (pinned 0.0.1)" in result.found
    assert "missing: no-such-package-aehelpers" in result.found
    assert "-m pip install numpy==0.0.1 no-such-package-aehelpers==1.0" in result.fix
    code, output = run_main(replace_option(healthy, "--requirements", requirements), capsys)
    assert code == 1 and line_of(output, "packages").startswith("FAIL")


def test_pins_are_read_like_pip_does(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\n\n-r other.txt\ntorch==2.14.1\nrich[jupyter] == 13.0 ; python_version>'3'\n"
                            "tqdm>=4\n")
    assert doctor.read_pins(requirements) == {"torch": "2.14.1", "rich": "13.0"}
    # A CUDA build's local label (+cu130) still satisfies the pin, as it does for pip.
    assert doctor._same_version("2.14.1+cu130", "2.14.1") and not doctor._same_version("2.14.0", "2.14.1")


@pytest.mark.skipif(Path(sys.prefix).resolve() != (REPO_ROOT / ".venv").resolve(), reason="not the project's .venv")
def test_real_requirements_file_matches_this_environment():
    # The project's own pins: the venv made by `make setup` must satisfy them (the doctor's first promise).
    result = doctor.check_packages(REPO_ROOT / "requirements.txt")
    assert result.status == OK, result


def test_cache_path_blocked_by_a_file_fails(healthy, tmp_path, capsys):
    # A regular file where the folder should be: creating it fails even for root, who ignores permissions.
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("")
    result = doctor.check_writable(blocker / "cache", "cache folder")
    assert result.status == FAIL and "not writable" in result.found
    assert f"rm {blocker}" in result.fix
    code, output = run_main(replace_option(healthy, "--cache-dir", blocker), capsys)
    assert code == 1 and line_of(output, "cache folder").startswith("FAIL")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes through chmod 0o500")
def test_read_only_cache_folder_fails(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o500)
    try:
        result = doctor.check_writable(folder, "cache folder")
    finally:
        folder.chmod(0o700)
    assert result.status == FAIL and f"chmod u+rwx {folder}" in result.fix


def test_permission_denied_names_chmod(tmp_path, monkeypatch):
    # The chmod case as root sees it too: the write itself is refused (as on a read-only mount).
    def refuse(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(doctor.tempfile, "mkstemp", refuse)
    result = doctor.check_writable(tmp_path, "checkpoints")
    assert result.status == FAIL and "Permission denied" in result.found and f"chmod u+rwx {tmp_path}" in result.fix


def test_writable_check_creates_the_folder_and_leaves_nothing(tmp_path):
    folder = tmp_path / "new" / "checkpoints"
    assert doctor.check_writable(folder, "checkpoints").status == OK
    assert folder.is_dir() and list(folder.iterdir()) == []  # the probe file is gone


def test_low_disk_space_warns(tmp_path):
    assert doctor.check_disk_space(tmp_path / "not-yet" / "cache", minimum=1).status == OK
    result = doctor.check_disk_space(tmp_path, minimum=10**18)
    assert result.status == WARN and "0.4 GB" in result.found and "free at least" in result.fix


def test_python_version():
    assert doctor.check_python((3, 10, 0)).status == OK
    old = doctor.check_python((3, 9, 18))
    assert old.status == FAIL and "3.9.18" in old.found and "3.10" in old.fix


@pytest.fixture()
def no_gpu(monkeypatch):
    """Make this machine look GPU-less to torch, whatever it has, so the device tests mean the same everywhere."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_cpu_only_is_fine(no_gpu):
    result = doctor.check_device(gpu_visible=False)
    assert result.status == OK and result.found.startswith("CPU")


def test_visible_gpu_with_cpu_only_torch_warns_with_the_wheel_to_install(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    result = doctor.check_device(gpu_visible=True, pins={"torch": "2.14.1", "torchvision": "0.29.1", "numpy": "2"})
    assert result.status == WARN and "CPU-only build" in result.found
    # --force-reinstall: pip would call the CPU build 2.14.1 "already satisfied" and keep it.
    assert ("--force-reinstall --no-deps torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cu"
            in result.fix)


def test_visible_gpu_that_cuda_torch_cannot_use_blames_the_driver(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    result = doctor.check_device(gpu_visible=True)
    assert result.status == WARN and "cannot use it" in result.found and "driver" in result.fix


def test_gpu_hidden_by_cuda_visible_devices_says_so(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    result = doctor.check_device(gpu_visible=True)
    assert result.status == WARN and "CUDA_VISIBLE_DEVICES=''" in result.found
    assert result.fix.startswith("unset CUDA_VISIBLE_DEVICES")


def test_gpu_that_fails_a_tiny_computation_fails(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Planted GPU")

    def broken(device: str) -> None:
        raise RuntimeError("CUDA error: no kernel image is available for execution on the device\nmore detail")

    result = doctor.check_device(probe=broken)
    assert result.status == FAIL and "Planted GPU" in result.found and "no kernel image" in result.found
    assert "CUDA_VISIBLE_DEVICES=" in result.fix


def test_the_probe_computes_on_the_cpu():
    doctor._probe("cpu")  # raises if the tiny product or convolution gives a wrong answer


def test_widget_extension_found_missing_or_disabled(tmp_path):
    try:
        importlib.metadata.version("jupyterlab_widgets")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("jupyterlab_widgets is not installed here")
    extensions, config = tmp_path / "labextensions", tmp_path / "etc"
    missing = doctor.check_widgets(extension_dirs=[extensions], config_dirs=[config])
    assert missing.status == WARN and "--force-reinstall --no-deps jupyterlab_widgets==" in missing.fix
    (extensions / WIDGET_EXTENSION).mkdir(parents=True)
    (extensions / WIDGET_EXTENSION / "package.json").write_text("{}")
    assert doctor.check_widgets(extension_dirs=[extensions], config_dirs=[config]).status == OK
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {WIDGET_EXTENSION: True}}))
    disabled = doctor.check_widgets(extension_dirs=[extensions], config_dirs=[config])
    assert disabled.status == WARN and f"jupyter labextension enable --level system {WIDGET_EXTENSION}" in disabled.fix


def test_enable_command_writes_where_the_extension_was_disabled(tmp_path, monkeypatch):
    # `jupyter labextension enable` without --level writes the environment's config, and a "disabled" in the
    # user's config would still win: the fix must name the level of the file that disables it.
    pytest.importorskip("jupyter_core")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user"))
    assert doctor._config_level(tmp_path / "user") == "user"
    assert doctor._config_level(Path(sys.prefix, "etc", "jupyter")) == "sys_prefix"
    assert doctor._config_level(tmp_path / "elsewhere") == "system"


def test_widgets_package_missing_warns():
    result = doctor.check_widgets(package="no-such-widgets-package-aehelpers")
    assert result.status == WARN and "pip install -r requirements.txt" in result.fix


def test_report_marks_each_line_and_indents_fixes():
    results = [CheckResult("first", OK, "fine"), CheckResult("second", FAIL, "broken", "do this\nthen that")]
    lines = doctor.format_report(results).splitlines()
    assert lines[0].startswith("OK    first ") and lines[1].startswith("FAIL  second")
    assert lines[2] == "      Fix: do this" and lines[3] == "           then that"
    assert lines[-1].startswith("1 problem blocks the lessons")
    assert doctor.exit_code(results) == 1 and doctor.exit_code(results[:1]) == 0
    assert doctor.exit_code([CheckResult("w", WARN, "meh", "fix")]) == 0  # warnings do not block


def test_a_crashing_check_becomes_a_fail_not_a_traceback(monkeypatch, tmp_path):
    def crash(root: Path) -> CheckResult:
        raise PermissionError("planted")

    monkeypatch.setattr(doctor, "check_flowers", crash)
    results = {r.name: r for r in doctor.run_checks(tmp_path, cache_dir=tmp_path / "c", checkpoint_dir=tmp_path / "k")}
    assert results["Flowers-102"].status == FAIL and "planted" in results["Flowers-102"].found


def test_data_errors_point_to_the_doctor(tmp_path, mnist_copy):
    with pytest.raises(DataError, match="python -m aehelpers.doctor"):
        load_mnist(True, tmp_path / "nowhere", download=False)
    label_file = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    label_file.write_bytes(label_file.read_bytes()[:-1])
    with pytest.raises(DataError, match="python -m aehelpers.doctor"):
        load_mnist(False, mnist_copy)


def test_command_end_to_end_is_quick(mnist_root, tmp_path):
    # As a learner runs it, in a fresh process (the import of torch included).
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "aehelpers.doctor", "--data", str(mnist_root),
         "--cache-dir", str(tmp_path / "cache"), "--checkpoint-dir", str(tmp_path / "checkpoints")],
        capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )
    seconds = time.perf_counter() - start
    assert done.stderr == "", done.stderr
    assert line_of(done.stdout, "MNIST").startswith("OK ") and line_of(done.stdout, "data folder").startswith("OK ")
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert done.returncode == (1 if failed else 0), done.stdout
    summary = done.stdout.rstrip().splitlines()[-1]
    assert ("the lessons (FAIL)" in summary) if failed else ("ready for the lessons" in summary.lower()), summary
    assert seconds < 20, f"the doctor took {seconds:.1f} s"  # about 3 s here, most of it importing torch


def test_a_missing_package_still_lets_the_doctor_run():
    # seaborn blocked: `import aehelpers` must work (so the doctor can report), and a name that needs
    # the missing package must say how to fix it.
    code = (
        "import sys; sys.modules['seaborn'] = None\n"
        "import aehelpers as ae\n"
        "try:\n    ae.show_reconstructions\nexcept ModuleNotFoundError as err:\n    print('MISSING', err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "MISSING aehelpers needs seaborn" in done.stdout and "pip install -r requirements.txt" in done.stdout
