"""The fidelity scorecard: every metric for real vs generated, beside the real-vs-real floor.

:func:`score` is the whole evaluation, pure of I/O: it takes datasets and returns a
:class:`Scorecard` (``to_dict()`` for the versioned JSON, ``to_markdown()`` for the table);
:func:`chaosgan.evaluate.report.write_report` writes it out with figures.

The floor is the same metric between the real data and an independent real dataset (another
seed, same system and sampling): no imitation can be told apart better than that, so a generated
score is read against it, never against zero. The floor dataset is resolved once, here: the one
passed as ``floor``, else (when the real data's system is in the catalogue) one simulated with
another seed. The one-step dynamics error uses the true flow when the system is known, otherwise
a model fitted by STLSQ (weak form) on the real data. With a training set (``train``), the
memorisation ratio (:mod:`chaosgan.evaluate.memorisation`) says whether the generator copies it.

Nothing is dropped silently: a metric that could not be computed, a non-finite value, or
exponents that failed on some series each leave a line in ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.evaluate import metrics as metric_fns
from chaosgan.evaluate.lyapunov import LyapunovComparison, compare_exponents, resolve_params
from chaosgan.evaluate.memorisation import memorisation_ratio
from chaosgan.lyapunov.from_data import EckmannParams, RosensteinParams
from chaosgan.systems import SYSTEMS

SCHEMA = "chaosgan-scorecard/1"

DESCRIPTIONS = {
    "wasserstein_over_std": "W1 between each coordinate's marginals / real std; >= 0, 0 best",
    "state_space_divergence": "D_stsp, KL of 30-bin state-space histograms, pooled; >= 0, 0 best",
    "hellinger_spectrum": "D_H, Hellinger distance of mean power spectra, pooled; [0, 1], 0 best",
    "autocorrelation_distance": "mean abs. ACF difference up to 5 time units; [0, 2], 0 best",
    "one_step_error": "distance of x(t+dt) from the flow of x(t) / attractor diameter; 0 best",
    "speed_factor": (
        "median per-series LSQ factor c in x(t+dt) - x(t) = c (flow step); 1 best, < 1 too slow"
    ),
    "correlation_dimension_ratio": "median corr_dim (nolds), other / real; 1 best",
    "diversity_ratio": "mean RMS distance between two series, other / real; 1 best, 0 collapse",
    "discriminative_accuracy": "held-out accuracy of a 1-D CNN real vs other; 0.5 best",
    "lyapunov_ratio": "median Rosenstein exponent, other / real, with 95% CI; 1 best",
    "state_space_divergence_per_series": (
        "D_stsp as the papers compute it (reference binning), series i vs i, median; 0 best"
    ),
    "hellinger_spectrum_per_series": "D_H as the papers compute it, series i vs i, median; 0 best",
    "grid_recurrence": (
        "share of nearest neighbours a multiple of 64 samples (2 image rows) away; "
        "chance ~0.047 (the floor), higher: the series repeat on the image grid"
    ),
    "memorisation_ratio": (
        "median distance to the nearest training series, other / held-out real; 1 best, << 1 copies"
    ),
    "crossing_rate_ratio": (
        "rate of crossing each coordinate's real mean (0.3 std dead band), other / real; 1 best "
        "(Lorenz x, y: wing switches)"
    ),
    "return_map_ratio": (
        "share of each local maximum explained by the one before (Lorenz's return map), "
        "other / real; 1 best, 0 maxima in random order"
    ),
}


def independent_real(real: Dataset, seed_offset: int = 1000) -> Dataset:
    """A second real dataset like ``real`` (same system, parameters, dt, size), another seed."""
    from chaosgan.simulate import simulate

    meta = real.meta
    if real.series_param_names:
        raise ChaosganError(
            f"the real data vary {', '.join(real.series_param_names)} per series: pass a second "
            "real dataset as the floor (--floor), or score against real data at one value"
        )
    if meta.get("system") not in SYSTEMS:
        raise ChaosganError(
            "the real data's system is unknown: pass a second real dataset as the floor "
            "(--floor), or name the system (--system)"
        )
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


def parameter_mismatch(real: Dataset, other: Dataset) -> str | None:
    """A warning when ``other`` names fixed system parameters that differ from the real data's
    (a conditional generator sampled at rho = 33 scored against real data at rho = 28);
    parameters that vary per series in either are not compared."""
    a, b = real.meta.get("params"), other.meta.get("params")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return None
    if real.meta.get("system") != other.meta.get("system"):
        return None
    skip = set(real.series_param_names) | {
        name
        for name in other.series_param_names
        if other.series_params is not None and np.ptp(other.series_param(name)) > 0
    }
    differ = [
        f"{k}: {b[k]:g} vs {a[k]:g}"
        for k in sorted(set(a) & set(b) - skip)
        if not np.isclose(a[k], b[k], rtol=1e-9, atol=0)
    ]
    if not differ:
        return None
    return (
        f"the generated data's parameters differ from the real data's ({'; '.join(differ)}): "
        "they describe another system"
    )


def flow_of(real: Dataset) -> tuple[Any, Any, str]:
    """The flow to judge one-step dynamics with: the known system (when its parameters are
    the same for every real series), else a model identified on the real data."""
    name = real.meta.get("system")
    if name in SYSTEMS and real.meta.get("params") and not real.series_param_names:
        return SYSTEMS[name].rhs, real.meta["params"], f"known system {name}"
    from chaosgan.identify.fit import fit_coefficients
    from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
    from chaosgan.identify.regressors import STLSQ

    library = PolynomialLibrary(real.trajectories.shape[2], 2, tuple(real.coordinate_names))
    coef, _ = fit_coefficients(real.trajectories[:64], real.dt, STLSQ(), library)
    return PolynomialModel(library, coef).rhs, None, "model identified on the real data (STLSQ)"


def check_compatible(real: Dataset, other: Dataset, label: str, same_length: bool = True) -> None:
    """Raise a one-line :class:`ChaosganError` unless ``other`` can be scored against ``real``:
    the same system (when both name one), dimension and dt, the same series length, and at
    least two series."""
    _, t, d = real.trajectories.shape
    n2, t2, d2 = other.trajectories.shape
    system, other_system = real.meta.get("system"), other.meta.get("system")
    if system and other_system and system != other_system:
        raise ChaosganError(f"{label}: system {other_system}, the real data are {system}")
    if d2 != d:
        raise ChaosganError(f"{label}: {d2} coordinates, the real data have {d}")
    if not np.isclose(other.dt, real.dt, rtol=1e-9, atol=0):
        raise ChaosganError(f"{label}: dt = {other.dt:g}, the real data have dt = {real.dt:g}")
    if same_length and t2 != t:
        raise ChaosganError(f"{label}: series of {t2} samples, the real data have {t}")
    if n2 < 2:
        raise ChaosganError(f"{label}: {n2} series; the scorecard needs at least 2")


@dataclass
class ScoreData:
    """The arrays behind a scorecard, kept for its figures (not part of the JSON)."""

    real: Dataset
    generated: Dataset
    floor: Dataset | None
    lyapunov: LyapunovComparison
    one_step_errors: np.ndarray | None = None
    floor_one_step_errors: np.ndarray | None = None


@dataclass
class Scorecard:
    """The result of :func:`score`: inputs, metrics (generated and floor), exponents, warnings.

    ``to_dict()`` is the versioned JSON (``schema`` = ``chaosgan-scorecard/1``; every key is
    documented in the README); ``to_markdown()`` the human table.
    """

    inputs: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, Any]] | None
    lyapunov: dict[str, Any]
    warnings: list[str]
    data: ScoreData = field(repr=False)
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": self.schema, "inputs": self.inputs}
        if self.metrics is not None:
            out["metrics"] = self.metrics
        out["lyapunov"] = self.lyapunov
        out["warnings"] = list(self.warnings)
        return out

    def to_markdown(self) -> str:
        return scorecard_markdown(self.to_dict())


def describe(ds: Dataset) -> dict[str, Any]:
    """What the JSON records about one input: shape, dt, system, and the data's sha256."""
    n, t, d = ds.trajectories.shape
    return {
        "n_series": n,
        "steps": t,
        "dim": d,
        "dt": ds.dt,
        "system": ds.meta.get("system"),
        "params": ds.meta.get("params"),
        "sha256": ds.sha256(),
    }


