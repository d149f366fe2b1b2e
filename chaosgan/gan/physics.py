"""A dynamics-consistency loss for the generator: the one-step residual of a polynomial model.

A series is an orbit of a flow ``Phi_dt`` when every sample follows from the previous one,
``x_{t+1} = Phi_dt(x_t)``. The GAN's critics judge how series *look*; this loss asks directly how
far the generated series is from being an orbit of a model of the data:

    L_phys = mean_t || x_{t+k} - Phi_dt^k(x_t) ||^2 / diameter^2,

with ``Phi_dt`` a fixed-step RK4 flow of a polynomial model ``dx/dt = Xi Theta(x)`` written in
torch (differentiable and batched), ``k`` the number of steps (1: the one-step residual) and the
diameter the diagonal of the training data's bounding box, so the loss is in the units of the
scorecard's ``one_step_error`` (squared). Physics-residual losses in generative models: e.g.
Bastek, Sun & Kochmann (2025, ICLR), "Physics-informed diffusion models"; the next-step
supervision of TimeGAN (Yoon et al. 2019) is the data-driven relative of it.

Where the model comes from is recorded with it (:class:`PhysicsModel`, saved in the run folder and
every checkpoint): ``identified`` from the training data alone (:mod:`chaosgan.identify`, the
method chosen by a criterion computed on the data), or ``known``, the catalogue system's true
equations, which only a dataset whose meta names a catalogue system has, and which is labelled as
such wherever it is used: a GAN trained with it was told the answer.

A conditional run (trained on series whose parameters differ, ``condition = ["rho"]``) needs
one model for every value: it is identified with the parameters as variables of zero derivative
(:mod:`chaosgan.identify.parametric`, so ``y' = x rho - x z - y`` is one polynomial), and the
flow is given each series' parameter values beside its samples (``params`` below), the values
the generator was asked for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.identify.compare import identify_model
from chaosgan.identify.library import PolynomialLibrary, PolynomialModel
from chaosgan.identify.parametric import identify_parametric_model
from chaosgan.identify.truth import true_coefficients
from chaosgan.systems import SYSTEMS

SOURCES = ("identified", "known")


@dataclass(frozen=True)
class PhysicsModel:
    """A polynomial vector field, where it came from, and the data's attractor diameter.

    ``coef`` has shape ``(V, n_terms)`` in :class:`~chaosgan.identify.library.PolynomialLibrary`
    term order for ``degree``, over ``V`` variables named ``names``: the state coordinates and
    then the ``parameters`` (system parameters given with each series, e.g. ``("rho",)`` for a
    conditional run; their rows are zero: constant along a series); ``source`` is
    ``identified`` or ``known`` (true equations); ``info`` records how it was obtained
    (method, selection criterion, equations as text).
    """

    coef: np.ndarray
    degree: int
    names: tuple[str, ...]
    source: str
    diameter: float
    info: dict[str, Any] = field(default_factory=dict)
    parameters: tuple[str, ...] = ()

    @property
    def n_state(self) -> int:
        """State coordinates (the variables that are not parameters)."""
        return len(self.names) - len(self.parameters)

    @property
    def library(self) -> PolynomialLibrary:
        return PolynomialLibrary(self.coef.shape[0], self.degree, self.names)

    @property
    def polynomial(self) -> PolynomialModel:
        return PolynomialModel(self.library, self.coef)

    @property
    def label(self) -> str:
        """How the model is shown to users: the source, and a warning for true equations."""
        if self.source == "known":
            return "known (the true equations of the catalogue system: not learned from data)"
        method = self.info.get("method", "?")
        if self.parameters:  # the parameters are inputs given with each series, not equations
            method += f"; {', '.join(self.parameters)} as variables"
        if "at" in self.info:  # such a model at one value (:meth:`at`)
            method += "; at " + ", ".join(f"{k}={v:g}" for k, v in self.info["at"].items())
        return f"identified from the training data ({method})"

    def at(self, values: Sequence[float]) -> PhysicsModel:
        """The model of the state alone at fixed parameter ``values`` (one per
        :attr:`parameters`, physical units): each term's parameter factors multiplied into its
        coefficient (``1.0 x rho`` at rho = 28 becomes ``28 x``)."""
        if len(values) != len(self.parameters):
            raise ChaosganError(f"{len(self.parameters)} parameter value(s) needed, got {values}")
        d = self.n_state
        state = PolynomialLibrary(d, self.degree, self.names[:d])
        index = {tuple(p): i for i, p in enumerate(state.powers)}
        coef = np.zeros((d, state.n_terms))
        factor = np.prod(np.asarray(values, dtype=float) ** self.library.powers[:, d:], axis=1)
        for t, powers in enumerate(self.library.powers):
            coef[:, index[tuple(powers[:d])]] += self.coef[:d, t] * factor[t]
        info = {**self.info, "at": dict(zip(self.parameters, map(float, values), strict=True))}
        return PhysicsModel(coef, self.degree, self.names[:d], self.source, self.diameter, info)

    def to_dict(self) -> dict[str, Any]:
        """JSON- and checkpoint-safe form (lists, numbers and strings only)."""
        return {
            "coef": self.coef.tolist(),
            "degree": self.degree,
            "names": list(self.names),
            "source": self.source,
            "diameter": self.diameter,
            "equations": self.polynomial.equations(),
            "info": self.info,
            "parameters": list(self.parameters),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PhysicsModel:
        return cls(
            coef=np.asarray(d["coef"], dtype=np.float64),
            degree=int(d["degree"]),
            names=tuple(d["names"]),
            source=str(d["source"]),
            diameter=float(d["diameter"]),
            info=dict(d.get("info", {})),
            parameters=tuple(d.get("parameters", ())),
        )


class PolynomialFlow(nn.Module):
    """``Phi_dt``: ``substeps`` classical RK4 steps of ``dx/dt = coef @ Theta(x)`` in torch.

    States are ``(..., D)``; every operation is differentiable and batched over the leading
    dimensions. A model with parameters (:attr:`PhysicsModel.parameters`) takes states of its
    ``D`` state coordinates and, in :meth:`forward`, each batch entry's parameter values.
    Terms are products of coordinates, the same products as
    :meth:`PolynomialLibrary.theta_cm`, so no ``x ** 0`` ever enters the graph.
    Two RK4 steps per dt = 0.1 on Lorenz-63 put the flow within 4e-5 attractor diameters of the
    exact one (median; 99th percentile 1.8e-3, with three steps 4e-4, with one 1.8e-2), far
    below the residuals the loss is meant to remove (targets: 1e-2 median, 5e-2 p99).
    """

    def __init__(self, model: PhysicsModel, dt: float, substeps: int = 2):
        super().__init__()
        library = model.library
        # each term as the coordinates to multiply: x^2 y -> (0, 0, 1); the constant -> ()
        self.factors = [tuple(np.repeat(np.arange(library.n_features), p)) for p in library.powers]
        self.register_buffer(
            "coef",
            torch.from_numpy(np.ascontiguousarray(model.coef, dtype=np.float64)),
            persistent=False,
        )
        self.dt = float(dt)
        self.substeps = int(substeps)
        self.n_state = model.n_state
        self.n_params = len(model.parameters)
        # the Jacobian's entries as polynomials one degree lower: d(x^2 y)/dx = 2 x y, so
        # J[i, d] = sum_m slope[i, d, m] * (monomial m), the monomials listed in lower_factors
        n_vars = library.n_features
        lower = sorted(
            {tuple(sorted(f[:k] + f[k + 1 :])) for f in self.factors for k in range(len(f))}
        )
        self.lower_factors = lower
        index = {f: m for m, f in enumerate(lower)}
        slope = np.zeros((model.coef.shape[0], n_vars, max(len(lower), 1)))
        for k, factors in enumerate(self.factors):
            for j, d in enumerate(factors):  # each occurrence of d contributes once
                rest = tuple(sorted(factors[:j] + factors[j + 1 :]))
                slope[:, d, index[rest]] += model.coef[:, k]
        self.register_buffer("slope", torch.from_numpy(slope), persistent=False)

    @staticmethod
    def _monomials(x: torch.Tensor, factors: list[tuple[int, ...]]) -> torch.Tensor:
        """The products ``factors`` of the coordinates of states ``(..., V)``: ``(..., M)``."""
        columns = x.unbind(-1)
        terms = []
        for term_factors in factors:
            if not term_factors:
                terms.append(torch.ones_like(columns[0]))
                continue
            term = columns[term_factors[0]]
            for d in term_factors[1:]:
                term = term * columns[d]
            terms.append(term)
        return torch.stack(terms, dim=-1)

    def rhs(self, x: torch.Tensor) -> torch.Tensor:
        """The vector field at states ``(..., D)``."""
        return self._monomials(x, self.factors) @ self.coef.to(x.dtype).T

    def rhs_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """The vector field's Jacobian ``(..., V, V)`` at states ``(..., V)`` (exact: each
        entry is a polynomial of one degree less, evaluated like :meth:`rhs`)."""
        v = x.shape[-1]
        slope = self.slope.to(x.dtype).reshape(-1, self.slope.shape[-1])
        return (self._monomials(x, self.lower_factors) @ slope.T).unflatten(-1, (v, v))

    def step_with_tangent(
        self, x: torch.Tensor, params: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``Phi_dt(x)`` and its derivative ``d Phi_dt / dx`` ``(..., D, D)`` for states
        ``(B, ..., D)`` (``params`` as in :meth:`forward`): the RK4 scheme's own derivative,
        the variational equations integrated with the same stages (Hairer, Norsett & Wanner,
        *Solving ODEs I*, I.14), so it is exact for the discrete map, not an approximation of
        the flow's."""
        z = self._with_params(x, params)
        h = self.dt / self.substeps
        eye = torch.eye(z.shape[-1], dtype=z.dtype, device=z.device)
        tangent = None
        for _ in range(self.substeps):
            k1, j1 = self.rhs(z), self.rhs_jacobian(z)
            z2 = z + 0.5 * h * k1
            k2, j2 = self.rhs(z2), self.rhs_jacobian(z2) @ (eye + 0.5 * h * j1)
            z3 = z + 0.5 * h * k2
            k3, j3 = self.rhs(z3), self.rhs_jacobian(z3) @ (eye + 0.5 * h * j2)
            z4 = z + h * k3
            k4, j4 = self.rhs(z4), self.rhs_jacobian(z4) @ (eye + h * j3)
            z = z + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            step = eye + (h / 6.0) * (j1 + 2.0 * j2 + 2.0 * j3 + j4)
            tangent = step if tangent is None else step @ tangent
        n = self.n_state
        return z[..., :n], tangent[..., :n, :n]

    def forward(
        self, x: torch.Tensor, steps: int = 1, params: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``Phi_dt^steps(x)`` for states ``(B, ..., D)``; a model with parameters needs
        ``params`` ``(B, P)``, each batch entry's values (physical units)."""
        return self._integrate(self._with_params(x, params), steps)[..., : self.n_state]

    def _with_params(self, x: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        """States ``(B, ..., D)`` with each batch entry's parameter values appended (the
        model's variables of zero derivative); ``x`` itself for a model without parameters."""
        if not self.n_params:
            return x
        if params is None or params.shape != (x.shape[0], self.n_params):
            raise ChaosganError(
                f"the flow's model has {self.n_params} parameter(s): pass params of shape "
                f"({x.shape[0]}, {self.n_params})"
            )
        shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (self.n_params,)
        p = params.to(x.dtype).reshape(shape).expand(*x.shape[:-1], self.n_params)
        return torch.cat([x, p], dim=-1)

    def _integrate(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        h = self.dt / self.substeps
        for _ in range(steps * self.substeps):
            k1 = self.rhs(x)
            k2 = self.rhs(x + 0.5 * h * k1)
            k3 = self.rhs(x + 0.5 * h * k2)
            k4 = self.rhs(x + h * k3)
            x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return x


RESIDUAL_UNIT = 0.01  # residual channels are in hundredths of the attractor diameter


def step_residuals(
    series: torch.Tensor,
    flow: PolynomialFlow,
    steps: int = 1,
    params: torch.Tensor | None = None,
) -> torch.Tensor:
    """``x_{t+steps} - Phi^steps(x_t)`` for series ``(B, T, D)``: ``(B, T - steps, D)``
    (``params`` ``(B, P)``: each series' parameter values, for a model that has them)."""
    return series[:, steps:] - flow(series[:, :-steps], steps, params)


def channels_from_residuals(residual: torch.Tensor, diameter: float) -> torch.Tensor:
    """One-step residuals ``(B, T - 1, D)`` as critic channels ``(B, T, D)``: in hundredths of
    the diameter, 0 at t = 0."""
    padded = torch.cat([torch.zeros_like(residual[:, :1]), residual], 1)
    return padded / (RESIDUAL_UNIT * diameter)


def loss_from_residuals(residual: torch.Tensor, diameter: float) -> torch.Tensor:
    """``mean ||residual||^2 / diameter^2`` over residuals ``(B, T', D)``."""
    return residual.square().sum(dim=-1).mean() / diameter**2


def tempo_loss(series: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """``mean_b (1 - c_b)^2``: how far each series' tempo ``c_b`` is from the model's, for series
    ``(B, T, D)`` and their one-step residuals ``(B, T - 1, D)``.

    ``c_b`` is the least-squares factor in ``x_{t+1} - x_t = c (Phi(x_t) - x_t)`` over the
    series (the scorecard's ``speed_factor``; ``Phi(x_t) - x_t = (x_{t+1} - x_t) - r_t``): 1 for
    an orbit, below 1 for a series that goes the right way too slowly. Every Wasserstein-game
    generator we measured runs slow (c 0.37 without the physics loss, 0.43-0.80 with it at
    60-120 CPU epochs, the lower the heavier its weight: a slow series near the attractor's slow
    inner spirals has a small residual in diameters). This term is scale-free: it costs the same
    wherever on the attractor the series runs, and standing still costs 1. Measured (README
    pilot table): at weight 100 it raised c from 0.51 to 0.75 and from 0.68 to 0.81, and the
    exponents fell by 4-10% in both runs, so it is off by default.
    """
    moved = series[:, 1:] - series[:, :-1]
    flowed = moved - residual
    c = (moved * flowed).sum(dim=(1, 2)) / flowed.square().sum(dim=(1, 2)).clamp_min(1e-12)
    return (1.0 - c).square().mean()


def residual_channels(
    series: torch.Tensor,
    flow: PolynomialFlow,
    diameter: float,
    params: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(x_t - Phi(x_{t-1})) / (0.01 diameter)`` for series ``(B, T, D)`` (0 at t = 0): what
    a physics-informed critic sees beside the series (real data: about 0)."""
    return channels_from_residuals(step_residuals(series, flow, params=params), diameter)


def residual_loss(
    series: torch.Tensor,
    flow: PolynomialFlow,
    diameter: float,
    steps: int = 1,
    params: torch.Tensor | None = None,
) -> torch.Tensor:
    """``mean || x_{t+steps} - Phi^steps(x_t) ||^2 / diameter^2`` over series ``(B, T, D)``."""
    return loss_from_residuals(step_residuals(series, flow, steps, params), diameter)


def step_lengths(series: torch.Tensor, diameter: float) -> torch.Tensor:
    """``||x_{t+1} - x_t|| / diameter`` of series ``(B, T, D)``, flattened: how far the orbit
    moves per sample, the flow's speed times dt."""
    return (series[:, 1:] - series[:, :-1]).norm(dim=-1).flatten() / diameter


def speed_quantiles(trajectories: torch.Tensor, diameter: float, n: int = 512) -> torch.Tensor:
    """``n`` evenly spaced quantiles (midpoints) of the real series' step lengths: the target
    of :func:`speed_loss`, computed once."""
    steps = step_lengths(trajectories, diameter)
    probs = (torch.arange(n, dtype=steps.dtype, device=steps.device) + 0.5) / n
    return torch.quantile(steps[:: max(1, len(steps) // 2**20)], probs)  # quantile's size cap


def speed_loss(series: torch.Tensor, target: torch.Tensor, diameter: float) -> torch.Tensor:
    """1-Wasserstein distance between the step lengths of ``series`` and the real ones
    (``target`` from :func:`speed_quantiles`), in diameters: the mean absolute difference of
    matching quantiles (the sorted batch, read at the target's probabilities).

    The residual loss has degenerate minima: a series that sits at a fixed point of the flow,
    or crawls along a slow spiral near one, is an exact orbit. This term makes standing still
    cost what it should: real orbits of a chaotic attractor keep moving, with a known
    distribution of speeds, and a generator that trades motion for a small residual pays the
    difference. It is a moment-matching (feature-matching) loss on one dynamical statistic
    (Salimans et al. 2016 match critic features; this matches the data's own speed).
    """
    steps = torch.sort(step_lengths(series, diameter)).values
    index = (torch.arange(len(target), device=steps.device) + 0.5) / len(target) * len(steps)
    return (steps[index.long().clamp(max=len(steps) - 1)] - target.to(steps.dtype)).abs().mean()


def physics_model(
    data: Dataset, source: str, seed: int = 0, parameters: tuple[str, ...] = ()
) -> PhysicsModel:
    """The model of the dynamics-consistency loss for training data ``data``.

    ``identified``: fitted on the data alone (:func:`chaosgan.identify.identify_model` picks the
    method by a criterion computed from the data); ``known``: the true equations of the
    catalogue system named by the data's meta, labelled as such. ``parameters``: the names of
    the system parameters the data vary per series (a conditional run's condition), which the
    identified model then takes as variables (:mod:`chaosgan.identify.parametric`); every
    parameter that varies must be named, since the series of one value follow one vector field.
    """
    norm = data.normalisation
    diameter = float(np.linalg.norm(np.subtract(norm.maximum, norm.minimum)))
    names = tuple(data.coordinate_names)
    d = data.trajectories.shape[2]
    varying = data.series_param_names
    if sorted(varying) != sorted(parameters):
        if not varying:
            raise ChaosganError(
                f"the training data do not vary {', '.join(parameters)} per series: a physics "
                "model with parameters needs series of several parameter values"
            )
        raise ChaosganError(
            f"physics = {source!r} needs one model of the dynamics, but the training data vary "
            f"{', '.join(varying)} per series; condition the run on them "
            f"(condition = {list(varying)}) or use physics = 'off'"
        )
    if parameters and source != "identified":
        raise ChaosganError(
            f"physics = {source!r} with parameters varying per series: only 'identified' "
            "models take the parameters as variables"
        )
    if source == "known":
        system = SYSTEMS.get(data.meta.get("system") or "")
        if system is None or not data.meta.get("params"):
            raise ChaosganError(
                "physics = 'known' needs a dataset whose meta names a catalogue system and its "
                "parameters; use physics = 'identified'"
            )
        library = PolynomialLibrary(d, 2, names)
        coef = true_coefficients(system, data.meta["params"], library)
        info = {"method": "true equations", "system": system.name, "params": data.meta["params"]}
        return PhysicsModel(coef, 2, names, "known", diameter, info)
    if source != "identified":
        raise ChaosganError(f"unknown physics source {source!r} (valid: {', '.join(SOURCES)})")
    if parameters:
        values = np.stack([data.series_param(x) for x in parameters], axis=1)
        model, info = identify_parametric_model(
            data.trajectories,
            values,
            data.dt,
            parameter_names=parameters,
            variable_names=names,
            seed=seed,
        )
    else:
        model, info = identify_model(data.trajectories, data.dt, seed=seed, variable_names=names)
    # plain, strict JSON for checkpoints and physics.json: a diverged method's criterion is null
    criterion = {m: (v if math.isfinite(v) else None) for m, v in info["criterion"].items()}
    info = json.loads(json.dumps({**info, "criterion": criterion}, default=float))
    all_names = names + tuple(parameters)
    degree = model.library.degree
    return PhysicsModel(model.coef, degree, all_names, "identified", diameter, info, parameters)
