#!/usr/bin/env bash
# The main job on a small default, end to end: set up, simulate a dataset, write its previews.
# Results land in results/demo/ (regenerated on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=results/demo
mkdir -p "$out"
.venv/bin/chaosgan simulate --system lorenz63 --n 200 --steps 1024 --dt 0.1 --seed 0 \
    --out "$out/lorenz.npz" --plots "$out/plots" --force
echo
echo "results in $out/:"
echo "  dataset      $out/lorenz.npz      (chaosgan info $out/lorenz.npz)"
echo "  previews     $out/plots/          (attractor.png, time_series.png, images.png)"
