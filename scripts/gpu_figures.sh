#!/usr/bin/env bash
# Every figure the README still owes a GPU, on a CUDA machine, in three parts (each well under
# 10 minutes on an H100), so that a session with a lent GPU spends its time measuring:
#
#   bash scripts/gpu_figures.sh tests   # pytest -m gpu (CUDA simulation, Rosenstein, training)
#   bash scripts/gpu_figures.sh bench   # bench_train --epochs 20, bench_simulate --gpu-n 1e6,
#                                       # bench_lyapunov (CUDA line)
#   bash scripts/gpu_figures.sh full study   # scripts/full_scale.sh for one recipe (or both)
#   bash scripts/gpu_figures.sh full best
#
# Logs and reports go to $LOGS (default results/gpu). PY is the Python that has torch with CUDA
# and the project's dependencies (default python3; the project runs from this checkout via
# PYTHONPATH, nothing is installed). On the lent machines nolds (and its `future`) are missing:
# fetch the wheels here with `python3 -m pip download --no-deps --only-binary=:all: -d .whl
# nolds==0.6.3 future` (pure Python), carry .whl and install them there with
# `python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl` and
# `export PYTHONPATH=/tmp/site` before this script.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
LOGS=${LOGS:-results/gpu}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$LOGS"
$PY - <<'PYEOF'
import sys
try:
    import torch
except ImportError:
    sys.exit(f"error: no torch in {sys.executable} (set PY)")
if not torch.cuda.is_available():
    sys.exit("error: torch sees no CUDA device")
PYEOF
case ${1:-} in
    tests)
        $PY -m pytest -m gpu tests/test_gpu.py -q -p no:cacheprovider 2>&1 | tee "$LOGS/pytest_gpu.txt"
        ;;
    bench)
        nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$LOGS/device.txt"
        $PY scripts/bench_train.py --epochs 20 2>&1 | tee "$LOGS/bench_train.txt"
        $PY scripts/bench_simulate.py --gpu-n 1000000 2>&1 | tee "$LOGS/bench_simulate.txt"
        $PY scripts/bench_lyapunov.py 2>&1 | tee "$LOGS/bench_lyapunov.txt"
        ;;
    full)
        recipes=${2:-study best}
        CG="$PY -m chaosgan.cli" OUT="$LOGS/full" RUNS="$LOGS/runs" DEVICE=cuda RECIPES="$recipes" \
            TRAIN_FLAGS="--compile --bf16" bash scripts/full_scale.sh 2>&1 |
            tee "$LOGS/full_scale_${recipes// /_}.txt"
        ;;
    *)
        echo "usage: bash scripts/gpu_figures.sh tests|bench|full [study|best]" >&2
        exit 2
        ;;
esac
