"""The leaderboard: which generator imitates chaos best? One table, every generator trained on
the same data under the same budget and scored against the same held-out real set.

Data: 1000 Lorenz-63 series (1024 samples at dt = 0.1; ``chaosgan simulate``): the training set
(seed 0), the held-out real set every row is scored against (seed 1), the floor's second real
set (seed 2), and, for the reference rows, an independent real set per seed (seed 10 + s). The
conditional row trains on series whose rho is drawn per series in [24, 40] (``--param
rho=24:40``, seed 0) and is sampled and scored at rho = 28, the held-out set's value.

Budget (``--budget full``): every GAN row trains the small model (``scripts/demo_gan.toml``) for
the same number of epochs (60; ``--epochs``) on the CPU, two seeds (0, 1), then 1000 series are
sampled; the table reports the measured wall time of each row's training beside its scores (the
recipes differ in cost per epoch: the budget is the epochs, the time is the price). The
echo-state network's time is its hyperparameter search and fit. ``--budget tiny`` (32 series,
1 epoch, 1 seed, a 100-unit reservoir, reports without figures) exists for the tests.

Rows (:data:`ROWS`; ``--rows`` selects): generators (the study's preset, our best recipe, each
loss, the Wasserstein game with the physics loss, the best recipe on it, the refinement recipe
of the conditional rows without the condition (:data:`REFINE_RECIPE`, momentum 0.8), the recurrent
generator, the conditional ones at rho = 28 (the plain conditional run and the README's
conditional recipe, :data:`CONDITIONAL_RECIPE`, with refinement momentum 0.9 sampled with
thirty-five steps and with momentum 0.8 sampled with the trained thirty: the counts
``scripts/choose_refine_steps.py`` chose on validation values), the echo-state network, the best
recipe with orbit projection) and reference rows that are not generators: an independent real
set (the real-vs-real floor), rollouts of a model identified from the training data (no true
equation enters: what identifying the equations buys), real + 5% noise, time-shuffled real.
A row whose feature is not in the code yet (an unknown config key, preset, loss or flag) is
reported as "not available" and tried again on the next run.

Resumable: each (row, seed) writes ``<out>/rows/<row>_s<seed>/result.json`` when done (beside
its generated data and full report) and is skipped afterwards; an interrupted training resumes
from its checkpoint. A failed row is recorded as failed (``--retry`` tries it again). The table
is rewritten after every row: ``<out>/leaderboard.md`` and ``leaderboard.json``.

    flock /work/notes/heavy.lock nice -n 10 env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python scripts/leaderboard.py                    # every row, 2 seeds (hours on 2 cores)
    python scripts/leaderboard.py --rows esn,floor --seeds 0  # a few rows
    python scripts/leaderboard.py --table                # reprint the table of what is done
    python scripts/leaderboard.py --budget tiny --out /tmp/lb   # seconds to minutes
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from experiments import ROOT, SIZE, chaosgan, simulate_real, train

from chaosgan.atomic import write_text_atomic
from chaosgan.dataset import Dataset, load, make_dataset
from chaosgan.errors import ChaosganError
from chaosgan.jsonio import dumps

SCHEMA = "chaosgan-leaderboard/1"


@dataclass(frozen=True)
class Budget:
    """What every row gets: series in each data set, training epochs, seeds, samples, and the
    echo-state network's reservoir size; ``figures``: draw each report's figures."""

    n: int
    epochs: int
    seeds: tuple[int, ...]
    samples: int
    reservoir: int
    figures: bool = True


BUDGETS = {
    "full": Budget(n=1000, epochs=60, seeds=(0, 1), samples=1000, reservoir=600),
    "tiny": Budget(n=32, epochs=1, seeds=(0,), samples=32, reservoir=100, figures=False),
}


@dataclass(frozen=True)
class Row:
    """One line of the table.

    kind: ``gan`` (trained with ``chaosgan train``: ``preset``, then the small model, then
    ``overrides``; sampled with ``chaosgan sample`` + ``sample_flags``), ``esn`` (``chaosgan
    baseline esn``) or ``reference`` (made here from real data or an identified model).
    ``train_data``: which data set it trains on; ``run``: share another row's training run.
    """

    name: str
    label: str
    kind: str
    preset: str = "default"
    overrides: dict[str, Any] = field(default_factory=dict)
    train_data: str = "train"
    sample_flags: tuple[str, ...] = ()
    run: str | None = None


# the README's refinement recipe ("Thirty refinement steps"), on top of preset best-wgan-refine:
# marginals in the 2-Wasserstein distance and thirty refinement steps; the conditional rows add
# the condition on rho, and the two conditional-refine rows differ only in the layer's momentum
# and the sampling count
REFINE_RECIPE = {
    "marginal_weight": 300.0,
    "marginal_order": 2,
    "refine_steps": 30,
}
CONDITIONAL_RECIPE = {"condition": ["rho"], **REFINE_RECIPE}

ROWS: list[Row] = [
    Row("floor", "real vs real (independent real set)", "reference"),
    Row(
        "identified",
        "identified model (identified from data), random initial conditions",
        "reference",
    ),  # fmt: skip
    Row("noise5", "real + 5% noise", "reference"),
    Row("shuffled", "time-shuffled real", "reference"),
    Row("esn", "echo-state network (reservoir computing)", "esn"),
    Row("study", "SN-DCGAN, the study's preset", "gan", preset="study"),
    Row("best", "our best recipe (--preset best)", "gan", preset="best"),
    Row(
        "best-projected",
        "best recipe + orbit projection (sample --project)",
        "gan",
        preset="best",
        run="best",
        sample_flags=("--project",),
    ),  # fmt: skip
    Row("bce", "loss: non-saturating BCE", "gan", overrides={"loss": "bce"}),
    Row("hinge", "loss: hinge", "gan", overrides={"loss": "hinge"}),
    Row("minimax", "loss: saturating minimax", "gan", overrides={"loss": "minimax"}),
    Row("lsgan", "loss: least squares", "gan", overrides={"loss": "lsgan"}),
    Row(
        "wgan-gp", "loss: Wasserstein + gradient penalty (preset wgan-gp)", "gan", preset="wgan-gp"
    ),
    Row(
        "wgan-physics",
        "Wasserstein + physics loss (preset wgan-physics)",
        "gan",
        preset="wgan-physics",
    ),  # fmt: skip
    Row(
        "best-wgan",
        "best recipe on the Wasserstein game, no gradient penalty (preset best-wgan)",
        "gan",
        preset="best-wgan",
    ),
    Row(
        "best-wgan-relaxed",
        "best-wgan + relaxation towards orbits (sample --relax 200; not raw)",
        "gan",
        preset="best-wgan",
        run="best-wgan",
        sample_flags=("--relax", "200"),
    ),  # fmt: skip
    Row(
        "refine-m08",
        "best-wgan-refine + marginals, 30 refinement steps, momentum 0.8 (the conditional "
        "recipe without the condition)",
        "gan",
        preset="best-wgan-refine",
        overrides={**REFINE_RECIPE, "refine_momentum": 0.8},
    ),
    Row(
        "recurrent",
        "recurrent generator (preset recurrent: best recipe, GRU generator)",
        "gan",
        preset="recurrent",
    ),
    Row(
        "conditional",
        "conditional on rho (trained on rho in [24, 40]), at rho = 28",
        "gan",
        overrides={"condition": ["rho"]},
        train_data="train-rho",
        sample_flags=("--condition", "rho=28"),
    ),  # fmt: skip
    Row(
        "conditional-refine",
        "conditional on rho, best-wgan-refine + marginals, 30 refinement steps "
        "(sampled with 35), at rho = 28",
        "gan",
        preset="best-wgan-refine",
        overrides=CONDITIONAL_RECIPE,
        train_data="train-rho",
        sample_flags=("--condition", "rho=28", "--refine-steps", "35"),
    ),
    Row(
        "conditional-refine-m08",
        "conditional on rho, the same with refinement momentum 0.8 (sampled with the trained 30), "
        "at rho = 28",
        "gan",
        preset="best-wgan-refine",
        overrides={**CONDITIONAL_RECIPE, "refine_momentum": 0.8},
        train_data="train-rho",
        sample_flags=("--condition", "rho=28"),
    ),
]
ROW_NAMES = [r.name for r in ROWS]

# one-line refusals that mean "this feature is not in the code yet", not "this row failed"
NOT_AVAILABLE = (
    "unknown config key",
    "unknown preset",
    "must be one of",
    "unrecognized arguments",
    "invalid choice",
    "is not a number",
)


class NotAvailable(Exception):
    """The row's feature is not in the code yet."""


