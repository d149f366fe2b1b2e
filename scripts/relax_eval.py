"""What relaxation towards orbits (``chaosgan sample --relax STEPS``) does to generated series.

For each run named (a pilot's or leaderboard's run folder), it samples ``--n`` series (seed
``--seed``) and relaxes them for each number of L-BFGS steps in ``--steps`` (0: the raw samples)
under the run's own model (identified from its training data; :mod:`chaosgan.gan.relaxation`),
then scores them as ``scripts/pilot.py`` does, against a held-out real set (1000 Lorenz-63 series,
dt = 0.1, seed 1): one-step error under the true flow (the truth judges, it is never used to
relax), Rosenstein ratios, speed factor, W1/std, D_stsp, D_H, diversity, grid recurrence, the
loops (local maxima per series and the return map's unexplained share,
``scripts/row_end_errors.py``), the share of samples within 5 data units of the origin,
Lorenz-63's saddle point (real series: under 0.1%), and the path exponent: the largest
exponent of the true equations' linearised flow carried along each series
(:func:`chaosgan.lyapunov.spectrum.path_exponents`; like the one-step error, the truth judges),
its median over the real set's. For a near-orbit it says how unstable the path is, with no
estimator's parameters in between; it reads systematic kinks too, so the control row (real
series relaxed the same way) is its yardstick.

The first 100 series relaxed for the most steps then go to orbit projection
(:func:`chaosgan.gan.projection.project`, as ``sample --project``): does a relaxed series have
an orbit near it? A control row relaxes real series (seed 2) with ``--noise`` Gaussian noise
per coordinate (a fraction of its std) under the same model: what relaxation does to errors
that are noise.

A last check calibrates the path exponent on near-orbits: clean real series (seed 2) relaxed
for 20 steps with 2, 4 and 8 RK4 steps per sample in the model's flow (relaxation's default is
2). They move by 5e-7 to 3.5e-4 diameters, but become orbits of the discretised map rather than
of the flow, and the path exponent reads that (``substeps-check.json``).

And a check of the estimator: Lorenz-63 orbits with dynamical noise (Gaussian kicks after every
step of the true flow, of a one-step size of 0.001, 0.003 and 0.01 diameters; 0.003 is the
relaxed series' residual), scored the same way (``dynamical-noise.json``). A relaxed series is
such a noisy orbit, of the model: what Rosenstein's method reads on noise in the dynamics, as
against noise on the observations.

One JSON per (source, steps) lands in ``--out`` as it is computed; existing ones are skipped.

    python scripts/relax_eval.py results/pilots/runs/best-wgan-bal1-e240   # ~15 min on one core
    python scripts/relax_eval.py RUN --steps 0 20 50 100 200 400 800  # the README's table
    python scripts/relax_eval.py RUN --table                              # what is done
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from pilot import measure
from row_end_errors import loops

from chaosgan.errors import ChaosganError

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("run", type=Path, help="a run folder whose samples to relax")
    ap.add_argument("--steps", type=int, nargs="+", default=[0, 20, 50, 100, 200])
    ap.add_argument("--n", type=int, default=300, help="series per row (default 300)")
    ap.add_argument("--seed", type=int, default=5, help="sampling seed (default 5)")
    ap.add_argument("--noise", type=float, default=0.05, help="the control's noise (default 0.05)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "relaxation")
    ap.add_argument("--table", action="store_true", help="only print what is done")
    args = ap.parse_args()
    if min(args.steps) < 0 or args.n < 1:
        raise ChaosganError("--steps must be >= 0 and --n >= 1")
    name = args.run.name
    if not args.table:
        run_all(args, name)
    print(table(args.out, [name, f"real+{args.noise:g}noise"], args.steps))
    substeps = args.out / "substeps-check.json"
    if substeps.exists():
        c = json.loads(substeps.read_text())
        rows = ", ".join(
            f"{k} RK4 steps {r['path_exponent_ratio']:.3f} "
            f"(moved {r['median_moved_diameters']:.1e})"
            for k, r in c["relaxed_20_steps"].items()
        )
        print(
            f"path exponent ratio of clean real series: {c['clean_path_exponent_ratio']:.3f}; "
            f"relaxed 20 steps with {rows}"
        )
    noisy = args.out / "dynamical-noise.json"
    if noisy.exists():
        for r in json.loads(noisy.read_text()):
            print(
                f"orbits with dynamical noise {r['level_diameters']:g}: one-step "
                f"{r['one_step_median']:.4f}, Lyapunov "
                f"{', '.join(f'{v:.2f}' for v in r['lyapunov_ratio'])}, path exponent "
                f"{r['path_exponent_ratio']:.3f}"
            )
    check = args.out / f"{name}-k{max(args.steps)}-projection.json"
    if check.exists():
        c = json.loads(check.read_text())
        print(
            f"projection of the first {c['tried']} series relaxed {max(args.steps)} steps: "
            f"{c['converged']} became orbits; median largest gap "
            f"{c['median_max_gap_diameters']} diameters"
        )


def run_all(args: argparse.Namespace, name: str) -> None:
    import torch

    from chaosgan import simulate
    from chaosgan.atomic import write_text_atomic
    from chaosgan.gan.checkpoint import load_checkpoint
    from chaosgan.gan.physics import PhysicsModel
    from chaosgan.gan.relaxation import relax
    from chaosgan.gan.sample import sample

    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.run)
    if not ckpt.get("physics"):
        raise ChaosganError(f"{args.run} was trained without a physics model to relax under")
    model = PhysicsModel.from_dict(ckpt["physics"])
    real = simulate("lorenz63", n=1000, dt=0.1, seed=1).trajectories
    clean = simulate("lorenz63", n=args.n, dt=0.1, seed=2).trajectories.astype(np.float64)
    rng = np.random.default_rng(0)
    noisy = clean + args.noise * clean.reshape(-1, 3).std(0) * rng.standard_normal(clean.shape)
    raw = sample(args.run, n=args.n, seed=args.seed, device="cpu").trajectories
    real_path = path_ratio(real, 1.0)
    args.out.mkdir(parents=True, exist_ok=True)
    for source, series in ((name, raw), (f"real+{args.noise:g}noise", noisy)):
        for steps in args.steps:
            path = args.out / f"{source}-k{steps}.json"
            check = source == name and steps == max(args.steps)
            check_path = args.out / f"{source}-k{steps}-projection.json"
            if path.exists() and (not check or check_path.exists()):
                continue
            start = time.perf_counter()
            if steps:
                result = relax(series, model, 0.1, iterations=steps, progress=True)
                relaxed, moved = result.series, float(result.moved.mean())
            else:
                relaxed, moved = np.asarray(series, dtype=np.float64), 0.0
            seconds = time.perf_counter() - start
            if not path.exists():
                row = {
                    "source": source,
                    "run": str(args.run),
                    "steps": steps,
                    "n": args.n,
                    "relax_seconds": round(seconds, 1),
                    "moved_diameters": round(moved, 4),
                    **measure(relaxed.astype(np.float32), real, 0.1),
                    "loops": loops(relaxed),
                    "near_origin": near_origin(relaxed),
                    "path_exponent_ratio": round(path_ratio(relaxed, real_path), 3),
                }
                write_text_atomic(path, json.dumps(row, indent=1))
                print(json.dumps(row), flush=True)
            if check:
                project_check(relaxed[:100], model, check_path)
    substeps_check(clean, model, real_path, args.out / "substeps-check.json")
    dynamical_noise_check(clean[:, 0], real, real_path, args.out / "dynamical-noise.json")


def dynamical_noise_check(
    starts: np.ndarray, real: np.ndarray, real_path: float, path: Path
) -> None:
    """Orbits of the true flow kicked by Gaussian noise after every sample step (``x_{t+1} =
    Phi(x_t) + eta_t``, a one-step size of ``level`` diameters), from ``starts`` ``(N, 3)``
    after 100 kicked steps, scored as the relaxed rows are."""
    from chaosgan.atomic import write_text_atomic
    from chaosgan.evaluate import metrics
    from chaosgan.integrate import advance
    from chaosgan.systems import get_system

    if path.exists():
        return
    system = get_system("lorenz63")
    params = system.resolve_params()
    diameter = metrics.attractor_diameter(real)
    rng = np.random.default_rng(0)
    rows = []
    for level in (0.001, 0.003, 0.01):
        x, kept = starts.T.astype(np.float64), []
        for t in range(100 + real.shape[1]):
            x = advance(system.rhs, x, params, 0.01, 10)
            x = x + level * diameter / np.sqrt(3) * rng.standard_normal(x.shape)
            if t >= 100:
                kept.append(x.T.copy())
        series = np.stack(kept, axis=1)
        m = measure(series.astype(np.float32), real, 0.1)
        ratio = path_ratio(series, real_path)
        rows.append({
            "level_diameters": level,
            "one_step_median": round(m["one_step_true_flow"]["median"], 4),
            "lyapunov_ratio": m["lyapunov_ratio"],
            "path_exponent_ratio": round(ratio, 3),
            "wasserstein_over_std": m["wasserstein_over_std"],
            "state_space_divergence": m["state_space_divergence"],
        })  # fmt: skip
    write_text_atomic(path, json.dumps(rows, indent=1))
    print("orbits with dynamical noise:", json.dumps(rows), flush=True)


def substeps_check(clean: np.ndarray, model, real_path: float, path: Path) -> None:
    """Path-exponent ratio and distance moved of clean real series relaxed 20 steps under the
    model's flow with 2, 4 and 8 RK4 steps per sample."""
    from chaosgan.atomic import write_text_atomic
    from chaosgan.gan.relaxation import relax

    if path.exists():
        return
    rows = {}
    for substeps in (2, 4, 8):
        result = relax(clean, model, 0.1, iterations=20, substeps=substeps)
        ratio = path_ratio(result.series, real_path)
        rows[str(substeps)] = {
            "path_exponent_ratio": round(ratio, 4),
            "median_moved_diameters": float(np.median(result.moved)),
        }
    clean_ratio = path_ratio(clean, real_path)
    row = {"clean_path_exponent_ratio": round(clean_ratio, 4), "relaxed_20_steps": rows}
    write_text_atomic(path, json.dumps(row, indent=1))
    print("path exponent of clean real series relaxed 20 steps:", json.dumps(row), flush=True)


