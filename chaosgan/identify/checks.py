"""Checks of an identified model that need only the model and data (never the true equations).

- :func:`prediction_error`: how well the model carries data samples forward over a short horizon
  (multi-step, normalised by each coordinate's variance); the criterion by which
  :func:`chaosgan.identify.compare.identify_model` picks a method, on series held out of the fit.
- :func:`is_bounded`: whether the model stays near the data's scale for a long time.
- :func:`largest_exponent`: the model's largest Lyapunov exponent (QR method, 1/time).
"""

from __future__ import annotations

import numpy as np

from chaosgan.errors import ChaosganError
from chaosgan.identify.library import PolynomialModel
from chaosgan.identify.targets import dominant_period
from chaosgan.integrate import advance, rk4_step
from chaosgan.lyapunov.spectrum import qr_exponents


def prediction_error(
    model: PolynomialModel,
    trajectories: np.ndarray,
    dt: float,
    horizon: int | None = None,
    n_starts: int = 512,
    seed: int = 0,
) -> float:
    """Mean squared multi-step prediction error of ``model`` on ``trajectories`` ``(N, T, D)``.

    From ``n_starts`` samples (seeded choice) the model is integrated ``horizon`` sampling steps
    (RK4, substeps resolving the data's dominant period with at least 100 points); the squared
    mismatch with the data at every step of the horizon, each coordinate divided by its
    variance, is averaged. ``horizon`` defaults to a quarter of the dominant period (at least
    one sample): long enough for a wrong coefficient to show above observation noise, short
    enough that chaos does not amplify tiny errors. A model that leaves the float range scores
    ``inf``. Dimensionless (0: perfect; about 2: no skill).
    """
    x = np.asarray(trajectories, dtype=float)
    n, t, d = x.shape
    period = dominant_period(x, dt)
    if horizon is None:
        horizon = max(1, round(0.25 * period / dt))
    horizon = min(horizon, t - 1)
    substeps = max(1, int(np.ceil(dt / (period / 100))))
    rng = np.random.default_rng(seed)
    pairs = n * (t - horizon)
    pick = rng.choice(pairs, size=min(n_starts, pairs), replace=False)
    series, step = np.divmod(pick, t - horizon)
    state = x[series, step].T.copy()
    scale = x.reshape(-1, d).var(axis=0)[:, None]
    err = 0.0
    with np.errstate(all="ignore"):
        for k in range(1, horizon + 1):
            for _ in range(substeps):
                state = rk4_step(model.rhs, state, None, dt / substeps)
            err += float(np.mean((state - x[series, step + k].T) ** 2 / scale))
    err /= horizon
    return err if np.isfinite(err) else float("inf")


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
