"""GAN losses, each a small function of the discriminator's logits.

- Non-saturating BCE (Goodfellow et al. 2014): D minimises BCE against (possibly smoothed or
  flipped) labels; G minimises ``-log D(G(z))``, i.e. BCE of fake logits against label 1.
- Hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises ``relu(1 - D(x)) + relu(1 + D(G(z)))``;
  G minimises ``-D(G(z))``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_bce(
    real: torch.Tensor, fake: torch.Tensor, real_t: torch.Tensor, fake_t: torch.Tensor
) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(real, real_t) + F.binary_cross_entropy_with_logits(
        fake, fake_t
    )


def g_loss_bce(fake: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def d_loss_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_loss_hinge(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()
