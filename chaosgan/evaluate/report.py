"""Side-by-side Lyapunov report of a real and a generated dataset (or any two datasets).

Both datasets go through the *same* estimator with the same fixed parameters. For each coordinate
the report gives the median exponent of each dataset with its bootstrap 95% CI, and the ratio
generated / real of the medians with a bootstrap CI (both datasets resampled independently). Two
independent real datasets must give a ratio whose CI contains 1; that is the report's own sanity
check. Where the real dataset's system is in the catalogue, the exponent from the equations
(QR method) is shown as the reference.

With ``metrics=True`` (the command line's default) the report is also the fidelity scorecard of
:mod:`chaosgan.scorecard`: ``report.json`` gains a ``metrics`` section and ``report.md`` opens with
its table, every metric beside its real-vs-real floor.

Outputs in the report folder: ``report.json``, ``report.md`` and PNG figures (exponent
distributions, attractors, time series, histograms, spectra and autocorrelations, one-step
errors). Every file is written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from chaosgan.atomic import write_text_atomic  # noqa: E402
from chaosgan.dataset import Dataset  # noqa: E402
from chaosgan.errors import ChaosganError  # noqa: E402
from chaosgan.lyapunov.from_data import DatasetEstimate, estimate_dataset  # noqa: E402
from chaosgan.lyapunov.spectrum import lyapunov_spectrum  # noqa: E402
from chaosgan.plots import save_figure  # noqa: E402
from chaosgan.systems import SYSTEMS  # noqa: E402


def ratio_ci(
    generated: np.ndarray, real: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """Ratio of medians generated / real and its percentile-bootstrap 95% CI."""
    g = generated[np.isfinite(generated)]
    r = real[np.isfinite(real)]
    if len(g) == 0 or len(r) == 0:
        return float("nan"), (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    gm = np.median(g[rng.integers(0, len(g), (n_boot, len(g)))], axis=1)
    rm = np.median(r[rng.integers(0, len(r), (n_boot, len(r)))], axis=1)
    lo, hi = np.quantile(gm / rm, [0.025, 0.975])
    return float(np.median(g) / np.median(r)), (float(lo), float(hi))


def reference_exponent(ds: Dataset) -> float | None:
    """Largest exponent from the equations for the dataset's system and parameters, 1/time."""
    name = ds.meta.get("system")
    if name not in SYSTEMS:
        return None
    system = SYSTEMS[name]
    params = ds.meta.get("params") or {}
    if all(params.get(k) == v for k, v in system.defaults.items()):
        return float(system.reference_exponents[0])
    if system.dim(params) > 3:
        return None  # large systems: the QR computation would dominate the report's time
    return float(lyapunov_spectrum(system, params, n_trajectories=16, t_average=200.0).exponents[0])


def compare(
    real: Dataset, generated: Dataset, method: str = "rosenstein", backend: str = "auto"
) -> tuple[dict, DatasetEstimate, DatasetEstimate]:
    """The report's numbers: per-coordinate medians, CIs and ratios, as a JSON-ready dict."""
    if real.trajectories.shape[2] != generated.trajectories.shape[2]:
        raise ChaosganError("the two datasets have different numbers of coordinates")
    if not np.isclose(real.dt, generated.dt):
        raise ChaosganError(f"the datasets have different dt ({real.dt} vs {generated.dt})")
    est_real = estimate_dataset(real, method, backend=backend)
    est_gen = estimate_dataset(generated, method, backend=backend)
    coords = {}
    for name, r in est_real.coordinates.items():
        g = est_gen.coordinates[name]
        value, ci = ratio_ci(g.values, r.values)
        coords[name] = {
            "real": {"median": r.median, "ci95": list(r.ci95), "n": r.n},
            "generated": {"median": g.median, "ci95": list(g.ci95), "n": g.n},
            "ratio": {"value": value, "ci95": list(ci)},
        }
    result = {
        "method": method,
        "units": "1/time",
        "dt": real.dt,
        "estimator_params": est_real.params,
        "coordinates": coords,
    }
    ref = reference_exponent(real)
    if ref is not None:
        result["reference_exponent"] = ref
    return result, est_real, est_gen


def _plot_distributions(est_real, est_gen, ref, path: Path) -> Path:
    names = list(est_real.coordinates)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(names), 4))
    data, pos, colours = [], [], []
    for i, name in enumerate(names):
        for j, (est, colour) in enumerate([(est_real, "tab:blue"), (est_gen, "tab:orange")]):
            v = est.coordinates[name].values
            data.append(v[np.isfinite(v)])
            pos.append(3 * i + j)
            colours.append(colour)
    parts = ax.violinplot(data, positions=pos, showmedians=True, widths=0.9)
    for body, colour in zip(parts["bodies"], colours, strict=True):
        body.set_facecolor(colour)
    ax.set_xticks([3 * i + 0.5 for i in range(len(names))], names)
    if ref is not None:
        ax.axhline(ref, color="k", ls="--", lw=1, label=f"equations: {ref:.4f}")
    ax.plot([], [], color="tab:blue", lw=6, label="real")
    ax.plot([], [], color="tab:orange", lw=6, label="generated")
    ax.legend(loc="best", fontsize=8)
    ax.set_ylabel(f"largest exponent, {est_real.method} (1/time)")
    return save_figure(fig, path)


