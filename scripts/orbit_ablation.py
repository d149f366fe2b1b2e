"""Ablation: what makes the GAN's series orbits? The best recipe before (pack 4 + snake), with
the series critic, with the physics loss (model identified from the training data), with both,
and the best recipe with the shooting layer (:mod:`chaosgan.gan.shooting`); each sampled raw and
projected onto orbits of the identified model, each scored in full.

Every run trains the small model (``scripts/demo_gan.toml``) on 1000 Lorenz-63 series (dt = 0.1,
seed 0) on the CPU for ``--epochs`` epochs, samples 1000 series, and writes the scorecard against
a held-out real set (seed 1) with a third real set (seed 2) as the real-vs-real floor. The
script is resumable: every stage whose output exists is skipped (an interrupted training resumes
from its last checkpoint), so it survives the end of a session; results land in ``--out``:

    <out>/<variant>_s<seed>/raw/report.json         scorecard of the raw samples
    <out>/<variant>_s<seed>/projected/report.json   ... of the same samples, projected

    python scripts/orbit_ablation.py --epochs 60              # 5 variants x 2 seeds
    python scripts/orbit_ablation.py --variants both --seeds 0 --epochs 20   # a quick look
    python scripts/orbit_ablation.py --table                  # the table of what is done

The weights of the series critic and the physics loss are those of ``--preset best``
(:data:`chaosgan.gan.config.PRESETS`); the last variant, ``best``, is that preset itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = ROOT / "scripts" / "demo_gan.toml"


def variants() -> dict[str, dict]:
    from chaosgan.gan.config import PRESETS

    best = PRESETS["best"]
    before = {"pack": best["pack"], "layout": best["layout"]}
    series = {"series_weight": best["series_weight"]}
    physics = {k: v for k, v in best.items() if k.startswith("physics")}
    return {
        "before": before,
        "series": {**before, **series},
        "physics": {**before, **physics},
        # both, and the series critic sees the residuals of the physics model
        "both": {**before, **series, **physics, "series_residual": best["series_residual"]},
        # ... with noise on those residuals: --preset best
        "best": dict(best),
        # best, with the shooting layer: the identified model integrates between the
        # generator's segment starts (every 8th sample), its continuity loss on from the start
        "shooting": {**best, "shooting": 8, "physics_start": 0.0, "physics_warmup": 0.1},
    }


def chaosgan(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "chaosgan.cli", *args]
    print("$ chaosgan " + " ".join(args), flush=True)
    return subprocess.run(cmd, check=check, cwd=ROOT, stderr=subprocess.PIPE, text=True)


def run_one(out: Path, name: str, overrides: dict, seed: int, epochs: int) -> None:
    folder = out / f"{name}_s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.toml"
    config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in overrides.items()))
    run = folder / "run"
    ckpt = run / "checkpoints" / "last.pt"
    done = folder / "trained.json"
    if not done.exists():
        start = time.perf_counter()
        common = ["--epochs", str(epochs), "--seed", str(seed), "--device", "cpu"]
        if ckpt.exists():
            chaosgan("train", str(out / "real_seed0.npz"), "--out", str(run), "--resume", *common)
        else:
            chaosgan(
                "train",
                str(out / "real_seed0.npz"),
                "--out",
                str(run),
                "--config",
                str(SIZE),
                "--config",
                str(config),
                "--force",
                *common,
            )
        done.write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1)}))
    train_data = str(out / "real_seed0.npz")  # for runs trained without a physics model
    for kind, flags in (("raw", []), ("projected", ["--project", "--train", train_data])):
        generated = folder / f"{kind}.npz"
        failed = folder / f"{kind}_failed.txt"
        if failed.exists():
            continue
        if not generated.exists():
            done = chaosgan(
                "sample", str(run), "--n", "1000", "--out", str(generated), *flags, check=False
            )
            if done.returncode != 0:  # projection refuses series far from every orbit: say so
                failed.write_text(done.stderr)
                print(done.stderr, end="", flush=True)
                continue
        report = folder / kind
        if not (report / "report.json").exists():
            chaosgan(
                "score",
                "--real",
                str(out / "real_seed1.npz"),
                "--generated",
                str(generated),
                "--floor",
                str(out / "real_seed2.npz"),
                "--train",
                str(out / "real_seed0.npz"),
                "--out",
                str(report),
                "--force",
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--epochs", type=int, default=60, help="epochs per run (default 60)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds")
    ap.add_argument("--variants", nargs="+", default=list(variants()), help="which variants")
    ap.add_argument("--out", default="results/orbit_ablation", help="results folder")
    ap.add_argument("--table", action="store_true", help="only print the table of finished runs")
    args = ap.parse_args()
    out = ROOT / args.out
    if not args.table:
        out.mkdir(parents=True, exist_ok=True)
        for seed in (0, 1, 2):  # 0: training data, 1: held-out real, 2: the floor's real set
            path = out / f"real_seed{seed}.npz"
            if not path.exists():
                chaosgan(
                    "simulate",
                    "--n",
                    "1000",
                    "--dt",
                    "0.1",
                    "--seed",
                    str(seed),
                    "--out",
                    str(path),
                )
        table = variants()
        unknown = [v for v in args.variants if v not in table]
        if unknown:
            sys.exit(f"error: unknown variant {unknown[0]!r} (valid: {', '.join(table)})")
        for name in args.variants:
            for seed in args.seeds:
                run_one(out, name, table[name], seed, args.epochs)
    folders, names = [], []
    for name in variants():
        for seed in args.seeds:
            for kind in ("raw", "projected"):
                folder = out / f"{name}_s{seed}" / kind
                failed = out / f"{name}_s{seed}" / f"{kind}_failed.txt"
                if (folder / "report.json").exists():
                    folders.append(str(folder))
                    names.append(f"{name} s{seed} {kind}")
                elif failed.exists():
                    print(f"{name} s{seed} {kind}: {failed.read_text().strip()}")
    if folders:
        compare = ROOT / "scripts" / "compare_reports.py"
        subprocess.run([sys.executable, str(compare), "--names", ",".join(names), *folders])


if __name__ == "__main__":
    main()
