"""GAN losses, each a small function of the critics' logits, all with one signature.

Every discriminator loss is ``d_loss(real_logits, fake_logits, real_targets, fake_targets)`` and
every generator loss ``g_loss(fake_logits)``, so the training loop never branches on the loss.
Logits may carry trailing dimensions (a critic that scores every window of a series); per-sample
targets broadcast over them, and every loss averages over all elements (as PatchGAN does).

- Saturating minimax (Goodfellow et al. 2014, the value function as written): D minimises BCE
  against its labels, G minimises ``log(1 - D(G(z)))``. Kept as the textbook baseline: with
  ``D = sigmoid(l)`` the generator's gradient is ``d/dl log(1 - sigmoid(l)) = -sigmoid(l)``, which
  vanishes exactly when D confidently rejects the fakes (``l -> -inf``), i.e. early in training,
  when G most needs a signal (Goodfellow et al. 2014, sec. 3; Arjovsky & Bottou 2017, thm 2.4).
- Non-saturating BCE (Goodfellow et al. 2014): the same D loss; G minimises ``-log D(G(z))``, with
  gradient ``-(1 - sigmoid(l))``, near -1 where the minimax gradient vanishes.
- Least squares (Mao et al. 2017, "Least squares GANs", the 0-1 coding): D minimises
  ``((D(x) - 1)^2 + D(G(z))^2) / 2`` against its targets, G minimises ``(D(G(z)) - 1)^2 / 2``;
  fakes far on the right side of the boundary are still pulled towards the data.
- Hinge (Lim & Ye 2017; Miyato et al. 2018): D minimises ``relu(1 - D(x)) + relu(1 + D(G(z)))``;
  G minimises ``-D(G(z))``.
- Wasserstein (Arjovsky et al. 2017): the critic minimises ``E[D(fake)] - E[D(real)]``, G
  minimises ``-E[D(fake)]``; the critic must be 1-Lipschitz, which the gradient penalty
  (:func:`gradient_penalty`, Gulrajani et al. 2017) asks for on random interpolates.

The BCE family and least squares regress on the targets, so the study's label tricks (smoothed
or flipped targets) act on them; hinge and Wasserstein have no labels, so the targets do not enter
them (and the config refuses label tricks with them).
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


def g_loss_minimax(fake: torch.Tensor) -> torch.Tensor:
    """``mean log(1 - sigmoid(fake))`` = ``-mean softplus(fake)`` (saturates as fake -> -inf)."""
    return -F.softplus(fake).mean()


def d_loss_lsgan(
    real: torch.Tensor, fake: torch.Tensor, real_t: torch.Tensor, fake_t: torch.Tensor
) -> torch.Tensor:
    return 0.5 * (
        F.mse_loss(real, _broadcast(real_t, real)) + F.mse_loss(fake, _broadcast(fake_t, fake))
    )


def g_loss_lsgan(fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * F.mse_loss(fake, torch.ones_like(fake))


def d_loss_hinge(
    real: torch.Tensor, fake: torch.Tensor, real_t: torch.Tensor, fake_t: torch.Tensor
) -> torch.Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_loss_hinge(fake: torch.Tensor) -> torch.Tensor:
    return -fake.mean()


def d_loss_wgan(
    real: torch.Tensor, fake: torch.Tensor, real_t: torch.Tensor, fake_t: torch.Tensor
) -> torch.Tensor:
    return fake.mean() - real.mean()


g_loss_wgan = g_loss_hinge  # -E[D(G(z))] in both

LOSSES: dict[str, tuple[DLoss, GLoss]] = {
    "minimax": (d_loss_bce, g_loss_minimax),
    "bce": (d_loss_bce, g_loss_bce),
    "lsgan": (d_loss_lsgan, g_loss_lsgan),
    "hinge": (d_loss_hinge, g_loss_hinge),
    "wgan": (d_loss_wgan, g_loss_wgan),
}
LABELLED = ("minimax", "bce", "lsgan")
"""The losses that regress on targets, so that label smoothing and flips mean something."""


def interpolation_weights(n: int, pack: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` weights ``eps ~ U[0, 1]``, one per pack of ``pack`` consecutive samples (a packed
    critic's input is the pack, so a pack is interpolated as one point), shape ``(n,)``."""
    eps = torch.rand(n // pack, generator=gen, device=gen.device)
    return eps.repeat_interleave(pack)


def interpolate(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``eps * real + (1 - eps) * fake`` per sample, a leaf that records its gradient."""
    eps = eps.reshape(eps.shape + (1,) * (real.ndim - 1)).to(real.dtype)
    return (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)


def gradient_penalty(logits: torch.Tensor, inputs: list[torch.Tensor]) -> torch.Tensor:
    """WGAN-GP's two-sided penalty ``E[(||grad_x D(x)|| - 1)^2]`` (Gulrajani et al. 2017, eq. 3).

    ``logits`` ``(P, ...)`` are the critic's outputs on interpolates ``inputs`` (one tensor per
    input of the critic, e.g. a series and its residual channels, each ``(P * pack, ...)``), built
    by :func:`interpolate` and fed through the critic in the same forward pass as the real and
    fake samples. The critic's value for one input is the mean of its logits (the per-window
    logits of the series critic are averaged in the loss), so the norm is that of the gradient of
    this mean wrt everything the critic sees of that input (all samples of a pack, all inputs).
    ``create_graph`` keeps the penalty differentiable wrt the critic's weights.
    """
    value = logits.reshape(logits.shape[0], -1).float().mean(dim=1)
    grads = torch.autograd.grad(value.sum(), inputs, create_graph=True)
    squared = sum(g.float().reshape(logits.shape[0], -1).pow(2).sum(dim=1) for g in grads)
    return (squared.add(1e-12).sqrt() - 1.0).pow(2).mean()
