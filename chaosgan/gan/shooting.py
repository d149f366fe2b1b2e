"""A shooting layer: the generator draws segment starts, the physics model integrates between them.

A DCGAN draws all 1024 samples of a series at once, and nothing in a convolution makes sample
``t + 1`` follow from sample ``t`` by the flow: the physics loss (:mod:`chaosgan.gan.physics`)
can only ask it to. The shooting layer makes it so by construction, as multiple shooting does
for boundary-value problems (Bock & Plitt 1984) and shadowing refinement for chaotic orbits
(Grebogi, Hammel, Yorke & Sauer 1990): the series is cut into segments of ``segment`` samples,
the generator's sample at the start of each segment is kept, and the rest of the segment is the
model's flow from it,

    o_{s m + j} = Phi_dt^j(g_{s m}),   j = 0 .. m - 1.

What remains are the jumps between segments, ``J_s = g_{(s+1) m} - Phi_dt^m(g_{s m})``. Left
as they are, they are discontinuities at fixed places, which a convolutional critic spots at once
(in pilot runs both critics then won outright and the generator collapsed); so each is spread
evenly over its segment, ``o_{s m + j} = Phi_dt^j(g_{s m}) + (j / m) J_s``: the series is
continuous, every step misses the model's step by about ``|J_s| / m``, and the physics loss
(one-step residual) and the residual-aware series critic push the jumps to zero. A series made
of consistent starts (``J_s = 0``) is an orbit of the model. The generator (still the
study's DCGAN on images, judged by the same critics) decides where the orbit goes: which wing,
when it switches, how far it spirals out. The layer is a fixed differentiable map (the model is
identified from the training data before training, never the true equations unless the run says
``physics = known``), so gradients reach the generator through every segment start.

Chaos limits the segment: a start's error grows like ``exp(lambda_1 m dt)`` along its segment,
so segments of about one Lyapunov time (Lorenz-63 at dt = 0.1: m = 8 is 0.8 time units, growth
about 2) keep both the jumps and the gradients tame.
"""

from __future__ import annotations

import torch
from torch import nn

from chaosgan.encoding import IMAGE_STEPS
from chaosgan.errors import ChaosganError
from chaosgan.gan.models import ImageToSeries
from chaosgan.gan.physics import PolynomialFlow


def check_segment(segment: int, steps: int = IMAGE_STEPS) -> None:
    """A segment length must be >= 2 samples and divide the series."""
    if segment < 2 or steps % segment:
        raise ChaosganError(
            f"shooting segments must be >= 2 samples and divide {steps}, got {segment}"
        )


def integrate_segments(series: torch.Tensor, flow: PolynomialFlow, segment: int) -> torch.Tensor:
    """Series ``(B, T, D)`` -> the flow from every ``segment``-th sample, each segment's jump
    to the next start spread evenly over the segment (see the module). Segment starts are kept
    as they are; the last segment, with no start after it, is the flow alone."""
    b, t, d = series.shape
    check_segment(segment, t)
    state = series[:, ::segment]  # (B, S, D): the segment starts
    states = [state]
    for _ in range(segment):  # the last one lands where the next segment should start
        state = flow(state)
        states.append(state)
    orbit = torch.stack(states[:-1], dim=2)  # (B, S, segment, D)
    last = torch.zeros_like(state[:, :1])  # the last segment has no next start to reach
    jump = torch.cat([series[:, segment::segment] - states[-1][:, :-1], last], dim=1)
    share = torch.arange(segment, dtype=series.dtype, device=series.device) / segment
    return (orbit + share[None, None, :, None] * jump[:, :, None, :]).reshape(b, t, d)


class ShootingLayer(nn.Module):
    """Generator images -> images of the series integrated by ``flow`` from every
    ``segment``-th sample (see the module). Images keep their dtype; the flow runs in at
    least float32."""

    def __init__(self, to_series: ImageToSeries, flow: PolynomialFlow, segment: int):
        super().__init__()
        check_segment(segment)
        self.to_series, self.flow, self.segment = to_series, flow, segment

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        series = self.to_series(images.float())
        return self.to_series.to_images(integrate_segments(series, self.flow, self.segment)).to(
            images.dtype
        )
