"""An echo-state network: the reservoir-computing baseline for learning a chaotic flow from data.

Reservoir computing (Jaeger 2001, GMD Report 148; Jaeger & Haas 2004, Science 304, 78) drives a
large, fixed, random recurrent network with the observed series and fits only a linear readout,
by ridge regression, from the network's states to the next observation. Run autonomously (the
readout's prediction fed back as the next input) a well-tuned reservoir reproduces the short-term
trajectory and the long-term statistics (the "climate", Lyapunov exponents) of chaotic systems
such as Lorenz-63 and Kuramoto-Sivashinsky (Pathak et al. 2017, Chaos 27, 121102; Pathak et al.
2018, PRL 120, 024102). It is the dynamical-systems-reconstruction literature's cheapest strong
baseline, so a generator of chaotic series should beat it.

The network (per coordinate-standardised input u_t of dimension D, reservoir state r_t of size n)::

    r_{t+1} = (1 - a) r_t + a tanh(W r_t + W_in u_t + b)          (leaky tanh units)
    u_{t+1} ~ W_out f(r_{t+1}) + c                                (readout, sklearn Ridge)

- ``W``: sparse random (``degree`` non-zeros per row on average, uniform in [-1, 1]), rescaled
  to spectral radius ``spectral_radius`` (scipy ``eigs``): below about 1 the state forgets its
  initial value (the echo-state property), so it becomes a function of the input history.
- ``W_in``: each unit listens to one input coordinate (Pathak et al. 2017), weight uniform in
  [-input_scaling, input_scaling]; ``b`` uniform in [-bias_scaling, bias_scaling].
- ``f``: Pathak's symmetry-breaking trick, r_i squared on every second unit, so that the linear
  readout can represent the even terms that tanh units alone cannot (Lorenz's x -> -x, y -> -y
  symmetry otherwise traps the autonomous network).
- ``a`` (``leak_rate``): 1 gives the plain ESN; smaller values slow the reservoir down.

Rules of thumb for the hyperparameters (Lukoševičius 2012, "A practical guide to applying echo
state networks"): the spectral radius sets the memory (near 1 for slow inputs), the input
scaling sets how non-linear the units are, the ridge ``alpha`` trades fit for stability when run
autonomously. :func:`select_hyperparameters` picks them from the data alone, on held-out series,
by the valid prediction time (:func:`valid_prediction_time`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from chaosgan.errors import ChaosganError


def _check_series(x: Any, name: str, min_steps: int = 2) -> np.ndarray:
    """``x`` as a finite float64 ``(N, T, D)`` array with ``T >= min_steps``, else one line."""
    x = np.asarray(x)
    if x.ndim != 3 or min(x.shape) < 1:
        raise ChaosganError(f"{name} must have shape (N, T, D), got {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ChaosganError(f"{name} must hold real numbers, got {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ChaosganError(f"{name} contain NaN or inf")
    if x.shape[1] < min_steps:
        raise ChaosganError(f"{name} have {x.shape[1]} samples; at least {min_steps} needed")
    return x


class EchoStateNetwork(BaseEstimator):
    """A leaky echo-state network with a ridge readout (see the module docstring).

    scikit-learn conventions: ``__init__`` stores its arguments, :meth:`fit` learns the
    standardisation, the random reservoir and the readout (``readout_``, a fitted
    :class:`sklearn.linear_model.Ridge`), :meth:`generate` runs the fitted network.

    Args:
        n_reservoir: reservoir units n.
        spectral_radius: largest absolute eigenvalue of ``W``.
        input_scaling: bound of the input weights (inputs are standardised per coordinate).
        leak_rate: a in (0, 1].
        degree: mean non-zeros per row of ``W``.
        bias_scaling: bound of the units' constant bias.
        alpha: ridge penalty of the readout (sklearn ``Ridge(alpha)``).
        washout: samples of each series driven before states enter the fit (the reservoir
            forgets its zero initial state).
        max_fit_samples: states used for the readout at most (the times are thinned evenly
            across series beyond it), which bounds memory at about ``8 n max_fit_samples``
            bytes.
        seed: seeds the reservoir, the input weights and the bias.
    """

    def __init__(
        self,
        n_reservoir: int = 600,
        spectral_radius: float = 0.9,
        input_scaling: float = 0.5,
        leak_rate: float = 1.0,
        degree: float = 3.0,
        bias_scaling: float = 0.5,
        alpha: float = 1e-6,
        washout: int = 100,
        max_fit_samples: int = 40_000,
        seed: int = 0,
    ):
        self.n_reservoir = n_reservoir
        self.spectral_radius = spectral_radius
        self.input_scaling = input_scaling
        self.leak_rate = leak_rate
        self.degree = degree
        self.bias_scaling = bias_scaling
        self.alpha = alpha
        self.washout = washout
        self.max_fit_samples = max_fit_samples
        self.seed = seed

    # --- fitting ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not (isinstance(self.n_reservoir, (int, np.integer)) and 2 <= self.n_reservoir):
            raise ChaosganError(f"n_reservoir must be an integer >= 2, got {self.n_reservoir}")
        if not 0 < self.leak_rate <= 1:
            raise ChaosganError(f"leak_rate must lie in (0, 1], got {self.leak_rate}")
        for name in ("spectral_radius", "input_scaling", "degree", "alpha"):
            if not getattr(self, name) > 0:  # also refuses NaN
                raise ChaosganError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.bias_scaling >= 0:
            raise ChaosganError(f"bias_scaling must be >= 0, got {self.bias_scaling}")
        if self.washout < 0 or self.max_fit_samples < 1:
            raise ChaosganError("washout must be >= 0 and max_fit_samples >= 1")

    def fit(self, trajectories: np.ndarray, y: None = None) -> EchoStateNetwork:
        """Learn from ``trajectories`` ``(N, T, D)``: standardise, build, drive, fit the readout.

        Each series is driven from a zero state; after ``washout`` samples, the state reached
        after input u_t is paired with the target u_{t+1}.
        """
        self._check_params()
        x = _check_series(trajectories, "training series", self.washout + 2)
        n_series, steps, dim = x.shape
        self.mean_ = x.mean(axis=(0, 1))
        self.scale_ = x.std(axis=(0, 1))
        if np.any(self.scale_ == 0):
            raise ChaosganError("a coordinate of the training series is constant")
        u = (x - self.mean_) / self.scale_
        self._build(dim)
        usable = steps - 1 - self.washout  # targets per series
        stride = max(1, int(np.ceil(n_series * usable / self.max_fit_samples)))
        features, targets = [], []
        r = np.zeros((n_series, self.n_reservoir))
        rows = np.arange(n_series)
        for t in range(steps - 1):
            r = self._update(r, u[:, t])
            k = t - self.washout
            if k >= 0:
                keep = rows[(k + rows) % stride == 0]  # a series-dependent phase covers all t
                if keep.size:
                    features.append(self._features(r[keep]))
                    targets.append(u[keep, t + 1])
        features, targets = np.concatenate(features), np.concatenate(targets)
        self.readout_ = Ridge(alpha=self.alpha).fit(features, targets)
        self.n_fit_samples_ = len(features)
        return self

    def _build(self, dim: int) -> None:
        rng = np.random.default_rng(self.seed)
        n = self.n_reservoir
        w = scipy.sparse.random(
            n,
            n,
            density=min(1.0, self.degree / n),
            format="csr",
            random_state=rng,
            data_rvs=lambda k: rng.uniform(-1.0, 1.0, k),
        )
        if n <= 64:  # ARPACK needs k < n - 1: small reservoirs take the dense eigenvalues
            radius = float(np.abs(np.linalg.eigvals(w.toarray())).max())
        else:
            v0 = rng.uniform(-1.0, 1.0, n)  # ARPACK's start vector, seeded for reproducibility
            eig = scipy.sparse.linalg.eigs(w, k=1, which="LM", v0=v0, return_eigenvectors=False)
            radius = float(np.abs(eig).max())
        if radius == 0:
            raise ChaosganError("the random reservoir is nilpotent; raise degree or n_reservoir")
        self.w_ = (w * (self.spectral_radius / radius)).tocsr()
        w_in = np.zeros((n, dim))
        w_in[np.arange(n), rng.integers(0, dim, n)] = rng.uniform(
            -self.input_scaling, self.input_scaling, n
        )
        self.w_in_ = w_in
        self.bias_ = rng.uniform(-self.bias_scaling, self.bias_scaling, n)
        self.n_features_in_ = dim

    def _update(self, r: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One reservoir step for a batch: ``r`` (B, n), ``u`` (B, D) standardised inputs."""
        pre = (self.w_ @ r.T).T + u @ self.w_in_.T + self.bias_
        a = self.leak_rate
        return np.tanh(pre) if a == 1 else (1 - a) * r + a * np.tanh(pre)

    @staticmethod
    def _features(r: np.ndarray) -> np.ndarray:
        """Pathak et al.'s readout features: every second unit squared."""
        f = r.copy()
        f[:, ::2] **= 2
        return f

    # --- running ---------------------------------------------------------------------------------
    def generate(self, warmup: np.ndarray, steps: int) -> np.ndarray:
        """Run autonomously after a teacher-forced warm-up.

        Args:
            warmup: ``(B, W, D)`` observed samples in physical units; the reservoir is driven
                through all W of them from a zero state (use W >= ``washout``).
            steps: samples to generate after the warm-up.

        Returns:
            ``(B, steps, D)`` in physical units: the samples that follow the warm-up's last
            one, each predicted from the network's own previous output (none is observed).
        """
        check_is_fitted(self, "readout_")
        if steps < 1:
            raise ChaosganError(f"steps must be >= 1, got {steps}")
        w = _check_series(warmup, "warm-up series", 1)
        if w.shape[2] != self.n_features_in_:
            raise ChaosganError(
                f"warm-up series have {w.shape[2]} coordinates, the network {self.n_features_in_}"
            )
        u = (w - self.mean_) / self.scale_
        r = np.zeros((w.shape[0], self.n_reservoir))
        for t in range(w.shape[1]):
            r = self._update(r, u[:, t])
        out = np.empty((w.shape[0], steps, w.shape[2]))
        # the fitted Ridge's linear map, applied directly: predict() re-validates on every call
        coef, intercept = self.readout_.coef_.T, self.readout_.intercept_
        for t in range(steps):
            y = self._features(r) @ coef + intercept
            out[:, t] = y
            if t + 1 < steps:
                r = self._update(r, y)
        return out * self.scale_ + self.mean_