def _plot_pair(real: Dataset, generated: Dataset, folder: Path) -> list[Path]:
    paths = []
    fig = plt.figure(figsize=(10, 4.5))
    for k, (ds, label) in enumerate([(real, "real"), (generated, "generated")]):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        for traj in ds.trajectories[:4]:
            ax.plot(traj[:, 0], traj[:, 1], traj[:, min(2, traj.shape[1] - 1)], lw=0.4)
        ax.set_title(label)
    paths.append(save_figure(fig, folder / "attractors.png"))

    d = min(3, real.trajectories.shape[2])
    names = real.coordinate_names
    fig, axes = plt.subplots(d, 2, figsize=(11, 1.9 * d), sharex=True, squeeze=False)
    t = np.arange(real.trajectories.shape[1]) * real.dt
    for k, ds in enumerate([real, generated]):
        for c in range(d):
            axes[c, k].plot(t[: ds.trajectories.shape[1]], ds.trajectories[0, :, c], lw=0.6)
            axes[c, k].set_ylabel(names[c])
        axes[0, k].set_title("real" if k == 0 else "generated")
        axes[-1, k].set_xlabel("time (time units)")
    paths.append(save_figure(fig, folder / "time_series.png"))

    fig, axes = plt.subplots(1, d, figsize=(3.6 * d, 3), squeeze=False)
    for c in range(d):
        lo = min(real.trajectories[..., c].min(), generated.trajectories[..., c].min())
        hi = max(real.trajectories[..., c].max(), generated.trajectories[..., c].max())
        bins = np.linspace(lo, hi, 60)
        for ds, label in [(real, "real"), (generated, "generated")]:
            axes[0, c].hist(
                ds.trajectories[..., c].ravel(), bins, density=True, alpha=0.5, label=label
            )
        axes[0, c].set_xlabel(names[c])
    axes[0, 0].legend(fontsize=8)
    paths.append(save_figure(fig, folder / "histograms.png"))
    return paths


def _markdown(result: dict, real_path: str, gen_path: str, figures: list[str]) -> str:
    lines = ["# Lyapunov report", ""]
    if "metrics" in result:
        from chaosgan.scorecard import scorecard_markdown

        lines += ["## Scorecard", ""] + scorecard_markdown(result["metrics"]) + ["", "## Exponents"]
    lines += [
        "",
        f"Real: `{real_path}`; generated: `{gen_path}`. Estimator: {result['method']} "
        f"(same fixed parameters for both, {result['units']}), dt = {result['dt']:g}.",
        "",
        "| coordinate | real median [95% CI] | generated median [95% CI] "
        "| ratio gen/real [95% CI] |",
        "|---|---|---|---|",
    ]
    for name, c in result["coordinates"].items():
        r, g, q = c["real"], c["generated"], c["ratio"]
        lines.append(
            f"| {name} | {r['median']:.4f} [{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}] "
            f"| {g['median']:.4f} [{g['ci95'][0]:.4f}, {g['ci95'][1]:.4f}] "
            f"| {q['value']:.3f} [{q['ci95'][0]:.3f}, {q['ci95'][1]:.3f}] |"
        )
    if "reference_exponent" in result:
        lines += ["", f"Largest exponent from the equations: {result['reference_exponent']:.4f}."]
    lines += [
        "",
        "A ratio CI that contains 1 means the two datasets' exponents are compatible.",
        "",
    ]
    lines += [f"![{Path(f).stem}]({Path(f).name})" for f in figures]
    return "\n".join(lines) + "\n"


def write_report(
    real: Dataset,
    generated: Dataset,
    out: str | Path,
    real_path: str = "real",
    generated_path: str = "generated",
    method: str = "rosenstein",
    backend: str = "auto",
    force: bool = False,
    metrics: bool = False,
    real2: Dataset | None = None,
) -> dict:
    """Compute the comparison and write ``report.json``, ``report.md`` and figures into ``out``.

    With ``metrics`` the scorecard is added, its floor computed against ``real2`` (simulated
    with another seed when ``None`` and the system is known).
    """
    out = Path(out)
    if (out / "report.json").exists() and not force:
        raise ChaosganError(f"{out}/report.json exists; pass --force to overwrite it")
    out.mkdir(parents=True, exist_ok=True)
    result, est_real, est_gen = compare(real, generated, method, backend)
    figures = [
        _plot_distributions(
            est_real, est_gen, result.get("reference_exponent"), out / "exponents.png"
        )
    ]
    figures += _plot_pair(real, generated, out)
    if metrics:
        from chaosgan.scorecard import independent_real, scorecard, scorecard_figures

        real2 = real2 if real2 is not None else independent_real(real)
        floor, _, _ = compare(real, real2, method, backend)
        result["metrics"], extras = scorecard(real, generated, real2, result, floor)
        figures += scorecard_figures(real, generated, extras, out)
    result["figures"] = [p.name for p in figures]
    write_text_atomic(out / "report.json", json.dumps(result, indent=2) + "\n")
    write_text_atomic(
        out / "report.md", _markdown(result, real_path, generated_path, [str(p) for p in figures])
    )
    return result
