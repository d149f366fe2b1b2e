"""Run several identification methods on one dataset: score them, or pick one from the data.

Methods: sparse regressions on the weak (or derivative) target (``lasso``, ``ridge``,
``galerkin``, ``stlsq``), their generalised-least-squares refinement under observation noise
(``wendy``), and multiple shooting (``jaya-powell``).

- :func:`identify` fits every method and judges each model the same way: parameter and
  coefficient errors against the catalogue's truth where the dataset names its system (scoring
  only), boundedness, largest exponent, and the data-only held-out prediction error.
- :func:`identify_model` is for callers that must not know the truth (a GAN's physics term,
  say): it fits the methods on part of the series and returns the model whose multi-step
  prediction error on the held-out series is smallest, refitted on all series.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.identify.checks import is_bounded, largest_exponent, prediction_error
from chaosgan.identify.fit import TARGETS, fit_coefficients
from chaosgan.identify.jaya import JayaPowell
from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
from chaosgan.identify.observations import add_noise, check_data, split_held_out
from chaosgan.identify.regressors import STLSQ, GalerkinRegressor, LassoRegressor, RidgeRegressor
from chaosgan.identify.targets import dominant_period
from chaosgan.identify.truth import score_against_truth
from chaosgan.identify.wendy import fit_wendy
from chaosgan.systems import SYSTEMS

METHODS = ("lasso", "ridge", "galerkin", "jaya-powell", "stlsq", "wendy")
DEFAULT_MAX_SERIES = 64  # series used for fitting: 64 x 1024 samples pin the Lorenz coefficients


def make_estimator(method: str, library: PolynomialLibrary, dt: float, seed: int) -> Any:
    """The default estimator of each estimator-based method (every method but ``wendy``)."""
    if method == "lasso":
        return LassoRegressor()
    if method == "ridge":
        return RidgeRegressor()
    if method == "stlsq":
        return STLSQ()
    if method == "galerkin":
        return GalerkinRegressor(library=library)
    if method == "jaya-powell":
        return JayaPowell(dt=dt, degree=library.degree, seed=seed)
    raise ChaosganError(f"unknown method {method!r} (valid: {', '.join(METHODS)})")


def fit_method(
    method: str,
    trajectories: np.ndarray,
    dt: float,
    library: PolynomialLibrary,
    target: str = "weak",
    seed: int = 0,
) -> tuple[PolynomialModel, dict]:
    """Fit one method with its defaults: the model and a dict describing the fit.

    ``wendy`` (:mod:`chaosgan.identify.wendy`) always uses the weak form.
    """
    if method == "wendy":
        coef, info = fit_wendy(trajectories, dt, library)
        return PolynomialModel(library, coef), info
    est = make_estimator(method, library, dt, seed)
    if method == "jaya-powell":
        coef = est.fit(trajectories).coef_
        info = {"target": "multiple shooting", "loss": est.loss_, "jaya_loss": est.jaya_loss_}
    else:
        coef, info = fit_coefficients(trajectories, dt, est, library, target)
    return PolynomialModel(library, coef), info


def _check_methods(methods: Sequence[str], target: str) -> None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ChaosganError(f"unknown method {unknown[0]!r} (valid: {', '.join(METHODS)})")
    if not methods:
        raise ChaosganError("no method given")
    if target not in TARGETS:
        raise ChaosganError(f"unknown target {target!r} (valid: {', '.join(TARGETS)})")


def identify(
    ds: Dataset,
    methods: Sequence[str] = METHODS,
    target: str = "weak",
    noise: float = 0.0,
    degree: int = 2,
    seed: int = 0,
    max_series: int | None = DEFAULT_MAX_SERIES,
) -> dict:
    """Fit every method in ``methods`` to ``ds`` and evaluate each identified model.

    Returns a JSON-ready dict: ``methods`` -> {name: {params, rmse, coef_rmse, lyapunov,
    bounded, equations, fit}}, plus the data description. ``rmse`` is over the named parameters
    where the system has a reader (sigma, rho, beta for Lorenz-63), else over all coefficients;
    ``lyapunov`` is the identified model's largest exponent (1/time). No knowledge of the true
    equations enters any fit; they are used only to score. Fits use the first ``max_series``
    series (``None``: all); the evaluation of each model does not depend on it.
    """
    _check_methods(methods, target)
    varying = ds.series_param_names
    if varying:  # one fixed-parameter model of many vector fields would be a confident wrong answer
        raise ChaosganError(
            f"the data vary {', '.join(varying)} per series: no one model of fixed parameters "
            "describes them (identify them with the parameters as variables: "
            "chaosgan.identify.identify_parametric_model, or train with condition and physics)"
        )
    clean = ds.trajectories if not max_series else ds.trajectories[:max_series]
    check_data(clean)
    data = add_noise(clean, noise, seed)
    n, t, d = data.shape
    library = PolynomialLibrary(d, degree, tuple(ds.coordinate_names))
    system = SYSTEMS.get(ds.meta.get("system") or "")
    # 64 data states spread over series and time start the boundedness and exponent runs
    rows = np.random.default_rng(seed).integers(0, [n, t], size=(64, 2))
    x0 = clean[rows[:, 0], rows[:, 1], :].T.copy()
    scale = float(np.abs(clean).max())
    results = {}
    for method in methods:
        model, info = fit_method(method, data, ds.dt, library, target, seed)
        entry: dict[str, Any] = score_against_truth(
            model.coef, library, system, ds.meta.get("params")
        )
        entry["bounded"] = is_bounded(model, x0, scale)
        entry["lyapunov"] = largest_exponent(model, x0) if entry["bounded"] else float("nan")
        entry["equations"] = model.equations()
        entry["fit"] = info
        results[method] = entry
    return {
        "system": ds.meta.get("system"),
        "true_params": ds.meta.get("params"),
        "dt": ds.dt,
        "series": n,
        "samples": t,
        "noise": noise,
        "target": target,
        "library": library.names,
        "methods": results,
    }


def identify_model(
    trajectories: np.ndarray,
    dt: float,
    *,
    methods: Sequence[str] = METHODS,
    degree: int = 2,
    seed: int = 0,
    max_series: int | None = DEFAULT_MAX_SERIES,
    held_out: float = 0.25,
    refit: bool = True,
    variable_names: Sequence[str] | None = None,
) -> tuple[PolynomialModel, dict]:
    """The best polynomial model of ``trajectories`` chosen from the data alone.

    Every method is fitted with its defaults on the first ``1 - held_out`` of the series (of the
    first ``max_series``; a single series is split in time) and scored by
    :func:`chaosgan.identify.checks.prediction_error` on the held-out rest: the multi-step
    prediction error over a quarter of the data's dominant period, normalised by each
    coordinate's variance. The method with the smallest error wins and (``refit=True``) is
    fitted again on all the series used. No true equation or parameter enters anywhere, so
    the result may be used as "learned from data".

    Args:
        trajectories: ``(N, T, D)`` samples every ``dt`` time units.
        dt: sampling step, time units.
        methods: candidates, from :data:`METHODS`.
        degree: polynomial library degree.
        seed: seeds Jaya-Powell and the choice of prediction starts.
        max_series: use at most this many series (``None``: all).
        held_out: fraction of the series held out for the choice.
        refit: refit the winner on all series (else return the model fitted on the rest).
        variable_names: coordinate names for the equations (default x, y, z / x0, x1, ...).

    Returns:
        ``(model, info)``: ``info["method"]`` is the winner, ``info["criterion"]`` maps every
        method to its held-out prediction error (``inf`` where the model diverged),
        ``info["horizon_samples"]`` the horizon, ``info["fit"]`` the winner's fit description.
    """
    _check_methods(methods, "weak")
    x = np.asarray(trajectories, dtype=float)
    check_data(x)
    if dt <= 0 or not np.isfinite(dt):
        raise ChaosganError(f"dt must be a positive number of time units, got {dt}")
    if max_series:
        x = x[:max_series]
    fit_part, val_part = split_held_out(x, held_out)
    d = x.shape[2]
    library = (
        PolynomialLibrary(d, degree, tuple(variable_names))
        if variable_names
        else PolynomialLibrary(d, degree)
    )
    horizon = max(1, round(0.25 * dominant_period(x, dt) / dt))
    criterion: dict[str, float] = {}
    models: dict[str, tuple[PolynomialModel, dict]] = {}
    for method in methods:
        try:
            models[method] = fit_method(method, fit_part, dt, library, "weak", seed)
        except (np.linalg.LinAlgError, ChaosganError, FloatingPointError):
            criterion[method] = float("inf")
            continue
        criterion[method] = prediction_error(models[method][0], val_part, dt, horizon, seed=seed)
    best = min(criterion, key=lambda m: criterion[m])
    if not np.isfinite(criterion[best]):
        raise ChaosganError("every method's model diverged on the held-out data")
    model, fit_info = fit_method(best, x, dt, library, "weak", seed) if refit else models[best]
    info = {
        "method": best,
        "criterion": criterion,
        "criterion_name": "held-out multi-step prediction error (variance-normalised MSE)",
        "horizon_samples": horizon,
        "fit_series": len(fit_part),
        "held_out_series": len(val_part) if len(x) >= 2 else 0,
        "refit": refit,
        "fit": fit_info,
    }
    return model, info
