"""True-coefficient bookkeeping: the catalogue's equations written in a term library.

Used only to *score* identified models (parameter and coefficient errors); nothing that fits or
selects a model may import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from chaosgan.identify.library import PolynomialLibrary
from chaosgan.systems import System


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


PARAMETER_READERS: dict[str, Callable[[np.ndarray, PolynomialLibrary], dict[str, float]]] = {
    "lorenz63": lorenz63_parameters,
}


def score_against_truth(
    coef: np.ndarray,
    library: PolynomialLibrary,
    system: System | None,
    true_params: Mapping[str, float] | None,
) -> dict:
    """``params`` read off ``coef`` (where the system has a reader), ``rmse`` over them (else
    over all coefficients) and ``coef_rmse`` against the true coefficients; ``None`` where the
    truth is unknown."""
    reader = PARAMETER_READERS.get(system.name) if system is not None else None
    params = reader(coef, library) if reader else {}
    if system is None or not true_params:
        return {"params": params, "rmse": None, "coef_rmse": None}
    truth = true_coefficients(system, dict(true_params), library)
    coef_rmse = float(np.sqrt(np.mean((coef - truth) ** 2)))
    if reader:
        err = [params[k] - true_params[k] for k in params]
        rmse = float(np.sqrt(np.mean(np.square(err))))
    else:
        rmse = coef_rmse
    return {"params": params, "rmse": rmse, "coef_rmse": coef_rmse}