class StepFailed(Exception):
    """A command of the row failed; the message is its last stderr line."""


def refused(stderr: str) -> Exception:
    """The exception for a command's one-line refusal (its last stderr line)."""
    line = (stderr or "").strip().splitlines()[-1] if (stderr or "").strip() else "failed"
    line = line.removeprefix("error: ").split(" (valid: ")[0]
    kind = NotAvailable if any(p in line for p in NOT_AVAILABLE) else StepFailed
    return kind(line)


def run_step(*args: str) -> None:
    done = chaosgan(*args, check=False)
    if done.returncode != 0:
        raise refused(done.stderr)


def check_available(row: Row) -> None:
    """Raise :class:`NotAvailable` when the row's config is unknown to this code."""
    if row.kind != "gan":
        return
    from chaosgan.gan.config import load_config

    try:
        load_config(row.preset, [SIZE], row.overrides)
    except ChaosganError as exc:
        raise NotAvailable(str(exc).split(" (valid: ")[0]) from None


# --- data --------------------------------------------------------------------------------------
class Context:
    """The data sets (simulated once, on first use) and the budget."""

    def __init__(self, out: Path, budget: Budget):
        self.out, self.budget = out, budget
        self.data = out / "data"
        self._loaded: dict[str, Dataset] = {}

    def path(self, key: str) -> Path:
        seeds = {"train": 0, "heldout": 1, "floor": 2}
        path = self.data / f"{key}.npz"
        if key in seeds:
            simulate_real(path, seeds[key], self.budget.n)
        elif key.startswith("other"):  # independent real sets of the reference rows
            simulate_real(path, 10 + int(key[5:]), self.budget.n)
        elif key == "train-rho" and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            run_step("simulate", "--n", str(self.budget.n), "--dt", "0.1", "--seed", "0",
                     "--param", "rho=24:40", "--out", str(path))  # fmt: skip
        return path

    def load(self, key: str) -> Dataset:
        if key not in self._loaded:
            self._loaded[key] = load(self.path(key))
        return self._loaded[key]


