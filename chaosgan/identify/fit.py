"""Fit models from data and judge them: coefficients, parameter error, boundedness, exponents.

:func:`fit_coefficients` builds the regression target (derivative or weak form, see
:mod:`chaosgan.identify.targets`) and solves it with any estimator of
:mod:`chaosgan.identify.regressors`; with the weak target and coarse sampling it alternates
between refitting and rebuilding the target on model-consistent dense bridges until the
coefficients stop moving. :func:`identify` runs several methods on one dataset and evaluates each
fitted model the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone

from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.identify.jaya import JayaPowell
from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
from chaosgan.identify.regressors import STLSQ, GalerkinRegressor, LassoRegressor, RidgeRegressor
from chaosgan.identify.targets import (
    default_weak_settings,
    dense_bridges,
    derivative_target,
    weak_target,
)
from chaosgan.integrate import advance
from chaosgan.lyapunov.spectrum import qr_exponents
from chaosgan.systems import SYSTEMS, System

METHODS = ("lasso", "ridge", "galerkin", "jaya-powell", "stlsq")
TARGETS = ("weak", "derivative")
MIN_SAMPLES = 64
DEFAULT_MAX_SERIES = 64  # series used for fitting: 64 x 1024 samples pin the Lorenz coefficients


def fit_coefficients(
    trajectories: np.ndarray,
    dt: float,
    regressor: Any,
    library: PolynomialLibrary,
    target: str = "weak",
    fd_order: int = 4,
    smooth_window: int = 0,
    max_refinements: int = 12,
    tol: float = 1e-9,
) -> tuple[np.ndarray, dict]:
    """Coefficients ``(D, terms)`` of ``dx/dt = Theta(x) Xi`` fitted by ``regressor``.

    With ``target="weak"`` the test-function radius and the bridge resolution are read from the
    data (:func:`default_weak_settings`); when bridging is needed the fit is repeated on dense
    bridges of the current model until the largest coefficient change falls below ``tol``
    relative to the largest coefficient, or ``max_refinements`` is reached.
    Returns the coefficients and a dict describing what was done.
    """
    if target == "derivative":
        g, b = derivative_target(trajectories, dt, library, fd_order, smooth_window)
        est = clone(regressor).fit(g, b)
        return np.atleast_2d(est.coef_), {"target": "derivative", "fd_order": fd_order}
    if target != "weak":
        raise ChaosganError(f"unknown target {target!r} (valid: {', '.join(TARGETS)})")
    radius, substeps = default_weak_settings(trajectories, dt)
    g, b = weak_target(trajectories, dt, library, radius)
    coef = np.atleast_2d(clone(regressor).fit(g, b).coef_)
    info = {"target": "weak", "radius": radius, "substeps": substeps, "refinements": 0}
    if substeps == 1:
        return coef, info
    for k in range(1, max_refinements + 1):
        try:
            dense = dense_bridges(trajectories, dt, PolynomialModel(library, coef), substeps)
        except FloatingPointError:
            info["stopped"] = "model diverged inside a sampling step"
            break
        g, b = weak_target(dense, dt / substeps, library, radius)
        new = np.atleast_2d(clone(regressor).fit(g, b).coef_)
        change = np.abs(new - coef).max() / max(np.abs(new).max(), 1e-300)
        coef = new
        info["refinements"] = k
        if change < tol:
            break
    return coef, info


def make_estimator(method: str, library: PolynomialLibrary, dt: float, seed: int) -> Any:
    """The default estimator of each method name."""
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


def true_coefficients(system: System, params: dict, library: PolynomialLibrary) -> np.ndarray:
    """The catalogue system's right-hand side written in the library (exact for polynomials)."""
    rng = np.random.default_rng(0)
    lo, hi = system.initial_box(params)
    x = rng.uniform(lo, hi, (4 * library.n_terms, lo.size)).T
    coef = np.linalg.lstsq(library.theta_cm(x).T, system.rhs(x, params).T, rcond=None)[0].T
    return np.where(np.abs(coef) < 1e-9, 0.0, coef)


def lorenz63_parameters(coef: np.ndarray, library: PolynomialLibrary) -> dict[str, float]:
    """sigma, rho, beta read off an identified Lorenz-63 model (sigma: mean of its two terms)."""
    n = library.names
    return {
        "sigma": float((coef[0, n.index("y")] - coef[0, n.index("x")]) / 2),
        "rho": float(coef[1, n.index("x")]),
        "beta": float(-coef[2, n.index("z")]),
    }


