"""GAN losses, each a small function of the critics' logits, all with one signature.

Every discriminator loss is ``d_loss(real_logits, fake_logits, real_targets, fake_targets)`` and
every generator loss ``g_loss(fake_logits)``, so the training loop never branches on the loss.
Logits may carry trailing dimensions (a critic that scores every window of a series); per-sample
targets broadcast over them, and every loss averages over all elements (as PatchGAN does).

- Non-saturating BCE (Goodfellow et al. 2014): D minimises BCE against (possibly smoothed or
  flipped) labels; G minimises ``-log D(G(z))``, i.e. BCE of fake logits against label 1.
- Hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises ``relu(1 - D(x)) + relu(1 + D(G(z)))``;
  G minimises ``-D(G(z))``. A margin loss has no labels, so the targets (and the study's label
  tricks) do not enter it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

DLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
GLoss = Callable[[torch.Tensor], torch.Tensor]


def _broadcast(targets: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-sample targets ``(B,)`` expanded over the logits' trailing dimensions."""
    return targets.reshape(targets.shape + (1,) * (logits.ndim - targets.ndim)).expand_as(logits)


def d_loss_bce(
    real: torch.Tensor, fake: torch.Tensor, real_t: torch.Tensor, fake_t: torch.Tensor
) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits
    return bce(real, _broadcast(real_t, real)) + bce(fake, _broadcast(fake_t, fake))


def g_loss_bce(fake: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def d_loss_hinge(
    real: torch.Tensor, fake: torch.Tensor, real_t: torch.Tensor, fake_t: torch.Tensor
) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_loss_hinge(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


LOSSES: dict[str, tuple[DLoss, GLoss]] = {
    "bce": (d_loss_bce, g_loss_bce),
    "hinge": (d_loss_hinge, g_loss_hinge),
}