@dataclass(frozen=True)
class RealReference:
    """What every pair's metrics take from the real data, computed once: the flow that judges
    one-step dynamics, the attractor diameter, the correlation-dimension radii and the real
    data's correlation dimension."""

    real: Dataset
    flow: Any
    flow_params: Any
    flow_name: str
    diameter: float
    radii: np.ndarray
    correlation_dimension: float

    @classmethod
    def of(cls, real: Dataset) -> RealReference:
        flow, params, name = flow_of(real)
        x = real.trajectories
        radii = metric_fns.corr_dim_radii(x)
        return cls(
            real,
            flow,
            params,
            name,
            metric_fns.attractor_diameter(x),
            radii,
            metric_fns.correlation_dimension(x, radii),
        )


def pair_metrics(
    ref: RealReference, other: Dataset, seed: int = 0
) -> tuple[dict[str, Any], np.ndarray]:
    """Every array metric of ``other`` against the real data of ``ref`` (one side of the
    scorecard: :func:`score` calls it for the generated and for the floor data), and the
    one-step errors behind the median and p99."""
    real = ref.real
    r, o = real.trajectories, other.trajectories
    errors = metric_fns.one_step_errors(o, ref.flow, ref.flow_params, real.dt, ref.diameter)
    values = {
        "wasserstein_over_std": metric_fns.wasserstein_over_std(r, o),
        "state_space_divergence": metric_fns.state_space_divergence(r, o),
        "hellinger_spectrum": metric_fns.hellinger_spectrum(r, o),
        "autocorrelation_distance": metric_fns.autocorrelation_distance(r, o, real.dt),
        "one_step_error": {
            "median": float(np.median(errors)),
            "p99": float(np.quantile(errors, 0.99)),
        },
        "speed_factor": metric_fns.speed_factor(o, ref.flow, ref.flow_params, real.dt),
        "correlation_dimension_ratio": (
            metric_fns.correlation_dimension(o, ref.radii) / ref.correlation_dimension
        ),
        "diversity_ratio": (
            metric_fns.diversity(o, r, seed=seed) / metric_fns.diversity(r, r, seed=seed)
        ),
        "discriminative_accuracy": metric_fns.discriminative_score(r, o, seed=seed),
        "state_space_divergence_per_series": metric_fns.per_series_median(
            metric_fns.state_space_divergence_reference, r, o
        ),
        "hellinger_spectrum_per_series": metric_fns.per_series_median(
            metric_fns.hellinger_spectrum_reference, r, o
        ),
        "grid_recurrence": metric_fns.grid_recurrence(o, seed=seed),
        "crossing_rate_ratio": metric_fns.crossing_rate_ratio(r, o, real.dt),
        "return_map_ratio": metric_fns.return_map_ratio(r, o),
    }
    return values, errors


