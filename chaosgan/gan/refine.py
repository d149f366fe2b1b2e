"""A refinement layer: the generator's last layer takes a few gradient steps towards orbits.

The physics loss (:mod:`chaosgan.gan.physics`) asks the generator to draw orbits; relaxation
(:mod:`chaosgan.gan.relaxation`) moves finished samples towards them, and the critics never see
what it does (on our runs it overshoots the exponents and lets the distribution drift). This
layer puts the relaxation inside the generator, where the critics judge its result: the series
decoded from the generator's image takes ``steps`` steps of gradient descent with heavy-ball
momentum (Polyak 1964) on its dynamical error under the run's identified model,

    E(x) = sum_t || x_{t+1} - Phi_dt(x_t) ||^2,
    v <- momentum v - rate grad E(x),   x <- x + v,

and is encoded back to an image. The steps are unrolled in the graph, so the generator's
gradient runs through them (second derivatives of the model's flow): the generator learns to
draw series whose refinement looks real to both critics, not series that only look real before
it. This is the correction step of DC3 (Donti, Rolnick & Kolter 2021, "DC3: a learning method
for optimization with hard constraints"), unrolled gradient steps on a constraint's violation
as a network's last layer, with the orbit condition as the constraint; and the gradient-descent
noise reduction of Davies (1992) as the steps.

The rate is dimensionless (``grad E`` is in the series' units). A step is stable while ``rate``
is below about 2 / L, L the largest curvature of E, which grows with the flow's stretching over
one sampling step. On Lorenz-63 at dt = 0.1 (samples of a trained run; a throwaway sweep, not in
the repo) 0.1 with momentum 0.9 took the median one-step error under the true flow from 0.030 to
0.011 in 20 steps and 0.006 in 40; at 0.15 the worst series' error grew, and from 0.2 some
series blew up. Each step is
also capped at ``max_step`` attractor diameters per sample, so a series far from every orbit
(early in training) cannot diverge.

Gradient steps converge slowly: the residual's curvature spans orders of magnitude (the flow
stretches some directions and contracts others), and a rate stable for the stiffest direction
crawls along the softest. ``method = "gauss-newton"`` takes damped Gauss-Newton steps instead:
with ``r(x)`` the residuals ``r_t = x_{t+1} - Phi_dt(x_t)`` and ``J`` their Jacobian
(``(J v)_t = v_{t+1} - A_t v_t``, ``A_t = dPhi_dt/dx`` at ``x_t``), each step is the
minimum-norm correction that zeroes the linearised residual, Levenberg-Marquardt damped,

    x <- x - J^T (J J^T + damping I)^{-1} r(x),

the step of Newton-type noise reduction for chaotic series (Hammel 1990, "A noise reduction
method for chaotic systems", Phys. Lett. A 148:421; Farmer & Sidorowich 1991, "Optimal
shadowing and noise reduction", Physica D 47:373). The damping bounds the step where ``J J^T``
is nearly singular (along the flow's neutral direction its smallest eigenvalue falls like
``1/T^2``: a series that runs a little too slowly needs a correction that grows along it).
``J J^T`` is block tridiagonal
(blocks ``I + A_t A_t^T`` on the diagonal, ``-A_t`` beside it), so a step is one batched
block-tridiagonal solve (:mod:`chaosgan.gan.blocksolve`), unrolled in the graph like the
gradient steps. On the same samples (256 series of a trained run, a throwaway measurement
outside the repo) three steps with damping 0.01 took the median one-step error under the true
flow from 0.063 to 0.005 (p99 0.129 to 0.057) and four to 0.004 (p99 0.030), where gradient
steps need 40 for 0.006; in training a step costs about as much as three gradient steps.

The layer uses the identified model, learned from the training data (the true equations only for
a run that says ``physics = "known"``); the samples' meta names the refinement. It is part of
the generator, like the shooting layer (:mod:`chaosgan.gan.shooting`), not post-processing.
"""

from __future__ import annotations

