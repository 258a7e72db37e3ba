#!/usr/bin/env bash
# On a machine with a CUDA GPU, in this order, each part switched by an environment variable:
#   CUDA_GRAPHS=1      tests/test_cuda_graphs.py (its CUDA tests run there), then the lessons in CUDA_GRAPH_LESSONS
#                      (default 6) trained eager against CUDA graphs (benchmarks/cuda_graphs.py)
#   GPU_CHECKPOINT=1   a training checkpoint written on the GPU (tests/test_checkpoints.py loads it on the CPU)
#   VAE_LONG=1         issue #29's long VAE run (benchmarks/vae_long.py), stopped by Ctrl-C (INT) after
#                      VAE_LONG_TIMEOUT s (default 420; `timeout` then reports 124, which is expected); carry
#                      checkpoints/06_vae_long.pt to continue it; results, weights, checkpoint and progress come
#                      back in $OUT/vae_long/
#   QUICK_LESSONS=1    (default) every lesson in quick mode under nbval, LESSON_TIMEOUT s each (default 300)
#   FULL_LESSONS=...   these lessons in full, timed (benchmarks/lesson_times.py), FULL_TIMEOUT s each (default 400);
#                      default "05 4b 4a"; a full run executes every cell, so it checks the device too
# Lessons 4a, 4b and 8 need Flowers-102 in the data folder; without it (prepare_gpu_data.sh copies MNIST only)
# their runs fail: name the lessons to run, or QUICK_LESSONS=0. One device command may run 600 s: choose the
# parts and timeouts to fit. Writes summary.txt, lessons.log, lesson_times_gpu.json and each full run's
# results_*.json to $OUT.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_lessons.sh [data folder] [wheel folder]
#
# The lent GPU machines have PyTorch but not Jupyter: the wheel folder holds nbval, ipykernel and
# ipywidgets for its Python 3.12 (benchmarks/prepare_gpu_data.sh downloads them), installed without
# dependency resolution so that optional ones (jedi, the widget front-ends) can stay behind.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_lessons}
DATA=${1:-gpu_data}
WHEELS=${2:-gpu_data/wheels}
FULL_LESSONS=${FULL_LESSONS-05_autoencoder_vs_pca 04b_flowers_residual_classifier 04a_flowers_course_classifiers}
mkdir -p "$OUT"
summary="$OUT/summary.txt"
log="$OUT/lessons.log"
seconds_since() { python3 -c "print(round($(date +%s.%N) - $1))"; }
python3 -m pip install --quiet --no-index --no-deps "$WHEELS"/*.whl >>"$log" 2>&1
echo "wheels installed: exit $?" >>"$summary"
export AEHELPERS_DATA="$PWD/$DATA" MPLBACKEND=Agg PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
} >>"$summary" 2>&1

if [ "${CUDA_GRAPHS:-0}" = 1 ]; then  # the capture's own tests, then each lesson's training eager against CUDA-graph steps
  python3 -m pytest -q -p no:cacheprovider tests/test_cuda_graphs.py >>"$summary" 2>&1
  echo "tests/test_cuda_graphs.py (the CUDA tests run here): exit $?" >>"$summary"
  for lesson in ${CUDA_GRAPH_LESSONS:-6}; do  # lesson 1 was measured in an earlier lease (results/cuda_graphs.json)
    name=$([ "$lesson" = 1 ] && echo cuda_graphs || echo cuda_graphs_vae)
    python3 benchmarks/cuda_graphs.py --lesson "$lesson" --out "$OUT/$name.json" >>"$summary" 2>&1
  done
fi

if [ "${VAE_LONG:-0}" = 1 ]; then  # issue #29's long run; continues checkpoints/06_vae_long.pt when it was carried
  start=$(date +%s.%N)
  # Ctrl-C (INT) at the limit: fit stops after the batch in flight and keeps its last epoch's checkpoint
  timeout -s INT -k 60 "${VAE_LONG_TIMEOUT:-420}" python3 benchmarks/vae_long.py >>"$log" 2>&1
  echo "vae_long.py: exit $?, $(seconds_since "$start") s" >>"$summary"
  grep -a "after .* epochs\|written:\|Resuming" "$log" | tail -3 >>"$summary"
  mkdir -p "$OUT/vae_long"  # a finished run: results, weights, manifest; an unfinished one: its checkpoints
  cp benchmarks/results/vae_long.json benchmarks/results/vae_long_progress.json weights/06_vae_long.pt \
    weights/manifest.json checkpoints/06_vae_long*.pt "$OUT/vae_long/" 2>/dev/null
fi

for nb in $([ "${QUICK_LESSONS:-1}" = 1 ] && ls notebooks/0*.ipynb); do  # QUICK_LESSONS=0 skips this loop
  start=$(date +%s.%N)
  AEHELPERS_QUICK=1 timeout "${LESSON_TIMEOUT:-300}" python3 -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
    --nbval-cell-timeout=300 "$nb" -q >>"$log" 2>&1
  echo "quick nbval $(basename "$nb"): exit $?, $(seconds_since "$start") s" >>"$summary"
done

if [ "${GPU_CHECKPOINT:-0}" = 1 ]; then  # a checkpoint written on the GPU, for the CPU to load
python3 - "$OUT" >>"$summary" 2>&1 <<'PY'
import os, signal, sys
import aehelpers as ae
from aehelpers import training
out = sys.argv[1]
images = ae.load_mnist(True).images[:512]
ae.set_seed(0)
model = ae.ConvAutoencoder()
# Stopped by Ctrl-C after 2 of 3 epochs, so the CPU test can resume the third (tests/test_checkpoints.py).
score, calls = training.HeldOutSet.score, []
def score_then_stop(self, m):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGINT)
    return score(self, m)
training.HeldOutSet.score = score_then_stop
history = ae.fit(model, images, images[:128], num_epochs=3, batch_size=64, device="cuda", progress=False,
                 checkpoint=f"{out}/gpu_run.pt")
print("GPU checkpoint:", history.epochs, "epochs; after fit the model is on", next(model.parameters()).device)
PY
fi

# Full runs, timed, one lesson at a time (benchmarks/lesson_times.py); each lesson's results file, written on
# this machine, comes back as results_<lesson>.json (the GPU's own numbers, not the stored CPU run's).
for lesson in $FULL_LESSONS; do
  start=$(date +%s.%N)
  timeout "${FULL_TIMEOUT:-400}" python3 benchmarks/lesson_times.py --mode full --lessons "$lesson" \
    --out "$OUT/lesson_times_gpu.json" >>"$log" 2>&1
  echo "full run $lesson: exit $?, $(seconds_since "$start") s" >>"$summary"
  cp "notebooks/results/$lesson.json" "$OUT/results_$lesson.json" 2>/dev/null
done
cat "$summary"
