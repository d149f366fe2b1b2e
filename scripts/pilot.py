"""A pilot run: one training recipe on the leaderboard's data, a quick look at the numbers that
matter for orbits. Cheaper than ``orbit_ablation.py`` (no classifier, no projection, no report):
for trying an idea before it earns a row in the ablation or the leaderboard.

The recipe is ``--preset`` on the small model (``scripts/demo_gan.toml``) plus ``--set
key=value`` config overrides (values parsed as JSON, else kept as strings). It trains on 1000
Lorenz-63 series (dt = 0.1, seed 0), samples 1000 series and compares them with a held-out real
set (seed 1): one-step error under the true flow (labelled: the truth judges here, it is never
trained on), Rosenstein exponent ratios (parameters derived from the real set, own-series
neighbours as in the scorecard, 300 series),
speed factor, W1/std, D_stsp, D_H, diversity ratio, grid recurrence, crossing-rate ratio and
return-map ratio
(``chaosgan.evaluate.metrics``).
Resumable: the run resumes from its checkpoint and a finished pilot's JSON is reprinted (one
written before a later metric existed, :data:`LATER`, gets it from its run's samples, drawn
again).

    python scripts/pilot.py resize --preset best --set generator=resize    # ~7 min on one core
    python scripts/pilot.py hilbert --preset best --set layout=hilbert --epochs 60
    python scripts/pilot.py --table best resize hilbert     # the README's table of pilots
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from experiments import parse_set

from chaosgan.errors import ChaosganError

ROOT = Path(__file__).resolve().parent.parent


def measure(generated: np.ndarray, real: np.ndarray, dt: float) -> dict:
    from chaosgan.evaluate import metrics
    from chaosgan.lyapunov.from_data import derive_rosenstein_params, estimate_series
    from chaosgan.systems import get_system

    system = get_system("lorenz63")
    diameter = metrics.attractor_diameter(real)
    params = system.resolve_params()
    errors = metrics.one_step_errors(generated, system.rhs, params, dt, diameter)
    # own-series neighbours (pool 1), as the scorecard compares (chaosgan.evaluate.lyapunov)
    derived = derive_rosenstein_params(real, dt, pool=1)
    ratios = []
    for c in range(3):
        lam = [np.nanmedian(estimate_series(x[:300, :, c], dt, params=derived[c])) for x in
               (generated, real)]  # fmt: skip
        ratios.append(round(float(lam[0] / lam[1]), 3))
    return {
        "one_step_true_flow": {
            "median": float(np.median(errors)),
            "p99": float(np.quantile(errors, 0.99)),
        },
        "speed_factor": speed_factor(generated, dt),
        "lyapunov_ratio": ratios,
        "wasserstein_over_std": [
            round(v, 3) for v in metrics.wasserstein_over_std(real, generated)
        ],
        "state_space_divergence": round(metrics.state_space_divergence(real, generated), 3),
        "hellinger_spectrum": round(metrics.hellinger_spectrum(real, generated), 4),
        "diversity_ratio": round(
            metrics.diversity(generated, real) / metrics.diversity(real, real), 3
        ),
        "grid_recurrence": round(metrics.grid_recurrence(generated), 3),
        "crossing_rate_ratio": [
            round(v, 3) for v in metrics.crossing_rate_ratio(real, generated, dt)
        ],
        "return_map_ratio": [round(v, 3) for v in metrics.return_map_ratio(real, generated)],
    }


def speed_factor(generated: np.ndarray, dt: float) -> float:
    """The scorecard's speed factor of ``generated`` under the true Lorenz-63 flow."""
    from chaosgan.evaluate import metrics
    from chaosgan.systems import get_system

    system = get_system("lorenz63")
    return round(metrics.speed_factor(generated, system.rhs, system.resolve_params(), dt), 3)


def held_out() -> np.ndarray:
    """The held-out real set every pilot is compared with: 1000 Lorenz-63 series, seed 1."""
    from chaosgan import simulate

    return simulate("lorenz63", n=1000, dt=0.1, seed=1).trajectories


# metrics added after pilots had been run: a finished pilot's JSON without one gets it
LATER = ("speed_factor", "crossing_rate_ratio", "return_map_ratio")


def backfill(result: dict, run: Path, seed: int, path: Path, real: np.ndarray) -> dict:
    """The :data:`LATER` metrics a finished pilot's JSON lacks, from its samples drawn again
    with the same seed (the same series), added to the JSON; the rest is kept as it was."""
    from chaosgan.atomic import write_text_atomic
    from chaosgan.gan.sample import sample

    generated = sample(run, n=1000, seed=seed, device="cpu").trajectories
    fresh = measure(generated, real, 0.1)
    result = {**result, **{k: fresh[k] for k in LATER if k not in result}}
    write_text_atomic(path, json.dumps(result, indent=1))
    return result


