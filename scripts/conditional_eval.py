"""Conditional generation across Lorenz-63's rho: train once, score per value, plot the exponent.

One conditional GAN (the small model of ``scripts/demo_gan.toml`` with PacGAN packs of 4, the
snake layout and the series critic, ``condition = ["rho"]``; or ``--preset`` and ``--set
key=value`` on top of the small model and the condition, e.g. the physics loss of a model
identified with rho as a variable) is trained on 1000 series (dt = 0.1) whose rho is drawn
uniformly from [24, 40] per series. For held-out values inside that range (interpolation: values
never seen exactly in training) and just outside it (extrapolation, reported, not required),
it samples 500 series, simulates 500 real ones at that rho, and writes the full scorecard
(``chaosgan score``, with its real-vs-real floor). Then, over a grid of rho, it sets the largest
Lyapunov exponent from the equations (QR method, :func:`chaosgan.lyapunov.spectrum.
lyapunov_spectrum`) beside Rosenstein estimates of real and of generated series at each value
(the scorecard's fixed parameters), and the mean of z (which grows with rho on the attractor).

Everything lands in ``--out`` (default ``results/conditional/``) as it is computed, and every
stage whose output exists is skipped (an interrupted training resumes from its checkpoint):

    <out>/train.npz, <out>/run/                 training data and the conditional run
    <out>/rho_<value>/report/report.json        the scorecard at one value
    <out>/grid/rho_<value>.json                 exponents and mean z at one grid value
    <out>/table.md, <out>/lyapunov_vs_rho.png   the table and the figure

    python scripts/conditional_eval.py --epochs 60        # all of it (CPU, ~30 min on 2 cores)
    python scripts/conditional_eval.py --table            # the table of what is done
    python scripts/conditional_eval.py --out results/conditional_wgan_physics \
        --preset wgan-gp --set physics=identified --set physics_weight=3000 \
        --set physics_start=0.3 --set physics_warmup=0.3  # another recipe, its own folder
    python scripts/conditional_eval.py --out results/conditional_wgan_physics --preset \
        wgan-gp ... --relax 200    # the same run's samples relaxed towards orbits (labelled):
                                   # <out>/rho_<value>_relax200/, <out>/table_relax200.md,
                                   # with the path exponent (the equations' tangent flow
                                   # along each series, over the real set's; see path_ratio)
    python scripts/conditional_eval.py --out ... --refine-steps 40  # the run's refinement
                                   # layer run for 40 steps instead of its trained number
                                   # (a diagnostic, labelled): <out>/rho_<value>_refine40/
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from experiments import parse_set, write_config

from chaosgan.errors import ChaosganError

ROOT = Path(__file__).resolve().parent.parent
SIZE = ROOT / "scripts" / "demo_gan.toml"
RECIPE = {
    "pack": 4,
    "layout": "snake",
    "series_weight": 1.0,
    "condition": ["rho"],
}
RANGE = (24.0, 40.0)


def chaosgan(*args: str) -> None:
    cmd = [sys.executable, "-m", "chaosgan.cli", *map(str, args)]
    print("$ chaosgan " + " ".join(map(str, args)), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def tag(rho: float) -> str:
    return f"{rho:g}"


def train_stage(out: Path, args: argparse.Namespace) -> dict:
    data = out / "train.npz"
    if not data.exists():
        lo, hi = RANGE
        chaosgan("simulate", "--n", args.n_train, "--dt", 0.1, "--param", f"rho={lo:g}:{hi:g}",
                 "--seed", 0, "--out", data)  # fmt: skip
    recipe = {**RECIPE, **parse_set(args.set)} if args.preset is None else parse_set(args.set)
    config = write_config(out / "recipe.toml", {**recipe, "condition": RECIPE["condition"]})
    run, done = out / "run", out / "trained.json"
    if not done.exists():
        start = time.perf_counter()
        common = ["--epochs", args.epochs, "--seed", args.seed, "--device", "cpu"]
        resumed = (run / "checkpoints" / "last.pt").exists()
        if resumed:
            chaosgan("train", data, "--out", run, "--resume", *common)
        else:
            preset = [] if args.preset is None else ["--preset", args.preset]
            configs = ["--config", SIZE, "--config", config]
            chaosgan("train", data, "--out", run, *preset, *configs, *common)
        from chaosgan.gan.checkpoint import load_checkpoint

        recorded = load_checkpoint(run).get("train_seconds")  # summed across resumes
        info = {
            "epochs": args.epochs,
            "seconds": round(recorded or time.perf_counter() - start, 1),
            "resumed": resumed and not recorded,  # then seconds cover only the last part
            "config": json.loads((run / "config.json").read_text()),
        }
        done.write_text(json.dumps(info, indent=1))
    return json.loads(done.read_text())


class Variant(NamedTuple):
    """A labelled draw from the same run, scored in its own folders: its samples relaxed
    towards orbits (``chaosgan sample --relax``) or drawn with the trained refinement layer run
    for another number of steps (``--refine-steps``, a diagnostic of its convergence)."""

    name: str  # "" for the run's own samples, e.g. "relax200", "refine40"
    flags: tuple[str | int, ...] = ()


RAW = Variant("")


def folder_of(out: Path, rho: float, variant: Variant = RAW) -> Path:
    """Where one value's data and report live (a variant's samples: their own folder)."""
    return out / (f"rho_{tag(rho)}" + (f"_{variant.name}" if variant.name else ""))


def score_stage(out: Path, rho: float, k: int, n_eval: int, variant: Variant = RAW) -> None:
    folder = folder_of(out, rho, variant)
    folder.mkdir(parents=True, exist_ok=True)
    real, gen, report = folder / "real.npz", folder / "generated.npz", folder / "report"
    raw_real = folder_of(out, rho) / "real.npz"
    if variant.name and not real.exists() and raw_real.exists():  # the raw samples' real set
        shutil.copyfile(raw_real, real)
    if not real.exists():
        chaosgan("simulate", "--n", n_eval, "--dt", 0.1, "--param", f"rho={rho:g}",
                 "--seed", 100 + k, "--out", real)  # fmt: skip
    if not gen.exists():
        chaosgan("sample", out / "run", "--n", n_eval, "--condition", f"rho={rho:g}",
                 "--seed", 0, "--device", "cpu", "--out", gen, *variant.flags)  # fmt: skip
    if not (report / "report.json").exists():
        chaosgan("score", "--real", real, "--generated", gen, "--out", report, "--force")


def grid_stage(out: Path, grid: list[float], n_grid: int) -> None:
    """QR exponent from the equations, Rosenstein of real and generated series, mean z."""
    import torch

    from chaosgan.gan.sample import sample
    from chaosgan.lyapunov.from_data import estimate_dataset
    from chaosgan.lyapunov.spectrum import lyapunov_spectrum
    from chaosgan.simulate import simulate

    torch.set_num_threads(1)
    folder = out / "grid"
    folder.mkdir(exist_ok=True)
    for k, rho in enumerate(grid):
        path = folder / f"rho_{tag(rho)}.json"
        if path.exists():
            continue
        start = time.perf_counter()
        spectrum = lyapunov_spectrum("lorenz63", {"rho": rho}, n_trajectories=8, t_average=200.0)
        real = simulate("lorenz63", n=n_grid, dt=0.1, seed=200 + k, params={"rho": rho})
        gen = sample(out / "run", n=n_grid, seed=1, device="cpu", condition={"rho": rho})
        entry = {
            "rho": rho,
            "qr_largest": float(spectrum.exponents[0]),
            "qr_stderr": float(spectrum.stderr[0]),
        }
        for name, ds in (("real", real), ("generated", gen)):
            est = estimate_dataset(ds)  # the scorecard's fixed Rosenstein parameters
            entry[name] = {
                "rosenstein_median": {c: s.median for c, s in est.coordinates.items()},
                "mean_z": float(ds.trajectories[:, :, 2].mean()),
            }
        entry["seconds"] = round(time.perf_counter() - start, 1)
        path.write_text(json.dumps(entry, indent=1))
        print(f"grid rho={rho:g}: {entry['seconds']} s", flush=True)


def path_ratio(folder: Path, rho: float) -> float:
    """A variant's samples' median path exponent over the real set's, both under the equations at
    ``rho`` (:func:`chaosgan.lyapunov.spectrum.path_exponents`; the truth judges, as it does the
    one-step error): how unstable the near-orbits' paths are, with no estimator in between.
    Cached in ``folder/path_exponents.json``."""
    from chaosgan.atomic import write_text_atomic
    from chaosgan.lyapunov.spectrum import path_exponents

    cache = folder / "path_exponents.json"
    if not cache.exists():
        medians = {
            name: float(np.median(path_exponents(
                "lorenz63", np.load(folder / f"{name}.npz")["trajectories"], 0.1,
                params={"rho": rho},
            )))
            for name in ("real", "generated")
        }  # fmt: skip
        write_text_atomic(cache, json.dumps(medians, indent=1))
    medians = json.loads(cache.read_text())
    return medians["generated"] / medians["real"]


def table(out: Path, values: list[float], variant: Variant = RAW) -> str:
    path_head = " path exponent |" if variant.name else ""
    head = (
        "| rho | where | Lyapunov ratio x, y, z [95% CI of x] |" + path_head + " W1/std x, y, z "
        "| one-step error | diversity | classifier | mean z real / generated |\n"
        "|---:|---|---|" + ("---:|" if variant.name else "") + "---|---:|---:|---:|---|\n"
    )
    rows = []
    for rho in values:
        folder = folder_of(out, rho, variant)
        path = folder / "report" / "report.json"
        if not path.exists():
            continue
        m = json.loads(path.read_text())["metrics"]
        lyap = m["lyapunov_ratio"]["generated"]
        ci = lyap["x"]["ci95"]
        w1 = m["wasserstein_over_std"]["generated"]
        one = m["one_step_error"]["generated"]
        one = one["median"] if isinstance(one, dict) else one
        where = "inside" if RANGE[0] <= rho <= RANGE[1] else "extrapolation"
        real = np.load(folder / "real.npz")["trajectories"][:, :, 2].mean()
        gen = np.load(folder / "generated.npz")["trajectories"][:, :, 2].mean()
        path = f" {path_ratio(folder, rho):.2f} |" if variant.name else ""
        rows.append(
            f"| {rho:g} | {where} | "
            + ", ".join(f"{lyap[c]['value']:.2f}" for c in "xyz")
            + f" [{ci[0]:.2f}, {ci[1]:.2f}] |{path} "
            + ", ".join(f"{v:.3f}" for v in w1)
            + f" | {one:.3f} | {m['diversity_ratio']['generated']:.2f} | "
            + f"{m['discriminative_accuracy']['generated']:.2f} | {real:.1f} / {gen:.1f} |"
        )
    grid = "" if variant.name else grid_table(out)
    return head + "\n".join(rows) + "\n" + spread_table(out, values, variant) + grid


def grid_entries(out: Path) -> list[dict]:
    """The grid stage's results (``grid/rho_<value>.json``), in increasing rho."""
    return sorted(
        (json.loads(p.read_text()) for p in (out / "grid").glob("rho_*.json")),
        key=lambda e: e["rho"],
    )