import torch
from torch import nn

from chaosgan.errors import ChaosganError
from chaosgan.gan.blocksolve import solve_block_tridiagonal
from chaosgan.gan.config import REFINE_GRADIENTS, REFINE_METHODS, TrainConfig
from chaosgan.gan.models import ImageToSeries
from chaosgan.gan.physics import PhysicsModel, PolynomialFlow, step_residuals
from chaosgan.gan.shooting import ShootingLayer


def refine_series(
    series: torch.Tensor,
    flow: PolynomialFlow,
    diameter: float,
    steps: int,
    rate: float = 0.1,
    momentum: float = 0.9,
    max_step: float = 0.05,
    params: torch.Tensor | None = None,
) -> torch.Tensor:
    """``steps`` heavy-ball gradient steps on the summed squared one-step residual of
    ``series`` ``(B, T, D)`` under ``flow`` (``params`` ``(B, P)``: each series' parameter
    values, for a model that has them); see the module. Each sample's step is capped at
    ``max_step * diameter``.

    Differentiable when gradients are on and ``series`` takes part in a graph (the steps are
    unrolled); otherwise (``torch.no_grad()``, or a detached input) the result is detached and
    costs no graph.
    """
    differentiable = torch.is_grad_enabled() and series.requires_grad
    cap = max_step * diameter
    with torch.enable_grad():
        x = series if differentiable else series.detach().requires_grad_(True)
        velocity = torch.zeros_like(x)
        for _ in range(steps):
            energy = step_residuals(x, flow, params=params).square().sum()
            (grad,) = torch.autograd.grad(energy, x, create_graph=differentiable)
            velocity = momentum * velocity - rate * grad
            norm = velocity.norm(dim=-1, keepdim=True)
            velocity = velocity * (cap / norm.clamp(min=cap))  # at most cap per sample
            x = x + velocity
            if not differentiable:
                x = x.detach().requires_grad_(True)
    return x if differentiable else x.detach()


def gauss_newton_series(
    series: torch.Tensor,
    flow: PolynomialFlow,
    diameter: float,
    steps: int,
    damping: float = 0.01,
    max_step: float = 0.1,
    params: torch.Tensor | None = None,
) -> torch.Tensor:
    """``steps`` damped Gauss-Newton steps towards orbits of ``flow`` for ``series``
    ``(B, T, D)`` (``params`` ``(B, P)`` as in :func:`refine_series`); see the module. Each
    sample's step is capped at ``max_step * diameter`` (sample by sample, as in
    :func:`refine_series`: a capped step is no longer exactly the Gauss-Newton direction, but
    one wild sample cannot shorten the whole series' step). Runs in float64 (the normal matrix's
    condition number grows like T^2 along the flow) and returns the input's dtype;
    differentiable when gradients are on, like :func:`refine_series`.
    """
    x = series if torch.is_grad_enabled() else series.detach()
    x = x.double()
    cap = max_step * diameter
    eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
    for _ in range(steps):
        image, tangent = flow.step_with_tangent(x[:, :-1], params)  # A_t = dPhi/dx at x_t
        residual = x[:, 1:] - image  # r_t = x_{t+1} - Phi(x_t), t = 0 .. T-2
        transposed = tangent.transpose(-1, -2)
        # (J J^T + damping I) y = r, J v = (v_{t+1} - A_t v_t)_t: blocks I + A_t A_t^T on the
        # diagonal, -A_t below it (row t, column t - 1) and -A_{t+1}^T above it
        normal = (1.0 + damping) * eye + tangent @ transposed
        y = solve_block_tridiagonal(
            normal,
            -tangent,
            torch.cat([-transposed[:, 1:], transposed[:, :1]], dim=1),  # last block unused
            residual,
        )
        # the minimum-norm step J^T y: (J^T y)_s = y_{s-1} - A_s^T y_s, each where it exists
        edge = y.new_zeros(y.shape[0], 1, y.shape[-1])
        along = (transposed @ y.unsqueeze(-1)).squeeze(-1)
        step = torch.cat([edge, y], dim=1) - torch.cat([along, edge], dim=1)
        norm = step.norm(dim=-1, keepdim=True)
        x = x - step * (cap / norm.clamp(min=cap))  # at most cap per sample
    return x.to(series.dtype)


