import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "train_speed.py"


def test_quick_benchmark_runs_and_writes_well_formed_results(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--task", "conv_autoencoder", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    result = json.loads((tmp_path / "conv_autoencoder.json").read_text())
    # The summary takes its numbers from the one stored seed; the seed's own run is kept beside it.
    assert result["headline_seed"] == 0 and [s["seed"] for s in result["seeds"]] == [0]
    run = json.loads((tmp_path / "runs" / "conv_autoencoder_seed0.json").read_text())
    assert run["course_test_mse"] == result["course_test_mse"] == result["seeds"][0]["course_test_mse"]
    for key in ("course_test_mse", "aehelpers_test_mse_at_course_budget", "time_to_course_quality_ratio",
                "best_test_mse", "best_test_mse_budget_seconds", "machine"):
        assert key in result
    assert result["quick"] is True and result["epochs"] == 2
    for way in ("course", "aehelpers"):
        assert len(result[way]["test_mse"]) == 2 and len(result[way]["seconds"]) == 2
        assert result[way]["seconds"][1] > result[way]["seconds"][0] > 0
        assert 0 < result[way]["test_mse"][1] < 0.2
    ratio = result["time_to_course_quality_ratio"]
    assert ratio is None or ratio > 0
    assert (tmp_path / "conv_autoencoder.png").stat().st_size > 10_000


def test_step_time_keeps_options_with_the_same_label_apart(tmp_path, monkeypatch):
    # Sub-options under different rows share labels ("  ... fused Adam"): their timings must not merge.
    import importlib.util

    monkeypatch.syspath_prepend(str(BENCHMARK.parent))
    spec = importlib.util.spec_from_file_location("step_time", BENCHMARK.parent / "step_time.py")
    step_time = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(step_time)
    fake = [("in-memory, batch 16", 16, lambda: (lambda steps: 0.002)),
            ("  ... fused Adam", 16, lambda: (lambda steps: 0.001)),
            ("in-memory, batch 256", 256, lambda: (lambda steps: 0.004)),
            ("  ... fused Adam", 256, lambda: (lambda steps: 0.003))]
    monkeypatch.setattr(step_time, "cpu_options", lambda device: fake)
    monkeypatch.setattr(step_time, "RESULTS", tmp_path)
    assert step_time.main(["--rounds", "3", "--steps", "1"]) == 0
    rows = json.loads((tmp_path / "step_time.json").read_text())["rows"]
    assert [round(r["ms_per_step"], 6) for r in rows] == [2.0, 1.0, 4.0, 3.0]
    assert all(len(r["ms_per_step_rounds"]) == 3 for r in rows)


def _quick(script: str) -> str:
    """Run a benchmark's ``--quick`` smoke test (it writes nothing) and return what it printed."""
    done = subprocess.run([sys.executable, str(BENCHMARK.parent / script), "--quick"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    return done.stdout


def test_the_upsampling_seed_benchmark_pairs_each_seed():
    printed = _quick("upsampling_seeds.py")
    # one line per seed (0, 1, 2), each with both models' test MSE, then the summary
    assert [line.split(":")[0] for line in printed.splitlines()[:3]] == ["seed 0", "seed 1", "seed 2"]
    assert "the twin's gain over 3 seeds" in printed


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="tunes glibc's malloc")
def test_the_allocator_benchmark_times_both_variants_with_the_same_losses(tmp_path):
    done = subprocess.run([sys.executable, str(BENCHMARK.parent / "cpu_allocator.py"), "--width", "4", "--steps", "2",
                           "--rounds", "2", "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "cpu_allocator.json").read_text())
    assert all(len(result["ms_per_step"][name]) == 2 for name in ("default", "tuned"))
    assert abs(result["speedup"] - result["median_ms"]["default"] / result["median_ms"]["tuned"]) < 0.02
    assert result["same_losses"] is True and 0 <= result["median_system_share"]["tuned"] <= 1


def test_the_long_vae_run_trains_and_estimates():
    printed = _quick("vae_long.py")
    assert "-log p(x)" in printed and "K = 10," in printed


def _vae_long_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vae_long", BENCHMARK.parent / "vae_long.py")
    vae_long = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vae_long)
    return vae_long


def test_the_long_vae_estimate_resumes_exactly_and_decodes_in_small_batches(tmp_path, monkeypatch):
    import pytest
    import torch

    import aehelpers as ae
    from aehelpers.runtime import describe_machine

    vae_long = _vae_long_module()
    torch.manual_seed(0)
    model = ae.VariationalAutoencoder(4, width=4).eval()
    images = (torch.rand(250, 1, 28, 28) > 0.5).float()  # 3 chunks of 100, the last one short
    whole, machines = vae_long.estimate(model, images, 40, None)
    assert whole.shape == (250,) and machines == [describe_machine("cpu")["device"]]

    calls, interrupt_at = [], [2]
    real = ae.importance_weighted_nll

    def spy(*args, **kwargs):
        calls.append(kwargs["batch_size"] * kwargs["samples"])
        if len(calls) in interrupt_at:
            interrupt_at.clear()
            raise KeyboardInterrupt  # Ctrl-C in the second chunk, once
        return real(*args, **kwargs)

    store = tmp_path / "nll.pt"
    monkeypatch.setattr(vae_long.ae, "importance_weighted_nll", spy)
    with pytest.raises(KeyboardInterrupt):
        vae_long.estimate(model, images, 40, store)
    assert list(torch.load(store)["chunks"]) == [0]  # the first chunk was kept
    assert torch.equal(vae_long.estimate(model, images, 40, store)[0], whole)  # resumed: the same numbers
    assert len(calls) == 4 and max(calls) <= vae_long.CODES_PER_BATCH  # chunks 0, (100 stopped), 100, 200
    calls.clear()
    vae_long.estimate(model, images[:10], 1_000, None)
    assert calls == [vae_long.CODES_PER_BATCH]  # K = 1,000: 10 images a batch, not 100 (20 GB a layer at width 64)

    # The store serves only the same estimate: other K, other weights or other images start afresh.
    for changed in (dict(samples=41), dict(model=ae.VariationalAutoencoder(4, width=4)), dict(images=1 - images)):
        vae_long.estimate(model, images, 40, store)  # the store holds the unchanged estimate again
        calls.clear()
        arguments = {"model": model, "images": images, "samples": 40, **changed}
        vae_long.estimate(arguments["model"], arguments["images"], arguments["samples"], store)
        assert len(calls) == 3, f"changed {list(changed)}: every chunk must be scored again"
    calls.clear()
    vae_long.estimate(model, images, 40, tmp_path / "fresh.pt")
    vae_long.estimate(model.to(memory_format=torch.channels_last), images, 40, tmp_path / "fresh.pt")
    assert len(calls) == 3  # the same weights in another memory layout: reused


def test_the_long_vae_run_estimates_the_weights_it_ships(tmp_path, monkeypatch):
    # Shipping rounds large tensors to float16; an estimate made before it would publish another model's number.
    import sys
    from types import SimpleNamespace

    import torch

    import aehelpers as ae

    vae_long = _vae_long_module()
    torch.manual_seed(0)
    model = ae.VariationalAutoencoder(4, width=4)
    history = SimpleNamespace(epochs=1, test_loss=[100.0], seconds=[1.0], interrupted=False)
    images = SimpleNamespace(images=torch.rand(120, 1, 28, 28))
    seen = {}

    def ship(shipped_model, name, shipped_history):
        shipped_model.load_state_dict({k: v.half().float() for k, v in shipped_model.state_dict().items()})
        seen["shipped"] = vae_long.weights_fingerprint(shipped_model)

    real_estimate = vae_long.estimate

    def estimate(estimated_model, *args):
        seen["estimated"] = vae_long.weights_fingerprint(estimated_model)
        return real_estimate(estimated_model, *args)

    monkeypatch.setattr(sys, "argv", ["vae_long.py", "--samples", "2", "--device", "cpu"])
    monkeypatch.setattr(vae_long, "train", lambda *args: (model, history))
    monkeypatch.setattr(vae_long, "epochs_done", lambda: 0)
    monkeypatch.setattr(vae_long, "restore_kept", lambda name: None)  # never this repository's kept checkpoint
    monkeypatch.setattr(vae_long, "record_stretch", lambda *args: [])
    monkeypatch.setattr(vae_long, "estimate", estimate)
    monkeypatch.setattr(vae_long, "ROOT", tmp_path)
    monkeypatch.setattr(vae_long, "RESULTS", tmp_path / "vae_long.json")
    monkeypatch.setattr(vae_long.ae, "load_mnist", lambda train: images)
    monkeypatch.setattr(vae_long, "ship_weights", ship)
    monkeypatch.setattr(vae_long.ae, "checkpoint_path", lambda name: tmp_path / f"{name}.pt")
    vae_long.main()
    assert seen["estimated"] == seen["shipped"]
    assert json.loads((tmp_path / "vae_long.json").read_text())["nll_images"] == 120


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_long_vae_run_resumes_from_the_checkpoint_kept_in_history(tmp_path, monkeypatch, capsys):
    # The machines keep only main's commits between sessions: a checkpoint committed and removed again must come back.
    import torch

    vae_long = _vae_long_module()
    repo, local = tmp_path / "repo", tmp_path / "checkpoints" / "06_vae_long.pt"
    monkeypatch.setattr(vae_long, "ROOT", repo)
    monkeypatch.setattr(vae_long, "RESULTS", repo / "vae_long.json")
    monkeypatch.setattr(vae_long.ae, "checkpoint_path", lambda name: local.parent / f"{name}.pt")

    def commit(message):
        for command in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message]):
            subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True)

    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, capture_output=True)
    assert vae_long.restore_kept("06_vae_long") is None  # not a single commit yet
    kept = repo / vae_long.KEPT / "06_vae_long.pt"
    kept.parent.mkdir(parents=True)
    for epochs in (3, 7):  # two sessions each keep their checkpoint, then remove it in the next commit
        torch.save({"history": {"train_loss": [1.0] * epochs}}, kept)
        commit(f"checkpoint after {epochs} epochs")
        kept.unlink()
        commit("removed")
    (repo / "other").write_text("a later commit")
    commit("later")
    newest = subprocess.run(["git", "log", "-1", "--format=%H", "HEAD~2"], cwd=repo, capture_output=True, text=True)

    assert vae_long.restore_kept("06_vae_long") == newest.stdout.strip()
    assert vae_long.epochs_done() == 7 and "Restored 06_vae_long.pt" in capsys.readouterr().out
    assert vae_long.restore_kept("06_vae_long_nll") is None  # never kept
    torch.save({"history": {"train_loss": [1.0] * 9}}, local)  # a checkpoint here is never replaced
    assert vae_long.restore_kept("06_vae_long") is None and vae_long.epochs_done() == 9
    local.unlink()
    (repo / "vae_long.json").write_text("{}")  # a finished run is not continued
    assert vae_long.restore_kept("06_vae_long") is None and not local.exists()
    (repo / "vae_long.json").unlink()

    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", repo.as_uri(), str(shallow)], check=True, capture_output=True)
    monkeypatch.setattr(vae_long, "ROOT", shallow)
    assert vae_long.restore_kept("06_vae_long") is None and not local.exists()
    assert "git fetch --unshallow" in capsys.readouterr().out


