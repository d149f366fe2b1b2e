"""Benchmark: the whole scorecard report (``chaosgan score``: score() and write_report()) for 1000
real vs 1000 "generated" Lorenz series of 1024 samples, the floor dataset simulated inside, timed
end to end (goal: under 2 minutes on 2 cores). The "generated" set is real data with 5% noise,
so every metric has something to measure.

    python scripts/bench_scorecard.py
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from chaosgan import Dataset, simulate
from chaosgan.evaluate import score, write_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="series per dataset (default 1000)")
    args = ap.parse_args()
    real = simulate("lorenz63", n=args.n, dt=0.1, seed=0)
    other = simulate("lorenz63", n=args.n, dt=0.1, seed=5).trajectories
    noisy = other + np.random.default_rng(0).normal(size=other.shape) * 0.05 * other.std((0, 1))
    gen = Dataset(noisy, {**real.meta, "kind": "generated", "seed": 5})
    train = simulate("lorenz63", n=args.n, dt=0.1, seed=6)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = write_report(score(real, gen, train=train), tmp)
        seconds = time.perf_counter() - start
    print(
        f"scorecard report, {args.n} vs {args.n} series (+ {args.n} floor series simulated, "
        f"memorisation against {args.n} training series): {seconds:.1f} s"
    )
    for name, m in result["metrics"].items():
        print(
            f"  {name:28s} generated {json_short(m['generated'])}  floor {json_short(m['floor'])}"
        )


def json_short(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(f"{x:.3g}" for x in v) + "]"
    if isinstance(v, dict) and "median" in v:
        return f"median {v['median']:.3g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} {x['value']:.2f}" for k, x in v.items()) + "}"
    return f"{v:.3g}"


if __name__ == "__main__":
    main()
