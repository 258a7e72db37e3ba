#!/usr/bin/env bash
# On a machine with a CUDA GPU: lesson 1's training eager against CUDA graphs, every lesson in quick mode
# under nbval (the device-correctness check),
# a training checkpoint written on the GPU (tests/test_checkpoints.py loads it on the CPU), and, time
# allowing, lesson 1 in full with its wall time. Writes summary.txt, lessons.log, cuda_graphs.json
# and gpu_run.pt to $OUT.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_lessons.sh [data folder] [wheel folder]
#
# The lent GPU machines have PyTorch but not Jupyter: the wheel folder holds nbval, ipykernel and
# ipywidgets for its Python (pip download --python-version 3.12 --only-binary=:all: ...).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_lessons}
DATA=${1:-gpu_data}
WHEELS=${2:-gpu_data/wheels}
mkdir -p "$OUT"
summary="$OUT/summary.txt"
log="$OUT/lessons.log"
python3 -m pip install --quiet --no-index --find-links "$WHEELS" nbval nbclient ipykernel ipywidgets >>"$log" 2>&1
echo "wheels installed: exit $?" >>"$summary"
export AEHELPERS_DATA="$PWD/$DATA" MPLBACKEND=Agg PYTHONPATH="$PWD"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
} >>"$summary" 2>&1

# Lesson 1's training, eager against CUDA-graph steps (benchmarks/cuda_graphs.py).
python3 benchmarks/cuda_graphs.py --out "$OUT/cuda_graphs.json" >>"$summary" 2>&1

for nb in notebooks/0*.ipynb; do
  start=$(date +%s.%N)
  AEHELPERS_QUICK=1 timeout "${LESSON_TIMEOUT:-300}" python3 -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
    --nbval-cell-timeout=300 "$nb" -q >>"$log" 2>&1
  rc=$?
  echo "quick nbval $(basename "$nb"): exit $rc, $(python3 -c "print(round($(date +%s.%N) - $start))") s" >>"$summary"
done

# A checkpoint and a weights file written on the GPU, for the CPU to load.
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

# Lesson 1 in full, timed (benchmarks/lesson_times.py; this machine's copy of the results is not brought back).
if [ "${FULL_LESSON1:-1}" = 1 ]; then
  timeout "${FULL_TIMEOUT:-330}" python3 benchmarks/lesson_times.py --mode full --lessons 01_conv_autoencoder \
    --out "$OUT/lesson_times_gpu.json" >>"$summary" 2>&1
  echo "full run of lesson 1: exit $?" >>"$summary"
fi
cat "$summary"
