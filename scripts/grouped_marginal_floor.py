"""What marginal matching within condition groups can see, on real data (no training).

For a conditional dataset (series drawn at many values of a parameter, e.g. ``chaosgan
simulate --param rho=24:40``), batches of real series stand in for a generator's batch, the
other half of each pair sharing the real batch's conditions as in training:

- ``conditional``: for each real series, the series nearest to it in the parameter (another
  draw at about the same value): what a generator that gets each condition right scores, the
  loss's floor;
- ``ignores condition``: series drawn at random, whatever their parameter: a generator whose
  mixture over the condition is right but which ignores the condition it is asked for.

It prints the mean and standard deviation over batches of the plain marginal loss
(:func:`chaosgan.gan.marginals.marginal_loss`, the whole batch) and the grouped one
(:func:`grouped_marginal_loss`, ``--groups`` groups of neighbouring values), in units of
W1/std, for both. The larger the gap between the two rows of a column, the more that loss can
teach a generator about the condition.

    python scripts/grouped_marginal_floor.py results/conditional/train.npz --batch 32 --groups 4
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from chaosgan.dataset import load
from chaosgan.errors import ChaosganError
from chaosgan.gan.marginals import grouped_marginal_loss, marginal_loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", help="a dataset with per-series parameters")
    ap.add_argument("--batch", type=int, default=32, help="series per batch (default 32)")
    ap.add_argument("--groups", type=int, default=4, help="condition groups (default 4)")
    ap.add_argument("--batches", type=int, default=200, help="batches drawn (default 200)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ds = load(args.data)
    if ds.series_params is None:
        raise ChaosganError(f"{args.data} has no per-series parameters")
    if not (1 <= args.groups <= args.batch <= len(ds.trajectories) and args.batches >= 1):
        raise ChaosganError(
            f"need 1 <= --groups <= --batch <= {len(ds.trajectories)} series and --batches >= 1"
        )
    x = torch.from_numpy(ds.trajectories).float()
    value = torch.from_numpy(ds.series_params[:, 0]).float()
    std = x.std(dim=(0, 1))
    n = len(x)
    order = torch.argsort(value)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n)
    rng = np.random.default_rng(args.seed)
    rows = {"conditional": ([], []), "ignores condition": ([], [])}
    for _ in range(args.batches):
        idx = torch.from_numpy(rng.choice(n, args.batch, replace=False))
        step = torch.from_numpy(rng.choice([-1, 1], args.batch))
        near = rank[idx] + step  # a neighbour in the value; at either end, the one inside
        nearest = order[torch.where((near < 0) | (near >= n), rank[idx] - step, near)]
        anyone = torch.from_numpy(rng.choice(n, args.batch, replace=False))
        for name, other in (("conditional", nearest), ("ignores condition", anyone)):
            plain, grouped = rows[name]
            plain.append(marginal_loss(x[other], x[idx], std).item())
            grouped.append(
                grouped_marginal_loss(x[other], x[idx], std, value[idx], args.groups).item()
            )
    print(f"{args.batches} batches of {args.batch} series, {args.groups} groups (W1/std)")
    print(f"{'stand-in generator':20s} {'plain':>16s} {'grouped':>16s}")
    for name, (plain, grouped) in rows.items():
        cells = [f"{np.mean(v):.3f} +- {np.std(v):.3f}" for v in (plain, grouped)]
        print(f"{name:20s} {cells[0]:>16s} {cells[1]:>16s}")


if __name__ == "__main__":
    try:
        main()
    except ChaosganError as exc:  # bad input: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
