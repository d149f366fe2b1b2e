"""Where do generated series break the dynamics? One-step errors inside image rows against those
across row ends (t = 32k + 31 -> 32k + 32, opposite edges of a raster image), the spread
of each coordinate in the image's first, middle and last rows (the generator's borders), what
kind of error it is, and the loops it draws.

For each generated dataset: the median distance of x(t + dt) from the true flow of x(t), as a
fraction of the real attractor's diameter, over the first 200 series, split by position; then
the standard deviation of every coordinate over the series and the row's 32 samples, for rows
0, 15 and 31, beside the real data's (which are stationary: every row has the same spread).
The error ``x(t + dt) - Phi_dt(x(t))`` is split along the flow's step ``Phi_dt(x(t)) - x(t)``
(a sample too early or too late on its orbit: timing) and across it (off the orbit), as root
mean squares in the data's units beside the median step length. Then, per coordinate, the
local maxima per series and the share of the return map of successive maxima that is not
deterministic (``metrics.maxima_map_unexplained``; Lorenz 1963's test): a generator that adds
ripples draws more maxima than the real series, one whose loops have unrelated heights a
larger share. Then the share of samples within 0.05 attractor diameters of a fixed point of
the true flow (found by ``scipy.optimize.root`` from points of the real data): real orbits
rarely linger by the unstable fixed points (Lorenz-63's origin and its two wing centres), and a
generator whose series are pushed onto orbits can settle there, where an orbit is cheap.
Last, each coordinate's crossings of the real mean per time unit and their ratio to the real
data's (the scorecard's ``crossing_rate_ratio``; on Lorenz's x and y the wing switches).
The true flow judges here (labelled); no generator is trained on it.

    python scripts/row_end_errors.py --real results/full/lorenz_seed1.npz \\
        results/full/study/generated.npz results/full/best/generated.npz
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

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
    points = fixed_points(rhs, params, real.trajectories, diameter)
    for path in args.generated:
        gen = load_dataset(path).trajectories[: args.n]
        step, error = residuals(gen, rhs, params, real.dt)  # the flow, once for every pair
        err = np.linalg.norm(error, axis=1) / diameter  # metrics.one_step_errors, all pairs
        err = np.where(np.isfinite(err), err, np.inf).reshape(len(gen), -1)
        row_end = np.arange(err.shape[1]) % 32 == 31
        print(
            f"{path}: median one-step error inside rows {np.median(err[:, ~row_end]):.3f}, "
            f"at row ends {np.median(err[:, row_end]):.3f}"
        )
        print(f"  std by image row (first, middle, last): {row_spread(gen)}")
        print(f"  {error_split(step, error)}")
        print(f"  {loops(gen)}")
        print(f"  {dwell(gen, points, diameter)}")
        print(f"  {crossings(gen, real.trajectories[: args.n], real.dt)}")
    print(f"{args.real}: std by image row (first, middle, last): {real_spread}")
    print(f"  {loops(real.trajectories[: args.n])}")
    print(f"  {dwell(real.trajectories[: args.n], points, diameter)}")
    print(f"  {crossings(real.trajectories[: args.n], real.trajectories[: args.n], real.dt)}")


def fixed_points(
    rhs: Callable[[np.ndarray, Any], np.ndarray],
    params: Any,
    trajectories: np.ndarray,
    diameter: float,
) -> np.ndarray:
    """The flow's fixed points ``(K, D)`` that a root search finds from about 64 states of the
    data and from the origin, each once (the true flow: this script's judge)."""
    from scipy.optimize import root

    states = trajectories.reshape(-1, trajectories.shape[2])
    starts = np.vstack([np.zeros((1, states.shape[1])), states[:: max(len(states) // 64, 1)]])
    found: list[np.ndarray] = []
    for start in starts:
        sol = root(lambda x: rhs(x, params), start)
        far = all(np.linalg.norm(sol.x - f) > 1e-6 * diameter for f in found)
        if sol.success and np.linalg.norm(sol.fun) < 1e-9 and far:  # |dx/dt|, data units
            found.append(sol.x)
    return np.array(found)


def dwell(trajectories: np.ndarray, points: np.ndarray, diameter: float) -> str:
    """The share of samples within 0.05 diameters of each fixed point in ``points``."""
    states = trajectories.reshape(-1, trajectories.shape[2])
    shares = [np.mean(np.linalg.norm(states - point, axis=1) < 0.05 * diameter) for point in points]
    where = ", ".join(
        f"({', '.join(f'{c:.1f}' for c in point)}) {share:.3f}"
        for point, share in zip(points, shares, strict=True)
    )
    return f"samples within 0.05 diameters of a fixed point: {where}"


def residuals(trajectories: np.ndarray, rhs, params, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The flow's step ``Phi_dt(x(t)) - x(t)`` and the error ``x(t + dt) - Phi_dt(x(t))`` of
    every consecutive pair, ``(pairs, D)`` each, series after series."""
    d = trajectories.shape[2]
    now, after = trajectories[:, :-1].reshape(-1, d), trajectories[:, 1:].reshape(-1, d)
    flowed = metrics.flow_step(now, rhs, params, dt)
    return flowed - now, after - flowed


def error_split(step: np.ndarray, error: np.ndarray) -> str:
    """The one-step error's root mean square along and across the flow's step, and the median
    step length, in the data's units (:func:`residuals`)."""
    length = np.linalg.norm(step, axis=1)
    along = np.sum(error * step, axis=1) / np.where(length > 0, length, 1.0)
    across = np.sqrt(np.maximum(np.sum(error**2, axis=1) - along**2, 0.0))
    return (
        f"one-step error rms along the flow {np.sqrt(np.mean(along**2)):.2f}, across it "
        f"{np.sqrt(np.mean(across**2)):.2f}; median step {np.median(length):.2f} (data units)"
    )


def loops(trajectories: np.ndarray) -> str:
    """Local maxima per series and the return map's unexplained share, per coordinate."""
    parts = []
    for d, name in enumerate(coordinate_names(trajectories.shape[2])):
        now, _ = metrics.successive_maxima(trajectories[..., d])
        unexplained = metrics.maxima_map_unexplained(trajectories[..., d])
        parts.append(f"{name} {len(now) / len(trajectories):.0f} ({unexplained:.2f})")
    return "maxima per series (return map unexplained): " + ", ".join(parts)


def crossings(trajectories: np.ndarray, real: np.ndarray, dt: float) -> str:
    """Each coordinate's crossings of the real mean per time unit, beyond a band of 0.3 real
    std (``metrics.mean_crossing_rates``; on Lorenz's x and y the wing switches), and in
    brackets their ratio to the real data's (the scorecard's ``crossing_rate_ratio``)."""
    rates = metrics.mean_crossing_rates(trajectories, real, dt)
    own = metrics.mean_crossing_rates(real, real, dt)
    ratios = np.divide(rates, own, out=np.full_like(rates, np.nan), where=own > 0)
    names = coordinate_names(real.shape[2])
    parts = [
        f"{n} {rate:.2f} ({ratio:.2f})" for n, rate, ratio in zip(names, rates, ratios, strict=True)
    ]
    return "crossings of the real mean per time unit (ratio to real): " + ", ".join(parts)


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
    names = coordinate_names(std.shape[1])
    return ", ".join(f"{n} " + "/".join(f"{v:.2f}" for v in std[:, d]) for d, n in enumerate(names))


def coordinate_names(dims: int) -> list[str]:
    """x, y, z for three coordinates, else their indices."""
    return list("xyz") if dims == 3 else [str(d) for d in range(dims)]


if __name__ == "__main__":
    main()
