import json

import pytest

import aehelpers.results as results


@pytest.fixture()
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path)
    return tmp_path


def test_quick_mode_never_overwrites_a_full_run(results_dir, monkeypatch):
    monkeypatch.setenv("AEHELPERS_QUICK", "1")
    assert results.save_results("01_conv_autoencoder", {"test_mse": 1.0}) is None
    assert not list(results_dir.iterdir())


def test_full_run_results_fill_the_readme_table(results_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("AEHELPERS_QUICK", raising=False)
    monkeypatch.setenv("AEHELPERS_RECORD_RUN", "1")
    values = {"test_mse": 0.00812, "test_psnr": 21.34, "epochs": 30, "full_run_minutes": 6.2}
    path = results.save_results("01_conv_autoencoder", values)
    assert json.loads(path.read_text()) == values
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- lessons:start -->\nold\n<!-- lessons:end -->\nrest\n")
    assert results.update_readme(readme, benchmarks_readme=None) is True
    text = readme.read_text()
    assert "test MSE 0.0081, PSNR 21.3 dB after 30 epochs" in text and "| 6 min |" in text
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    assert results.update_readme(readme, benchmarks_readme=None) is False  # a second run changes nothing


def test_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no table here\n")
    with pytest.raises(ValueError, match="lessons:start"):
        results.update_readme(readme)


def test_benchmark_table_reads_the_stored_results(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "BENCHMARK_DIR", tmp_path)
    machine = {"cpu": "Some CPU", "cores": 2, "torch": "2.14.1"}
    (tmp_path / "conv_autoencoder.json").write_text(json.dumps({
        "task": "conv_autoencoder", "epochs": 30, "course_test_mse": 0.0086, "course_seconds": 480.0,
        "aehelpers_test_mse_at_course_budget": 0.0081, "aehelpers_seconds_to_course_quality": 96.0,
        "aehelpers_epochs_to_course_quality": 12, "time_to_course_quality_ratio": 5.0, "machine": machine,
    }))
    (tmp_path / "step_time.json").write_text(json.dumps({
        "rows": [{"option": "in-memory, batch 16", "batch_size": 16, "ms_per_step": 2.0, "images_per_second": 8000.0}],
        "machine": machine,
    }))
    table = results.benchmark_table()
    assert "| `conv_autoencoder` (30 epochs; seed 0) | 0.00860, 480 s | 0.00810 | 96 s (epoch 12) | **5.0x** | 0: 5.0x | - |" in table
    assert "| in-memory, batch 16 | 2.00 | 8,000 |" in results.step_time_table()


def test_benchmark_table_shows_every_seed_and_the_median_headline(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "BENCHMARK_DIR", tmp_path)
    seeds = [{"seed": 0, "time_to_course_quality_ratio": 4.0, "within_2_percent_ratio": 3.5},
             {"seed": 1, "time_to_course_quality_ratio": None, "within_2_percent_ratio": 2.0},
             {"seed": 2, "time_to_course_quality_ratio": 6.5, "within_2_percent_ratio": None}]
    (tmp_path / "conv_autoencoder.json").write_text(json.dumps({
        "task": "conv_autoencoder", "epochs": 30, "course_test_mse": 0.0086, "course_seconds": 480.0,
        "aehelpers_test_mse_at_course_budget": 0.0081, "aehelpers_seconds_to_course_quality": 120.0,
        "aehelpers_epochs_to_course_quality": 12, "time_to_course_quality_ratio": 4.0, "headline_seed": 0,
        "seeds": seeds, "machine": {"cpu": "Some CPU", "cores": 2, "torch": "2.14.1"},
    }))
    row = results.benchmark_table().splitlines()[-1]
    assert "(30 epochs; seed 0, the median)" in row and "| **4.0x** |" in row
    assert "| 0: 4.0x, 1: never, 2: 6.5x | 0: 3.5x, 1: 2.0x, 2: never |" in row


def test_step_time_table_keeps_the_indentation_of_sub_options(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "BENCHMARK_DIR", tmp_path)
    (tmp_path / "step_time_cuda.json").write_text(json.dumps({
        "rows": [{"option": "  ... fused Adam", "batch_size": 16, "ms_per_step": 1.3, "images_per_second": 12_300.0}],
        "rounds": 5, "machine": {"cpu": "x", "cores": 16, "torch": "2.14.1", "gpu": "Some GPU"},
    }))
    table = results.step_time_table("step_time_cuda")
    assert "| &nbsp;&nbsp;... fused Adam | 1.30 | 12,300 |" in table
    assert "(Some GPU, torch 2.14.1, the median of 5 rounds.)" in table


SPEED_BLOCKS = "".join(f"<!-- {name}:start -->\nold\n<!-- {name}:end -->\n" for name in ("benchmark", "steptime", "steptime-cuda"))


def test_speed_tables_go_to_the_benchmarks_readme(results_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "BENCHMARK_DIR", tmp_path)
    (tmp_path / "step_time.json").write_text(json.dumps({
        "rows": [{"option": "in-memory, batch 16", "batch_size": 16, "ms_per_step": 2.0, "images_per_second": 8000.0}],
        "machine": {"cpu": "Some CPU", "cores": 2, "torch": "2.14.1"},
    }))
    readme, benchmarks_readme = tmp_path / "README.md", tmp_path / "benchmarks.md"
    readme.write_text("<!-- lessons:start -->\n<!-- lessons:end -->\n")
    benchmarks_readme.write_text("speed\n" + SPEED_BLOCKS)
    assert results.update_readme(readme, benchmarks_readme) is True
    assert "| in-memory, batch 16 | 2.00 | 8,000 |" in benchmarks_readme.read_text()
    assert "old" not in benchmarks_readme.read_text()
    assert "not run yet" in readme.read_text() and "ms per step" not in readme.read_text()
    assert results.update_readme(readme, benchmarks_readme) is False


def test_benchmarks_readme_without_a_tables_markers_is_an_error(tmp_path):
    readme, benchmarks_readme = tmp_path / "README.md", tmp_path / "benchmarks.md"
    readme.write_text("<!-- lessons:start -->\n<!-- lessons:end -->\n")
    benchmarks_readme.write_text(SPEED_BLOCKS.replace("steptime-cuda:end", "lost"))
    with pytest.raises(ValueError, match="steptime-cuda:start"):
        results.update_readme(readme, benchmarks_readme)
    with pytest.raises(ValueError, match="missing"):
        results.update_readme(readme, tmp_path / "no_such_file.md")


def test_committed_tables_match_the_stored_results(tmp_path):
    # Copies, so a stale table fails this test instead of being rewritten by it: run `make readme`.
    readme, benchmarks_readme = tmp_path / "README.md", tmp_path / "benchmarks.md"
    readme.write_text(results.README.read_text())
    benchmarks_readme.write_text(results.BENCHMARKS_README.read_text())
    assert results.update_readme(readme, benchmarks_readme) is False, "the README tables are stale: run `make readme`"


def test_the_full_run_time_is_never_below_the_runs_own_wall_time(results_dir, tmp_path):
    # A run that trained every model took `this_run_minutes`; the loaded-model formula can come out lower.
    (results_dir / "01_conv_autoencoder.json").write_text(json.dumps(
        {"test_mse": 0.0081, "test_psnr": 21.3, "epochs": 30, "full_run_minutes": 26.3, "this_run_minutes": 28.6}))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- lessons:start -->\n<!-- lessons:end -->\n")
    results.update_readme(readme, benchmarks_readme=None)
    assert "| 29 min |" in readme.read_text() and "| 26 min |" not in readme.read_text()