# --- producing each row's series -----------------------------------------------------------------
def produce_gan(row: Row, seed: int, ctx: Context, generated: Path) -> dict[str, Any]:
    check_available(row)
    data = ctx.path(row.train_data)
    run_folder = ctx.out / "runs" / f"{row.run or row.name}_s{seed}"
    try:
        seconds = train(run_folder, data, row.overrides, seed, ctx.budget.epochs, row.preset)
    except subprocess.CalledProcessError as exc:
        raise refused(exc.stderr) from None
    resumed = json.loads((run_folder / "trained.json").read_text()).get("resumed", False)
    start = time.perf_counter()
    run_step("sample", str(run_folder / "run"), "--n", str(ctx.budget.samples), "--seed",
             str(seed), "--device", "cpu", "--out", str(generated), *row.sample_flags)  # fmt: skip
    notes = [f"training shared with row {row.run}"] if row.run else []
    if resumed:
        notes.append("training time covers the resumed part only")
    return {
        "train_seconds": seconds,
        "sample_seconds": round(time.perf_counter() - start, 1),
        "epochs": ctx.budget.epochs,
        "notes": notes,
    }


def produce_esn(row: Row, seed: int, ctx: Context, generated: Path) -> dict[str, Any]:
    start = time.perf_counter()
    run_step("baseline", "esn", str(ctx.path("train")), "--out", str(generated), "--n",
             str(ctx.budget.samples), "--seed", str(seed), "--reservoir",
             str(ctx.budget.reservoir), "--force")  # fmt: skip
    esn = load(generated).meta["esn"]
    return {
        "train_seconds": esn["fit_seconds"],
        "sample_seconds": round(time.perf_counter() - start - esn["fit_seconds"], 1),
        "hyperparameters": esn["hyperparameters"],
        "notes": ["time: hyperparameter search on held-out series + fit"],
    }