def grid_exponent(entry: dict, side: str) -> float:
    """One grid value's Rosenstein exponent for ``side`` ("real" or "generated"): the median
    over series, averaged over x, y and z, per time unit."""
    return float(np.mean(list(entry[side]["rosenstein_median"].values())))


def grid_table(out: Path) -> str:
    """The figure's left panel as numbers: at each grid value, the largest exponent from the
    equations (QR) and the median Rosenstein exponent of real and generated series (the mean
    over x, y and z), per time unit."""
    entries = grid_entries(out)
    if not entries:
        return ""
    lines = [
        "",
        "| rho | QR | Rosenstein real (mean of x, y, z) | generated |",
        "|---:|---:|---:|---:|",
    ]
    for e in entries:
        real, gen = (grid_exponent(e, side) for side in ("real", "generated"))
        lines.append(f"| {e['rho']:g} | {e['qr_largest']:.2f} | {real:.2f} | {gen:.2f} |")
    return "\n".join(lines) + "\n"


def spread_table(out: Path, values: list[float], variant: Variant = RAW) -> str:
    """Each coordinate's spread at each scored value, real / generated: the 1st-99th
    percentile range and the standard deviation over all samples (a generator on too small
    loops shows here before anywhere else), the mean local maximum, and how little of each
    maximum the one before explains (``metrics.maxima_map_unexplained``: Lorenz's return map,
    0 deterministic, 1 random), and how often each series crosses the real mean, beyond a band
    of 0.3 real std, per time unit (``metrics.mean_crossing_rates``; on x and y the wing
    switches)."""
    from chaosgan.dataset import load
    from chaosgan.evaluate.metrics import (
        maxima_map_unexplained,
        mean_crossing_rates,
        successive_maxima,
    )

    lines = [
        "",
        "| rho | coordinate | 1st-99th percentile, real | generated | std real / generated "
        "| mean maximum real / generated | maxima map unexplained real / generated "
        "| crossings of the real mean per time unit real / generated |",
        "|---:|---|---|---|---|---|---|---|",
    ]
    for rho in values:
        folder = folder_of(out, rho, variant)
        if not (folder / "report" / "report.json").exists():
            continue
        real, gen = (load(folder / f) for f in ("real.npz", "generated.npz"))
        stats = real.coordinate_stats(), gen.coordinate_stats()
        cross = [
            mean_crossing_rates(x.trajectories, real.trajectories, real.dt) for x in (real, gen)
        ]
        for c, name in enumerate(real.coordinate_names):
            rs, gs = stats[0][name], stats[1][name]
            r, g = real.trajectories[:, :, c], gen.trajectories[:, :, c]
            peaks = [successive_maxima(x)[0].mean() for x in (r, g)]
            unexplained = [maxima_map_unexplained(x) for x in (r, g)]
            lines.append(
                f"| {rho:g} | {name} | {rs['p1']:.1f} to {rs['p99']:.1f} | "
                f"{gs['p1']:.1f} to {gs['p99']:.1f} | {rs['std']:.2f} / {gs['std']:.2f} | "
                f"{peaks[0]:.1f} / {peaks[1]:.1f} | {unexplained[0]:.2f} / {unexplained[1]:.2f} | "
                f"{cross[0][c]:.2f} / {cross[1][c]:.2f} |"
            )
    return "\n".join(lines) + "\n"


