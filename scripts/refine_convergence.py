"""How far the refinement layer's gradient steps take a shrunken orbit back to the attractor
(no training).

A conditional generator's network draws a shrunken sketch of the attractor before its
refinement layer (README, "Marginal weight 500, and Gauss-Newton steps across rho": at rho =
26, x's std 4.70 against the real 7.58), and the layer's steps stretch it. This script asks
what the steps alone can do: half of the real series of ``data`` (one parameter value) are
shrunk towards the attractor's mean, ``centre + shrink (x - centre)``, refined with each
number of ``--steps`` (:func:`chaosgan.gan.refine.refine_series`; the layer's default rate
and momentum unless ``--rate`` and ``--momentum`` say otherwise) and compared with the other
half: W1/std of each coordinate (the scorecard's ``wasserstein_over_std``), each coordinate's
std and 1st-99th percentile, and the median one-step error under the model (in attractor
diameters). A shrunken real orbit is not what a network draws, only a sketch with the right
shape and too small a size; the script measures whether the steps can restore the size, the
tails included.

The model is identified from the data (``--physics identified``, the default, as in training)
or the true equations (``--physics known``, labelled in the output).

    python scripts/refine_convergence.py results/r26.npz --shrink 0.6 0.8 --steps 0 10 20 40
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np
import torch

from chaosgan.dataset import Dataset, load
from chaosgan.errors import ChaosganError
from chaosgan.evaluate.metrics import wasserstein_over_std
from chaosgan.gan.config import TrainConfig
from chaosgan.gan.physics import PolynomialFlow, physics_model, step_residuals
from chaosgan.gan.refine import refine_series


def describe(
    series: torch.Tensor, reference: np.ndarray, flow: PolynomialFlow, diameter: float
) -> dict[str, Any]:
    """The row of one refined (or shrunken) batch against the real ``reference``."""
    x = series.numpy()
    error = step_residuals(series, flow).norm(dim=-1) / diameter
    return {
        "w1_over_std": [round(v, 4) for v in wasserstein_over_std(reference, x)],
        "std": [round(float(v), 3) for v in x.std(axis=(0, 1))],
        "p1": [round(float(v), 2) for v in np.percentile(x, 1, axis=(0, 1))],
        "p99": [round(float(v), 2) for v in np.percentile(x, 99, axis=(0, 1))],
        "one_step_error": round(float(error.median()), 4),
    }


def convergence_rows(
    ds: Dataset,
    shrinks: list[float],
    steps: list[int],
    physics: str = "identified",
    rate: float = TrainConfig.refine_rate,
    momentum: float = TrainConfig.refine_momentum,
) -> tuple[str, list[dict[str, Any]]]:
    """The model's label and one row per (shrink, steps): the first half of ``ds``'s series
    shrunk and refined, against the second half (see the module)."""
    if len(ds.trajectories) < 4:
        raise ChaosganError(f"need at least 4 series, got {len(ds.trajectories)}")
    if ds.series_param_names:  # physics_model's own message speaks of a training config
        raise ChaosganError(
            f"need series at one parameter value, but the data vary "
            f"{', '.join(ds.series_param_names)} per series (simulate with --param NAME=VALUE)"
        )
    model = physics_model(ds, physics)
    flow = PolynomialFlow(model, ds.dt).double()
    half = len(ds.trajectories) // 2
    sketch_source = torch.from_numpy(ds.trajectories[:half]).double()
    reference = ds.trajectories[half : 2 * half]
    centre = sketch_source.mean(dim=(0, 1))
    rows = []
    for shrink in shrinks:
        sketch = centre + shrink * (sketch_source - centre)
        for k in steps:
            refined = refine_series(sketch, flow, model.diameter, k, rate, momentum)
            rows.append(
                {"shrink": shrink, "steps": k, **describe(refined, reference, flow, model.diameter)}
            )
    return model.label, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", help="real series at one parameter value (chaosgan simulate)")
    ap.add_argument("--shrink", type=float, nargs="+", default=[0.6, 0.8])
    ap.add_argument("--steps", type=int, nargs="+", default=[0, 10, 20, 40])
    ap.add_argument("--physics", choices=["identified", "known"], default="identified")
    ap.add_argument("--rate", type=float, default=TrainConfig.refine_rate, help="step size")
    ap.add_argument("--momentum", type=float, default=TrainConfig.refine_momentum)
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args()
    if not all(0 < s <= 1 for s in args.shrink) or not all(k >= 0 for k in args.steps):
        raise ChaosganError("--shrink values must lie in (0, 1] and --steps be >= 0")
    if not (0 < args.rate <= 1 and 0 <= args.momentum < 1):
        raise ChaosganError("--rate must lie in (0, 1] and --momentum in [0, 1)")
    ds = load(args.data)
    label, rows = convergence_rows(
        ds, args.shrink, args.steps, args.physics, args.rate, args.momentum
    )
    if args.json:
        print(json.dumps({"physics": label, "rows": rows}, indent=2))
        return
    names = ds.coordinate_names
    half = len(ds.trajectories) // 2
    print(f"{half} shrunken series against {half} real, model: {label}")
    cols = " ".join(f"{n:>6s}" for n in names)
    print(
        f"shrink steps  W1/std {cols}   std {cols}   1st-99th percentile "
        + "   ".join(f"{n:>11s}" for n in names)
        + "   one-step"
    )
    for r in rows:
        w = " ".join(f"{v:6.3f}" for v in r["w1_over_std"])
        s = " ".join(f"{v:6.2f}" for v in r["std"])
        p = " ".join(f"{a:5.1f}-{b:5.1f}" for a, b in zip(r["p1"], r["p99"], strict=True))
        head = f"{r['shrink']:6.2f} {r['steps']:5d}"
        print(f"{head}  {w:>21s}   {s:>20s}   {p}   {r['one_step_error']:.4f}")


if __name__ == "__main__":
    try:
        main()
    except ChaosganError as exc:  # bad input: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