def identified_rollouts(train_set: Dataset, n: int, seed: int) -> tuple[np.ndarray, dict]:
    """``n`` series of the model :func:`chaosgan.identify.identify_model` picks from the
    training data alone, from initial states drawn uniformly in the training data's bounding
    box (20 time units of burn-in under the model, RK4 at dt / 10). Runs that leave 10x that
    box or overflow are dropped and replaced (the acceptance is recorded)."""
    from chaosgan.identify import identify_model
    from chaosgan.integrate import advance, integrate

    x = train_set.trajectories
    names = tuple(train_set.coordinate_names)
    model, info = identify_model(x, train_set.dt, seed=seed, variable_names=names)
    lo, hi = x.min(axis=(0, 1)), x.max(axis=(0, 1))
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    rng = np.random.default_rng(seed)
    h = train_set.dt / 10
    kept, drawn = [], 0
    while sum(len(k) for k in kept) < n and drawn < 5 * n:
        x0 = rng.uniform(lo, hi, size=(n, lo.size)).T
        with np.errstate(all="ignore"):
            x0 = advance(model.rhs, x0, None, h, int(round(20.0 / h)))
            out = integrate(model.rhs, x0, None, train_set.dt, x.shape[1], 10).transpose(2, 0, 1)
        ok = np.isfinite(out).all(axis=(1, 2)) & (np.abs(out - centre) <= 10 * half).all(
            axis=(1, 2)
        )
        kept.append(out[ok])
        drawn += n
    series = np.concatenate(kept)[:n]
    if len(series) < n:
        raise StepFailed(
            f"only {len(series)} of {drawn} rollouts of the identified model stayed bounded"
        )
    return series, {
        "method": info["method"],
        "equations": model.equations(),
        "acceptance": float(sum(len(k) for k in kept) / drawn),
        "source": "identified from the training data (chaosgan.identify.identify_model)",
    }


def produce_reference(row: Row, seed: int, ctx: Context, generated: Path) -> dict[str, Any]:
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    extra: dict[str, Any] = {}
    if row.name == "identified":
        train_set = ctx.load("train")
        series, extra = identified_rollouts(train_set, ctx.budget.samples, seed)
        meta = train_set.meta
    else:
        other = ctx.load(f"other{seed}")
        meta, x = other.meta, other.trajectories[: ctx.budget.samples]
        if row.name == "floor":
            series = x
        elif row.name == "noise5":
            series = x + rng.normal(size=x.shape) * 0.05 * x.reshape(-1, x.shape[2]).std(axis=0)
        elif row.name == "shuffled":
            # each series' states in its own random time order (the state vectors stay whole)
            order = np.argsort(rng.random(x.shape[:2]), axis=1)
            series = np.take_along_axis(x, order[:, :, None], axis=1)
        else:
            raise ValueError(f"no reference row {row.name!r}")
    seconds = round(time.perf_counter() - start, 1)
    make_dataset(
        series,
        kind="generated",
        system=meta.get("system"),
        params=meta.get("params"),
        dt=meta["dt"],
        seed=seed,
        burn_in=None,
        coordinates=meta.get("coordinates"),
        generator=f"reference: {row.label}",
        reference=extra,
    ).save(generated, force=True)
    return {"train_seconds": seconds if row.name == "identified" else None, "notes": []}


PRODUCERS = {"gan": produce_gan, "esn": produce_esn, "reference": produce_reference}