def figure(out: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = grid_entries(out)
    if not entries:
        return None
    rho = np.array([e["rho"] for e in entries])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for a in (ax, bx):
        a.axvspan(*RANGE, color="0.92", label="training range")
        a.set_xlabel("rho")
    qr, se = (
        np.array([e["qr_largest"] for e in entries]),
        np.array([e["qr_stderr"] for e in entries]),
    )
    ax.errorbar(rho, qr, yerr=se, color="k", marker="o", label="QR, from the equations")
    for side, style in (("real", "s--"), ("generated", "^-")):
        med = np.array([grid_exponent(e, side) for e in entries])
        ax.plot(rho, med, style, label=f"Rosenstein, {side} series (median, mean of x, y, z)")
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_ylabel("largest Lyapunov exponent (1/time unit)")
    ax.legend(fontsize=8)
    for side, style in (("real", "s--"), ("generated", "^-")):
        bx.plot(rho, [e[side]["mean_z"] for e in entries], style, label=side)
    bx.set_ylabel("mean of z")
    bx.legend(fontsize=8)
    fig.suptitle("Conditional GAN on Lorenz-63 (trained on rho ~ U(24, 40))")
    fig.tight_layout()
    path = out / "lyapunov_vs_rho.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "results" / "conditional")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0, help="the training seed (the data's stay)")
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-eval", type=int, default=500)
    p.add_argument("--n-grid", type=int, default=200, help="series per grid value")
    p.add_argument("--inside", type=float, nargs="+", default=[26.0, 30.0, 33.0, 37.0])
    p.add_argument("--outside", type=float, nargs="*", default=[20.0, 44.0])
    p.add_argument("--grid", type=float, nargs="+", default=list(np.arange(20.0, 45.0, 2.0)))
    p.add_argument("--table", action="store_true", help="only print the table of what is done")
    variants = p.add_mutually_exclusive_group()
    variants.add_argument(
        "--relax",
        type=int,
        default=0,
        metavar="STEPS",
        help="score samples relaxed towards orbits (chaosgan sample --relax STEPS) of the same "
        "run, in rho_<value>_relax<STEPS>/ and table_relax<STEPS>.md (no grid stage)",
    )
    variants.add_argument(
        "--refine-steps",
        type=int,
        default=0,
        metavar="N",
        help="score the same run's samples drawn with its refinement layer run for N steps "
        "(chaosgan sample --refine-steps N; a diagnostic, labelled), in rho_<value>_refine<N>/ "
        "and table_refine<N>.md (no grid stage)",
    )
    p.add_argument(
        "--preset",
        help="config preset under the small model and the condition (default: the recipe above)",
    )
    p.add_argument(
        "--set", action="append", default=[], help="config override key=value (repeatable)"
    )
    args = p.parse_args()
    out = args.out
    values = sorted(args.inside + args.outside)
    if args.relax < 0 or args.refine_steps < 0:
        raise ChaosganError(
            f"--relax and --refine-steps must be >= 0, got {args.relax} and {args.refine_steps}"
        )
    variant = RAW
    if args.relax:
        variant = Variant(f"relax{args.relax}", ("--relax", args.relax))
    elif args.refine_steps:
        variant = Variant(f"refine{args.refine_steps}", ("--refine-steps", args.refine_steps))
    name = f"table_{variant.name}.md" if variant.name else "table.md"
    if not args.table:
        parse_set(args.set)  # a bad item fails here, before anything is written
        out.mkdir(parents=True, exist_ok=True)
        info = train_stage(out, args)
        print(f"trained {info['epochs']} epochs in {info['seconds']} s", flush=True)
        for k, rho in enumerate(values):
            try:
                score_stage(out, rho, k, args.n_eval, variant)
            except subprocess.CalledProcessError as exc:  # one value must not stop the rest
                print(f"rho={rho:g} failed ({exc}); going on", flush=True)
            (out / name).write_text(table(out, values, variant))
        if not variant.name:  # the grid is of the run's own samples
            grid_stage(out, [float(r) for r in args.grid], args.n_grid)
            print(f"figure: {figure(out)}")
    text = table(out, values, variant)
    if out.exists():
        (out / name).write_text(text)
    print(text)


if __name__ == "__main__":
    try:
        main()
    except ChaosganError as exc:  # a bad --set item: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
