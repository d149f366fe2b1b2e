"""Benchmark: orbit projection of 1000 series x 1024 samples (goal: under a minute on 2 cores).

The series are Lorenz-63 orbits with 1% Gaussian noise (each coordinate's std), a stand-in for
a generator's output whose errors are noise-like; the model is identified from another real
dataset (:func:`chaosgan.gan.physics.physics_model`, never the true equations). Prints the
seconds, the Levenberg-Marquardt steps, how far the series moved and the largest continuity gap
(both in attractor diameters), and the distance to the clean orbits before and after.

    python scripts/bench_projection.py            # 1000 series
    python scripts/bench_projection.py --n 100    # a quick look
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from chaosgan import simulate
from chaosgan.gan.physics import physics_model
from chaosgan.gan.projection import project


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="series (default 1000)")
    ap.add_argument("--noise", type=float, default=0.01, help="noise / coordinate std")
    args = ap.parse_args()
    clean = simulate("lorenz63", n=args.n, dt=0.1, seed=11).trajectories
    rng = np.random.default_rng(0)
    std = clean.reshape(-1, 3).std(axis=0)
    noisy = clean + args.noise * std * rng.standard_normal(clean.shape)
    model = physics_model(simulate("lorenz63", n=64, dt=0.1, seed=12), "identified")
    start = time.perf_counter()
    result = project(noisy, model.polynomial, 0.1, model.diameter)
    seconds = time.perf_counter() - start

    def rms(a: np.ndarray) -> float:
        return float(np.sqrt(((a - clean) ** 2).sum(axis=2).mean()) / model.diameter)

    print(f"projection of {args.n} series x 1024 samples: {seconds:.1f} s")
    print(f"  Levenberg-Marquardt steps: {result.iterations}, segments of {result.segment_steps}")
    moved, gap = result.moved.mean(), result.max_gap.max()
    print(f"  moved: {moved:.2e} diameters (mean), continuity gaps <= {gap:.1e}")
    before, after = rms(noisy), rms(result.orbits)
    print(f"  distance to the clean orbits (diameters): noisy {before:.2e}, projected {after:.2e}")


if __name__ == "__main__":
    main()
