"""Simulate datasets of trajectories on a system's attractor.

Initial conditions are drawn uniformly from the system's ``initial_box`` with a seeded
``numpy.random.Generator``; each trajectory then runs ``burn_in`` time units before its first
sample, so the transient is discarded and every sample lies (to plotting accuracy) on the attractor.
The same seed gives the same dataset bit for bit on the CPU.

Parameters may vary per series (:class:`ParamDraw`: uniform on an interval, or a choice among
values): they are drawn from the same seeded generator after the initial conditions (so a
dataset without them is unchanged), integrated in one batch (every right-hand side broadcasts
``(N,)`` parameter arrays against the states, see :mod:`chaosgan.systems`), and stored as the
dataset's ``series_params`` array.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from chaosgan.dataset import DT_RANGE, MAX_BURN_IN, MAX_SUBSTEPS, Dataset, make_dataset
from chaosgan.device import resolve_device
from chaosgan.encoding import can_encode
from chaosgan.errors import ChaosganError
from chaosgan.integrate import DEFAULT_SUBSTEPS, STEPPERS, advance, integrate
from chaosgan.resources import MAX_INTEGRATION_STEPS, check_memory
from chaosgan.systems import System, get_system

DEFAULT_BURN_IN = 20.0  # time units


@dataclass(frozen=True)
class ParamDraw:
    """How one parameter varies across series: uniform on ``[low, high]`` or, with ``choices``,
    each series takes one of those values with equal probability."""

    low: float = 0.0
    high: float = 0.0
    choices: tuple[float, ...] = ()

    def check(self, name: str) -> None:
        values = self.choices or (self.low, self.high)
        if not all(math.isfinite(v) for v in values):
            raise ChaosganError(f"parameter {name}: values must be finite, got {values}")
        if not self.choices and not self.low < self.high:
            raise ChaosganError(
                f"parameter {name}: a range needs low < high, got {self.low:g}:{self.high:g}"
            )

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` values, float64."""
        if self.choices:
            return np.asarray(self.choices, dtype=np.float64)[
                rng.integers(len(self.choices), size=n)
            ]
        return rng.uniform(self.low, self.high, size=n)

    @property
    def centre(self) -> float:
        """The middle of the range (of the choices' range): the meta's ``params`` value."""
        values = self.choices or (self.low, self.high)
        return (min(values) + max(values)) / 2


def check_draws(system: System, draws: Mapping[str, ParamDraw]) -> None:
    """Finite ranges with low < high, of parameters the system has and that may vary."""
    for name, d in draws.items():
        d.check(name)
        if name in system.integer_params:
            raise ChaosganError(f"parameter {name} sets the dimension; it cannot vary per series")
    system.resolve_params({k: d.centre for k, d in draws.items()})  # unknown names


