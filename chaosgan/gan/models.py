"""DCGAN generator and spectral-normalised discriminator for 3x32x32 images.

Radford, Metz & Chintala (2016), "Unsupervised representation learning with deep convolutional
GANs": the generator maps z through transposed convolutions 1 -> 4 -> 8 -> 16 -> 32 pixels with
BatchNorm and ReLU and a tanh output; the discriminator mirrors it with strided convolutions and
LeakyReLU. Here every discriminator layer is spectrally normalised and it has no BatchNorm.

Optionally the discriminator judges packs of ``pack`` samples stacked along the channels (PacGAN,
Lin et al. 2018, "PacGAN: the power of two samples in generative adversarial networks"): a pack
of near-copies is unlike a pack of real series, so mode collapse, invisible to a critic of single
samples, costs the generator. On Lorenz images a per-sample critic lets every run collapse (after
20 epochs the samples' spread is 23-31% of the real one), packs of 4 keep 67-77% of it
(``scripts/gan_ablation.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from chaosgan.gan.layers import conv2d, conv_transpose2d, linear


class Generator(nn.Module):
    """z ``(B, latent_dim)`` -> images ``(B, 3, 32, 32)`` in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, width: int = 256, channels: int = 3):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            conv_transpose2d(latent_dim, w, 4, 1, 0),  # 1 -> 4
            nn.BatchNorm2d(w),
            nn.ReLU(True),
            conv_transpose2d(w, w // 2, 4, 2, 1),  # 4 -> 8
            nn.BatchNorm2d(w // 2),
            nn.ReLU(True),
            conv_transpose2d(w // 2, w // 4, 4, 2, 1),  # 8 -> 16
            nn.BatchNorm2d(w // 4),
            nn.ReLU(True),
            conv_transpose2d(w // 4, channels, 4, 2, 1),  # 16 -> 32
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """images ``(B, 3, 32, 32)`` -> logits; spectral norm on every layer.

    ``pack``: consecutive samples judged together (PacGAN; 1 = each alone); the batch must be a
    multiple of it, and a batch laid out as [real; fake] with both halves multiples of it never
    mixes the two in one pack. Logits are per pack: ``(B / pack,)``.
    """

    def __init__(
        self,
        width: int = 64,
        channels: int = 3,
        sn: bool = True,
        pack: int = 1,
    ):
        super().__init__()
        w = width
        self.pack = pack
        self.features = nn.Sequential(
            conv2d(channels * pack, w, 3, 1, 1, sn),
            nn.LeakyReLU(0.1, True),
            conv2d(w, w, 4, 2, 1, sn),  # 32 -> 16
            nn.LeakyReLU(0.1, True),
            conv2d(w, 2 * w, 4, 2, 1, sn),  # 16 -> 8
            nn.LeakyReLU(0.1, True),
            conv2d(2 * w, 4 * w, 4, 2, 1, sn),  # 8 -> 4
            nn.LeakyReLU(0.1, True),
        )
        self.head = linear(4 * w * 4 * 4, 1, sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b // self.pack, self.pack * c, h, w)  # PacGAN: consecutive samples stacked
        return self.head(self.features(x).flatten(1)).squeeze(1)


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) weights, BatchNorm scale N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