def per_coordinate(result: dict, key: str) -> str:
    """A per-coordinate metric of a pilot's JSON as ``x, y, z``; ``-`` for a pilot without it."""
    return ", ".join(f"{v:.2f}" for v in result[key]) if key in result else "-"


def table(names: list[str], folder: Path) -> str:
    """A Markdown table of finished pilots, in the order named (missing ones are skipped)."""
    lines = [
        "| pilot (60 epochs unless said) | recipe | one-step median, p99 | Lyapunov x, y, z "
        "| speed factor | W1/std (max) | D_stsp | D_H | diversity | grid recurrence "
        "| crossing-rate ratio x, y, z | return-map ratio x, y, z | train s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        path = folder / f"{name}.json"
        if not path.exists():
            continue
        r = json.loads(path.read_text())
        if not r["overrides"].get("seed"):  # seed 0, the default, goes without saying
            r["overrides"].pop("seed", None)
        recipe = " ".join(
            [f"--preset {r['preset']}"]
            + [f"{k}={v}" for k, v in r["overrides"].items() if k != "epochs"]
        )
        one = r["one_step_true_flow"]
        seconds = f"{r['train_seconds']:.0f}" if r["train_seconds"] > 0 else "-"
        epochs = r["overrides"].get("epochs", 60)
        cells = [
            name if epochs == 60 else f"{name} ({epochs} epochs)",
            f"`{recipe}`",
            f"{one['median']:.3f}, {one['p99']:.2f}",
            ", ".join(f"{v:.2f}" for v in r["lyapunov_ratio"]),
            f"{r['speed_factor']:.2f}" if "speed_factor" in r else "-",
            f"{max(r['wasserstein_over_std']):.2f}",
            f"{r['state_space_divergence']:.2f}",
            f"{r['hellinger_spectrum']:.2f}",
            f"{r['diversity_ratio']:.2f}",
            f"{r['grid_recurrence']:.2f}",
            per_coordinate(r, "crossing_rate_ratio"),
            per_coordinate(r, "return_map_ratio"),
            seconds,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("name", nargs="+", help="the pilot's name (its run folder and JSON)")
    ap.add_argument("--table", action="store_true", help="print the named pilots' table")
    ap.add_argument("--preset", default="default", help="config preset (default: default)")
    ap.add_argument("--set", action="append", default=[], help="config override key=value")
    ap.add_argument("--epochs", type=int, default=60, help="training epochs (default 60)")
    ap.add_argument("--seed", type=int, default=0, help="training and sampling seed")
    ap.add_argument("--out", default="results/pilots", help="folder of runs and JSON")
    args = ap.parse_args()
    import torch

    from chaosgan import simulate
    from chaosgan.atomic import write_text_atomic
    from chaosgan.gan.config import load_config
    from chaosgan.gan.sample import sample
    from chaosgan.gan.train import train

    out = ROOT / args.out
    if args.table:
        print(table(args.name, out))
        return
    if len(args.name) != 1:
        raise ChaosganError("one pilot at a time (several names only with --table)")
    name = args.name[0]
    result_path, run = out / f"{name}.json", out / "runs" / name
    if result_path.exists():
        result = json.loads(result_path.read_text())
        if set(LATER) - result.keys() and (run / "checkpoints" / "last.pt").exists():
            # a pilot finished before a metric existed: its samples, drawn again (same seed)
            result = backfill(result, run, args.seed, result_path, held_out())
        print(json.dumps(result, indent=1))
        return
    torch.set_num_threads(1)
    overrides = parse_set(args.set)
    for key in ("epochs", "seed"):
        if key in overrides:  # the flag would silently win over it
            raise ChaosganError(f"give the {key} with --{key}, not --set {key}=...")
    overrides.update(epochs=args.epochs, seed=args.seed)
    cfg = load_config(args.preset, [str(ROOT / "scripts" / "demo_gan.toml")], overrides)
    data = simulate("lorenz63", n=1000, dt=0.1, seed=0)
    real = held_out()
    resume = (run / "checkpoints" / "last.pt").exists()
    start = time.perf_counter()
    trained = train(
        data,
        run,
        cfg,
        device="cpu",
        resume=resume,
        force=not resume,
        progress=True,
        epochs=args.epochs if resume else None,
    )
    generated = sample(run, n=1000, seed=args.seed, device="cpu").trajectories
    result = {
        "name": name,
        "preset": args.preset,
        "overrides": overrides,
        "train_seconds": round(trained.seconds, 1),
        "this_call_seconds": round(time.perf_counter() - start, 1),
        **measure(generated, real, 0.1),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(result_path, json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    try:
        main()
    except ChaosganError as exc:  # a bad preset, key or value: one line, exit 2, nothing written
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
