"""Benchmark: batched simulation against a Python loop of scipy DOP853, in the same run.

What a user without chaosgan would write: one ``solve_ivp(method="DOP853", rtol=atol=1e-9)`` per
trajectory, burn-in included. That loop is timed on a subset and scaled to the full count. Our
paths (numpy, vectorised over trajectories) are timed on the full count. Accuracy is measured from
the same on-attractor states over t <= 2 against DOP853 at rtol = atol = 1e-12, as the max error
over coordinates and samples divided by the attractor size (bounding-box diagonal).

    python scripts/bench_simulate.py            # 1000 x 1024 at dt = 0.1, 2-core figure
    python scripts/bench_simulate.py --gpu-n 1000000   # also the CUDA path, when there is a GPU
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from chaosgan.integrate import reference_trajectory
from chaosgan.simulate import DEFAULT_BURN_IN, random_initial_states, simulate_states
from chaosgan.systems import get_system


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="trajectories (default 1000)")
    ap.add_argument("--steps", type=int, default=1024, help="samples each (default 1024)")
    ap.add_argument("--dt", type=float, default=0.1, help="sampling step (default 0.1)")
    ap.add_argument("--subset", type=int, default=8, help="loop trajectories timed (default 8)")
    ap.add_argument("--gpu-n", type=int, default=0, help="trajectories for the CUDA figure")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()

    system = get_system("lorenz63")
    p = system.defaults
    rng = np.random.default_rng(0)
    x0 = random_initial_states(system, p, args.n, rng)

    # Baseline: one solve_ivp per trajectory, burn-in then samples, timed on a subset.
    def loop():
        for x in x0.T[: args.subset]:
            start = reference_trajectory(system.rhs, x, p, DEFAULT_BURN_IN, 2, 1e-9, 1e-9)[-1]
            reference_trajectory(system.rhs, start, p, args.dt, args.steps, 1e-9, 1e-9)

    _, loop_s = timed(loop)
    loop_s *= args.n / args.subset

    # Accuracy over t <= 2 from states on the attractor, against DOP853 at 1e-12.
    horizon = int(round(2.0 / args.dt)) + 1
    on_attr = simulate_states(system, p, x0[:, :20], args.dt, 2)[:, 0, :].T.copy()
    truth = np.stack([reference_trajectory(system.rhs, x, p, args.dt, horizon) for x in on_attr.T])
    rows = []
    paths = [
        ("rk4, h = dt/10 (default)", "rk4", 10),
        ("dop853 fixed, h = dt/4", "dop853", 4),
        ("dop853 fixed, h = dt/3", "dop853", 3),
    ]
    for label, method, substeps in paths:
        traj, secs = timed(
            lambda m=method, s=substeps: simulate_states(
                system, p, x0, args.dt, args.steps, method=m, substeps=s
            )
        )
        size = float(np.linalg.norm(traj.max(axis=(0, 1)) - traj.min(axis=(0, 1))))
        short = simulate_states(system, p, on_attr, args.dt, horizon, 0.0, method, substeps)
        err = float(np.abs(short - truth).max())
        rows.append({"path": label, "seconds": secs, "speedup": loop_s / secs, "max_error": err})
    loop_traj = np.stack(
        [reference_trajectory(system.rhs, x, p, args.dt, horizon, 1e-9, 1e-9) for x in on_attr.T]
    )
    rows.insert(
        0,
        {
            "path": "loop of solve_ivp DOP853 1e-9 (scaled)",
            "seconds": loop_s,
            "speedup": 1.0,
            "max_error": float(np.abs(loop_traj - truth).max()),
        },
    )
    for r in rows:
        r["relative_error"] = r["max_error"] / size

    gpu = None
    if args.gpu_n:
        import torch

        if torch.cuda.is_available():
            xg = random_initial_states(system, p, args.gpu_n, rng)
            for method in ("rk4", "dop853"):
                simulate_states(system, p, xg[:, :1000], args.dt, 8, 0.1, method, device="cuda")
                torch.cuda.synchronize()
                _, secs = timed(
                    lambda m=method: simulate_states(
                        system, p, xg, args.dt, args.steps, method=m, device="cuda"
                    )
                )
                gpu = gpu or {}
                gpu[method] = {
                    "n": args.gpu_n,
                    "seconds": secs,
                    "device": torch.cuda.get_device_name(),
                }

    result = {
        "n": args.n,
        "steps": args.steps,
        "dt": args.dt,
        "attractor_size": size,
        "rows": rows,
        "gpu": gpu,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"Lorenz-63, {args.n} trajectories x {args.steps} samples at dt = {args.dt}, "
        f"burn-in {DEFAULT_BURN_IN:g} time units; accuracy over t <= 2 vs DOP853 at 1e-12 "
        f"(attractor size {size:.1f})"
    )
    print(f"{'path':42s} {'seconds':>9s} {'speed-up':>9s} {'max err':>9s} {'err/size':>9s}")
    for r in rows:
        print(
            f"{r['path']:42s} {r['seconds']:9.2f} {r['speedup']:8.0f}x "
            f"{r['max_error']:9.1e} {r['relative_error']:9.1e}"
        )
    if gpu:
        for method, g in gpu.items():
            print(
                f"CUDA {method}: {g['n']} x {args.steps} in {g['seconds']:.2f} s on {g['device']}"
            )


if __name__ == "__main__":
    main()
