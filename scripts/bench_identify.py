"""Benchmark: the whole ``chaosgan identify`` (all five methods, fit and evaluation) on a dataset
of 1000 Lorenz-63 series x 1024 samples at dt = 0.1, timed end to end (goal: under a minute on
2 cores). Fits use the default first 64 series; pass --max-series 0 to fit on all 1000.

    python scripts/bench_identify.py
"""

from __future__ import annotations

import argparse
import time

from chaosgan import simulate
from chaosgan.identify import identify


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="series in the dataset (default 1000)")
    ap.add_argument("--dt", type=float, default=0.1, help="sampling step (default 0.1)")
    ap.add_argument("--max-series", type=int, default=64, help="series fitted on (0 = all)")
    args = ap.parse_args()
    ds = simulate("lorenz63", n=args.n, dt=args.dt, seed=0)
    start = time.perf_counter()
    result = identify(ds, max_series=args.max_series)
    seconds = time.perf_counter() - start
    print(
        f"identify on {args.n} x 1024 at dt = {args.dt} (fit on {result['series']} series): "
        f"{seconds:.1f} s for {len(result['methods'])} methods"
    )
    for name, r in result["methods"].items():
        print(
            f"  {name:12s} RMSE {r['rmse']:.2e}  lambda {r['lyapunov']:.4f}  bounded {r['bounded']}"
        )


if __name__ == "__main__":
    main()
