"""Lyapunov spectra from the equations, by the QR (Benettin / Shimada-Nagashima) method.

A set of K tangent vectors ``Q`` (orthonormal columns) is carried along a trajectory by the
variational equation ``dQ/dt = J(x(t)) Q``. Every few steps ``Q`` is re-orthonormalised by a QR
decomposition, ``Q = Q' R``; the logarithms of ``|R_ii|`` accumulate the growth of the i-th
direction, and their averages over time are the exponents, largest first, in 1/time units.

References:
    Shimada, I. & Nagashima, T. (1979), Prog. Theor. Phys. 61, 1605.
    Benettin, G., Galgani, L., Giorgilli, A. & Strelcyn, J.-M. (1980), Meccanica 15, 9 and 21.
    Kaplan, J. L. & Yorke, J. A. (1979), Lecture Notes in Mathematics 730, 204 (the dimension).

Everything is batched: N trajectories (and optionally N parameter sets, as arrays of shape
``(N,)``) advance together with RK4 on the augmented state ``(x, Q)``, and the standard error
is taken across the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from chaosgan.errors import ChaosganError
from chaosgan.integrate import advance
from chaosgan.simulate import random_initial_states
from chaosgan.systems import System, get_system

Rhs = Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]


@dataclass
class Spectrum:
    """Lyapunov exponents (1/time), largest first, with their standard error across the batch."""

    exponents: np.ndarray
    stderr: np.ndarray
    per_trajectory: np.ndarray = field(repr=False)

    @property
    def kaplan_yorke_dimension(self) -> float:
        return kaplan_yorke_dimension(self.exponents)


def kaplan_yorke_dimension(exponents: np.ndarray) -> float:
    """``j + sum(l_1..l_j) / |l_{j+1}|`` with j the largest k whose partial sum is >= 0."""
    lam = np.sort(np.asarray(exponents, dtype=float))[::-1]
    sums = np.cumsum(lam)
    if sums[0] < 0:
        return 0.0
    nonneg = np.nonzero(sums >= 0)[0]
    j = int(nonneg[-1]) + 1
    if j == len(lam):
        return float(len(lam))
    return j + float(sums[j - 1]) / abs(float(lam[j]))


def qr_exponents(
    rhs: Rhs,
    jacobian: Rhs,
    params: Mapping[str, Any],
    x0: np.ndarray,
    h: float,
    n_steps: int,
    n_exponents: int | None = None,
    qr_every: int = 5,
    progress: bool = False,
    tangent: Callable[[np.ndarray, np.ndarray, Mapping[str, Any]], np.ndarray] | None = None,
) -> np.ndarray:
    """Exponents of each trajectory from ``x0`` (shape ``(D, N)``), shape ``(N, K)``, 1/time.

    Args:
        rhs, jacobian: batched system functions (see :class:`chaosgan.systems.System`).
        params: floats, or arrays of shape ``(N,)`` for one parameter set per trajectory.
        x0: states on the attractor (burn in first), shape ``(D, N)``.
        h: RK4 step, time units.
        n_steps: number of steps; the averaging time is ``n_steps * h``.
        n_exponents: K, how many exponents (default all D).
        qr_every: steps between re-orthonormalisations (growth per interval must stay far from
            overflow: ``exp(lambda_max * h * qr_every)``).
        progress: show a progress bar.
        tangent: optional ``tangent(x, Q, p) = J(x) Q`` without forming J (see
            :class:`chaosgan.systems.System`); default: ``jacobian`` times ``Q``.
    """
    x = np.array(x0, dtype=np.float64)
    d, n = x.shape
    k = d if n_exponents is None else n_exponents
    q = np.broadcast_to(np.eye(d, k)[:, :, None], (d, k, n)).copy()
    log_r = np.zeros((n, k))
    rk4 = _tangent_rk4(rhs, jacobian, tangent, h)
    n_blocks = max(1, n_steps // qr_every)
    state = (x, q)
    for _ in tqdm(range(n_blocks), disable=not progress, desc="QR spectrum", unit="block"):
        for _ in range(qr_every):
            state = rk4(state, params)
        qq, rr = np.linalg.qr(state[1].transpose(2, 0, 1))  # (N, D, K), (N, K, K)
        log_r += np.log(np.abs(np.diagonal(rr, axis1=1, axis2=2)))
        state = (state[0], np.ascontiguousarray(qq.transpose(1, 2, 0)))
    if not np.isfinite(state[0]).all():
        raise ChaosganError("the trajectory diverged while computing the spectrum")
    return log_r / (n_blocks * qr_every * h)


def _tangent_rk4(rhs: Rhs, jacobian: Rhs, tangent: Callable | None, h: float) -> Callable:
    """One RK4 step of length ``h`` of the state and its tangent vectors together:
    ``rk4((x, Q), p)`` with ``x`` ``(D, N)`` and ``Q`` ``(D, K, N)``."""

    def f(state: tuple[np.ndarray, np.ndarray], p: Mapping[str, Any]):
        xs, qs = state
        if tangent is not None:
            return rhs(xs, p), tangent(xs, qs, p)
        return rhs(xs, p), np.einsum("ijn,jkn->ikn", jacobian(xs, p), qs)

    def add(a, b, c):
        return (a[0] + c * b[0], a[1] + c * b[1])

    def rk4(state, p):
        k1 = f(state, p)
        k2 = f(add(state, k1, 0.5 * h), p)
        k3 = f(add(state, k2, 0.5 * h), p)
        k4 = f(add(state, k3, h), p)
        return (
            state[0] + (h / 6.0) * (k1[0] + 2.0 * (k2[0] + k3[0]) + k4[0]),
            state[1] + (h / 6.0) * (k1[1] + 2.0 * (k2[1] + k3[1]) + k4[1]),
        )

    return rk4


def path_exponents(
    system: str | System,
    series: np.ndarray,
    dt: float,
    params: Mapping[str, Any] | None = None,
    substeps: int = 10,
    n_exponents: int = 1,
    progress: bool = False,
) -> np.ndarray:
    """Exponents of the linearised flow carried along given samples: shape ``(N, K)``, 1/time.

    ``series`` ``(N, T, D)`` is sampled every ``dt``; ``params`` may hold arrays of shape
    ``(N,)``, one value per series (a conditional dataset's). From each sample ``x_t`` the tangent
    vectors follow the variational equation of ``system`` (at ``params``; default its own) for
    ``dt`` (``substeps`` RK4 steps), the state is then reset to the next sample ``x_{t+1}``,
    and the vectors are re-orthonormalised (QR); the logarithms of ``|R_ii|`` average to the
    exponents, as in :func:`qr_exponents`. For an orbit of ``system`` this is its finite-time
    spectrum over ``(T - 1) dt`` time units, with no estimator's parameters; for a near-orbit
    (a generated series relaxed towards orbits, :mod:`chaosgan.gan.relaxation`) it says how
    unstable the path it runs along is. It reads systematic kinks too, not only the path: real
    orbits relaxed onto orbits of a two-step RK4 map of the flow (moved 3.5e-4 diameters) read 5%
    high, with four steps 0.4% (``scripts/relax_eval.py``'s substeps check), so compare a
    near-orbit with real series relaxed the same way. For a series far from any orbit it has
    no meaning (the tangent vectors are carried along segments that do not join up).
    """
    sys_ = get_system(system) if isinstance(system, str) else system
    p = sys_.resolve_params(params)
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] < 2 or not np.isfinite(x).all():
        raise ChaosganError(f"path exponents need finite series (N, T >= 2, D), got {x.shape}")
    if dt <= 0 or substeps < 1:
        raise ChaosganError(f"dt and substeps must be positive, got {dt}, {substeps}")
    n, t, d = x.shape
    for key, value in p.items():
        if np.ndim(value) and np.shape(value) != (n,):
            raise ChaosganError(f"parameter {key!r} needs one value per series ({n})")
    scalar = _first_values(p)
    if d != sys_.dim(scalar):
        raise ChaosganError(f"the series have {d} coordinates, {sys_.name} has {sys_.dim(scalar)}")
    k = n_exponents
    if not 1 <= k <= d:
        raise ChaosganError(f"n_exponents must be in 1..{d}, got {k}")
    rk4 = _tangent_rk4(sys_.rhs, sys_.jacobian, sys_.tangent, dt / substeps)
    q = np.broadcast_to(np.eye(d, k)[:, :, None], (d, k, n)).copy()
    log_r = np.zeros((n, k))
    for step in tqdm(range(t - 1), disable=not progress, desc="path exponents", unit="step"):
        state = (x[:, step].T.copy(), q)
        for _ in range(substeps):
            state = rk4(state, p)
        qq, rr = np.linalg.qr(state[1].transpose(2, 0, 1))
        log_r += np.log(np.abs(np.diagonal(rr, axis1=1, axis2=2)))
        q = np.ascontiguousarray(qq.transpose(1, 2, 0))
    return log_r / ((t - 1) * dt)


def _first_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with each per-trajectory array replaced by its first value (what sizes the
    system: its dimension, its initial states)."""
    return {k: (v if np.ndim(v) == 0 else np.asarray(v).flat[0]) for k, v in params.items()}


def default_effort(dim: int) -> tuple[int, float]:
    """Default ``(n_trajectories, t_average)`` for a ``dim``-dimensional system.

    A step of the tangent dynamics costs O(D^2) (D vectors of D components), so the averaging
    effort shrinks with the dimension: 32 trajectories x 400 time units for D <= 3 (standard
    error of Lorenz-63's exponents about 0.002), 16 x 100 above (Lorenz-96 with N = 40: about
    0.012 on the largest, under a minute on one core; ``scripts/bench_lyapunov.py``). Either
    way the standard error printed is the spread across trajectories, so it stays honest.
    """
    return (32, 400.0) if dim <= 3 else (16, 100.0)


def lyapunov_spectrum(
    system: str | System = "lorenz63",
    params: Mapping[str, Any] | None = None,
    n_trajectories: int | None = None,
    t_average: float | None = None,
    h: float = 0.01,
    t_transient: float = 20.0,
    seed: int = 0,
    n_exponents: int | None = None,
    progress: bool = False,
) -> Spectrum:
    """Spectrum of a catalogue system averaged over random initial conditions on its attractor.

    Args:
        system: catalogue name or :class:`System`.
        params: overrides; values may be arrays of shape ``(n_trajectories,)`` to compute one
            spectrum per parameter set in the same batch (then read ``per_trajectory``).
        n_trajectories: batch size; the standard error is across it (default: see
            :func:`default_effort`).
        t_average: averaging time per trajectory, time units (default: see
            :func:`default_effort`).
        h: RK4 step, time units (0.01 suits Lorenz-63; use the system's fastest time scale / 100).
        t_transient: time units integrated before averaging starts (states settle onto the
            attractor, tangent vectors onto the Lyapunov vectors).
        seed: seed of the initial conditions.
        n_exponents: how many exponents (default all).
    """
    sys_ = get_system(system) if isinstance(system, str) else system
    p = dict(sys_.defaults)
    for key, value in (params or {}).items():
        if key not in p:
            sys_.resolve_params({key: value})  # raises the standard unknown-parameter error
        p[key] = np.asarray(value, dtype=float) if np.ndim(value) else value
    scalar = _first_values(p)
    n_default, t_default = default_effort(sys_.dim(scalar))
    n_trajectories = n_default if n_trajectories is None else n_trajectories
    t_average = t_default if t_average is None else t_average
    if n_trajectories < 1 or t_average <= 0 or h <= 0:
        raise ChaosganError("n_trajectories, t_average and h must be positive")
    x0 = random_initial_states(sys_, scalar, n_trajectories, np.random.default_rng(seed))
    with np.errstate(over="ignore", invalid="ignore"):
        x0 = advance(sys_.rhs, x0, p, h, int(round(t_transient / h)))
    per = qr_exponents(
        sys_.rhs,
        sys_.jacobian,
        p,
        x0,
        h,
        int(round(t_average / h)),
        n_exponents=n_exponents,
        progress=progress,
        tangent=sys_.tangent,
    )
    stderr = per.std(axis=0, ddof=1) / np.sqrt(len(per)) if len(per) > 1 else np.zeros(per.shape[1])
    return Spectrum(exponents=per.mean(axis=0), stderr=stderr, per_trajectory=per)
