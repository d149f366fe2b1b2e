"""Writing a scorecard out: ``report.json``, ``report.md`` and PNG figures.

:func:`write_report` is the only function of :mod:`chaosgan.evaluate` that touches the disk.
``report.json`` is :meth:`Scorecard.to_dict` plus the list of figures; ``report.md`` opens with
the scorecard table (each metric beside its floor), then any warnings, then the exponents.
Figures: exponent distributions, attractors, time series, histograms, return maps of
successive maxima (:func:`~chaosgan.evaluate.metrics.successive_maxima`: Lorenz's own picture
of determinism) and, with the metrics, spectra / autocorrelations and one-step errors. Figures
are built with matplotlib's object API (``matplotlib.figure.Figure``), so the user's backend is
never switched; every file is written atomically and an existing report is not overwritten
without ``force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from chaosgan import jsonio
from chaosgan.atomic import atomic_folder
from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.evaluate import metrics as metric_fns
from chaosgan.evaluate.scorecard import Scorecard, ScoreData, scorecard_markdown
from chaosgan.plots import save_figure


def _plot_exponents(data: ScoreData, path: Path) -> Path:
    est_real, est_gen = data.lyapunov.real, data.lyapunov.other
    ref = data.lyapunov.reference_exponent
    names = list(est_real.coordinates)
    fig = Figure(figsize=(1.8 + 1.6 * len(names), 4))
    ax = fig.subplots()
    values, pos, colours = [], [], []
    for i, name in enumerate(names):
        for j, (est, colour) in enumerate([(est_real, "tab:blue"), (est_gen, "tab:orange")]):
            v = est.coordinates[name].values
            v = v[np.isfinite(v)]
            if len(v):
                values.append(v)
                pos.append(3 * i + j)
                colours.append(colour)
    if values:
        parts = ax.violinplot(values, positions=pos, showmedians=True, widths=0.9)
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
    fig = Figure(figsize=(10, 4.5))
    for k, (ds, label) in enumerate([(real, "real"), (generated, "generated")]):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        for traj in ds.trajectories[:4]:
            ax.plot(
                traj[:, 0],
                traj[:, min(1, traj.shape[1] - 1)],
                traj[:, min(2, traj.shape[1] - 1)],
                lw=0.4,
            )
        ax.set_title(label)
    paths.append(save_figure(fig, folder / "attractors.png"))

    d = min(3, real.trajectories.shape[2])
    names = real.coordinate_names
    fig = Figure(figsize=(11, 1.9 * d))
    axes = fig.subplots(d, 2, sharex=True, squeeze=False)
    t = np.arange(real.trajectories.shape[1]) * real.dt
    for k, ds in enumerate([real, generated]):
        for c in range(d):
            axes[c, k].plot(t, ds.trajectories[0, :, c], lw=0.6)
            axes[c, k].set_ylabel(names[c])
        axes[0, k].set_title("real" if k == 0 else "generated")
        axes[-1, k].set_xlabel("time (time units)")
    paths.append(save_figure(fig, folder / "time_series.png"))

    fig = Figure(figsize=(3.6 * d, 3))
    axes = fig.subplots(1, d, squeeze=False)
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

    fig = Figure(figsize=(3.8 * d, 3.4), layout="constrained")
    axes = fig.subplots(1, d, squeeze=False)
    for c in range(d):
        for ds, label in [(real, "real"), (generated, "generated")]:
            now, after = metric_fns.successive_maxima(ds.trajectories[:200, :, c])
            keep = slice(None, None, max(1, len(now) // 4000))  # at most about 4000 dots
            axes[0, c].plot(now[keep], after[keep], ".", ms=1.5, alpha=0.5, label=label)
        axes[0, c].set_xlabel(f"{names[c]} maximum n")
        axes[0, c].set_ylabel(f"{names[c]} maximum n + 1")
    axes[0, 0].legend(fontsize=8, markerscale=6)
    paths.append(save_figure(fig, folder / "maxima_maps.png"))
    return paths


def _plot_metrics(data: ScoreData, out: Path) -> list[Path]:
    """Overlaid power spectra and autocorrelations, and the one-step-error histogram."""
    real, generated = data.real, data.generated
    r, g, r2 = real.trajectories, generated.trajectories, data.floor.trajectories
    names = real.coordinate_names[: min(3, r.shape[2])]
    d = len(names)
    paths = []
    fig = Figure(figsize=(4 * d, 6))
    axes = fig.subplots(2, d, squeeze=False)
    freqs = np.fft.rfftfreq(r.shape[1], real.dt)
    lag = min(int(round(5.0 / real.dt)), r.shape[1] - 1)
    lags = np.arange(lag + 1) * real.dt
    for x, label in [(r, "real"), (r2, "floor (independent real)"), (g, "generated")]:
        spec = metric_fns.power_spectra(x[..., :d])
        acf = metric_fns.autocorrelations(x[..., :d], lag)
        for c in range(d):
            axes[0, c].semilogy(freqs, spec[c], lw=0.8, label=label)
            axes[1, c].plot(lags, acf[c], lw=0.8, label=label)
    for c, name in enumerate(names):
        axes[0, c].set_title(name)
        axes[0, c].set_xlabel("frequency (1/time)")
        axes[1, c].set_xlabel("lag (time units)")
    axes[0, 0].set_ylabel("smoothed power (normalised)")
    axes[1, 0].set_ylabel("autocorrelation")
    axes[0, 0].legend(fontsize=8)
    paths.append(save_figure(fig, out / "spectra_autocorrelations.png"))

    errors, floor_errors = data.one_step_errors, data.floor_one_step_errors
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    both = np.concatenate([errors, floor_errors])
    both = both[np.isfinite(both)]
    hi = float(np.quantile(both, 0.995)) if len(both) else 1.0
    bins = np.linspace(0, max(hi, 1e-6), 80)
    ax.hist(np.clip(floor_errors, 0, hi), bins, alpha=0.6, label="floor (independent real)")
    ax.hist(np.clip(errors, 0, hi), bins, alpha=0.6, label="generated")
    ax.set_xlabel("one-step error / attractor diameter")
    ax.set_ylabel("pairs")
    ax.legend()
    paths.append(save_figure(fig, out / "one_step_error.png"))
    return paths


def check_report_folder(out: str | Path, force: bool) -> Path:
    """Refuse a folder that holds a report already (unless ``force``) or is a file; call it
    before a long computation as well as when writing."""
    out = Path(out)
    if (out / "report.json").exists() and not force:
        raise ChaosganError(f"{out}/report.json exists; pass --force to overwrite it")
    if out.exists() and not out.is_dir():
        raise ChaosganError(f"{out} is a file, not a folder")
    return out


def write_report(scorecard: Scorecard, out: str | Path, force: bool = False) -> dict[str, Any]:
    """Write ``report.json``, ``report.md`` and the figures of ``scorecard`` into folder ``out``;
    returns the JSON written (the scorecard's ``to_dict()`` plus ``figures``)."""
    out = check_report_folder(out, force)
    with atomic_folder(out) as stage:  # the whole folder appears at once, or not at all
        data = scorecard.data
        figures = [_plot_exponents(data, stage / "exponents.png")]
        figures += _plot_pair(data.real, data.generated, stage)
        if scorecard.metrics is not None:
            figures += _plot_metrics(data, stage)
        result = scorecard.to_dict()
        result["figures"] = [p.name for p in figures]
        (stage / "report.json").write_text(jsonio.dumps(result) + "\n")
        markdown = (
            scorecard_markdown(result) + "\n" + "\n".join(f"![{p.stem}]({p.name})" for p in figures)
        )
        (stage / "report.md").write_text(markdown + "\n")
    return result