# --- scoring --------------------------------------------------------------------------------------
def compute(row: Row, seed: int, ctx: Context, retry: bool = False) -> dict[str, Any]:
    """The result of one (row, seed): from ``result.json`` if done, else produced and scored."""
    from chaosgan.evaluate import score, write_report

    folder = ctx.out / "rows" / f"{row.name}_s{seed}"
    result_path = folder / "result.json"
    if result_path.exists():
        result = json.loads(result_path.read_text())
        if result["status"] == "ok":
            return backfill(result, result_path, folder / "generated.npz", ctx)
        if not retry:
            return result
    folder.mkdir(parents=True, exist_ok=True)
    generated, timing_path = folder / "generated.npz", folder / "timing.json"
    base = {"row": row.name, "seed": seed}
    try:
        if not (generated.exists() and timing_path.exists()):
            timing = PRODUCERS[row.kind](row, seed, ctx, generated)
            write_text_atomic(timing_path, dumps(timing))
        timing = json.loads(timing_path.read_text())
        train_key = row.train_data if row.kind == "gan" else "train"
        card = score(
            ctx.load("heldout"),
            load(generated),
            floor=ctx.load("floor"),
            train=ctx.load(train_key),
        )
    except NotAvailable as exc:
        print(f"{row.name} s{seed}: not available ({exc})", flush=True)
        return {**base, "status": "not available", "reason": str(exc)}
    except (StepFailed, ChaosganError) as exc:
        result = {**base, "status": "failed", "reason": str(exc)}
        write_text_atomic(result_path, dumps(result))
        print(f"{row.name} s{seed}: failed ({exc})", flush=True)
        return result
    card_dict = card.to_dict()
    if ctx.budget.figures:
        write_report(card, folder / "report", force=True)
    else:
        (folder / "report").mkdir(exist_ok=True)
        write_text_atomic(folder / "report" / "report.json", dumps(card_dict) + "\n")
        write_text_atomic(folder / "report" / "report.md", card.to_markdown() + "\n")
    result = {
        **base,
        "status": "ok",
        **timing,
        "metrics": {k: v["generated"] for k, v in card_dict["metrics"].items()},
        "floor": {k: v["floor"] for k, v in card_dict["metrics"].items()},
        "warnings": card_dict["warnings"],
    }
    write_text_atomic(result_path, dumps(result))
    return result


def backfill(result: dict[str, Any], path: Path, generated: Path, ctx: Context) -> dict[str, Any]:
    """A row scored before the scorecard gained a metric that needs only the series themselves
    (:data:`BACKFILL`) gets it from its saved series, computed as ``chaosgan score`` does, and
    its ``result.json`` is rewritten; nothing is retrained or resampled."""
    missing = [k for k in BACKFILL if k not in result["metrics"]]
    if not missing or not generated.exists():
        return result
    series = {"metrics": load(generated), "floor": ctx.load("floor")}
    real = ctx.load("heldout")
    for key in missing:
        for side, data in series.items():
            result[side][key] = BACKFILL[key](data, real)
    result.setdefault("notes", []).append(f"backfilled from the saved series: {', '.join(missing)}")
    write_text_atomic(path, dumps(result))
    return result


def _speed_factor(data: Dataset, _real: Dataset) -> float:
    """The scorecard's speed factor of one set, under the true Lorenz-63 flow (what ``chaosgan
    score`` judges the leaderboard's catalogue data with)."""
    from chaosgan.evaluate import metrics
    from chaosgan.systems import get_system

    system = get_system("lorenz63")
    return metrics.speed_factor(data.trajectories, system.rhs, system.resolve_params(), data.dt)


def _grid_recurrence(data: Dataset, _real: Dataset) -> float:
    from chaosgan.evaluate import metrics

    return metrics.grid_recurrence(data.trajectories)


def _crossing_rate_ratio(data: Dataset, real: Dataset) -> list[float]:
    from chaosgan.evaluate import metrics

    return metrics.crossing_rate_ratio(real.trajectories, data.trajectories, real.dt)


def _return_map_ratio(data: Dataset, real: Dataset) -> list[float]:
    from chaosgan.evaluate import metrics

    return metrics.return_map_ratio(real.trajectories, data.trajectories)


