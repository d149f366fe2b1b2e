"""Benchmark the Lyapunov code against its baselines, measured in the same run.

(a) Largest exponent of 1000 series x 3 coordinates of 1024 samples (Lorenz-63, dt = 0.1) with
    the calibrated Rosenstein parameters: the batched fast path against a loop of nolds
    ``lyap_r(fit="poly")`` with the same parameters (the loop is timed on a subset and scaled).
    Also on CUDA when a GPU is present. Beside them, the same parameters with neighbours pooled
    over 128 series (:mod:`chaosgan.lyapunov.pooled`, the default of derived parameters): what
    its k-d tree search costs against the own-series fast path.
(b) QR spectrum of 100 Lorenz parameter sets (rho from 28 to 45) x 1e5 RK4 steps: all sets in
    one batch against one set at a time with the same code (timed on a subset and scaled).
(c) Lorenz-96 (N = 40, F = 8): the default ``chaosgan lyapunov spectrum --system lorenz96``
    (wall time, largest exponent and its standard error against the reference 1.67), and the
    tangent kernel against the dense-Jacobian einsum it replaced, on the same short run.

    python scripts/bench_lyapunov.py            # full size
    python scripts/bench_lyapunov.py --quick    # a smaller, faster check of the same ratios
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from chaosgan import simulate
from chaosgan.lyapunov.from_data import DEFAULT_POOL, RosensteinParams
from chaosgan.lyapunov.pooled import rosenstein_pooled
from chaosgan.lyapunov.rosenstein import rosenstein_batch
from chaosgan.lyapunov.spectrum import lyapunov_spectrum, qr_exponents
from chaosgan.nolds_compat import nolds_measures
from chaosgan.simulate import random_initial_states
from chaosgan.systems import get_system


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_rosenstein(n_series: int, subset: int) -> dict:
    dt = 0.1
    traj = simulate("lorenz63", n=n_series, dt=dt, seed=0).trajectories
    series = np.concatenate([traj[:, :, c] for c in range(3)])  # (3 n, 1024)
    kwargs = RosensteinParams().in_samples(dt)
    nm = nolds_measures()
    pick = np.linspace(0, len(series) - 1, subset).astype(int)
    ref, loop_s = timed(lambda: [nm.lyap_r(series[i], tau=dt, fit="poly", **kwargs) for i in pick])
    loop_s *= len(series) / subset
    fast, fast_s = timed(lambda: rosenstein_batch(series, tau=dt, **kwargs))
    # one coordinate per call: a pool holds one coordinate's series
    _, pooled_s = timed(
        lambda: [
            rosenstein_pooled(traj[:, :, c], pool=DEFAULT_POOL, tau=dt, **kwargs) for c in range(3)
        ]
    )
    out = {
        "series": len(series),
        "nolds_loop_s": loop_s,
        "fast_cpu_s": fast_s,
        "speedup_cpu": loop_s / fast_s,
        "max_abs_diff": float(np.abs(fast[pick] - np.array(ref)).max()),
        "pooled_cpu_s": pooled_s,
        "pooled_over_fast": pooled_s / fast_s,
    }
    import torch

    if torch.cuda.is_available():
        rosenstein_batch(series[:64], tau=dt, device="cuda", **kwargs)
        torch.cuda.synchronize()
        gpu, gpu_s = timed(
            lambda: rosenstein_batch(
                series, tau=dt, device="cuda", series_chunk=512, block_bytes=2**30, **kwargs
            )
        )
        out.update(
            fast_gpu_s=gpu_s,
            speedup_gpu=loop_s / gpu_s,
            gpu_max_abs_diff=float(np.abs(gpu - fast).max()),
        )
    return out


def bench_spectrum(n_sets: int, n_steps: int, subset: int) -> dict:
    system = get_system("lorenz63")
    rho = np.linspace(28.0, 45.0, n_sets)
    p = {**system.defaults, "rho": rho}
    x0 = random_initial_states(system, system.defaults, n_sets, np.random.default_rng(0))
    h = 0.01
    batched, batched_s = timed(lambda: qr_exponents(system.rhs, system.jacobian, p, x0, h, n_steps))

    def one_at_a_time():
        rows = []
        for i in range(subset):
            pi = {**system.defaults, "rho": float(rho[i])}
            rows.append(qr_exponents(system.rhs, system.jacobian, pi, x0[:, i : i + 1], h, n_steps))
        return np.concatenate(rows)

    single, single_s = timed(one_at_a_time)
    single_s *= n_sets / subset
    return {
        "parameter_sets": n_sets,
        "steps": n_steps,
        "one_at_a_time_s": single_s,
        "batched_s": batched_s,
        "speedup": single_s / batched_s,
        "max_abs_diff": float(np.abs(batched[:subset] - single).max()),
    }


def bench_lorenz96(kernel_time: float) -> dict:
    system = get_system("lorenz96")
    p = system.defaults
    x0 = random_initial_states(system, p, 16, np.random.default_rng(0))
    n_steps = int(kernel_time / 0.01)
    dense, dense_s = timed(lambda: qr_exponents(system.rhs, system.jacobian, p, x0, 0.01, n_steps))
    sparse, sparse_s = timed(
        lambda: qr_exponents(
            system.rhs, system.jacobian, p, x0, 0.01, n_steps, tangent=system.tangent
        )
    )
    spec, default_s = timed(lambda: lyapunov_spectrum("lorenz96"))
    return {
        "kernel_steps": n_steps,
        "jacobian_einsum_s": dense_s,
        "tangent_s": sparse_s,
        "kernel_speedup": dense_s / sparse_s,
        "kernel_max_abs_diff": float(np.abs(dense - sparse).max()),
        "default_spectrum_s": default_s,
        "lambda_1": float(spec.exponents[0]),
        "lambda_1_stderr": float(spec.stderr[0]),
        "relative_to_1.67": float(spec.exponents[0] / 1.67 - 1),
        "sum": float(spec.exponents.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, same ratios")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    ap.add_argument("--only-lorenz96", action="store_true", help="run (c) only")
    args = ap.parse_args()
    c = bench_lorenz96(kernel_time=2.0 if args.quick else 5.0)
    if args.only_lorenz96:
        print(json.dumps({"lorenz96": c}, indent=2))
        return
    if args.quick:
        a = bench_rosenstein(n_series=200, subset=30)
        b = bench_spectrum(n_sets=100, n_steps=10_000, subset=2)
    else:
        a = bench_rosenstein(n_series=1000, subset=60)
        b = bench_spectrum(n_sets=100, n_steps=100_000, subset=2)
    if args.json:
        print(json.dumps({"rosenstein": a, "spectrum": b, "lorenz96": c}, indent=2))
        return
    print(f"(a) Rosenstein, {a['series']} series of 1024 samples (Lorenz-63, dt = 0.1):")
    print(f"    loop of nolds lyap_r (scaled)  {a['nolds_loop_s']:8.1f} s")
    print(
        f"    fast path, CPU                 {a['fast_cpu_s']:8.2f} s   "
        f"{a['speedup_cpu']:6.1f}x   max |diff| {a['max_abs_diff']:.1e}"
    )
    print(
        f"    pooled neighbours (pool {DEFAULT_POOL}), CPU {a['pooled_cpu_s']:8.2f} s   "
        f"{a['pooled_over_fast']:6.1f}x the fast path's time"
    )
    if "fast_gpu_s" in a:
        print(
            f"    fast path, CUDA                {a['fast_gpu_s']:8.2f} s   "
            f"{a['speedup_gpu']:6.1f}x"
        )
    print(f"(b) QR spectrum, {b['parameter_sets']} Lorenz parameter sets x {b['steps']} steps:")
    print(f"    one at a time (scaled)         {b['one_at_a_time_s']:8.1f} s")
    print(
        f"    batched                        {b['batched_s']:8.2f} s   "
        f"{b['speedup']:6.1f}x   max |diff| {b['max_abs_diff']:.1e}"
    )
    print("(c) Lorenz-96 (N = 40, F = 8), default spectrum:")
    print(
        f"    wall time {c['default_spectrum_s']:.1f} s, lambda_1 = {c['lambda_1']:.4f} "
        f"+- {c['lambda_1_stderr']:.4f} ({c['relative_to_1.67']:+.1%} vs 1.67)"
    )
    print(
        f"    tangent kernel vs dense Jacobian ({c['kernel_steps']} steps): "
        f"{c['kernel_speedup']:.1f}x, max |diff| {c['kernel_max_abs_diff']:.1e}"
    )


if __name__ == "__main__":
    main()
