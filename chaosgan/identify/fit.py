"""Fitting: coefficients of ``dx/dt = Theta(x) Xi`` from data by a linear regressor.

:func:`fit_coefficients` builds the regression target (derivative or weak form, see
:mod:`chaosgan.identify.targets`) and solves it with any estimator of
:mod:`chaosgan.identify.regressors`; with the weak target and coarse sampling it alternates
between refitting and rebuilding the target on model-consistent dense bridges until the
coefficients stop moving. Nothing here knows the true equations (see
:mod:`chaosgan.identify.truth`) or judges the fitted model (see :mod:`chaosgan.identify.checks`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from chaosgan.errors import ChaosganError
from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
from chaosgan.identify.targets import (
    default_weak_settings,
    dense_bridges,
    derivative_target,
    weak_target,
)

TARGETS = ("weak", "derivative")


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
