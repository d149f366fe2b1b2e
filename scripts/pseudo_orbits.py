"""How large may a series' step error be before it stops reading as Lorenz? Pseudo-orbits
against noisy orbits at the same one-step error.

A generated series follows the flow only approximately: each sample is the flow of the one
before plus an error. Such a series is a *pseudo-orbit* (the error enters the dynamics, as
dynamical noise does, and the chaos amplifies it from then on). A true orbit observed with
noise (measurement noise) is different: the error sits on each sample and is forgotten at the
next. Both read the same one-step error ``|x_{t+1} - Phi_dt(x_t)|``, and only the first drifts
away from every true orbit. This script draws both kinds from Lorenz-63 at dt = 0.1 (1024
samples, initial states on the attractor) at each requested level of one-step error, in
attractor diameters: pseudo-orbits with a Gaussian kick added after every flow step, and real
orbits with Gaussian noise added to every sample, each scaled so its median one-step error
equals the level. Both are scored against a held-out real set with ``scripts/pilot.py``'s
measures (one-step error under the true flow, Rosenstein exponent ratios, W1/std, D_stsp, D_H,
crossing-rate ratio, return-map ratio; ``chaosgan.evaluate.metrics``). The true flow makes the
data here: nothing is learnt.

    python scripts/pseudo_orbits.py                              # ~10 min on one core
    python scripts/pseudo_orbits.py --levels 0.013 --n 100 --json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from pilot import measure

from chaosgan import simulate
from chaosgan.errors import ChaosganError
from chaosgan.evaluate import metrics
from chaosgan.integrate import advance
from chaosgan.systems import get_system

DT = 0.1
STEPS = 1024
SUBSTEPS = 10  # RK4 steps per sample, as chaosgan simulate takes at dt = 0.1
KINDS = ("pseudo-orbit", "noisy orbit")


def pseudo_orbits(start: np.ndarray, kick: float, seed: int) -> np.ndarray:
    """``(N, STEPS, 3)`` Lorenz-63 pseudo-orbits from the states ``start`` ``(N, 3)``: every
    sample is the RK4 flow of the one before over ``DT`` plus a Gaussian kick of standard
    deviation ``kick`` per coordinate (data units)."""
    system = get_system("lorenz63")
    params = system.resolve_params()
    rng = np.random.default_rng(seed)
    out = np.empty((len(start), STEPS, 3))
    x = np.asarray(start, dtype=float).T  # (3, N): the integrators' layout
    for t in range(STEPS):
        out[:, t] = x.T
        x = advance(system.rhs, x, params, DT / SUBSTEPS, SUBSTEPS)
        x = x + kick * rng.standard_normal(x.shape)
    return out


def median_step_error(series: np.ndarray, diameter: float) -> float:
    """The median one-step error under the true flow, in attractor diameters."""
    system = get_system("lorenz63")
    errors = metrics.one_step_errors(series, system.rhs, system.resolve_params(), DT, diameter)
    return float(np.median(errors))


def at_level(kind: str, level: float, clean: np.ndarray, diameter: float, seed: int) -> np.ndarray:
    """Series of ``kind`` whose median one-step error is ``level`` diameters: the error's size
    is found from a draw at a trial size (the median error is proportional to it while it is
    small against the attractor) and the series drawn again at the scaled size, same seed."""

    def draw(size: float, n: int) -> np.ndarray:
        if kind == "pseudo-orbit":
            return pseudo_orbits(clean[:n, 0], size, seed)
        noise = np.random.default_rng(seed).standard_normal(clean[:n].shape)
        return clean[:n] + size * noise

    trial = level * diameter / 2
    probe = median_step_error(draw(trial, 32), diameter)
    return draw(trial * level / probe, len(clean))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--levels",
        type=float,
        nargs="+",
        default=[0.001, 0.003, 0.01, 0.02],
        help="median one-step errors to draw, in attractor diameters (default 0.001 0.003 0.01 "
        "0.02)",
    )
    ap.add_argument("--n", type=int, default=200, help="series per set (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kicks and the noise")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    if not all(0 < v < 0.2 for v in args.levels):
        raise ChaosganError(f"levels must lie in (0, 0.2) diameters, got {args.levels}")
    if not 8 <= args.n <= 10_000:
        raise ChaosganError(f"--n must lie in [8, 10000], got {args.n}")
    real = simulate("lorenz63", n=args.n, steps=STEPS, dt=DT, seed=1).trajectories
    clean = simulate("lorenz63", n=args.n, steps=STEPS, dt=DT, seed=2).trajectories
    diameter = metrics.attractor_diameter(real)
    results = []
    for level in args.levels:
        for kind in KINDS:
            series = at_level(kind, level, clean, diameter, args.seed)
            results.append({"kind": kind, "level": level, **measure(series, real, DT)})
            print(f"done: {kind} at {level}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(table(results))
    return 0


def table(results: list[dict]) -> str:
    """A Markdown table: one line per (level, kind)."""
    lines = [
        "| kind | one-step median, p99 | Lyapunov x, y, z | W1/std (max) | D_stsp | D_H "
        "| crossings x, y, z | return map x, y, z |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        one = r["one_step_true_flow"]
        lines.append(
            "| "
            + " | ".join(
                [
                    r["kind"],
                    f"{one['median']:.4f}, {one['p99']:.3f}",
                    ", ".join(f"{v:.2f}" for v in r["lyapunov_ratio"]),
                    f"{max(r['wasserstein_over_std']):.3f}",
                    f"{r['state_space_divergence']:.3f}",
                    f"{r['hellinger_spectrum']:.3f}",
                    ", ".join(f"{v:.2f}" for v in r["crossing_rate_ratio"]),
                    ", ".join(f"{v:.2f}" for v in r["return_map_ratio"]),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ChaosganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