class RefineLayer(nn.Module):
    """Generator images -> images of their series after ``steps`` refinement steps: heavy-ball
    gradient steps (:func:`refine_series`, ``method = "gradient"``) or Gauss-Newton steps
    (:func:`gauss_newton_series`, ``"gauss-newton"``); see the module. Images keep their
    dtype; the refinement runs in at least float32 (Gauss-Newton in float64)."""

    def __init__(
        self,
        to_series: ImageToSeries,
        flow: PolynomialFlow,
        diameter: float,
        steps: int,
        method: str = "gradient",
        rate: float = 0.1,
        momentum: float = 0.9,
        damping: float = 0.01,
        gradient: str = "unrolled",
    ):
        super().__init__()
        if method not in REFINE_METHODS or gradient not in REFINE_GRADIENTS:
            raise ChaosganError(
                f"refinement method must be one of {', '.join(REFINE_METHODS)} and gradient one "
                f"of {', '.join(REFINE_GRADIENTS)}, got {method!r} and {gradient!r}"
            )
        self.to_series, self.flow, self.diameter = to_series, flow, diameter
        self.steps, self.method, self.gradient = steps, method, gradient
        self.rate, self.momentum, self.damping = rate, momentum, damping

    def forward(self, images: torch.Tensor, params: torch.Tensor | None = None) -> torch.Tensor:
        with torch.autocast(images.device.type, enabled=False):  # the steps need float32
            series = self.to_series(images.float())
            if self.gradient == "straight-through":  # forward refined, backward the identity
                with torch.no_grad():
                    change = self._refine(series, params) - series
                refined = series + change
            else:
                refined = self._refine(series, params)
            return self.to_series.to_images(refined).to(images.dtype)

    def _refine(self, series: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        if self.method == "gauss-newton":
            return gauss_newton_series(
                series, self.flow, self.diameter, self.steps, self.damping, params=params
            )
        return refine_series(
            series, self.flow, self.diameter, self.steps, self.rate, self.momentum, params=params
        )


class OutputLayers(nn.Module):
    """The generator's fixed layers after the network, in order: an optional shooting layer
    (:class:`~chaosgan.gan.shooting.ShootingLayer`), then an optional :class:`RefineLayer`;
    the identity when both are off. ``params``: each series' parameter values, for the
    refinement of a conditional run's model."""

    def __init__(self, shooting: nn.Module | None, refine: RefineLayer | None):
        super().__init__()
        self.shooting, self.refine = shooting, refine

    def forward(self, images: torch.Tensor, params: torch.Tensor | None = None) -> torch.Tensor:
        if self.shooting is not None:
            images = self.shooting(images)
        if self.refine is not None:
            images = self.refine(images, params)
        return images


def output_layers(
    config: TrainConfig,
    to_series: ImageToSeries,
    flow: PolynomialFlow | None,
    model: PhysicsModel | None,
) -> OutputLayers:
    """The layers after the generator network that ``config`` asks for (shooting, refinement),
    for training and sampling alike; the identity when both are off."""
    if not (config.shooting or config.refine_steps):
        return OutputLayers(None, None)
    if flow is None or model is None:
        raise ChaosganError(
            "the shooting and refinement layers need the run's physics model, and it has none"
        )
    shooting = ShootingLayer(to_series, flow, config.shooting) if config.shooting else None
    refine = None
    if config.refine_steps:
        refine = RefineLayer(
            to_series,
            flow,
            model.diameter,
            config.refine_steps,
            config.refine_method,
            config.refine_rate,
            config.refine_momentum,
            config.refine_damping,
            config.refine_gradient,
        )
    return OutputLayers(shooting, refine)
