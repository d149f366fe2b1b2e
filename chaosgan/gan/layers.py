"""Layer factories, so architectures never branch on spectral normalisation.

Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial
Networks", ICLR) divides each weight by its largest singular value, estimated by one step of
power iteration per forward pass; it keeps the discriminator 1-Lipschitz per layer. We use
``torch.nn.utils.parametrizations.spectral_norm``, the maintained implementation.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def _maybe_sn(layer: nn.Module, sn: bool) -> nn.Module:
    return spectral_norm(layer) if sn else layer


def conv2d(in_ch: int, out_ch: int, kernel: int, stride: int, padding: int, sn: bool) -> nn.Module:
    return _maybe_sn(nn.Conv2d(in_ch, out_ch, kernel, stride, padding), sn)


def conv_transpose2d(
    in_ch: int, out_ch: int, kernel: int, stride: int, padding: int, sn: bool = False
) -> nn.Module:
    return _maybe_sn(nn.ConvTranspose2d(in_ch, out_ch, kernel, stride, padding, bias=False), sn)


def linear(in_features: int, out_features: int, sn: bool, bias: bool = True) -> nn.Module:
    return _maybe_sn(nn.Linear(in_features, out_features, bias=bias), sn)


def conv1d(in_ch: int, out_ch: int, kernel: int, dilation: int = 1, sn: bool = True) -> nn.Module:
    """A 1-D convolution without padding (every output sees ``dilation * (kernel - 1) + 1``
    genuine samples), spectrally normalised unless ``sn=False``."""
    return _maybe_sn(nn.Conv1d(in_ch, out_ch, kernel, dilation=dilation), sn)
