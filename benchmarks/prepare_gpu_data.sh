#!/usr/bin/env bash
# Fill the git-ignored gpu_data/ with what benchmarks/gpu_lessons.sh needs on a lent GPU machine, which has
# PyTorch, pytest and matplotlib but no Jupyter and no network:
#   gpu_data/MNIST/raw/*.gz   MNIST in torchvision's layout (11.6 MB), copied from $AEHELPERS_DATA
#   gpu_data/wheels/          nbval, nbclient, ipykernel, ipywidgets and what they import, for Python 3.12
#                             (downloaded with $PYTHON's pip, default .venv/bin/python)
#                             (about 10 MB; the machine's own pytest, pygments, psutil... stay, and the
#                             optional jedi and widget front-ends are left out: gpu_lessons.sh installs --no-deps)
#
#   AEHELPERS_DATA=/path/to/data bash benchmarks/prepare_gpu_data.sh
#
# What travels (the tracked files, about 29 MB, and what is carried) is capped at 64 MiB = 67.1 MB. gpu_data
# (about 21 MB) and checkpoints/06_vae_long.pt (17 MB, issue #29's long run to continue) fit together, by
# about 0.6 MB (December 2026): check with `git ls-files -z | xargs -0 du -cb | tail -1; du -sb gpu_data`.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AEHELPERS_DATA:?set AEHELPERS_DATA to the folder that holds MNIST/raw}"
mkdir -p gpu_data/MNIST/raw gpu_data/wheels
cp "$AEHELPERS_DATA"/MNIST/raw/*.gz gpu_data/MNIST/raw/
python=${PYTHON:-.venv/bin/python}
"$python" -m pip download --quiet --dest gpu_data/wheels --python-version 3.12 --only-binary=:all: \
  nbval==0.11.0 ipykernel==7.4.0 ipywidgets==8.1.9 nbformat==5.11.1 nbclient
# already on the machine, or optional for running notebooks headlessly
for name in jedi widgetsnbextension jupyterlab_widgets pygments pytest coverage attrs iniconfig packaging \
            pluggy psutil python_dateutil typing_extensions; do
  rm -f gpu_data/wheels/"$name"-*.whl
done
du -sh gpu_data/MNIST gpu_data/wheels
