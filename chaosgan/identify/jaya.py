"""Jaya + Powell: derivative-free identification by multiple shooting.

The model ``dx/dt = Theta(x) Xi`` is scored by how well it carries many data samples forward:
from ``n_starts`` samples ``x_n`` (seeded choice) it is integrated ``horizon`` sampling steps with
RK4 substeps, and the squared mismatch with the data ``x_{n+horizon}`` (each coordinate divided
by its variance) is averaged. Short horizons keep the objective smooth despite chaos (multiple
shooting, Bock & Plitt 1984); no derivative of the data is ever taken, so dt = 0.1 is fine.

The search has two stages, as in the study we start from:

1. **Jaya** (Rao 2016, Int. J. Ind. Eng. Comput. 7, 19): a population in the search box moves
   towards the best member and away from the worst, ``z' = z + r1 (best - |z|) - r2 (worst - |z|)``,
   a move kept only if it improves; no tuning parameters beyond population and iterations.
2. **Powell** (scipy's ``minimize(method="Powell")``) refines Jaya's best to high precision. It
   runs without the box: scipy's bounded Powell brackets its line searches over the whole box,
   which on this rugged objective jumped from a loss of 6e-12 to 3.4 in our tries.

The parameter vector is the coefficients of the model's terms. With ``support="auto"`` the
terms are those that sequentially thresholded least squares keeps on the weak-form target of the
same data (a structure read from the data, never from the true equations); ``support="full"``
searches every library coefficient. The search box (``bounds``, the same for every coefficient)
is wide by default, [-50, 50], and settable.

From a cold start (the whole population uniform in the box) Jaya finds the basin of the true
coefficients at dt = 0.01 with one-step shots, but not at dt = 0.1, where a sampling step is
long enough for wrong models to fly apart: in our tries on Lorenz-63 it stalled at losses 0.3-0.4
(coefficient RMSE 5-16) with populations up to 50 x 400 generations. So by default
(``warm_start=True``) one member of the initial population is the STLSQ weak-form estimate of
the same data; Jaya is elitist, so its best is never worse than that, and Powell polishes it.
``warm_start=False`` gives the cold-start search.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator

from chaosgan.errors import ChaosganError
from chaosgan.identify.fit import fit_coefficients
from chaosgan.identify.library import PolynomialLibrary
from chaosgan.identify.regressors import STLSQ
from chaosgan.integrate import rk4_step

DIVERGED = 1e6  # objective value of a model that leaves the float range within the horizon


class JayaPowell(BaseEstimator):
    """Multiple-shooting identification by a seeded Jaya search refined with Powell's method.

    ``fit(X)`` takes trajectories ``(N, T, D)`` sampled every ``dt``; ``coef_`` is ``(D, terms)``.

    Args:
        dt: sampling step of the trajectories, time units.
        degree: polynomial library degree.
        support: ``"auto"`` (terms kept by STLSQ on the weak target), ``"full"``, or a boolean
            array ``(D, terms)``.
        bounds: search box ``(low, high)`` for every coefficient.
        population, iterations: Jaya's population size and number of generations.
        horizon: sampling steps each shot is integrated; ``"auto"``: 0.1 time units (at least
            one step). Longer shots let the model's mismatch outgrow observation noise (at
            dt = 0.01 with 1% noise: parameter RMSE 0.37 with one step, 0.039 with ten), but
            past about a tenth of a time unit chaos makes the objective rugged.
        n_starts: data samples shot from (drawn with ``seed``).
        substeps: RK4 steps per sampling step; ``"auto"``: an RK4 step of at most 0.01.
        powell_maxfev: evaluation budget of the Powell refinement.
        warm_start: put the STLSQ weak-form estimate into the initial population.
        seed: seeds the starts and the Jaya population: the same seed gives the same fit.
    """

    def __init__(
        self,
        dt=0.1,
        degree=2,
        support="auto",
        bounds=(-50.0, 50.0),
        population=30,
        iterations=200,
        horizon="auto",
        n_starts=400,
        substeps="auto",
        powell_maxfev=40_000,
        warm_start=True,
        seed=0,
    ):
        self.dt = dt
        self.degree = degree
        self.support = support
        self.bounds = bounds
        self.population = population
        self.iterations = iterations
        self.horizon = horizon
        self.n_starts = n_starts
        self.substeps = substeps
        self.powell_maxfev = powell_maxfev
        self.warm_start = warm_start
        self.seed = seed

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        horizon = max(1, round(0.1 / self.dt)) if self.horizon == "auto" else int(self.horizon)
        substeps = (
            max(1, int(np.ceil(self.dt / 0.01 - 1e-9)))
            if self.substeps == "auto"
            else int(self.substeps)
        )
        if X.ndim != 3 or X.shape[1] <= horizon:
            raise ChaosganError("JayaPowell.fit needs trajectories (N, T, D) with T > horizon")
        n, t, d = X.shape
        library = PolynomialLibrary(d, self.degree)
        support, estimate = self._support(X, library)
        rng = np.random.default_rng(self.seed)
        pairs = n * (t - horizon)
        pick = rng.choice(pairs, size=min(self.n_starts, pairs), replace=False)
        traj, step = np.divmod(pick, t - horizon)
        starts = X[traj, step].T.copy()
        targets = X[traj, step + horizon].T
        scale = X.reshape(-1, d).var(axis=0)[:, None]
        box = 10.0 * np.abs(X).max()
        h = self.dt / substeps
        n_steps = horizon * substeps

        def objective(v: np.ndarray) -> float:
            coef = np.zeros(support.shape)
            coef[support] = v
            x = starts
            with np.errstate(all="ignore"):
                for _ in range(n_steps):
                    # states are clipped to 10x the data's range: a violent model then scores
                    # badly but finitely, which keeps the population search informative
                    x = np.clip(
                        rk4_step(lambda s, _: coef @ library.theta_cm(s), x, None, h), -box, box
                    )
                loss = float(np.mean((x - targets) ** 2 / scale))
            return loss if np.isfinite(loss) else DIVERGED

        lo, hi = self.bounds
        dim = int(support.sum())
        pop = rng.uniform(lo, hi, (self.population, dim))
        if self.warm_start:
            if estimate is None:
                estimate = self._weak_estimate(X, library)
            pop[0] = np.clip(estimate[support], lo, hi)
        scores = np.array([objective(z) for z in pop])
        for _ in range(self.iterations):
            best, worst = pop[scores.argmin()], pop[scores.argmax()]
            r1, r2 = rng.random(pop.shape), rng.random(pop.shape)
            trial = np.clip(pop + r1 * (best - np.abs(pop)) - r2 * (worst - np.abs(pop)), lo, hi)
            trial_scores = np.array([objective(z) for z in trial])
            better = trial_scores < scores
            pop[better], scores[better] = trial[better], trial_scores[better]
        self.jaya_loss_ = float(scores.min())
        res = minimize(
            objective,
            pop[scores.argmin()],
            method="Powell",
            options={"xtol": 1e-12, "ftol": 1e-15, "maxfev": self.powell_maxfev},
        )
        best = res.x if res.fun <= scores.min() else pop[scores.argmin()]
        coef = np.zeros(support.shape)
        coef[support] = best
        self.coef_ = coef
        self.loss_ = float(min(res.fun, scores.min()))
        self.support_ = support
        self.library_ = library
        return self

    def _weak_estimate(self, X: np.ndarray, library: PolynomialLibrary) -> np.ndarray:
        return fit_coefficients(X, self.dt, STLSQ(), library, target="weak")[0]

    def _support(
        self, X: np.ndarray, library: PolynomialLibrary
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The searched terms, and the weak-form estimate when it was computed for them."""
        shape = (X.shape[2], library.n_terms)
        if isinstance(self.support, str) and self.support == "full":
            return np.ones(shape, dtype=bool), None
        if isinstance(self.support, str) and self.support == "auto":
            estimate = self._weak_estimate(X, library)
            return estimate != 0, estimate
        support = np.asarray(self.support, dtype=bool)
        if support.shape != shape:
            raise ChaosganError(f"support must have shape {shape}, got {support.shape}")
        return support, None
