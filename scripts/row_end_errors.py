"""Where do generated series break the dynamics? One-step errors inside image rows against those
across row ends (t = 32k + 31 -> 32k + 32, opposite edges of a raster image), and the spread
of each coordinate in the image's first, middle and last rows (the generator's borders).

For each generated dataset: the median distance of x(t + dt) from the true flow of x(t), as a
fraction of the real attractor's diameter, over the first 200 series, split by position; then
the standard deviation of every coordinate over the series and the row's 32 samples, for rows
0, 15 and 31, beside the real data's (which are stationary: every row has the same spread).

    python scripts/row_end_errors.py --real results/full/lorenz_seed1.npz \\
        results/full/study/generated.npz results/full/best/generated.npz
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from chaosgan import load_dataset
from chaosgan.encoding import IMAGE_SIDE, IMAGE_STEPS
from chaosgan.errors import ChaosganError
from chaosgan.evaluate import metrics
from chaosgan.systems import get_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("generated", nargs="+", help="generated datasets (.npz)")
    ap.add_argument("--real", required=True, help="real dataset: diameter and flow parameters")
    ap.add_argument("--n", type=int, default=200, help="series used (default 200)")
    args = ap.parse_args()
    try:
        report(args)
    except ChaosganError as exc:
        sys.exit(f"error: {exc}")


def report(args: argparse.Namespace) -> None:
    real = load_dataset(args.real)
    if not real.meta.get("system") or not real.meta.get("params"):
        raise ChaosganError(f"{args.real}: the meta names no catalogue system and parameters")
    rhs, params = get_system(real.meta["system"]).rhs, real.meta["params"]
    diameter = metrics.attractor_diameter(real.trajectories)
    real_spread = row_spread(real.trajectories)  # first: a wrong length fails before any output
    for path in args.generated:
        gen = load_dataset(path).trajectories[: args.n]
        err = metrics.one_step_errors(gen, rhs, params, real.dt, diameter, max_pairs=10**9)
        err = err.reshape(len(gen), -1)
        row_end = np.arange(err.shape[1]) % 32 == 31
        print(
            f"{path}: median one-step error inside rows {np.median(err[:, ~row_end]):.3f}, "
            f"at row ends {np.median(err[:, row_end]):.3f}"
        )
        print(f"  std by image row (first, middle, last): {row_spread(gen)}")
    print(f"{args.real}: std by image row (first, middle, last): {real_spread}")


def row_spread(trajectories: np.ndarray) -> str:
    """Each coordinate's standard deviation in image rows 0, 15 and 31 (over series and the
    row's samples), as ``x a/b/c, y ...``; series must be one image long."""
    if trajectories.shape[1] != IMAGE_STEPS:
        raise ChaosganError(
            f"series of {trajectories.shape[1]} samples are not one image ({IMAGE_STEPS}): "
            "no image rows to compare"
        )
    rows = trajectories.reshape(len(trajectories), IMAGE_SIDE, IMAGE_SIDE, -1)
    std = rows[:, [0, 15, 31]].std(axis=(0, 2))  # (3 rows, D)
    names = "xyz" if std.shape[1] == 3 else [str(d) for d in range(std.shape[1])]
    return ", ".join(f"{n} " + "/".join(f"{v:.2f}" for v in std[:, d]) for d, n in enumerate(names))


if __name__ == "__main__":
    main()
