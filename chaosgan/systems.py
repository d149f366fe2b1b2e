"""A small catalogue of chaotic flows: right-hand sides, Jacobians and reference exponents.

Every right-hand side is *batched* and written with arithmetic only, so the same function runs on
numpy arrays and on torch tensors (CPU or CUDA). States are laid out component-major, shape
``(D, N)`` for N trajectories of a D-dimensional system: ``x[0]`` is the first coordinate of every
trajectory, a contiguous row, which keeps the vectorised integrator fast. Parameters are floats or
arrays of shape ``(N,)`` (one parameter set per trajectory), which broadcast against ``x[i]``.

Reference Lyapunov exponents are in units of 1/time (not per sample) and come from

- Sprott, J. C. (2003), *Chaos and Time-Series Analysis*, Oxford University Press, Appendix A
  (Lorenz-63, Rössler, Chen);
- Karimi, A. & Paul, M. R. (2010), "Extensive chaos in the Lorenz-96 model", *Chaos* 20, 043105
  (Lorenz-96, N = 40, F = 8: largest exponent about 1.67).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chaosgan.errors import ChaosganError

Array = Any  # numpy.ndarray or torch.Tensor
Params = Mapping[str, Any]


def _stack(rows: list, like: Array) -> Array:
    """Stack a list of same-shape arrays along a new first axis, for numpy or torch alike."""
    if type(like).__module__.startswith("torch"):
        import torch

        return torch.stack(rows)
    return np.stack(rows)


def _jacobian_from_rows(rows: list[list], x: Array) -> Array:
    """Assemble a ``(D, D, N)`` Jacobian from nested rows of scalars or ``(N,)`` arrays."""
    like = x[0]
    full = [[e * 1.0 + like * 0.0 for e in row] for row in rows]
    return _stack([_stack(r, like) for r in full], like)


@dataclass(frozen=True)
class System:
    """One chaotic flow ``dx/dt = f(x; params)``.

    Attributes:
        name: catalogue key (``lorenz63``).
        defaults: parameter names and their default values.
        dim: state dimension D (a function of the parameters for Lorenz-96).
        rhs: ``rhs(x, p) -> dx/dt`` for states of shape ``(D, N)``.
        jacobian: ``jacobian(x, p) -> J`` of shape ``(D, D, N)``, ``J[i, j] = df_i / dx_j``.
        sample_dt: a sensible sampling step in time units for datasets of 1024 samples.
        initial_box: ``(low, high)`` per coordinate for random initial conditions (before burn-in).
        reference_exponents: Lyapunov exponents at the default parameters, 1/time, largest first
            (possibly only the largest).
        citation: where the reference exponents come from.
        coordinate_names: names of the coordinates, for tables and plots.
        integer_params: parameters that must be whole numbers (Lorenz-96's N).
        tangent: optional ``tangent(x, v, p) -> J(x) v`` for tangent vectors ``v`` of shape
            ``(D, K, N)``, without forming J: the QR spectrum uses it when given (Lorenz-96's
            Jacobian is sparse, so this costs O(D K) per state instead of O(D^2 K)).
    """

    name: str
    defaults: dict[str, float]
    dim: Callable[[Params], int]
    rhs: Callable[[Array, Params], Array]
    jacobian: Callable[[Array, Params], Array]
    sample_dt: float
    initial_box: Callable[[Params], tuple[np.ndarray, np.ndarray]]
    reference_exponents: tuple[float, ...]
    citation: str
    coordinate_names: Callable[[Params], list[str]]
    integer_params: frozenset[str] = field(default_factory=frozenset)
    trace: Callable[[Params], float] | None = None
    tangent: Callable[[Array, Array, Params], Array] | None = None

    def resolve_params(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Defaults updated with ``overrides``; unknown names raise a clear error."""
        params = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if key not in params:
                valid = ", ".join(sorted(params))
                raise ChaosganError(
                    f"unknown parameter {key!r} for system {self.name!r} (valid: {valid})"
                )
            if key in self.integer_params:
                if float(value) != int(value) or int(value) < 4:
                    raise ChaosganError(f"parameter {key!r} must be an integer >= 4, got {value}")
                value = int(value)
            params[key] = value
        return params


def _lorenz63_rhs(x: Array, p: Params) -> Array:
    s, r, b = p["sigma"], p["rho"], p["beta"]
    return _stack([s * (x[1] - x[0]), x[0] * (r - x[2]) - x[1], x[0] * x[1] - b * x[2]], x)


def _lorenz63_jac(x: Array, p: Params) -> Array:
    s, r, b = p["sigma"], p["rho"], p["beta"]
    return _jacobian_from_rows(
        [[-s, s, 0.0], [r - x[2], -1.0, -x[0]], [x[1], x[0], -b]],
        x,
    )


def _rossler_rhs(x: Array, p: Params) -> Array:
    a, b, c = p["a"], p["b"], p["c"]
    return _stack([-x[1] - x[2], x[0] + a * x[1], b + x[2] * (x[0] - c)], x)


def _rossler_jac(x: Array, p: Params) -> Array:
    a, c = p["a"], p["c"]
    return _jacobian_from_rows([[0.0, -1.0, -1.0], [1.0, a, 0.0], [x[2], 0.0, x[0] - c]], x)


def _chen_rhs(x: Array, p: Params) -> Array:
    a, b, c = p["a"], p["b"], p["c"]
    return _stack(
        [a * (x[1] - x[0]), (c - a) * x[0] - x[0] * x[2] + c * x[1], x[0] * x[1] - b * x[2]], x
    )


def _chen_jac(x: Array, p: Params) -> Array:
    a, b, c = p["a"], p["b"], p["c"]
    return _jacobian_from_rows(
        [[-a, a, 0.0], [c - a - x[2], c, -x[0]], [x[1], x[0], -b]],
        x,
    )


def _roll(x: Array, shift: int) -> Array:
    """Cyclic shift along the component axis (axis 0), numpy or torch."""
    if type(x).__module__.startswith("torch"):
        import torch

        return torch.roll(x, shifts=shift, dims=0)
    return np.roll(x, shift, axis=0)


def _lorenz96_rhs(x: Array, p: Params) -> Array:
    # dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, indices cyclic.
    return (_roll(x, -1) - _roll(x, 2)) * _roll(x, 1) - x + p["F"]


def _lorenz96_jac(x: Array, p: Params) -> Array:
    # numpy only: the QR spectrum runs in numpy, and a (40, 40, N) stack of rows would be slow.
    x = np.asarray(x)
    n = x.shape[0]
    i = np.arange(n)
    jac = np.zeros((n, n) + x.shape[1:])
    jac[i, (i - 2) % n] -= x[(i - 1) % n]
    jac[i, (i - 1) % n] += x[(i + 1) % n] - x[(i - 2) % n]
    jac[i, i] -= 1.0
    jac[i, (i + 1) % n] += x[(i - 1) % n]
    return jac


def _lorenz96_tangent(x: Array, v: Array, p: Params) -> Array:
    # J v, term by term from the rhs: d/dx of (x_{i+1} - x_{i-2}) x_{i-1} - x_i along v.
    x = np.asarray(x)[:, None]
    return (
        (np.roll(v, -1, 0) - np.roll(v, 2, 0)) * np.roll(x, 1, 0)
        + (np.roll(x, -1, 0) - np.roll(x, 2, 0)) * np.roll(v, 1, 0)
        - v
    )


def _box(low: list[float], high: list[float]) -> Callable[[Params], tuple]:
    return lambda p: (np.array(low, dtype=float), np.array(high, dtype=float))


def _xyz(p: Params) -> list[str]:
    return ["x", "y", "z"]


SYSTEMS: dict[str, System] = {
    "lorenz63": System(
        name="lorenz63",
        defaults={"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
        dim=lambda p: 3,
        rhs=_lorenz63_rhs,
        jacobian=_lorenz63_jac,
        sample_dt=0.1,
        initial_box=_box([-15.0, -20.0, 5.0], [15.0, 20.0, 40.0]),
        reference_exponents=(0.9056, 0.0, -14.5723),
        citation="Sprott (2003), Chaos and Time-Series Analysis, Appendix A",
        coordinate_names=_xyz,
        trace=lambda p: -(p["sigma"] + 1.0 + p["beta"]),
    ),
    "rossler": System(
        name="rossler",
        defaults={"a": 0.2, "b": 0.2, "c": 5.7},
        dim=lambda p: 3,
        rhs=_rossler_rhs,
        jacobian=_rossler_jac,
        sample_dt=0.5,
        initial_box=_box([-8.0, -8.0, 0.0], [8.0, 8.0, 1.0]),
        reference_exponents=(0.0714, 0.0, -5.3943),
        citation="Sprott (2003), Chaos and Time-Series Analysis, Appendix A",
        coordinate_names=_xyz,
    ),
    "chen": System(
        name="chen",
        defaults={"a": 35.0, "b": 3.0, "c": 28.0},
        dim=lambda p: 3,
        rhs=_chen_rhs,
        jacobian=_chen_jac,
        sample_dt=0.02,
        initial_box=_box([-10.0, -10.0, 10.0], [10.0, 10.0, 30.0]),
        reference_exponents=(2.0272, 0.0, -12.0272),
        citation="Sprott (2003), Chaos and Time-Series Analysis, Appendix A",
        coordinate_names=_xyz,
        trace=lambda p: -p["a"] + p["c"] - p["b"],
    ),
    "lorenz96": System(
        name="lorenz96",
        defaults={"N": 40, "F": 8.0},
        dim=lambda p: int(p["N"]),
        rhs=_lorenz96_rhs,
        jacobian=_lorenz96_jac,
        sample_dt=0.05,
        initial_box=lambda p: (
            np.full(int(p["N"]), p["F"] - 1.0),
            np.full(int(p["N"]), p["F"] + 1.0),
        ),
        reference_exponents=(1.67,),
        citation="Karimi & Paul (2010), Chaos 20, 043105 (N=40, F=8)",
        coordinate_names=lambda p: [f"x{i}" for i in range(int(p["N"]))],
        integer_params=frozenset({"N"}),
        trace=lambda p: -float(p["N"]),
        tangent=_lorenz96_tangent,
    ),
}


def get_system(name: str) -> System:
    """The catalogue entry called ``name``; unknown names raise a clear error listing valid ones."""
    try:
        return SYSTEMS[name]
    except KeyError:
        valid = ", ".join(sorted(SYSTEMS))
        raise ChaosganError(f"unknown system {name!r} (valid: {valid})") from None
