#!/usr/bin/env bash
# The main job on a small default, end to end: set up, simulate a dataset (with previews), the
# Lyapunov spectrum from the equations, identify the equations, train the GAN briefly, sample it,
# and write Lyapunov reports (real vs real: the floor; real vs generated).
# Results land in results/demo/ and runs/demo/ (regenerated on each run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=results/demo
mkdir -p "$out"
cg=.venv/bin/chaosgan
$cg simulate --system lorenz63 --n 1000 --steps 1024 --dt 0.1 --seed 0 \
    --out "$out/lorenz.npz" --plots "$out/plots" --force
$cg lyapunov spectrum --system lorenz63 --n 16 --time 200
$cg identify "$out/lorenz.npz" --max-series 16
# a second, independent real dataset: the exponents of real vs real are the noise floor
$cg simulate --system lorenz63 --n 1000 --steps 1024 --dt 0.1 --seed 1 --out "$out/lorenz_seed1.npz" --force
$cg lyapunov report --real "$out/lorenz.npz" --generated "$out/lorenz_seed1.npz" \
    --out "$out/report_real_vs_real" --no-metrics --force
# the GAN, briefly (a small model, our best recipe), sampled and judged against the real data
$cg train "$out/lorenz.npz" --out runs/demo --preset best --config scripts/demo_gan.toml \
    --epochs 100 --force
$cg sample runs/demo --n 1000 --out "$out/generated.npz" --force
$cg lyapunov report --real "$out/lorenz.npz" --generated "$out/generated.npz" \
    --real2 "$out/lorenz_seed1.npz" --out "$out/report_gan" --force
echo
echo "results in $out/:"
echo "  dataset      $out/lorenz.npz      (chaosgan info $out/lorenz.npz)"
echo "  previews     $out/plots/          (attractor.png, time_series.png, images.png)"
echo "  report       $out/report_real_vs_real/report.md   (real vs an independent real dataset)"
echo "  GAN run      runs/demo/            (checkpoints/last.pt, samples/, loss_curves.png)"
echo "  generated    $out/generated.npz"
echo "  scorecard    $out/report_gan/report.md            (real vs generated, floor beside)"