# metrics added to the scorecard after rows were scored, each computed as the scorecard does from
# one set's saved series (and the held-out real set, for those that compare with it)
BACKFILL: dict[str, Callable[[Dataset, Dataset], Any]] = {
    "grid_recurrence": _grid_recurrence,
    "speed_factor": _speed_factor,
    "crossing_rate_ratio": _crossing_rate_ratio,
    "return_map_ratio": _return_map_ratio,
}


# --- the table --------------------------------------------------------------------------------
SHORT = {
    "wasserstein_over_std": "W1/std (max)",
    "state_space_divergence": "D_stsp",
    "hellinger_spectrum": "D_H",
    "autocorrelation_distance": "ACF dist.",
    "one_step_error": "one-step (median, p99)",
    "speed_factor": "speed factor",
    "correlation_dimension_ratio": "corr. dim",
    "diversity_ratio": "diversity",
    "discriminative_accuracy": "classifier",
    "state_space_divergence_per_series": "D_stsp/series",
    "hellinger_spectrum_per_series": "D_H/series",
    "lyapunov_ratio": "Lyapunov x, y, z",
    "memorisation_ratio": "memorisation",
    "grid_recurrence": "grid recurrence",
    "crossing_rate_ratio": "crossings x, y, z",
    "return_map_ratio": "return map x, y, z",
}

# ratios shown per coordinate (the others' lists show their worst coordinate)
PER_COORDINATE = ("crossing_rate_ratio", "return_map_ratio")