def valid_prediction_time(
    predicted: np.ndarray, truth: np.ndarray, scale: np.ndarray, threshold: float = 0.5
) -> np.ndarray:
    """Samples before each forecast's normalised error first exceeds ``threshold``.

    The error at step t is ``sqrt(mean_d ((predicted - truth) / scale_d)^2)``, the root mean
    square over coordinates of the error in units of each coordinate's standard deviation;
    the valid prediction time (Pathak et al. 2018; Vlachas et al. 2020, Neural Networks 126,
    191, with threshold 0.5) is the number of leading steps where it stays at or below the
    threshold (multiply by dt for time units). ``predicted`` and ``truth``: ``(B, H, D)``;
    returns ``(B,)`` integers in [0, H].
    """
    err = np.sqrt((((predicted - truth) / scale) ** 2).mean(axis=2))
    above = err > threshold
    return np.where(above.any(axis=1), above.argmax(axis=1), err.shape[1])


DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "spectral_radius": (0.4, 0.8, 1.2),
    "input_scaling": (0.5, 1.0, 2.0),
    "alpha": (1e-8, 1e-6, 1e-4),
}


def select_hyperparameters(
    trajectories: np.ndarray,
    *,
    grid: Mapping[str, Sequence[float]] = DEFAULT_GRID,
    fixed: Mapping[str, Any] | None = None,
    held_out: float = 0.25,
    max_series: int = 100,
    warmup: int = 100,
    horizon: int = 100,
    climate_steps: int = 1000,
    seed: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Choose the network's hyperparameters from the data alone, on held-out series.

    Every combination in ``grid`` (the product of its lists; other arguments from ``fixed``) is
    fitted on the first ``1 - held_out`` of the first ``max_series`` series and judged on the
    rest: from ``warmup`` observed samples at a few seeded start times per held-out series, the
    autonomous forecast's valid prediction time (threshold 0.5 standard deviations,
    :func:`valid_prediction_time`) over ``horizon`` samples, median over the forecasts. A
    candidate any of whose long autonomous runs (8 of them, ``climate_steps`` samples each)
    loses the attractor's scale (a per-coordinate standard deviation over its second half
    outside [0.5, 2] of the data's: it decayed to a fixed point or a small cycle, or blew up)
    is not eligible: a good short-term forecaster can still be a poor generator. The eligible
    candidate with the longest median valid prediction time wins (ties: the first in grid
    order). No equation of the system enters.

    Returns:
        ``(params, table)``: the winning keyword arguments of :class:`EchoStateNetwork`
        (``fixed`` included) and one row per candidate: its grid values,
        ``valid_prediction_samples`` (median) and ``climate_ok``.
    """
    x = _check_series(trajectories, "training series", warmup + horizon + 1)
    x = x[:max_series]
    n_val = int(round(len(x) * held_out))
    if n_val < 1 or len(x) - n_val < 1:
        raise ChaosganError(
            f"choosing the network's hyperparameters needs at least 2 series, got {len(x)}"
        )
    fit_x, val_x = x[: len(x) - n_val], x[len(x) - n_val :]
    rng = np.random.default_rng(seed)
    starts_per_series = max(1, 32 // n_val)
    idx, starts = [], []
    for i in range(n_val):
        for s in rng.integers(warmup, x.shape[1] - horizon + 1, starts_per_series):
            idx.append(i)
            starts.append(int(s))
    warm = np.stack([val_x[i, s - warmup : s] for i, s in zip(idx, starts, strict=True)])
    truth = np.stack([val_x[i, s : s + horizon] for i, s in zip(idx, starts, strict=True)])
    std = x.reshape(-1, x.shape[2]).std(axis=0)
    base = EchoStateNetwork(**dict(fixed or {}), seed=seed)
    keys = list(grid)
    table: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any]] | None = None
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values, strict=True))
        esn = clone(base).set_params(**params).fit(fit_x)
        forecast = esn.generate(warm, horizon)
        vpt = float(np.median(valid_prediction_time(forecast, truth, std)))
        long_run = esn.generate(warm[: min(8, len(warm))], climate_steps)
        ratio = long_run[:, climate_steps // 2 :].std(axis=1) / std  # (runs, D)
        ok = bool(np.all((ratio >= 0.5) & (ratio <= 2.0)))
        table.append({**params, "valid_prediction_samples": vpt, "climate_ok": ok})
        if ok and (best is None or vpt > best[0]):
            best = (vpt, params)
    if best is None:
        raise ChaosganError(
            "no echo-state network in the grid keeps the data's scale when run autonomously"
        )
    return {**dict(fixed or {}), **best[1]}, table