def path_ratio(series: np.ndarray, real_path: float) -> float:
    """The median path exponent of the first 300 of ``series`` under Lorenz-63's equations
    (:func:`chaosgan.lyapunov.spectrum.path_exponents`), over ``real_path`` (the real set's;
    1 for the real set itself)."""
    from chaosgan.lyapunov.spectrum import path_exponents

    return float(np.median(path_exponents("lorenz63", series[:300], 0.1))) / real_path


def near_origin(series: np.ndarray, radius: float = 5.0) -> float:
    """The share of samples within ``radius`` data units of the origin (Lorenz-63's saddle,
    where the flow is slow and stretches fastest)."""
    return round(float((np.linalg.norm(series, axis=-1) < radius).mean()), 4)


def project_check(series: np.ndarray, model, path: Path) -> None:
    """How many of ``series`` projection turns into orbits, and how large the gaps stay."""
    from chaosgan.atomic import write_text_atomic
    from chaosgan.gan.projection import project

    if path.exists():
        return
    result = project(series, model.polynomial, 0.1, model.diameter)
    row = {
        "tried": len(series),
        "converged": int(result.converged.sum()),
        "median_max_gap_diameters": round(float(np.median(result.max_gap)), 4),
    }
    write_text_atomic(path, json.dumps(row, indent=1))
    print("projection of the relaxed series:", json.dumps(row), flush=True)


