"""Orbit projection: the true orbit of a model nearest to a generated series.

A generated series ``g_0 .. g_{T-1}`` is rarely an orbit; the nearest orbit ``o`` of a model
``dx/dt = f(x)`` solves

    min_o  sum_t || o_t - g_t ||^2   subject to   o_{t+1} = Phi_dt(o_t).

Written over the whole series this is hopeless for a chaotic flow (the orbit's dependence on its
start grows like exp(lambda T)), so it is solved by *multiple shooting*, as in the refinement
procedure of shadowing proofs (Grebogi, Hammel, Yorke & Sauer 1990, PRL 65:1527) and in
parameter estimation for chaotic ODEs (Bock 1981; Baake et al. 1992): the series is cut into
segments of ``L`` steps whose starts ``s_k`` are the unknowns, each segment is an exact orbit
``o_{kL+j} = Phi_dt^j(s_k)``, and continuity ``Phi_dt^L(s_k) = s_{k+1}`` is imposed as a
quadratic penalty whose weight grows until the largest gap is below ``tol`` attractor diameters.
Each Levenberg-Marquardt step solves normal equations that are block-tridiagonal with ``D x D``
blocks (segment k is coupled to k + 1 only by continuity): a block Thomas elimination, batched
over series, so a step costs O(T D^3) per series instead of O((T D / L)^3).

The result is an orbit of the model's RK4 map with ``substeps`` steps per ``dt`` (within a
segment exactly, across segment ends up to the reported gap); when the model is identified from
data it is an orbit of the identified model, not of the true system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chaosgan.errors import ChaosganError
from chaosgan.identify.library import PolynomialModel


@dataclass(frozen=True)
class Projection:
    """Projected orbits and what it took.

    Attributes:
        orbits: ``(B, T, D)`` orbits of the model.
        moved: per series, RMS distance ``|o_t - g_t|`` over time / diameter.
        max_gap: per series, the largest continuity gap between segments / diameter.
        iterations: Levenberg-Marquardt steps taken (all penalty stages).
        segment_steps: L, samples per shooting segment.
    """

    orbits: np.ndarray
    moved: np.ndarray
    max_gap: np.ndarray
    iterations: int
    segment_steps: int


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for stacks of matrices laid out ``(D, D, M)``."""
    return np.einsum("ijm,jkm->ikm", a, b)


def _rk4(model: PolynomialModel, x: np.ndarray, h: float, substeps: int) -> np.ndarray:
    """``substeps`` classical RK4 steps of size ``h`` for states ``(D, M)``."""
    f = model.rhs
    for _ in range(substeps):
        k1 = f(x)
        k2 = f(x + 0.5 * h * k1)
        k3 = f(x + 0.5 * h * k2)
        k4 = f(x + h * k3)
        x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return x


def _rk4_tangent(model: PolynomialModel, x: np.ndarray, h: float) -> np.ndarray:
    """Derivative ``(D, D, M)`` of one RK4 step of size ``h`` from states ``(D, M)`` (the
    variational equations integrated alongside, Hairer, Norsett & Wanner I.14)."""
    f, jac = model.rhs, model.jacobian
    d, m = x.shape
    eye = np.broadcast_to(np.eye(d)[:, :, None], (d, d, m))
    k1 = f(x)
    x2 = x + 0.5 * h * k1
    k2 = f(x2)
    x3 = x + 0.5 * h * k2
    k3 = f(x3)
    x4 = x + h * k3
    p1 = jac(x)
    p2 = _matmul(jac(x2), eye + 0.5 * h * p1)
    p3 = _matmul(jac(x3), eye + 0.5 * h * p2)
    p4 = _matmul(jac(x4), eye + h * p3)
    return eye + (h / 6.0) * (p1 + 2.0 * p2 + 2.0 * p3 + p4)


