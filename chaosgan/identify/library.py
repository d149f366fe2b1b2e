"""Polynomial term libraries and the models built from them.

A model is ``dx/dt = Theta(x) Xi``: ``Theta(x)`` holds every monomial of the state up to a given
degree (scikit-learn's ``PolynomialFeatures`` defines the terms and their names), and the
coefficient matrix ``Xi`` has one column per equation. Evaluation here is our own (products of
coordinate rows), because the identified model's right-hand side runs inside integrators and must
work on batched component-major states ``(D, N)``; ``tests/test_identify.py`` checks it equals
scikit-learn's transform.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.preprocessing import PolynomialFeatures


@dataclass(frozen=True)
class PolynomialLibrary:
    """All monomials of ``n_features`` variables up to ``degree`` (with the constant term)."""

    n_features: int
    degree: int = 2
    variable_names: tuple[str, ...] = ("x", "y", "z")

    @cached_property
    def _features(self) -> PolynomialFeatures:
        return PolynomialFeatures(self.degree).fit(np.zeros((1, self.n_features)))

    @cached_property
    def powers(self) -> np.ndarray:
        """Exponents, shape ``(n_terms, n_features)``, in scikit-learn's term order."""
        return self._features.powers_

    @cached_property
    def names(self) -> list[str]:
        """Readable term names: ``1``, ``x``, ``x^2``, ``x y`` ..."""
        return list(self._features.get_feature_names_out(list(self._variables())))

    @cached_property
    def _factors(self) -> list[list[int]]:
        """Each term as the list of coordinate indices to multiply (``x^2 y`` -> [0, 0, 1])."""
        return [[d for d in range(self.n_features) for _ in range(int(p[d]))] for p in self.powers]

    @property
    def n_terms(self) -> int:
        return len(self.powers)

    def _variables(self) -> tuple[str, ...]:
        if len(self.variable_names) == self.n_features:
            return self.variable_names
        return tuple(f"x{i}" for i in range(self.n_features))

    def theta(self, x: np.ndarray) -> np.ndarray:
        """Terms of states ``x`` of shape ``(M, D)``: returns ``(M, n_terms)``."""
        return self.theta_cm(np.asarray(x).T).T

    def theta_cm(self, x: np.ndarray) -> np.ndarray:
        """Terms of component-major states ``(D, N)``: returns ``(n_terms, N)``."""
        out = np.empty((self.n_terms,) + x.shape[1:])
        for t, factors in enumerate(self._factors):
            if not factors:
                out[t] = 1.0
                continue
            term = x[factors[0]]
            for d in factors[1:]:
                term = term * x[d]
            out[t] = term
        return out

    @cached_property
    def _jacobian_factors(self) -> list[tuple[int, int, float, list[int]]]:
        """``(term, coordinate, multiplier, factors)``: d term / d x_coordinate as a product."""
        out = []
        for t, p in enumerate(self.powers):
            for d in np.nonzero(p)[0]:
                rest = [e for e in range(self.n_features) for _ in range(int(p[e]) - (e == d))]
                out.append((t, int(d), float(p[d]), rest))
        return out

    def theta_jacobian_cm(self, x: np.ndarray) -> np.ndarray:
        """``d Theta_t / d x_d`` for states ``(D, N)``: returns ``(n_terms, D, N)``."""
        out = np.zeros((self.n_terms, x.shape[0]) + x.shape[1:])
        for t, d, mult, factors in self._jacobian_factors:
            term = np.full(x.shape[1:], mult)
            for e in factors:
                term = term * x[e]
            out[t, d] = term
        return out

    def equations(self, coef: np.ndarray, precision: int = 3, tol: float = 0.0) -> list[str]:
        """Readable equations from ``coef`` of shape ``(D, n_terms)``: ``x' = -10.000 x + ...``."""
        lines = []
        for name, row in zip(self._variables(), coef, strict=True):
            parts = []
            for c, term in zip(row, self.names, strict=True):
                if abs(c) <= tol or c == 0:
                    continue
                sign = "-" if c < 0 else "+"
                body = f"{abs(c):.{precision}f}" + ("" if term == "1" else f" {term}")
                parts.append(f"{sign} {body}")
            rhs = " ".join(parts).lstrip("+ ") if parts else "0"
            if rhs.startswith("- "):
                rhs = "-" + rhs[2:]
            lines.append(f"{name}' = {rhs}")
        return lines


@dataclass(frozen=True)
class PolynomialModel:
    """``dx/dt = coef @ Theta(x)``, with ``coef`` of shape ``(D, n_terms)`` (sklearn's layout)."""

    library: PolynomialLibrary
    coef: np.ndarray

    def rhs(self, x: np.ndarray, params: object = None) -> np.ndarray:
        """Batched right-hand side for states ``(D, N)`` (``params`` is ignored)."""
        return self.coef @ self.library.theta_cm(x)

    def jacobian(self, x: np.ndarray, params: object = None) -> np.ndarray:
        """``(D, D, N)`` Jacobian for states ``(D, N)``."""
        return np.einsum("it,tdn->idn", self.coef, self.library.theta_jacobian_cm(x))

    def equations(self, precision: int = 3) -> list[str]:
        return self.library.equations(self.coef, precision)