def test_the_long_vae_run_records_where_each_stretch_of_epochs_ran(tmp_path, monkeypatch):
    from types import SimpleNamespace

    vae_long = _vae_long_module()
    monkeypatch.setattr(vae_long, "PROGRESS", tmp_path / "progress.json")
    history = SimpleNamespace(epochs=5, test_loss=[100.0, 99.0, 98.0, 97.0, 96.5])
    vae_long.record_stretch(2, history, "cpu", 600.0)  # epochs 1-2 ran before, and left no line
    history = SimpleNamespace(epochs=9, test_loss=history.test_loss + [96.0, 95.5, 95.0, 94.5])
    stretches = vae_long.record_stretch(5, history, "cpu", 120.0)
    assert [s["epochs"] for s in stretches] == [[1, 2], [3, 5], [6, 9]]
    assert stretches[0]["machine"].startswith("not recorded")
    assert stretches[1]["wall_minutes"] == 10.0 and stretches[2]["test_neg_elbo_at_end"] == 94.5
    assert json.loads((tmp_path / "progress.json").read_text())["stretches"] == stretches
    assert vae_long.record_stretch(9, history, "cpu", 1.0) == stretches  # nothing trained: nothing added
    history = SimpleNamespace(epochs=1, test_loss=[100.0])  # the checkpoint was lost: a new run from epoch 1
    assert [s["epochs"] for s in vae_long.record_stretch(0, history, "cpu", 5.0)] == [[1, 1]]
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["lost_runs"] == [stretches]  # the lost run's lines are kept, apart
    assert progress["stretches"][0]["test_neg_elbo"] == [100.0]
