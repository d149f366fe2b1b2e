"""Choose how many refinement steps a conditional run samples with, from validation values only.

A run trained with ``refine_steps = K`` can be sampled with its layer run for another number
of steps (``chaosgan sample --refine-steps N``, a labelled diagnostic). Choosing N on the
held-out values that are then reported would be tuning on the test set, so the choice is made on
other values of rho (validation values, e.g. 28 and 35, scored with ``python
scripts/conditional_eval.py ... --inside 28 35 --outside [--refine-steps N]``) by a rule fixed
before anything is looked at, and only the chosen N is scored at the held-out values.

The rule is issue 13's target turned into one number. At one value, each coordinate's distance
from the target's edge is ``max(|Lyapunov ratio - 1| / 0.2, W1/std / 0.1)`` (below 1: inside
the target; 0: perfect), the value's margin is the worst coordinate's, and a count's score is
the worst over the validation values. The count with the smallest score wins; a tie goes to the
trained count, then to fewer steps (less work at sampling). This reads the reports that
``conditional_eval.py`` wrote and runs nothing:

    python scripts/choose_refine_steps.py results/conditional_refine30_marg300w2 \
        --values 28 35 --steps 20 25 30 35 40 [--json]

The trained count's reports are the run's own (``rho_<value>/``), any other count's are
``rho_<value>_refine<N>/``; a missing report is an error that names the command to make it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from conditional_eval import Variant, folder_of

from chaosgan.errors import ChaosganError

RATIO_BAND = 0.2  # issue 13: every Lyapunov ratio inside [0.8, 1.2]
W1_MAX = 0.1  # issue 13: every coordinate's W1/std <= 0.1


def margin(metrics: dict) -> float:
    """The worst coordinate's distance from the target's edge in one scorecard's ``metrics``:
    ``max(|ratio - 1| / 0.2, W1/std / 0.1)`` over coordinates; below 1 is inside the target."""
    ratios = metrics["lyapunov_ratio"]["generated"]
    w1 = metrics["wasserstein_over_std"]["generated"]
    parts = [abs(ratios[c]["value"] - 1.0) / RATIO_BAND for c in sorted(ratios)]
    return max(parts + [v / W1_MAX for v in w1])


def trained_steps(out: Path) -> int:
    """The refinement steps the run in ``out/run`` was trained with (its saved config)."""
    path = out / "run" / "config.json"
    if not path.exists():
        raise ChaosganError(f"{path} does not exist: not a conditional_eval.py folder")
    steps = json.loads(path.read_text()).get("refine_steps", 0)
    if not steps:
        raise ChaosganError(f"the run in {out / 'run'} has no refinement layer to run longer")
    return int(steps)


def report_of(out: Path, rho: float, steps: int, trained: int) -> Path:
    """The scorecard of the draw at ``rho`` with ``steps`` refinement steps, where
    ``conditional_eval.py`` writes it (``--refine-steps N`` for a count other than trained)."""
    variant = Variant("" if steps == trained else f"refine{steps}")
    return folder_of(out, rho, variant) / "report" / "report.json"


def scores(
    out: Path, values: list[float], steps: list[int], trained: int
) -> dict[int, dict[float, float]]:
    """Each count's margin at each validation value, read from the reports in ``out`` of a run
    trained with ``trained`` refinement steps."""
    table: dict[int, dict[float, float]] = {}
    for n in steps:
        table[n] = {}
        for rho in values:
            path = report_of(out, rho, n, trained)
            if not path.exists():
                flag = "" if n == trained else f" --refine-steps {n}"
                raise ChaosganError(
                    f"{path} does not exist: score it first (python scripts/conditional_eval.py "
                    f"--out {out} <the run's flags> --inside {rho:g} --outside{flag})"
                )
            table[n][rho] = margin(json.loads(path.read_text())["metrics"])
    return table


def choose(table: dict[int, dict[float, float]], trained: int) -> int:
    """The count whose worst margin is smallest; ties go to the trained count, then fewer steps."""
    return min(table, key=lambda n: (max(table[n].values()), n != trained, n))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Rule: a count's score is max over validation values and coordinates of "
        "max(|ratio - 1| / 0.2, W1/std / 0.1); the smallest wins (ties: trained count, then "
        "fewer steps). Below 1 means every cell lies inside issue 13's target.",
    )
    p.add_argument("out", type=Path, help="a conditional_eval.py folder (with run/)")
    p.add_argument("--values", type=float, nargs="+", required=True, help="validation rho")
    p.add_argument("--steps", type=int, nargs="+", required=True, help="candidate counts")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args()
    if any(n < 1 for n in args.steps):
        raise ChaosganError(f"--steps must be >= 1, got {args.steps}")
    trained = trained_steps(args.out)
    table = scores(args.out, args.values, sorted(set(args.steps)), trained)
    best = choose(table, trained)
    if args.json:
        rows = {str(n): {f"{r:g}": m for r, m in row.items()} for n, row in table.items()}
        print(json.dumps({"trained": trained, "margins": rows, "chosen": best}, indent=1))
        return
    print("| steps at sampling | " + " | ".join(f"rho = {r:g}" for r in args.values) + " | worst |")
    print("|---:|" + "---:|" * (len(args.values) + 1))
    for n, row in table.items():
        label = f"{n} (trained)" if n == trained else str(n)
        cells = " | ".join(f"{row[r]:.2f}" for r in args.values)
        print(f"| {label} | {cells} | {max(row.values()):.2f} |")
    print(f"\nchosen: {best} steps (trained with {trained})")


if __name__ == "__main__":
    try:
        main()
    except ChaosganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