def _memorisation(
    real: Dataset,
    generated: Dataset,
    floor: Dataset,
    train: Dataset | None,
    warnings: list[str],
) -> dict[str, Any] | None:
    recorded = generated.meta.get("training_data")
    recorded_sha = recorded.get("sha256") if isinstance(recorded, dict) else None
    if train is None:
        where = ""
        if recorded_sha:
            where = f" (the generated data's meta names {recorded.get('path') or 'no file'})"
        warnings.append(
            "memorisation_ratio not computed: no training set given" + where + " (--train)"
        )
        return None
    check_compatible(real, train, "training data")
    train_sha = train.sha256()
    if recorded_sha and recorded_sha != train_sha:
        warnings.append(
            "the training set given is not the one the generated data's meta records "
            f"(sha256 {train_sha[:12]} vs {recorded_sha[:12]}); memorisation_ratio uses the "
            "one given"
        )
    if real.sha256() == train_sha:
        warnings.append(
            "memorisation_ratio not computed: the real data are the training data; it needs "
            "held-out real data as the reference"
        )
        return None
    gen = memorisation_ratio(generated.trajectories, real.trajectories, train.trajectories)
    flo = memorisation_ratio(floor.trajectories, real.trajectories, train.trajectories)
    return {
        "generated": gen["ratio"],
        "floor": flo["ratio"],
        "description": DESCRIPTIONS["memorisation_ratio"],
        "distances": {
            "generated": gen["generated_median"],
            "floor": flo["generated_median"],
            "held_out_real": gen["held_out_median"],
        },
        "train": {"n_series": train.n_series, "sha256": train_sha},
    }


