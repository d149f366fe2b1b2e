"""Experiment: does the discriminator see mode collapse? Diversity of generated series with and
without PacGAN packing, after a short run, for the default and the study's recipes.

Each run trains the small demo model (``scripts/demo_gan.toml``) on 1000 Lorenz-63 images for
``--epochs`` epochs on the CPU, samples 500 series from the EMA generator and prints the
scorecard's diversity ratio (mean RMS distance between two generated series over the same for
two real series; 1 = as diverse as independent real series, 0 = every sample the same) and the
one-step error (median, fraction of the attractor diameter; predicting no change scores ~0.095).

    python scripts/gan_collapse.py            # 20 epochs, 4 recipes x 2 seeds, ~10 min
    python scripts/gan_collapse.py --epochs 5 --seeds 0   # a quick look
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from chaosgan import metrics, simulate
from chaosgan.gan.config import load_config
from chaosgan.gan.sample import sample
from chaosgan.gan.train import train
from chaosgan.systems import get_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=20, help="epochs per run (default 20)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds")
    args = ap.parse_args()
    data = simulate("lorenz63", n=1000, dt=0.1, seed=0)
    real = data.trajectories
    flow_params = data.meta["params"]
    rhs = get_system("lorenz63").rhs
    diameter = metrics.attractor_diameter(real)
    print(
        f"{'recipe':8s} {'pack':>4s} {'seed':>4s} {'diversity':>9s} {'one-step':>8s} {'time':>6s}"
    )
    for preset in ("default", "study"):
        for pack in (1, 4):
            for seed in args.seeds:
                cfg = load_config(
                    preset,
                    "scripts/demo_gan.toml",
                    {"epochs": args.epochs, "pack": pack, "seed": seed, "sample_every": 10**6},
                )
                start = time.perf_counter()
                with tempfile.TemporaryDirectory() as tmp:
                    train(data, f"{tmp}/run", cfg, device="cpu")
                    gen = sample(f"{tmp}/run", n=500, seed=0, device="cpu").trajectories
                seconds = time.perf_counter() - start
                ratio = metrics.diversity(gen, real) / metrics.diversity(real, real)
                err = metrics.one_step_errors(gen, rhs, flow_params, data.dt, diameter)
                print(
                    f"{preset:8s} {pack:4d} {seed:4d} {ratio:9.3f} {float(np.median(err)):8.3f} "
                    f"{seconds:5.0f}s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