def _segments(
    model: PolynomialModel,
    starts: np.ndarray,
    steps: int,
    dt: float,
    substeps: int,
    tangent: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """States ``(B, K, steps + 1, D)`` of every segment (index 0 is the start) and, with
    ``tangent``, their derivatives with respect to the start ``(B, K, steps + 1, D, D)``.

    The states take ``substeps`` RK4 steps per ``dt``; the derivatives only one (a
    Gauss-Newton step needs the Jacobian only approximately: the residuals it drives to their
    minimum are computed with the accurate states)."""
    b, k, d = starts.shape
    x = starts.reshape(-1, d).T.copy()
    states = [starts]
    tangents = [np.broadcast_to(np.eye(d), (b, k, d, d))] if tangent else None
    total = None
    for _ in range(steps):
        if tangents is not None:
            phi = _rk4_tangent(model, x, dt)
            total = phi if total is None else _matmul(phi, total)
            tangents.append(total.transpose(2, 0, 1).reshape(b, k, d, d))
        x = _rk4(model, x, dt / substeps, substeps)
        states.append(x.T.reshape(b, k, d))
    out_t = np.stack(tangents, axis=2) if tangents is not None else None
    return np.stack(states, axis=2), out_t


def _block_tridiagonal_solve(diag: np.ndarray, upper: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve symmetric block-tridiagonal systems, batched: ``diag (B, K, D, D)``, ``upper
    (B, K - 1, D, D)`` (block (k, k + 1); block (k + 1, k) is its transpose), ``rhs (B, K, D)``.
    Block Thomas elimination (Golub & Van Loan, *Matrix Computations*, 4.5.1); each pivot block
    is inverted once and reused by the back substitution."""
    k = diag.shape[1]
    inverse = np.empty_like(diag)
    reduced = np.empty_like(rhs)
    pivot, reduced[:, 0] = diag[:, 0], rhs[:, 0]
    for i in range(1, k):
        inverse[:, i - 1] = np.linalg.inv(pivot)
        m = upper[:, i - 1].transpose(0, 2, 1) @ inverse[:, i - 1]  # block (i, i-1) / pivot
        pivot = diag[:, i] - m @ upper[:, i - 1]
        reduced[:, i] = rhs[:, i] - (m @ reduced[:, i - 1, :, None])[..., 0]
    inverse[:, -1] = np.linalg.inv(pivot)
    x = np.empty_like(rhs)
    x[:, -1] = (inverse[:, -1] @ reduced[:, -1, :, None])[..., 0]
    for i in range(k - 2, -1, -1):
        r = reduced[:, i] - (upper[:, i] @ x[:, i + 1, :, None])[..., 0]
        x[:, i] = (inverse[:, i] @ r[..., None])[..., 0]
    return x


def project(
    series: np.ndarray,
    model: PolynomialModel,
    dt: float,
    diameter: float,
    *,
    segment_steps: int | None = None,
    substeps: int = 5,
    tol: float = 1e-4,
    penalties: tuple[float, float] = (1.0, 1e3),
    max_iterations: int = 60,
) -> Projection:
    """The orbits of ``model`` nearest to ``series`` ``(B, T, D)`` sampled every ``dt``.

    Continuity is imposed with an augmented Lagrangian (Hestenes 1969; Nocedal & Wright,
    *Numerical Optimization*, 17.3): Levenberg-Marquardt steps on
    ``sum ||o - g||^2 + penalty * sum ||gap + multiplier / penalty||^2``, the multipliers updated
    by ``penalty * gap`` every second step. A moderate fixed penalty keeps the block-tridiagonal
    systems well conditioned (a pure penalty would need weights so large that the elimination
    loses the fit's information to rounding).

    Args:
        series: generated series in physical units.
        model: the vector field (an identified :class:`PolynomialModel`).
        dt: sampling step of the series, time units.
        diameter: attractor diameter used to state distances and ``tol``.
        segment_steps: samples per shooting segment (default: 0.4 time units' worth, at least 1;
            about a third of a Lyapunov time on Lorenz-63, so each segment is well conditioned).
        substeps: RK4 steps per ``dt`` (5: within 1e-6 diameters of the exact flow per step on
            Lorenz-63 at dt = 0.1, median).
        tol: the largest continuity gap allowed at the end, in diameters (1e-4: a hundred times
            below the one-step error a good generator is asked for).
        penalty: the augmented Lagrangian's weight on the gaps.
        max_iterations: Levenberg-Marquardt steps at most.

    Raises:
        ChaosganError: when the model's flow diverges from the series' states or the gaps do not
            close to ``tol`` (the message says for how many series and by how much).
    """
    g = np.asarray(series, dtype=np.float64)
    if g.ndim != 3 or g.shape[1] < 2:
        raise ChaosganError(f"projection needs series of shape (B, T >= 2, D), got {g.shape}")
    if not np.isfinite(g).all():
        raise ChaosganError("cannot project series that contain NaN or inf")
    b, t, d = g.shape
    steps = segment_steps or max(1, int(round(0.4 / dt)))
    k = -(-t // steps)  # segments; the last may run past T (those samples are not fitted)
    weights = np.zeros((k, steps))  # which samples of each segment are fitted
    weights.flat[:t] = 1.0
    target = np.zeros((b, k * steps, d))
    target[:, :t] = g
    target = target.reshape(b, k, steps, d)
    eye = np.eye(d)

    def evaluate(s: np.ndarray, shift: np.ndarray, w: float) -> tuple:
        with np.errstate(all="ignore"):
            states, tangents = _segments(model, s, steps, dt, substeps, True)
        fit = (states[:, :, :steps] - target) * weights[None, :, :, None]
        gaps = states[:, :-1, steps] - s[:, 1:]
        cost = (fit**2).sum(axis=(1, 2, 3)) + w * ((gaps + shift) ** 2).sum(axis=(1, 2))
        cost = np.where(
            np.isfinite(cost) & np.isfinite(tangents).all(axis=(1, 2, 3, 4)), cost, np.inf
        )
        return cost, fit, gaps, states, tangents

    starts = g[:, ::steps].copy()
    shift = np.zeros((b, k - 1, d))  # multipliers / penalty
    w = penalties[0]
    cost, fit, gaps, states, tangents = evaluate(starts, shift, w)
    if not np.isfinite(cost).all():
        bad = int((~np.isfinite(cost)).sum())
        raise ChaosganError(f"the model's flow diverges from {bad} of {b} series: cannot project")
    mu = np.full(b, 1e-4)
    iterations = inner = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (reported afterwards)
        jfit = tangents[:, :, :steps] * weights[None, :, :, None, None]  # (B, K, L, D, D)
        jend = tangents[:, :-1, steps]  # (B, K - 1, D, D)
        jend_t = jend.transpose(0, 1, 3, 2)
        stacked = jfit.reshape(b, k, steps * d, d)  # the segment's fit Jacobian, rows stacked
        stacked_t = stacked.transpose(0, 1, 3, 2)
        diag = stacked_t @ stacked
        grad = (stacked_t @ fit.reshape(b, k, steps * d, 1))[..., 0]
        shifted = gaps + shift
        diag[:, :-1] += w * jend_t @ jend
        diag[:, 1:] += w * eye
        grad[:, :-1] += w * (jend_t @ shifted[..., None])[..., 0]
        grad[:, 1:] -= w * shifted
        # Marquardt's scaling: damping proportional to each unknown's own curvature
        damped = diag + mu[:, None, None, None] * (diag * eye)
        trial = starts + _block_tridiagonal_solve(damped, -w * jend_t, -grad)
        new = evaluate(trial, shift, w)
        better = new[0] < cost
        gain = np.where(better, (cost - new[0]) / np.maximum(cost, 1e-300), 0.0)
        starts = np.where(better[:, None, None], trial, starts)
        cost, fit, gaps, states, tangents = (
            np.where(better.reshape((b,) + (1,) * (old.ndim - 1)), fresh, old)
            for fresh, old in zip(new, (cost, fit, gaps, states, tangents), strict=True)
        )
        mu = np.where(better, np.maximum(mu / 10.0, 1e-12), np.minimum(mu * 10.0, 1e12))
        if k == 1 or np.linalg.norm(gaps, axis=2).max() / diameter < tol:
            break
        inner += int(better.any())
        # the multipliers move only once the current problem is solved (steps accepted with
        # little gain, or several accepted steps): moving them on rejected steps diverges
        if better.any() and (gain[better].max() < 1e-3 or inner >= 6):
            multipliers = w * (shift + gaps)  # the update: multiplier += weight * gap
            w = min(w * 10.0, penalties[-1])  # then a stiffer weight, up to the last
            shift = multipliers / w
            cost = (fit**2).sum(axis=(1, 2, 3)) + w * ((gaps + shift) ** 2).sum(axis=(1, 2))
            inner = 0
    max_gap = np.linalg.norm(gaps, axis=2).max(axis=1) / diameter if k > 1 else np.zeros(b)
    if (max_gap > tol).any():
        raise ChaosganError(
            f"projection left continuity gaps of up to {float(max_gap.max()):.2g} diameters in "
            f"{int((max_gap > tol).sum())} of {b} series after {iterations} steps "
            f"(tolerance {tol:g})"
        )
    orbits = states[:, :, :steps].reshape(b, k * steps, d)[:, :t]
    moved = np.sqrt(((orbits - g) ** 2).sum(axis=2).mean(axis=1)) / diameter
    return Projection(orbits, moved, max_gap, iterations, steps)