PARAMETER_READERS = {"lorenz63": lorenz63_parameters}


def is_bounded(model: PolynomialModel, x0: np.ndarray, scale: float, t_end: float = 100.0) -> bool:
    """Whether ``model`` stays finite and within 10x the data's scale for ``t_end`` time units."""
    h = 0.01
    x = x0
    with np.errstate(all="ignore"):
        for _ in range(int(t_end / h / 100)):
            x = advance(model.rhs, x, None, h, 100)
            if not np.isfinite(x).all() or np.abs(x).max() > 10 * scale:
                return False
    return True


def largest_exponent(
    model: PolynomialModel, x0: np.ndarray, t_average: float = 200.0, h: float = 0.02
) -> float:
    """Largest Lyapunov exponent of the model (QR method, 1/time) from data states ``x0``."""
    with np.errstate(all="ignore"):
        x = advance(model.rhs, x0, None, h, int(10 / h))
        if not np.isfinite(x).all():
            return float("nan")
        try:
            lam = qr_exponents(model.rhs, model.jacobian, None, x, h, int(t_average / h), 1)
        except (ChaosganError, np.linalg.LinAlgError):
            return float("nan")
    return float(np.mean(lam[:, 0]))


def add_noise(trajectories: np.ndarray, level: float, seed: int) -> np.ndarray:
    """Gaussian observation noise with std ``level`` x each coordinate's std (seeded)."""
    if level <= 0:
        return trajectories
    rng = np.random.default_rng(seed)
    std = trajectories.reshape(-1, trajectories.shape[2]).std(axis=0)
    return trajectories + rng.normal(size=trajectories.shape) * level * std


def check_data(trajectories: np.ndarray) -> None:
    n, t, d = trajectories.shape
    if t < MIN_SAMPLES:
        raise ChaosganError(f"need at least {MIN_SAMPLES} samples per series to identify, got {t}")
    if not np.isfinite(trajectories).all():
        raise ChaosganError("trajectories contain NaN or inf")
    if np.any(trajectories.reshape(-1, d).std(axis=0) == 0):
        raise ChaosganError("a coordinate is constant: nothing to identify")


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
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ChaosganError(f"unknown method {unknown[0]!r} (valid: {', '.join(METHODS)})")
    if target not in TARGETS:
        raise ChaosganError(f"unknown target {target!r} (valid: {', '.join(TARGETS)})")
    clean = ds.trajectories if not max_series else ds.trajectories[:max_series]
    check_data(clean)
    data = add_noise(clean, noise, seed)
    n, t, d = data.shape
    library = PolynomialLibrary(d, degree, tuple(ds.coordinate_names))
    system = SYSTEMS.get(ds.meta.get("system") or "")
    truth = None
    if system is not None and ds.meta.get("params"):
        truth = true_coefficients(system, ds.meta["params"], library)
    reader = PARAMETER_READERS.get(ds.meta.get("system") or "")
    # 64 data states spread over series and time start the boundedness and exponent runs
    rows = np.random.default_rng(seed).integers(0, [n, t], size=(64, 2))
    x0 = clean[rows[:, 0], rows[:, 1], :].T.copy()
    scale = float(np.abs(clean).max())
    results = {}
    for method in methods:
        est = make_estimator(method, library, ds.dt, seed)
        if method == "jaya-powell":
            coef = est.fit(data).coef_
            info = {"target": "multiple shooting", "loss": est.loss_, "jaya_loss": est.jaya_loss_}
        else:
            coef, info = fit_coefficients(data, ds.dt, est, library, target)
        model = PolynomialModel(library, coef)
        entry: dict[str, Any] = {"params": reader(coef, library) if reader else {}}
        coef_rmse = None if truth is None else float(np.sqrt(np.mean((coef - truth) ** 2)))
        if reader and truth is not None:
            true_p = ds.meta["params"]
            err = [entry["params"][k] - true_p[k] for k in entry["params"]]
            entry["rmse"] = float(np.sqrt(np.mean(np.square(err))))
        else:
            entry["rmse"] = coef_rmse
        entry["coef_rmse"] = coef_rmse
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
