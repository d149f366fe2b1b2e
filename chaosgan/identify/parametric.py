"""Identification across parameter values: one model for series whose system parameters differ.

Data simulated with a parameter drawn per series (``chaosgan simulate --param rho=24:40``) come
from a family of vector fields, one per value. Appending each series' parameter values to its
state as extra variables that never change (``drho/dt = 0``) turns the family into one
polynomial system: its library holds the products of state and parameters (``x rho``), so a
sparse regression can find Lorenz-63's ``y' = x rho - x z - y`` from series at many rho at once
(Brunton, Proctor & Kutz 2016, PNAS 113, 3932, "Discovering governing equations from data by
sparse identification of nonlinear dynamical systems", section "Bifurcations and normal forms":
the bifurcation parameter as a variable with zero derivative).

The parameters are inputs, known per series like the samples themselves (they are the
dataset's ``series_params``, not the system's equations), so the result is still learned from
data. Candidates are the methods that fit every equation on its own (:data:`PARAMETRIC_METHODS`):
the Galerkin regressor's energy-preserving constraint (and WENDy, which refines it) would treat
a parameter as a state coordinate and couple ``x rho`` in ``y'`` with ``x y`` in ``rho'``, and
Jaya-Powell's multiple shooting would search over the parameters' own equations too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chaosgan.errors import ChaosganError
from chaosgan.identify.compare import identify_model
from chaosgan.identify.library import PolynomialModel

PARAMETRIC_METHODS = ("lasso", "ridge", "stlsq")


def with_parameters(trajectories: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(N, T, D)`` series and ``(N, P)`` per-series values -> ``(N, T, D + P)``: each series'
    values appended to every one of its samples."""
    x = np.asarray(trajectories, dtype=float)
    v = np.asarray(values, dtype=float)
    if x.ndim != 3 or v.ndim != 2 or len(v) != len(x):
        raise ChaosganError(
            f"need series (N, T, D) and per-series values (N, P), got {x.shape} and {v.shape}"
        )
    if not np.isfinite(v).all():
        raise ChaosganError("per-series parameter values contain NaN or inf")
    n, t, _ = x.shape
    return np.concatenate([x, np.broadcast_to(v[:, None, :], (n, t, v.shape[1]))], axis=2)


def identify_parametric_model(
    trajectories: np.ndarray,
    values: np.ndarray,
    dt: float,
    *,
    parameter_names: Sequence[str],
    variable_names: Sequence[str] | None = None,
    methods: Sequence[str] = PARAMETRIC_METHODS,
    seed: int = 0,
    **kwargs,
) -> tuple[PolynomialModel, dict]:
    """The best polynomial model of series whose parameters ``values`` differ per series.

    The model's variables are the ``D`` state coordinates followed by the ``P`` parameters;
    the method is chosen from the data as in :func:`~chaosgan.identify.compare.identify_model`
    (held-out multi-step prediction error; ``kwargs`` pass through), and the parameters'
    equations are set to exactly zero (they are constant along a series by definition: the
    regressions find them zero to rounding, this removes the rounding).

    Args:
        trajectories: ``(N, T, D)`` samples every ``dt`` time units.
        values: ``(N, P)`` each series' parameter values; each must vary across the series.
        parameter_names: the ``P`` names (``["rho"]``).
        variable_names: the ``D`` coordinate names (default x, y, z / x0, x1, ...).
        methods: candidates, from :data:`PARAMETRIC_METHODS`.

    Returns:
        ``(model, info)`` as ``identify_model``'s, with ``info["parameters"]`` the names.
    """
    names = list(parameter_names)
    v = np.atleast_2d(np.asarray(values, dtype=float))
    if v.shape[1] != len(names) or not names:
        raise ChaosganError(f"{v.shape[1]} parameter columns but names {names}")
    bad = [m for m in methods if m not in PARAMETRIC_METHODS]
    if bad or not methods:
        raise ChaosganError(
            f"method {bad[0] if bad else None!r} cannot fit parameters as variables "
            f"(valid: {', '.join(PARAMETRIC_METHODS)})"
        )
    x = with_parameters(trajectories, v)
    d = x.shape[2] - len(names)
    state_names = list(variable_names) if variable_names else None
    if state_names is not None and len(state_names) != d:
        raise ChaosganError(f"{d} coordinates but names {state_names}")
    if state_names is None:
        state_names = ["x", "y", "z"] if d == 3 else [f"x{i}" for i in range(d)]
    model, info = identify_model(
        x, dt, methods=methods, seed=seed, variable_names=state_names + names, **kwargs
    )
    coef = model.coef.copy()
    coef[d:] = 0.0
    return PolynomialModel(model.library, coef), {**info, "parameters": names}
