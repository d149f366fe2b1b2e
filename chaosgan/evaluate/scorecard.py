"""The fidelity scorecard: every metric for real vs generated, beside the real-vs-real floor.

The floor is the same metric between the real data and an independent real dataset (another
seed, same system and sampling): no imitation can be told apart better than that, so a generated
score is read against it, never against zero. Where the real data's system is in the catalogue,
the floor dataset is simulated automatically and the one-step dynamics error uses the true flow;
otherwise pass the second real dataset yourself, and the flow is a model fitted by
``chaosgan identify`` (STLSQ, weak form) on the real data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from chaosgan import metrics  # noqa: E402
from chaosgan.dataset import Dataset  # noqa: E402
from chaosgan.errors import ChaosganError  # noqa: E402
from chaosgan.plots import save_figure  # noqa: E402
from chaosgan.systems import SYSTEMS  # noqa: E402

DESCRIPTIONS = {
    "wasserstein_over_std": "W1 between each coordinate's marginals / real std; >= 0, 0 best",
    "state_space_divergence": "D_stsp, KL of 30-bin state-space histograms; >= 0, 0 best",
    "hellinger_spectrum": "D_H, Hellinger distance of smoothed power spectra; [0, 1], 0 best",
    "autocorrelation_distance": "mean abs. ACF difference up to 5 time units; [0, 2], 0 best",
    "one_step_error": "distance of x(t+dt) from the flow of x(t) / attractor diameter; 0 best",
    "lyapunov_ratio": "median Rosenstein exponent, other / real, with 95% CI; 1 best",
    "correlation_dimension_ratio": "median corr_dim (nolds), other / real; 1 best",
    "diversity_ratio": "mean RMS distance between two series, other / real; 1 best, 0 collapse",
    "discriminative_accuracy": "held-out accuracy of a 1-D CNN real vs other; 0.5 best",
}


def independent_real(real: Dataset, seed_offset: int = 1000) -> Dataset:
    """A second real dataset like ``real`` (same system, parameters, dt, size), another seed."""
    from chaosgan.simulate import simulate

    meta = real.meta
    if meta.get("system") not in SYSTEMS:
        raise ChaosganError("the real data's system is unknown: pass a second real dataset")
    return simulate(
        meta["system"],
        n=real.n_series,
        steps=real.trajectories.shape[1],
        dt=real.dt,
        seed=int(meta.get("seed") or 0) + seed_offset,
        params=meta.get("params"),
        burn_in=meta.get("burn_in") or 20.0,
        method=meta.get("method", "rk4"),
        substeps=meta.get("substeps"),
    )


def flow_of(real: Dataset) -> tuple[Any, Any, str]:
    """The flow to judge one-step dynamics with: the known system, else an identified model."""
    name = real.meta.get("system")
    if name in SYSTEMS and real.meta.get("params"):
        return SYSTEMS[name].rhs, real.meta["params"], f"known system {name}"
    from chaosgan.identify.fit import fit_coefficients
    from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
    from chaosgan.identify.regressors import STLSQ

    library = PolynomialLibrary(real.trajectories.shape[2], 2, tuple(real.coordinate_names))
    coef, _ = fit_coefficients(real.trajectories[:64], real.dt, STLSQ(), library)
    return PolynomialModel(library, coef).rhs, None, "model identified on the real data (STLSQ)"


def _pair_metrics(
    real: Dataset, other: Dataset, flow, params, diameter: float, radii: np.ndarray, seed: int
) -> dict[str, Any]:
    r, o = real.trajectories, other.trajectories
    errors = metrics.one_step_errors(o, flow, params, real.dt, diameter)
    cd_real = metrics.correlation_dimension(r, radii)
    return {
        "wasserstein_over_std": metrics.wasserstein_over_std(r, o),
        "state_space_divergence": metrics.state_space_divergence(r, o),
        "hellinger_spectrum": metrics.hellinger_spectrum(r, o),
        "autocorrelation_distance": metrics.autocorrelation_distance(r, o, real.dt),
        "one_step_error": {
            "median": float(np.median(errors)),
            "p99": float(np.quantile(errors, 0.99)),
        },
        "correlation_dimension_ratio": metrics.correlation_dimension(o, radii) / cd_real,
        "diversity_ratio": metrics.diversity(o, r, seed=seed) / metrics.diversity(r, r, seed=seed),
        "discriminative_accuracy": metrics.discriminative_score(r, o, seed=seed),
        "_errors": errors,
    }


def scorecard(
    real: Dataset,
    generated: Dataset,
    real2: Dataset | None = None,
    lyapunov: dict | None = None,
    floor_lyapunov: dict | None = None,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metrics_json, extras)``: every metric for generated and for the floor, plus arrays
    for the figures. ``lyapunov`` / ``floor_lyapunov`` are ``compare()`` results to fold in."""
    if real2 is None:
        real2 = independent_real(real)
    flow, params, flow_name = flow_of(real)
    diameter = metrics.attractor_diameter(real.trajectories)
    radii = metrics.corr_dim_radii(real.trajectories)
    gen = _pair_metrics(real, generated, flow, params, diameter, radii, seed)
    floor = _pair_metrics(real, real2, flow, params, diameter, radii, seed)
    out: dict[str, Any] = {}
    for key in (
        "wasserstein_over_std",
        "state_space_divergence",
        "hellinger_spectrum",
        "autocorrelation_distance",
        "one_step_error",
        "correlation_dimension_ratio",
        "diversity_ratio",
        "discriminative_accuracy",
    ):
        out[key] = {"generated": gen[key], "floor": floor[key], "description": DESCRIPTIONS[key]}
    out["one_step_error"]["flow"] = flow_name
    out["one_step_error"]["baselines"] = metrics.trivial_baselines(real.trajectories, diameter)
    if lyapunov is not None and floor_lyapunov is not None:
        out["lyapunov_ratio"] = {
            "generated": {k: v["ratio"] for k, v in lyapunov["coordinates"].items()},
            "floor": {k: v["ratio"] for k, v in floor_lyapunov["coordinates"].items()},
            "description": DESCRIPTIONS["lyapunov_ratio"],
        }
    extras = {"real2": real2, "errors": gen["_errors"], "floor_errors": floor["_errors"]}
    return out, extras