def summarise(key: str, values: list[Any]) -> Any:
    """The mean over seeds of one metric (vectors: worst coordinate for W1; per coordinate for
    the exponents and :data:`PER_COORDINATE`'s ratios; median and p99 for the one-step error)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    if key == "one_step_error":
        return {q: float(np.mean([v[q] for v in values])) for q in ("median", "p99")}
    if key == "lyapunov_ratio":
        coords = values[0].keys()
        return {c: float(np.mean([v[c]["value"] for v in values])) for c in coords}
    if key in PER_COORDINATE:
        return [float(np.mean(c)) for c in zip(*values, strict=True)]
    if isinstance(values[0], list):
        return float(np.mean([max(v) for v in values]))
    return float(np.mean(values))


def fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "one_step_error":
        return f"{value['median']:.3g}, {value['p99']:.2g}"
    if key == "lyapunov_ratio":
        return ", ".join(f"{v:.2f}" for v in value.values())
    if key in PER_COORDINATE:
        return ", ".join(f"{v:.2f}" for v in value)
    return f"{value:.3g}"


def table(rows: list[Row], results: dict[str, list[dict]], budget: dict) -> tuple[str, dict]:
    """Markdown and JSON of the leaderboard from the per-seed results."""
    # every metric any row has, in SHORT's order (rows scored before a metric existed show -)
    seen = {k for rs in results.values() for r in rs if r["status"] == "ok" for k in r["metrics"]}
    keys = [k for k in SHORT if k in seen] + sorted(seen - set(SHORT)) or list(SHORT)
    head = ["row", "seeds", *(SHORT.get(k, k) for k in keys), "train s"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    per_seed = list(lines)  # the same columns, one line per (row, seed)
    out_rows = []
    for row in rows:
        rs = results.get(row.name, [])
        ok = [r for r in rs if r["status"] == "ok"]
        entry: dict[str, Any] = {"row": row.name, "label": row.label, "kind": row.kind}
        if ok:
            mean = {k: summarise(k, [r["metrics"].get(k) for r in ok]) for k in keys}
            secs = [r["train_seconds"] for r in ok if r.get("train_seconds") is not None]
            entry.update(status="ok", seeds=[r["seed"] for r in ok], mean=mean)
            entry["train_seconds"] = float(np.mean(secs)) if secs else None
            cells = [fmt(k, mean[k]) for k in keys]
            cells.append(f"{entry['train_seconds']:.0f}" if secs else "-")
            seeds = ",".join(str(r["seed"]) for r in ok)
            for r in ok:
                one = [fmt(k, summarise(k, [r["metrics"].get(k)])) for k in keys]
                t = r.get("train_seconds")
                one.append(f"{t:.0f}" if t is not None else "-")
                per_seed.append(f"| {row.label} | {r['seed']} | " + " | ".join(one) + " |")
        else:
            status = rs[0]["status"] if rs else "not computed"
            reason = rs[0].get("reason", "") if rs else ""
            entry.update(status=status, reason=reason)
            cells = [f"{status}: {reason}"[:80] if reason else status] + ["-"] * len(keys)
            seeds = "-"
        entry["results"] = rs
        out_rows.append(entry)
        lines.append(f"| {row.label} | {seeds} | " + " | ".join(cells) + " |")
    md = "\n".join(
        [
            f"Leaderboard ({budget['name']} budget: {budget['n']} training series, "
            f"{budget['epochs']} epochs of the small model per GAN row, seeds "
            f"{', '.join(map(str, budget['seeds']))}, {budget['samples']} series sampled; "
            "every row scored against the same held-out real set). Cells: mean over seeds "
            "(each seed below and in leaderboard.json); W1/std: the worst coordinate; train s: "
            "wall time of training (ESN: hyperparameter search + fit; identified: "
            "identification).",
            "",
            *lines,
        ]
    )
    if any(len(e.get("seeds", [])) > 1 for e in out_rows):  # several seeds: show each
        md += "\n\nEach seed:\n\n" + "\n".join(per_seed)
    return md, {"schema": SCHEMA, "budget": budget, "rows": out_rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--budget", choices=list(BUDGETS), default="full", help="default: full")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per GAN row (default: budget)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="(default: budget)")
    ap.add_argument("--rows", default=",".join(ROW_NAMES), help="comma-separated (default: all)")
    ap.add_argument("--out", default="results/leaderboard", help="results folder")
    ap.add_argument("--table", action="store_true", help="only reprint the table of what is done")
    ap.add_argument("--retry", action="store_true", help="try failed rows again")
    args = ap.parse_args(argv)
    names = [n for n in args.rows.split(",") if n]
    unknown = [n for n in names if n not in ROW_NAMES]
    if unknown or not names:
        name = unknown[0] if unknown else ""
        print(f"error: unknown row {name!r} (valid: {', '.join(ROW_NAMES)})", file=sys.stderr)
        return 2
    budget = BUDGETS[args.budget]
    if args.epochs is not None or args.seeds is not None:
        seeds = tuple(args.seeds or budget.seeds)
        budget = replace(budget, epochs=args.epochs or budget.epochs, seeds=seeds)
    out = ROOT / args.out if not Path(args.out).is_absolute() else Path(args.out)
    described = {"name": args.budget, **asdict(budget), "seeds": list(budget.seeds)}
    marker = out / "budget.json"
    if marker.exists():
        recorded = json.loads(marker.read_text())
        if {k: v for k, v in recorded.items() if k != "seeds"} != {
            k: v for k, v in described.items() if k != "seeds"
        }:
            print(f"error: {out} holds results of another budget ({recorded}); use another --out",
                  file=sys.stderr)  # fmt: skip
            return 2
    elif not args.table:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(marker, dumps(described))
    rows = [r for r in ROWS if r.name in names]
    ctx = Context(out, budget)
    results: dict[str, list[dict]] = {}
    for row in rows:
        for seed in budget.seeds:
            if args.table:
                path = out / "rows" / f"{row.name}_s{seed}" / "result.json"
                if path.exists():
                    results.setdefault(row.name, []).append(json.loads(path.read_text()))
                continue
            print(f"== {row.name} s{seed}", flush=True)
            results.setdefault(row.name, []).append(compute(row, seed, ctx, args.retry))
            md, js = table(rows, results, described)
            write_text_atomic(out / "leaderboard.md", md + "\n")
            write_text_atomic(out / "leaderboard.json", dumps(js) + "\n")
    md, js = table(rows, results, described)
    if not args.table:
        write_text_atomic(out / "leaderboard.md", md + "\n")
        write_text_atomic(out / "leaderboard.json", dumps(js) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
