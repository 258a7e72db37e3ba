import json
import subprocess
import sys
from pathlib import Path

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