def table(folder: Path, sources: list[str], steps: list[int]) -> str:
    head = (
        "| series | L-BFGS steps | moved (diameters) | one-step median, p99 | Lyapunov x, y, z "
        "| path exponent | speed | W1/std x, y, z | D_stsp | D_H | diversity | loops | near origin "
        "| relax s |\n"
        "|---|---:|---:|---|---|---:|---:|---|---:|---:|---:|---|---:|---:|"
    )
    lines = [head]
    for source in sources:
        for k in steps:
            path = folder / f"{source}-k{k}.json"
            if not path.exists():
                continue
            r = json.loads(path.read_text())
            loop_counts = r["loops"].split(": ", 1)[-1]
            one = r["one_step_true_flow"]
            lines.append(
                f"| {source} | {k} | {r['moved_diameters']:.3f} | {one['median']:.4f}, "
                f"{one['p99']:.3f} | {', '.join(f'{v:.2f}' for v in r['lyapunov_ratio'])} | "
                f"{r.get('path_exponent_ratio', '-')} | {r['speed_factor']:.2f} | "
                f"{', '.join(f'{v:.3f}' for v in r['wasserstein_over_std'])} | "
                f"{r['state_space_divergence']:.3f} | {r['hellinger_spectrum']:.3f} | "
                f"{r['diversity_ratio']:.2f} | {loop_counts} | {r.get('near_origin', '-')} | "
                f"{r['relax_seconds']:.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        main()
    except ChaosganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
