#!/usr/bin/env bash
# The GAN at full scale: train on 1000 Lorenz images, sample 1000 series and judge them against a
# held-out real dataset (seed 1), with a third real dataset (seed 2) as the real-vs-real floor;
# once for each recipe: the study's preset and our best one (--preset best).
#
#   bash scripts/full_scale.sh                        # GPU: 600 epochs per recipe, default widths
#   DEVICE=cpu EPOCHS=300 SIZE=scripts/demo_gan.toml bash scripts/full_scale.sh   # CPU, small model
#   RECIPES=study bash scripts/full_scale.sh          # one recipe only
#   CONFIGS=my.toml bash scripts/full_scale.sh        # extra config files, applied last
#
# Results: $OUT/<recipe>/report.md (scorecard + Lyapunov table), runs in $RUNS/<recipe>/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-auto}
EPOCHS=${EPOCHS:-600}
SIZE=${SIZE:-}
OUT=${OUT:-results/full}
RUNS=${RUNS:-runs/full}
RECIPES=${RECIPES-study best}
# CG: how to call chaosgan (default: the project's venv, set up if missing)
if [ -z "${CG:-}" ]; then
    [ -x .venv/bin/chaosgan ] || bash scripts/setup.sh
    CG=.venv/bin/chaosgan
fi
cg() { $CG "$@"; }
mkdir -p "$OUT"
for seed in 0 1 2; do  # 0: training data, 1: held-out real, 2: the floor's second real dataset
    f="$OUT/lorenz_seed$seed.npz"
    [ -f "$f" ] || cg simulate --system lorenz63 --n 1000 --steps 1024 --dt 0.1 --seed "$seed" --out "$f"
done
size=()
[ -n "$SIZE" ] && size=(--config "$SIZE")
extra=()
for f in ${CONFIGS:-}; do extra+=(--config "$f"); done
for recipe in $RECIPES; do
    case $recipe in
        study) args=(--preset study "${size[@]}" "${extra[@]}") ;;
        best) args=(--preset best "${size[@]}" "${extra[@]}") ;;
        *) echo "unknown recipe $recipe (study or best)" >&2; exit 2 ;;
    esac
    start=$SECONDS
    cg train "$OUT/lorenz_seed0.npz" --out "$RUNS/$recipe" "${args[@]}" --epochs "$EPOCHS" \
        --device "$DEVICE" --force ${TRAIN_FLAGS:-}
    echo "$recipe: trained in $((SECONDS - start)) s"
    cg sample "$RUNS/$recipe" --n 1000 --out "$OUT/$recipe/generated.npz" --seed 0 --force
    cg lyapunov report --real "$OUT/lorenz_seed1.npz" --generated "$OUT/$recipe/generated.npz" \
        --real2 "$OUT/lorenz_seed2.npz" --out "$OUT/$recipe" --force
done