def _non_finite(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return isinstance(value, float) and not np.isfinite(value)


RELAXED_WARNING = (
    "Lyapunov: the generated series were relaxed towards orbits (sample --relax); the residual "
    "they keep acts as noise in the dynamics and raises Rosenstein's estimate (orbits kicked at "
    "the same one-step level read 7-18% high: scripts/relax_eval.py's dynamical-noise check); "
    "chaosgan lyapunov path measures the paths themselves"
)


def score(
    real: Dataset,
    generated: Dataset,
    *,
    floor: Dataset | None = None,
    train: Dataset | None = None,
    metrics: bool = True,
    method: str = "rosenstein",
    lyapunov_params: RosensteinParams | EckmannParams | str | None = None,
    backend: str = "auto",
    seed: int = 0,
) -> Scorecard:
    """Score ``generated`` against ``real``, every number beside the real-vs-real floor.

    Args:
        real: held-out real data (not the generator's training set).
        generated: the data to judge (same dt, dimension and series length).
        floor: an independent real dataset; default: simulated with another seed when the real
            data's system is in the catalogue (else a :class:`ChaosganError` asks for it).
        train: the generator's training set, for the memorisation ratio (skipped with a
            warning when absent).
        metrics: ``False`` compares the Lyapunov exponents only (no floor needed).
        method, lyapunov_params, backend: the exponent estimator, used identically for every
            dataset (default: Rosenstein with the fixed calibrated parameters; ``"auto"``:
            Rosenstein parameters derived once from the real data).
        seed: seed of every randomised metric (pairs, subsamples, the classifier).
    """
    if real.n_series < 2:
        raise ChaosganError(f"real data: {real.n_series} series; the scorecard needs at least 2")
    check_compatible(real, generated, "generated data")
    warnings: list[str] = []
    mismatch = parameter_mismatch(real, generated)
    if mismatch:
        warnings.append(mismatch)
    lyapunov_params = resolve_params(real, method, lyapunov_params)
    est = compare_exponents(real, generated, method=method, params=lyapunov_params, backend=backend)
    warnings += [f"Lyapunov: {w}" for w in est.real.warnings]
    if generated.meta.get("relaxed"):
        warnings.append(RELAXED_WARNING)
    for side, n_failed in est.failures().items():
        if n_failed:
            warnings.append(
                f"Lyapunov: the estimate failed on {n_failed} {side} series x coordinates "
                "(left out of the medians)"
            )
    inputs = {"real": describe(real), "generated": describe(generated)}
    if not metrics:
        data = ScoreData(real, generated, None, est)
        return Scorecard(inputs, None, est.to_dict(), warnings, data)

    floor = floor if floor is not None else independent_real(real)
    check_compatible(real, floor, "floor data")
    inputs["floor"] = describe(floor)
    if floor.sha256() == real.sha256():
        raise ChaosganError("the floor data are the real data; the floor needs independent data")
    floor_est = compare_exponents(
        real,
        floor,
        method=method,
        params=lyapunov_params,
        backend=backend,
        real_estimate=est.real,
    )
    ref = RealReference.of(real)
    gen_values, errors = pair_metrics(ref, generated, seed)
    floor_values, floor_errors = pair_metrics(ref, floor, seed)
    gen_values["lyapunov_ratio"] = est.ratios()
    floor_values["lyapunov_ratio"] = floor_est.ratios()
    if floor_est.failures()["generated"]:
        n_failed = floor_est.failures()["generated"]
        warnings.append(f"Lyapunov: the estimate failed on {n_failed} floor series x coordinates")
    table: dict[str, dict[str, Any]] = {}
    for key in gen_values:
        table[key] = {
            "generated": gen_values[key],
            "floor": floor_values[key],
            "description": DESCRIPTIONS[key],
        }
    table["one_step_error"]["flow"] = ref.flow_name
    baselines = metric_fns.trivial_baselines(real.trajectories, ref.diameter)
    table["one_step_error"]["baselines"] = baselines
    if train is not None:
        inputs["train"] = describe(train)
    memo = _memorisation(real, generated, floor, train, warnings)
    if memo is not None:
        table["memorisation_ratio"] = memo
    for key, entry in table.items():
        for side in ("generated", "floor"):
            if _non_finite(entry[side]):
                warnings.append(f"{key}: the {side} value is not finite (could not be computed)")
    data = ScoreData(real, generated, floor, est, errors, floor_errors)
    return Scorecard(inputs, table, est.to_dict(), warnings, data)


def _fmt(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(f"{x:.3g}" for x in v)
    if isinstance(v, dict) and "median" in v:
        return f"median {v['median']:.3g}, p99 {v['p99']:.3g}"
    if isinstance(v, dict):
        return ", ".join(
            f"{k} {x['value']:.2f} [{x['ci95'][0]:.2f}, {x['ci95'][1]:.2f}]" for k, x in v.items()
        )
    return f"{v:.3g}"


def scorecard_markdown(card: dict[str, Any]) -> str:
    """The Markdown of a scorecard's JSON: inputs, table, warnings, exponents."""
    has_metrics = "metrics" in card
    lines = ["# Fidelity scorecard" if has_metrics else "# Lyapunov exponents", ""]
    for role, d in card["inputs"].items():
        lines.append(
            f"- {role}: {d['n_series']} series x {d['steps']} samples x {d['dim']} coordinates, "
            f"dt = {d['dt']:g}, system {d['system']}, sha256 {d['sha256'][:12]}"
        )
    if has_metrics:
        m = card["metrics"]
        lines += [
            "",
            "| metric | generated | floor (real vs real) | meaning |",
            "|---|---|---|---|",
        ]
        for key, v in m.items():
            lines.append(
                f"| {key} | {_fmt(v['generated'])} | {_fmt(v['floor'])} | {v['description']} |"
            )
        b = m["one_step_error"]["baselines"]
        lines += [
            "",
            f"One-step error under the {m['one_step_error']['flow']}; trivial baselines on real "
            f"data: predicting no change {b['no_change']:.3f}, an unrelated attractor point "
            f"{b['random_point']:.3f} (medians, fraction of the attractor diameter).",
        ]
    if card["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in card["warnings"]]
    ly = card["lyapunov"]
    lines += [
        "",
        "## Exponents",
        "",
        f"Estimator: {ly['method']} (the same parameters for every dataset, {ly['units']}), "
        f"dt = {ly['dt']:g}.",
        "",
        "| coordinate | real median [95% CI] | generated median [95% CI] "
        "| ratio gen/real [95% CI] |",
        "|---|---|---|---|",
    ]
    for name, c in ly["coordinates"].items():
        r, g, q = c["real"], c["generated"], c["ratio"]
        lines.append(
            f"| {name} | {r['median']:.4f} [{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}] "
            f"| {g['median']:.4f} [{g['ci95'][0]:.4f}, {g['ci95'][1]:.4f}] "
            f"| {q['value']:.3f} [{q['ci95'][0]:.3f}, {q['ci95'][1]:.3f}] |"
        )
    if "reference_exponent" in ly:
        lines += ["", f"Largest exponent from the equations: {ly['reference_exponent']:.4f}."]
    lines += ["", "A ratio CI that contains 1 means the two datasets' exponents are compatible."]
    return "\n".join(lines) + "\n"
