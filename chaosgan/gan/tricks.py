"""The study's training tricks, each a small pure function (seeded through a torch.Generator).

- Label smoothing (Salimans et al. 2016): real targets in [1 - s, 1], fake targets in [0, s].
- Random label flips: each target swapped real <-> fake with probability p.
- Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017): Gaussian noise on the
  discriminator's inputs, real and fake alike, its std decaying linearly to an end value.
"""

from __future__ import annotations

import torch


def smoothed_targets(
    n: int, real: bool, smoothing: float, gen: torch.Generator, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Targets for ``n`` samples: real in [1 - s, 1], fake in [0, s] (s = 0: exactly 1 or 0)."""
    u = torch.rand(n, generator=gen, device=device) * smoothing
    return 1.0 - u if real else u


def flip_targets(targets: torch.Tensor, prob: float, gen: torch.Generator) -> torch.Tensor:
    """Each target replaced by ``1 - target`` with probability ``prob``."""
    if prob <= 0:
        return targets
    flip = torch.rand(targets.shape, generator=gen, device=targets.device) < prob
    return torch.where(flip, 1.0 - targets, targets)


def noise_std(progress: float, start: float, end: float) -> float:
    """Instance-noise std at ``progress`` in [0, 1] of the run: linear from start to end."""
    progress = min(max(progress, 0.0), 1.0)
    return start + (end - start) * progress


def add_instance_noise(x: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    if std <= 0:
        return x
    return x + std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


def ramp(progress: float, start: float, length: float) -> float:
    """A loss weight's factor at ``progress`` in [0, 1] of the run: 0 before ``start``, then
    rising linearly to 1 over ``length`` (at once when ``length`` is 0)."""
    if progress < start:
        return 0.0
    return 1.0 if length <= 0 else min(1.0, (progress - start) / length)
