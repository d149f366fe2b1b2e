#!/usr/bin/env bash
# The main job on a small default, end to end: set up, simulate a dataset, write its previews.
# Results land in results/demo/ (regenerated on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=results/demo
mkdir -p "$out"
cg=.venv/bin/chaosgan
$cg simulate --system lorenz63 --n 200 --steps 1024 --dt 0.1 --seed 0 \
    --out "$out/lorenz.npz" --plots "$out/plots" --force
$cg lyapunov spectrum --system lorenz63 --n 16 --time 200
$cg identify "$out/lorenz.npz" --max-series 16
# a second, independent real dataset: the report of real vs real is the noise floor
$cg simulate --system lorenz63 --n 200 --steps 1024 --dt 0.1 --seed 1 --out "$out/lorenz_seed1.npz" --force
$cg lyapunov report --real "$out/lorenz.npz" --generated "$out/lorenz_seed1.npz" \
    --out "$out/report_real_vs_real" --force
echo
echo "results in $out/:"
echo "  dataset      $out/lorenz.npz      (chaosgan info $out/lorenz.npz)"
echo "  previews     $out/plots/          (attractor.png, time_series.png, images.png)"
echo "  report       $out/report_real_vs_real/report.md   (real vs an independent real dataset)"