def draw_series_params(
    system: System, draws: Mapping[str, ParamDraw], n: int, rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """Names and ``(n, P)`` values of the parameters that vary per series, checked against the
    system (known names; not the integer parameters, which set the dimension)."""
    check_draws(system, draws)
    names = list(draws)
    values = np.stack([draws[k].draw(n, rng) for k in names], axis=1)
    return names, values


def random_initial_states(
    system: System, params: Mapping[str, float], n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` initial states drawn uniformly from the system's box, shape ``(D, n)``."""
    lo, hi = system.initial_box(params)
    return np.ascontiguousarray(rng.uniform(lo, hi, size=(n, lo.size)).T)


def simulate_states(
    system: System,
    params: Mapping[str, float],
    x0: np.ndarray,
    dt: float,
    steps: int,
    burn_in: float = DEFAULT_BURN_IN,
    method: str = "rk4",
    substeps: int | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """Burn in from ``x0`` (shape ``(D, N)``) and return ``(N, steps, D)`` float64 samples;
    a parameter may be an ``(N,)`` array, one value per trajectory."""
    substeps = DEFAULT_SUBSTEPS[method] if substeps is None else substeps
    h = dt / substeps
    if device == "cuda":
        import torch

        x = torch.as_tensor(x0, dtype=torch.float64, device="cuda")
        params = {
            k: torch.as_tensor(v, device="cuda") if isinstance(v, np.ndarray) else v
            for k, v in params.items()
        }
    else:
        x = x0
    x = advance(system.rhs, x, params, h, int(round(burn_in / h)), method)
    out = integrate(system.rhs, x, params, dt, steps, substeps, method, progress)
    if device == "cuda":
        out = out.cpu().numpy()
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def memory_estimate(n: int, steps: int, dim: int) -> int:
    """Peak bytes of :func:`simulate`: the integrator's output and its transposed copy (float64),
    the images and their float64 intermediate when they exist, and the integrator's stages."""
    samples = n * steps * dim
    images = n * steps * dim * (8 + 4) if can_encode(steps, dim) else 0
    return 2 * 8 * samples + images + 16 * 8 * n * dim


def simulate(
    system: str = "lorenz63",
    n: int = 1000,
    steps: int = 1024,
    dt: float | None = None,
    seed: int = 0,
    params: Mapping[str, float] | None = None,
    burn_in: float = DEFAULT_BURN_IN,
    method: str = "rk4",
    substeps: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    max_memory: int | None = None,
    vary: Mapping[str, ParamDraw] | None = None,
) -> Dataset:
    """Simulate ``n`` trajectories of ``steps`` samples every ``dt`` time units.

    Args:
        system: catalogue name (see :data:`chaosgan.systems.SYSTEMS`).
        n: number of trajectories.
        steps: samples per trajectory (1024 gives an image form).
        dt: sampling step in time units; default: the system's ``sample_dt``.
        seed: seed of the initial conditions.
        params: parameter overrides, e.g. ``{"rho": 35.0}``.
        vary: parameters drawn per series, e.g. ``{"rho": ParamDraw(24.0, 40.0)}`` (seeded by
            ``seed``; stored as the dataset's ``series_params``, the meta's ``params`` holding
            the centre of each range). A name may not be in both ``params`` and ``vary``.
        burn_in: time units integrated and discarded before the first sample.
        method: ``"rk4"`` (default) or ``"dop853"``, fixed-step (see :mod:`chaosgan.integrate`).
        substeps: integration steps per sample (default 10 for rk4, 4 for dop853).
        device: ``cpu`` (numpy), ``cuda`` (torch) or ``auto``.
        progress: show a progress bar.
        max_memory: refuse (before any work) when :func:`memory_estimate` exceeds this many
            bytes; default: the memory available on the machine.

    Returns:
        A real :class:`~chaosgan.dataset.Dataset` (with images when steps = 1024 and D = 3).
    """
    sys_ = get_system(system)
    vary = dict(vary or {})
    check_draws(sys_, vary)
    both = sorted(set(vary) & set(params or {}))
    if both:
        raise ChaosganError(f"parameter {both[0]} is given both a fixed value and a range")
    p = sys_.resolve_params({**(params or {}), **{k: d.centre for k, d in vary.items()}})
    dt = sys_.sample_dt if dt is None else float(dt)
    if n < 1:
        raise ChaosganError(f"n must be >= 1, got {n}")
    if steps < 2:
        raise ChaosganError(f"steps must be >= 2, got {steps}")
    if not DT_RANGE[0] <= dt <= DT_RANGE[1]:
        raise ChaosganError(f"dt must be a number in [{DT_RANGE[0]:g}, {DT_RANGE[1]:g}], got {dt}")
    if not 0 <= burn_in <= MAX_BURN_IN:
        raise ChaosganError(f"burn-in must be in [0, {MAX_BURN_IN:g}] time units, got {burn_in}")
    if method not in STEPPERS:
        raise ChaosganError(f"unknown method {method!r} (valid: {', '.join(STEPPERS)})")
    if substeps is not None and not 1 <= substeps <= MAX_SUBSTEPS:
        raise ChaosganError(f"substeps must be in [1, {MAX_SUBSTEPS}], got {substeps}")
    device = resolve_device(device)
    substeps = DEFAULT_SUBSTEPS[method] if substeps is None else substeps
    work = burn_in / (dt / substeps) + steps * substeps
    if work > MAX_INTEGRATION_STEPS:
        raise ChaosganError(
            f"burn-in and steps need {work:.3g} integration steps per series, more than "
            f"{MAX_INTEGRATION_STEPS:.0e}; use fewer --steps/--substeps or a shorter --burn-in"
        )
    d = sys_.dim(p)
    check_memory(memory_estimate(n, steps, d), f"{n} series x {steps} samples", max_memory)
    rng = np.random.default_rng(seed)
    x0 = random_initial_states(sys_, p, n, rng)
    series_params = None
    per_series: dict = dict(p)
    if vary:
        series_params = draw_series_params(sys_, vary, n, rng)
        per_series.update(zip(series_params[0], series_params[1].T, strict=True))
    with np.errstate(over="ignore", invalid="ignore"):
        traj = simulate_states(
            sys_, per_series, x0, dt, steps, burn_in, method, substeps, device, progress
        )
    if not np.isfinite(traj).all():
        raise ChaosganError(
            f"{system} diverged with params {p} at dt={dt} (step {dt / substeps}); "
            "try more --substeps or other parameters"
        )
    return make_dataset(
        traj,
        kind="real",
        system=system,
        params=p,
        dt=dt,
        seed=seed,
        burn_in=burn_in,
        method=method,
        substeps=substeps,
        coordinates=sys_.coordinate_names(p),
        series_params=series_params,
    )
