"""Sparse linear regressors as scikit-learn estimators: ``fit(G, b)`` -> ``coef_``.

Conventions follow scikit-learn ("Developing scikit-learn estimators"): ``__init__`` only stores
its arguments, ``fit`` validates, learns and returns ``self``, learned attributes end in ``_``,
``predict`` checks the estimator is fitted. ``coef_`` has shape ``(n_targets, n_features)`` for
a 2-D target (one row per equation) and ``(n_features,)`` for a 1-D one, like scikit-learn's
linear models, so these work with ``clone``, ``GridSearchCV`` and pipelines.

- :class:`LassoRegressor`: scikit-learn's ``Lasso`` on unit-norm columns, alpha relative to the
  smallest alpha that zeroes everything; optional least-squares refit on the selected terms to
  remove the L1 shrinkage bias (Tibshirani 1996; Belloni & Chernozhukov 2013).
- :class:`RidgeRegressor`: scikit-learn's ``Ridge`` on unit-norm columns, then terms below
  ``threshold`` dropped and the rest refitted by least squares.
- :class:`STLSQ`: sequentially thresholded least squares, the SINDy baseline (Brunton, Proctor &
  Kutz 2016, PNAS 113, 3932).
- :class:`GalerkinRegressor`: least squares with the energy-preserving equality constraints on
  the quadratic terms (the quadratic part conserves ``|x|^2``), solved through the KKT system,
  with thresholding (Loiseau & Brunton 2018, J. Fluid Mech. 838, 42).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, Ridge
from sklearn.utils.validation import check_is_fitted, validate_data

from chaosgan.identify.library import PolynomialLibrary


class _LinearSparse(RegressorMixin, BaseEstimator):
    """Shared validation and prediction; subclasses implement ``_solve(G, B) -> (k, p)``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one column of y per equation
        return tags

    def fit(self, X, y):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        single = y.ndim == 1
        Y = y[:, None] if single else y
        coef = self._solve(np.asarray(X, dtype=float), np.asarray(Y, dtype=float))
        self.coef_ = coef[0] if single else coef
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return X @ np.asarray(self.coef_).T

    def _solve(self, G: np.ndarray, B: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _lstsq_on_support(G: np.ndarray, B: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Least squares per target restricted to ``support`` (``(k, p)`` boolean)."""
    coef = np.zeros(support.shape)
    for i in range(B.shape[1]):
        cols = np.nonzero(support[i])[0]
        if len(cols):
            coef[i, cols] = np.linalg.lstsq(G[:, cols], B[:, i], rcond=None)[0]
    return coef


def _column_norms(G: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(G, axis=0)
    return np.where(norms > 0, norms, 1.0)


class LassoRegressor(_LinearSparse):
    """L1-penalised least squares (scikit-learn ``Lasso``), optionally refitted on its support.

    Args:
        alpha_ratio: penalty as a fraction of ``alpha_max`` (the smallest penalty that zeroes
            every coefficient) on unit-norm columns, so the default suits any data scale.
        refit: least-squares refit on the terms Lasso kept, removing the shrinkage bias.
        max_iter, tol: passed to scikit-learn's coordinate descent.
    """

    def __init__(self, alpha_ratio=1e-4, refit=True, max_iter=100_000, tol=1e-10):
        self.alpha_ratio = alpha_ratio
        self.refit = refit
        self.max_iter = max_iter
        self.tol = tol

    def _solve(self, G, B):
        norms = _column_norms(G)
        Gs = G / norms
        coef = np.zeros((B.shape[1], G.shape[1]))
        self.n_iter_ = 1
        for i in range(B.shape[1]):
            alpha_max = np.abs(Gs.T @ B[:, i]).max() / len(B)
            if alpha_max == 0:
                continue
            lasso = Lasso(
                alpha=self.alpha_ratio * alpha_max,
                fit_intercept=False,
                precompute=True,  # Gram matrix: few terms, many rows, so each sweep is cheap
                max_iter=self.max_iter,
                tol=self.tol,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                coef[i] = lasso.fit(Gs, B[:, i]).coef_ / norms
            self.n_iter_ = max(self.n_iter_, int(lasso.n_iter_))
        if self.refit:
            coef = _lstsq_on_support(G, B, coef != 0)
        return coef


class RidgeRegressor(_LinearSparse):
    """L2-penalised least squares (scikit-learn ``Ridge``), thresholded and refitted.

    Args:
        alpha: ridge penalty on unit-norm columns.
        threshold: coefficients smaller than this (physical units) are dropped.
        refit: least-squares refit on the kept terms.
    """

    def __init__(self, alpha=1e-8, threshold=0.05, refit=True):
        self.alpha = alpha
        self.threshold = threshold
        self.refit = refit

    def _solve(self, G, B):
        norms = _column_norms(G)
        ridge = Ridge(alpha=self.alpha, fit_intercept=False).fit(G / norms, B)
        coef = np.atleast_2d(ridge.coef_) / norms
        support = np.abs(coef) >= self.threshold
        if self.refit:
            return _lstsq_on_support(G, B, support)
        return np.where(support, coef, 0.0)


class STLSQ(_LinearSparse):
    """Sequentially thresholded least squares (SINDy): fit, drop small terms, refit, repeat.

    Args:
        threshold: coefficients smaller than this (physical units) are dropped.
        max_iter: thresholding rounds (it stops earlier once the support is stable).
    """

    def __init__(self, threshold=0.05, max_iter=20):
        self.threshold = threshold
        self.max_iter = max_iter

    def _solve(self, G, B):
        support = np.ones((B.shape[1], G.shape[1]), dtype=bool)
        coef = _lstsq_on_support(G, B, support)
        self.n_iter_ = 1
        for _ in range(self.max_iter):
            new = np.abs(coef) >= self.threshold
            if np.array_equal(new, support):
                break
            self.n_iter_ += 1
            support = new
            coef = _lstsq_on_support(G, B, support)
        return coef


def energy_constraints(library: PolynomialLibrary) -> np.ndarray:
    """Rows ``C`` with ``C @ vec(Xi) = 0`` iff the quadratic part conserves ``|x|^2``.

    ``vec`` stacks the equations: index ``i * n_terms + t`` is term t of equation i. For each
    cubic monomial ``x_a x_b x_c`` the coefficients of ``x_i * (x_j x_k)`` terms with
    ``{i, j, k} = {a, b, c}`` must sum to zero.
    """
    powers = library.powers
    d, p = library.n_features, library.n_terms
    rows = []
    for triple in itertools.combinations_with_replacement(range(d), 3):
        row = np.zeros(d * p)
        for i in set(triple):
            rest = list(triple)
            rest.remove(i)
            t = _quadratic_index(powers, rest)
            if t is not None:
                row[i * p + t] += 1.0
        if row.any():
            rows.append(row)
    return np.array(rows) if rows else np.zeros((0, d * p))


def _quadratic_index(powers: np.ndarray, pair: list[int]) -> int | None:
    target = np.zeros(powers.shape[1], dtype=int)
    for j in pair:
        target[j] += 1
    hits = np.nonzero((powers == target).all(axis=1))[0]
    return int(hits[0]) if len(hits) else None


class GalerkinRegressor(_LinearSparse):
    """Constrained least squares (energy-preserving quadratic part) via the KKT system.

    Args:
        library: the term library the columns of ``G`` come from; it defines the constraints.
            ``None`` fits without constraints (plain thresholded least squares).
        threshold: coefficients smaller than this (physical units) are dropped, and the
            constrained problem is solved again on the rest, until the support is stable.
        max_iter: thresholding rounds.
    """

    def __init__(self, library=None, threshold=0.05, max_iter=20):
        self.library = library
        self.threshold = threshold
        self.max_iter = max_iter

    def _constraints(self, n_targets: int, n_features: int) -> np.ndarray:
        lib = self.library
        if lib is None or lib.n_terms != n_features or lib.n_features != n_targets:
            return np.zeros((0, n_targets * n_features))
        return energy_constraints(lib)

    def _solve(self, G, B):
        k, p = B.shape[1], G.shape[1]
        C = self._constraints(k, p)
        active = np.ones(k * p, dtype=bool)
        xi = self._kkt(G, B, C, active)
        self.n_iter_ = 1
        for _ in range(self.max_iter):
            new = active & (np.abs(xi) >= self.threshold)
            if np.array_equal(new, active):
                break
            self.n_iter_ += 1
            active = new
            xi = self._kkt(G, B, C, active)
        self.constraint_residual_ = float(np.abs(C @ xi).max()) if len(C) else 0.0
        return xi.reshape(k, p)

    @staticmethod
    def _kkt(G, B, C, active):
        """Minimise sum_i |G xi_i - b_i|^2 subject to C xi = 0, over the active entries."""
        k, p = B.shape[1], G.shape[1]
        gram = G.T @ G
        H = np.kron(np.eye(k), gram)[np.ix_(active, active)]
        rhs = (G.T @ B).T.ravel()[active]
        Ca = C[:, active]
        Ca = Ca[np.abs(Ca).sum(axis=1) > 0]
        m = len(Ca)
        kkt = np.block([[2 * H, Ca.T], [Ca, np.zeros((m, m))]])
        sol = np.linalg.lstsq(kkt, np.concatenate([2 * rhs, np.zeros(m)]), rcond=None)[0]
        xi = np.zeros(k * p)
        xi[active] = sol[: active.sum()]
        return xi


__all__ = ["STLSQ", "GalerkinRegressor", "LassoRegressor", "RidgeRegressor"]
