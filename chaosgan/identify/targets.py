"""Regression targets: what ``Theta(x) Xi`` is fitted to.

Two ways, both returning a design matrix ``G`` (rows x terms) and a target ``b`` (rows x D):

**Derivatives** (``derivative_target``): central finite differences of order 2 or 4, optionally
after Savitzky-Golay smoothing, against ``Theta(x)`` at the same samples. Accurate when the
sampling step resolves the motion (dt = 0.01 on Lorenz); hopeless at dt = 0.1, where the
truncation error of any finite difference is of the order of the derivative itself.

**Weak form** (``weak_target``; Messenger & Bortz 2021, "Weak SINDy", Multiscale Model. Simul.
19, 1474): multiply ``dx/dt = Theta(x) Xi`` by a smooth test function ``phi`` that vanishes at
both ends of a window and integrate by parts, ``-int phi' x dt = (int phi Theta(x) dt) Xi``: no
derivative of the data is needed, and the integrals average noise away. Test functions are
``phi(t) = (1 - (t/r)^2)^p`` on windows of radius r, centred every ``stride`` samples.

At dt = 0.1 the integrals themselves are the problem: 7 samples per Lorenz oscillation do not
resolve ``phi Theta(x(t))``. ``dense_bridges`` fixes that with the model being fitted: each gap
between two samples is filled by integrating the current model from the left sample, with the
end mismatch spread linearly so the bridge meets the right sample exactly. The weak form is then
taken on that dense path, the model refitted, and so on (:func:`chaosgan.identify.fit_model`);
as the model improves the bridges converge to the true path, and with them the coefficients.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import savgol_filter

from chaosgan.errors import ChaosganError
from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
from chaosgan.integrate import rk4_step


def derivative_target(
    trajectories: np.ndarray,
    dt: float,
    library: PolynomialLibrary,
    order: int = 4,
    smooth_window: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``Theta(x)`` and central finite-difference derivatives at interior samples.

    Args:
        trajectories: ``(N, T, D)``.
        dt: sampling step, time units.
        order: 2 or 4 (accuracy order of the central difference).
        smooth_window: odd Savitzky-Golay window (cubic) applied first; 0 = no smoothing.
    """
    x = np.asarray(trajectories, dtype=float)
    if smooth_window:
        if smooth_window % 2 == 0 or smooth_window < 5:
            raise ChaosganError("smooth_window must be an odd number >= 5")
        x = savgol_filter(x, smooth_window, 3, axis=1)
    if order == 2:
        dx = (x[:, 2:] - x[:, :-2]) / (2 * dt)
        inner = x[:, 1:-1]
    elif order == 4:
        dx = (-x[:, 4:] + 8 * x[:, 3:-1] - 8 * x[:, 1:-3] + x[:, :-4]) / (12 * dt)
        inner = x[:, 2:-2]
    else:
        raise ChaosganError(f"finite-difference order must be 2 or 4, got {order}")
    d = x.shape[2]
    return library.theta(inner.reshape(-1, d)), dx.reshape(-1, d)


def dominant_period(trajectories: np.ndarray, dt: float) -> float:
    """Period (time units) of the strongest peak of the mean variance-preserving spectrum.

    The spectrum is the power ``P(f)`` of each series (mean removed), averaged over series and
    coordinates, in variance-preserving form ``f P(f)``: the variance per unit of log-frequency,
    whose peak is the oscillation that carries most variance on a logarithmic frequency axis
    (Emery & Thomson, "Data Analysis Methods in Physical Oceanography", 2014, sec. 5.6.1).
    On one attractor it peaks where ``P(f)`` does (Lorenz-63, Rössler and Chen at every
    sampling step tried). Where series differ, e.g. Lorenz-63 with rho drawn per series from
    [24, 40], the oscillation's peak is spread over the rho-dependent frequencies while the
    red, low-frequency power of x and y (the irregular wing switches) adds up at the lowest
    frequencies, and ``P(f)`` alone peaked at the series' length (102.4 time units instead
    of about 0.6).
    """
    x = trajectories - trajectories.mean(axis=1, keepdims=True)
    power = (np.abs(np.fft.rfft(x, axis=1)) ** 2).mean(axis=(0, 2))
    freqs = np.fft.rfftfreq(x.shape[1], dt)
    k = 1 + int(np.argmax((freqs * power)[1:]))
    return 1.0 / freqs[k]


def default_weak_settings(trajectories: np.ndarray, dt: float) -> tuple[float, int]:
    """Test-function radius (time units) and bridge substeps, chosen from the data.

    The radius is half the dominant period (long enough to average noise, short enough to give
    many independent windows); the substeps make the dense grid resolve that period with about
    75 points, so no bridging is done when the data already do (dt = 0.01 on Lorenz).
    """
    period = dominant_period(trajectories, dt)
    span = dt * (trajectories.shape[1] - 1)
    radius = float(np.clip(0.5 * period, 2 * dt, span / 8))
    substeps = max(1, int(np.ceil(dt / (period / 75))))
    return radius, substeps


def dense_bridges(
    trajectories: np.ndarray, dt: float, model: PolynomialModel, substeps: int
) -> np.ndarray:
    """Fill each sampling gap with ``substeps`` RK4 steps of ``model``, ends pinned to the data.

    Returns ``(N, (T - 1) * substeps + 1, D)``: the samples with model-consistent points between.
    """
    n, t, d = trajectories.shape
    start = trajectories[:, :-1].reshape(-1, d).T.copy()
    end = trajectories[:, 1:].reshape(-1, d).T
    h = dt / substeps
    points = [start]
    x = start
    with np.errstate(all="ignore"):
        for _ in range(substeps):
            x = rk4_step(model.rhs, x, None, h)
            points.append(x)
    if not np.isfinite(x).all():
        raise FloatingPointError("the model diverged inside one sampling step")
    mismatch = end - points[-1]
    seg = np.stack([p + (j / substeps) * mismatch for j, p in enumerate(points[:-1])], axis=1)
    seg = seg.reshape(d, substeps, n, t - 1).transpose(2, 3, 1, 0).reshape(n, -1, d)
    return np.concatenate([seg, trajectories[:, -1:, :]], axis=1)


def weak_target(
    trajectories: np.ndarray,
    dt: float,
    library: PolynomialLibrary,
    radius: float,
    power: int = 8,
    stride: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weak-form design matrix ``G`` (windows x terms) and target ``b`` (windows x D).

    Args:
        trajectories: ``(N, T, D)`` on a uniform grid of step ``dt`` (data or dense bridges).
        radius: test-function radius, time units (at least two samples).
        power: exponent p of ``(1 - (t/r)^2)^p``; higher is smoother (Messenger & Bortz use
            values of this order).
        stride: samples between window centres (default: half a radius, windows overlap).
    """
    k = max(2, int(round(radius / dt)))
    n, t, d = trajectories.shape
    if t < 2 * k + 1:
        raise ChaosganError(f"series of {t} samples are too short for windows of {2 * k + 1}")
    s = np.arange(-k, k + 1) * dt
    r = k * dt
    phi = (1 - (s / r) ** 2) ** power
    dphi = -power * (1 - (s / r) ** 2) ** (power - 1) * 2 * s / r**2
    stride = stride or max(1, k // 2)
    g, b = [], []
    for traj in trajectories:
        theta = library.theta(traj)
        g.append(dt * sliding_window_view(theta, 2 * k + 1, axis=0)[::stride] @ phi)
        b.append(-dt * sliding_window_view(traj, 2 * k + 1, axis=0)[::stride] @ dphi)
    return np.concatenate(g), np.concatenate(b)