def scorecard_markdown(m: dict[str, Any]) -> list[str]:
    """The table at the top of report.md: metric, generated, floor, what it means."""

    def fmt(v: Any) -> str:
        if isinstance(v, list):
            return ", ".join(f"{x:.3g}" for x in v)
        if isinstance(v, dict) and "median" in v:
            return f"median {v['median']:.3g}, p99 {v['p99']:.3g}"
        if isinstance(v, dict):
            return ", ".join(
                f"{k} {x['value']:.2f} [{x['ci95'][0]:.2f}, {x['ci95'][1]:.2f}]"
                for k, x in v.items()
            )
        return f"{v:.3g}"

    lines = ["| metric | generated | floor (real vs real) | meaning |", "|---|---|---|---|"]
    for key, v in m.items():
        lines.append(f"| {key} | {fmt(v['generated'])} | {fmt(v['floor'])} | {v['description']} |")
    b = m["one_step_error"]["baselines"]
    lines += [
        "",
        f"One-step error under the {m['one_step_error']['flow']}; trivial baselines on real data: "
        f"predicting no change {b['no_change']:.3f}, an unrelated attractor point "
        f"{b['random_point']:.3f} (medians, fraction of the attractor diameter).",
    ]
    return lines


def scorecard_figures(real: Dataset, generated: Dataset, extras: dict, out: Path) -> list[Path]:
    """Overlaid power spectra and autocorrelations, and the one-step-error histogram."""
    r, g, r2 = real.trajectories, generated.trajectories, extras["real2"].trajectories
    names = real.coordinate_names[: min(3, r.shape[2])]
    d = len(names)
    paths = []
    fig, axes = plt.subplots(2, d, figsize=(4 * d, 6), squeeze=False)
    freqs = np.fft.rfftfreq(r.shape[1], real.dt)
    lag = min(int(round(5.0 / real.dt)), r.shape[1] - 1)
    lags = np.arange(lag + 1) * real.dt
    for x, label in [(r, "real"), (r2, "real (other seed)"), (g, "generated")]:
        spec = metrics.power_spectra(x[..., :d])
        acf = metrics.autocorrelations(x[..., :d], lag)
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

    fig, ax = plt.subplots(figsize=(7, 3.5))
    hi = np.quantile(np.concatenate([extras["errors"], extras["floor_errors"]]), 0.995)
    bins = np.linspace(0, max(hi, 1e-6), 80)
    ax.hist(np.clip(extras["floor_errors"], 0, hi), bins, alpha=0.6, label="real (other seed)")
    ax.hist(np.clip(extras["errors"], 0, hi), bins, alpha=0.6, label="generated")
    ax.set_xlabel("one-step error / attractor diameter")
    ax.set_ylabel("pairs")
    ax.legend()
    paths.append(save_figure(fig, out / "one_step_error.png"))
    return paths
