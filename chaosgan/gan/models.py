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

A critic of images sees consecutive samples as neighbouring pixels at best. :class:`SeriesCritic`
judges the series itself: :class:`ImageToSeries` decodes the generator's image inside the graph
(the layout permutation and the inverse min-max scaling are fixed linear maps, so gradients pass
through), and a stack of dilated 1-D convolutions (WaveNet's receptive-field growth, van den Oord
et al. 2016) gives a logit for every window of about 60 samples, averaged in the loss as in
PatchGAN (Isola et al. 2017). The windows are short enough that the critic must judge the local
dynamics (how a state moves on to the next) and many per series, so it learns fast.

Conditional models (``cond_dim > 0``, a vector y of system parameters scaled to [-1, 1]): the
generator takes y concatenated to z (Mirza & Osindero 2014, "Conditional generative adversarial
nets"), and optionally (``cond_norm``) at every stage as well, through conditional BatchNorm
(:class:`ConditionalBatchNorm2d`), and both critics are *projection discriminators* (Miyato &
Koyama 2018, "cGANs with projection discriminator", ICLR): the logit gains
``<embed(y), phi(x)>``, the inner product of a learnt embedding of the condition with the
critic's features. For a continuous y the embedding is linear (spectrally normalised like the
rest of the critic); with PacGAN packs the conditions of a pack are concatenated, as its images
are. The projection form makes the critic model the log-ratio of the conditional densities,
which is what a conditional generator needs to be told, and unlike concatenating y to the input
it cannot ignore the condition cheaply.

:class:`RecurrentGenerator` is the sequence models' alternative to drawing an image: a GRU (Cho et
al. 2014) produces the series step by step, as recurrent GANs for time series do (C-RNN-GAN,
Mogren 2016; TimeGAN, Yoon et al. 2019), and :class:`SeriesToImage`, the exact inverse of
:class:`ImageToSeries`, lays the series into the image the critics judge, so both generators
share the critics, losses, EMA, checkpoints and sampling.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from chaosgan.encoding import (
    IMAGE_CHANNELS,
    IMAGE_SIDE,
    IMAGE_STEPS,
    Normalisation,
    layout_order,
)
from chaosgan.gan.config import G_MARGINS, TrainConfig
from chaosgan.gan.layers import conv1d, conv2d, conv_transpose2d, linear

# On the CPU the critic's convolutions slow down per image once a batch's activations outgrow the
# cache: one pass over [real; fake] of 2 x 64 images costs ~25% more than two passes of 64
# (``scripts/bench_train.py``), so CPU batches are judged in chunks of at most this many images.
CPU_CHUNK = 64


class Generator(nn.Module):
    """z ``(B, latent_dim)`` (and the condition y ``(B, cond_dim)`` when ``cond_dim > 0``,
    concatenated to z) -> images ``(B, 3, 32, 32)`` in [-1, 1].

    ``upsample``: how each stage doubles the resolution from 4x4 to 32x32. ``transposed``
    (the DCGAN's strided transposed convolutions, 4x4 kernels) gives every output pixel one of
    four kernels by its parity, so an image drawn from smooth coarse features repeats a template
    every 2, 4 and 8 pixels (the "checkerboard" of Odena, Dumoulin & Olah 2016, Distill,
    doi:10.23915/distill.00003). In an image of a series, 4 and 8 rows down are 128 and 256
    samples later: the series nearly repeat at those offsets, which no chaotic orbit does.
    ``resize`` (their remedy: nearest-neighbour upsampling, then a 3x3 convolution) draws
    every pixel with the same kernel.

    ``margin`` (0, 4 or 8 pixels): draw a canvas ``margin`` pixels larger on every side (the
    first stage ``4 + margin / 4`` pixels wide instead of 4) and crop the 32x32 image from its
    middle. The zero padding of the convolutions makes a generator's border pixels unlike its
    inner ones (our Lorenz generators draw their first and last image rows, the series' first
    and last 32 samples, with a quarter to half of the real spread) and tells it where it is
    in the image (Islam, Jia & Bruce 2020, "How much position information do convolutional
    neural networks encode?"); StyleGAN3 (Karras et al. 2021, "Alias-free generative
    adversarial networks") draws on such an extended canvas and crops for the same reason.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        width: int = 256,
        channels: int = 3,
        cond_dim: int = 0,
        upsample: str = "transposed",
        margin: int = 0,
        cond_norm: bool = False,
    ):
        super().__init__()
        w = width
        self.cond_dim, self.margin = cond_dim, margin
        if cond_norm and not cond_dim:
            raise ValueError("conditional BatchNorm needs a condition (cond_dim > 0)")
        if upsample not in UPSAMPLING:
            raise ValueError(f"upsample must be one of {UPSAMPLING}, got {upsample!r}")
        if margin not in G_MARGINS:
            raise ValueError(f"margin must be one of {G_MARGINS}, got {margin}")
        up = conv_transpose2d if upsample == "transposed" else resize_conv2d
        first = 4 + margin // 4  # three doublings: a margin of 4 pixels per extra first pixel

        def norm(features: int) -> nn.Module:
            if cond_norm:
                return ConditionalBatchNorm2d(features, cond_dim)
            return nn.BatchNorm2d(features)

        self.net = nn.Sequential(
            conv_transpose2d(latent_dim + cond_dim, w, first, 1, 0),  # 1 -> 4 (+ margin)
            norm(w),
            nn.ReLU(True),
            up(w, w // 2, 4, 2, 1),  # 4 -> 8
            norm(w // 2),
            nn.ReLU(True),
            up(w // 2, w // 4, 4, 2, 1),  # 8 -> 16
            norm(w // 4),
            nn.ReLU(True),
            up(w // 4, channels, 4, 2, 1),  # 16 -> 32
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        canvas = _with_condition(z, y, self.cond_dim)[:, :, None, None]
        for layer in self.net:
            is_conditional = isinstance(layer, ConditionalBatchNorm2d)
            canvas = layer(canvas, y) if is_conditional else layer(canvas)
        m = self.margin
        return canvas[:, :, m : m + IMAGE_SIDE, m : m + IMAGE_SIDE] if m else canvas


UPSAMPLING = ("transposed", "resize")


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are linear functions of the condition y ``(B, cond_dim)``:
    ``(1 + gain(y)) * norm(x) + shift(y)``, per channel.

    Conditional normalisation (de Vries et al. 2017, "Modulating early visual processing by
    language"; Dumoulin, Shlens & Kudlur 2017, "A learned representation for artistic style")
    gives the condition a direct say at every stage of the generator, where concatenating it to
    z leaves the later stages to read it from the features of the first; Miyato & Koyama (2018)
    pair it with the projection discriminator. The statistics are those of the whole batch (a
    mixture of conditions), as in BigGAN (Brock et al. 2019), so the sampler's standing
    statistics (:func:`~chaosgan.gan.ema.standing_statistics`) stay those of the training
    mixture. Initialised by :func:`init_weights` like the generator's other linear maps
    (N(0, 0.02) weights, zero biases), it starts as a BatchNorm of scale about 1.
    """

    def __init__(self, features: int, cond_dim: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(features, affine=False)
        self.gain = nn.Linear(cond_dim, features)
        self.shift = nn.Linear(cond_dim, features)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise ValueError("conditional BatchNorm needs the condition y")
        y = y.to(x.dtype)
        scale = 1 + self.gain(y)[:, :, None, None]
        return scale * self.norm(x) + self.shift(y)[:, :, None, None]


def _with_condition(z: torch.Tensor, y: torch.Tensor | None, cond_dim: int) -> torch.Tensor:
    """A generator's input: z, with the condition y concatenated when ``cond_dim > 0``."""
    if not cond_dim:
        return z
    if y is None:
        raise ValueError("a conditional generator needs the condition y")
    return torch.cat([z, y.to(z.dtype)], dim=1)


def resize_conv2d(in_ch: int, out_ch: int, kernel: int, stride: int, padding: int) -> nn.Module:
    """The resize-convolution that stands in for ``conv_transpose2d(in_ch, out_ch, kernel,
    stride, padding)`` (the same output size): nearest-neighbour upsampling by ``stride``, then
    a 3x3 convolution (padding 1, no bias: BatchNorm follows)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=stride, mode="nearest"),
        nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False),
    )


def _project(embed: nn.Module | None, y: torch.Tensor | None, pack: int) -> torch.Tensor | None:
    """``embed`` of each pack's conditions, concatenated: ``(B / pack, features)``."""
    if embed is None:
        return None
    if y is None:
        raise ValueError("a conditional critic needs the condition y")
    return embed(y.reshape(y.shape[0] // pack, -1))


class RecurrentGenerator(nn.Module):
    """z ``(B, latent_dim)`` -> images ``(B, 3, 32, 32)`` in [-1, 1], in ``layout``, drawn as a
    series of 1024 steps by a GRU.

    z sets the GRU's initial hidden state (through a linear map and tanh) and is also fed, mapped
    to ``inputs`` numbers, at every step; the GRU (``layers`` layers of ``hidden`` units,
    ``torch.nn.GRU``) runs over the sequence in chunks of ``chunk`` steps and a linear map and
    tanh turn each step's state into a 3-vector in the images' [-1, 1] coordinates. Gradients
    are truncated between chunks (truncated backpropagation through time, Williams & Peng 1990):
    through the whole 1024 steps of a chaotic map they grow exponentially, and the first epoch
    ended in NaN without the truncation (an exploratory run, not kept in the repo).

    There is no per-step noise: a deterministic system's series is fixed by where it starts, so
    the randomness enters once, through the initial state, and the GRU must learn the dynamics
    that carry it on (per-step noise would be a diffusion the real series do not have). Being
    recurrent it cannot jump between time neighbours the way a convolutional generator does at
    the rows' ends.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        hidden: int = 64,
        layout: str = "raster",
        layers: int = 2,
        inputs: int = 16,
        chunk: int = 32,
        channels: int = IMAGE_CHANNELS,
        cond_dim: int = 0,
    ):
        super().__init__()
        self.layers, self.hidden, self.chunk = layers, hidden, chunk
        self.cond_dim = cond_dim
        self.initial = nn.Linear(latent_dim + cond_dim, layers * hidden)
        self.step_input = nn.Linear(latent_dim + cond_dim, inputs)
        self.gru = nn.GRU(inputs, hidden, num_layers=layers, batch_first=True)
        self.readout = nn.Linear(hidden, channels)
        self.to_image = SeriesToImage(layout)
        self._init_dynamics()

    @torch.no_grad()
    def _init_dynamics(self, gain: float = 3.0, update_bias: float = -2.0) -> None:
        """Start as a self-oscillating map whose state moves within a few steps.

        With torch's default weights the GRU is contracting: every series settles on a fixed
        point within a few dozen steps, and a GAN trained from there kept drawing constant
        series (an exploratory run, not kept in the repo; ``tests/test_recurrent.py`` checks
        that this initialisation keeps the series moving). Each gate's recurrent weights are
        made orthogonal (Saxe et al. 2014) with gain 3, beyond the edge of chaos of tanh
        networks (gain 1; Sompolinsky et al. 1988), and the update gate's bias is set to -2, so
        each step keeps only sigmoid(-2) = 12% of the old state (the gate bias sets the time
        scale, as in the chrono initialisation of Tallec & Ollivier 2018): at initialisation the
        series keep moving from step to step, and the critics shape dynamics that exist.
        """
        h = self.hidden
        for name, weight in self.gru.named_parameters():
            if name.startswith("weight_hh"):
                for gate in weight.split(h):  # reset, update, new (torch's order)
                    nn.init.orthogonal_(gate, gain)
            elif name.startswith("bias_hh"):
                weight[h : 2 * h] = update_bias

    def series(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The series ``(B, 1024, 3)`` in the [-1, 1] scale (a conditional generator's
        condition ``y`` is concatenated to z, as in :class:`Generator`)."""
        z = _with_condition(z, y, self.cond_dim)
        b = z.shape[0]
        h0 = torch.tanh(self.initial(z)).reshape(b, self.layers, self.hidden).transpose(0, 1)
        x = self.step_input(z)[:, None, :].expand(b, IMAGE_STEPS, -1)
        h, states = h0.contiguous(), []
        for chunk in x.split(self.chunk, dim=1):
            out, h = self.gru(chunk, h)
            states.append(out)
            h = h.detach()  # truncated backpropagation through time
        return torch.tanh(self.readout(torch.cat(states, dim=1)))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.to_image(self.series(z, y))


def make_generator(
    kind: str,
    latent_dim: int,
    width: int,
    layout: str,
    cond_dim: int = 0,
    margin: int = 0,
    cond_norm: bool = False,
) -> nn.Module:
    """The generator a config names: ``dcgan`` (:class:`Generator`, ``width`` channels at 4x4,
    drawn with a ``margin`` cropped off, the condition also given to every BatchNorm with
    ``cond_norm``), ``resize`` (the same with resize-convolutions, ``upsample="resize"``) or
    ``recurrent`` (:class:`RecurrentGenerator`, ``width`` hidden units, drawing in ``layout``;
    no margin, no ``cond_norm``); each maps z ``(B, latent_dim)`` (and a condition
    ``(B, cond_dim)`` when ``cond_dim > 0``) to images in the GAN's layout."""
    if kind in ("dcgan", "resize"):
        upsample = "transposed" if kind == "dcgan" else "resize"
        return Generator(
            latent_dim,
            width,
            cond_dim=cond_dim,
            upsample=upsample,
            margin=margin,
            cond_norm=cond_norm,
        )
    if cond_norm:
        raise ValueError(f"conditional BatchNorm is for the convolutional generators, not {kind}")
    if kind == "recurrent":
        return RecurrentGenerator(latent_dim, width, layout, cond_dim=cond_dim)
    raise ValueError(f"unknown generator {kind!r}")


def generator_for(config: TrainConfig) -> nn.Module:
    """The generator ``config`` describes (:func:`make_generator` with its architecture fields
    and one condition input per name in ``config.condition``)."""
    return make_generator(
        config.generator,
        config.latent_dim,
        config.g_width,
        config.layout,
        len(config.condition),
        config.g_margin,
        config.cond_norm,
    )


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
        cond_dim: int = 0,
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
        # projection discriminator: logit += <embed(y), features>
        self.embed = linear(cond_dim * pack, 4 * w * 4 * 4, sn, bias=False) if cond_dim else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b // self.pack, self.pack * c, h, w)  # PacGAN: consecutive samples stacked
        chunk = max(CPU_CHUNK // self.pack, 1)
        if x.device.type == "cpu" and len(x) > chunk and not torch.compiler.is_compiling():
            # the same function in chunks; the spectral norms' weights are computed (one power
            # iteration each) once for all chunks, exactly as for one pass
            with parametrize.cached():
                features = torch.cat([self.features(part) for part in x.split(chunk)])
        else:
            features = self.features(x)
        features = features.flatten(1)
        logits = self.head(features).squeeze(1)
        projection = _project(self.embed, y, self.pack)
        if projection is not None:
            logits = logits + (projection.to(features.dtype) * features).sum(1)
        return logits


class ImageToSeries(nn.Module):
    """Generator images ``(B, 3, 32, 32)`` in ``layout`` -> series ``(B, 1024, 3)``, in the
    [-1, 1] scale (:meth:`scaled`) or in physical units (:meth:`forward`); a fixed linear map,
    equal to :func:`chaosgan.encoding.decode` after laying the pixels back to raster."""

    def __init__(self, norm: Normalisation, layout: str):
        super().__init__()
        # pixel (flat index) holding time step t in the layout the generator draws
        order = torch.as_tensor(layout_order(layout), dtype=torch.long)
        self.register_buffer("order", order, persistent=False)
        self.to_image = SeriesToImage(layout)  # ... and its inverse
        lo, hi = (torch.tensor(v, dtype=torch.float64) for v in (norm.minimum, norm.maximum))
        self.register_buffer("lo", lo, persistent=False)
        self.register_buffer("half_range", (hi - lo) / 2, persistent=False)

    def scaled(self, images: torch.Tensor) -> torch.Tensor:
        """Series in the images' [-1, 1] scale: ``(B, T, 3)``."""
        flat = images.reshape(images.shape[0], IMAGE_CHANNELS, IMAGE_STEPS)
        return flat[:, :, self.order].transpose(1, 2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Series in physical units: ``(B, T, 3)``."""
        return (self.scaled(images) + 1.0) * self.half_range.to(images.dtype) + self.lo.to(
            images.dtype
        )

    def to_images(self, series: torch.Tensor) -> torch.Tensor:
        """The inverse map: series ``(B, T, 3)`` in physical units -> images in ``layout``."""
        scaled = (series - self.lo.to(series.dtype)) / self.half_range.to(series.dtype) - 1.0
        return self.to_image(scaled)


class SeriesToImage(nn.Module):
    """Series ``(B, 1024, 3)`` in the [-1, 1] scale -> images ``(B, 3, 32, 32)`` in ``layout``:
    the exact inverse of :meth:`ImageToSeries.scaled` (a fixed permutation, so gradients pass
    through). :meth:`ImageToSeries.to_images` is the same from physical units."""

    def __init__(self, layout: str):
        super().__init__()
        # time step drawn at each pixel: the inverse of the layout's order
        pixel_step = torch.as_tensor(np.argsort(layout_order(layout)), dtype=torch.long)
        self.register_buffer("pixel_step", pixel_step, persistent=False)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        flat = series.transpose(1, 2)[:, :, self.pixel_step]
        return flat.reshape(series.shape[0], IMAGE_CHANNELS, IMAGE_SIDE, IMAGE_SIDE)


class SeriesCritic(nn.Module):
    """Series ``(B, T, D)`` in the [-1, 1] scale -> logits ``(B / pack, windows)``.

    Input channels are the series and its first difference (scaled by ``diff_scale``, the
    inverse std of the real data's differences, so both enter at unit size); spectral norm on
    every layer, ``depth`` layers of dilations 1, 2, 4, ... with kernels of 5 (a receptive
    field of 1 + 4 (2^depth - 1) samples: 61 for the default 4), packs of
    ``pack`` consecutive series stacked on the channels (PacGAN) as in the image critic.

    With ``residual=True`` it is also given each sample's one-step residual under a model of the
    dynamics (:func:`chaosgan.gan.physics.residual_channels`), a physics-informed discriminator
    (Daw et al. 2021, "PID-GAN", arXiv:2106.02993): real series have residuals near zero, so the
    critic learns at once to mark series that are not orbits, and the adversarial game itself
    pushes the generator towards orbits without rewarding a collapse onto the slow ones.
    """

    def __init__(
        self,
        width: int = 32,
        depth: int = 4,
        channels: int = 3,
        pack: int = 1,
        diff_scale: float = 1.0,
        residual: bool = False,
        cond_dim: int = 0,
    ):
        super().__init__()
        w = width
        self.pack = pack
        self.residual = residual
        self.register_buffer("diff_scale", torch.tensor(float(diff_scale)))
        layers: list[nn.Module] = []
        c_in = (3 if residual else 2) * channels * pack
        # width w for the first two layers, 2w from the third on
        for i in range(depth):
            c_out, dilation = (w if i < 2 else 2 * w), 2**i
            layers += [conv1d(c_in, c_out, 5, dilation=dilation), nn.LeakyReLU(0.1, True)]
            c_in = c_out
        layers.append(conv1d(c_in, 1, 1))  # the head: net[-1] (one Sequential, as saved)
        self.net = nn.Sequential(*layers)
        # projection discriminator on every window: logit += <embed(y), features(window)>
        self.embed = linear(cond_dim * pack, c_in, True, bias=False) if cond_dim else None

    def forward(
        self,
        series: torch.Tensor,
        residual: torch.Tensor | None = None,
        y: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``series`` ``(B, T, D)``; ``residual`` ``(B, T, D)`` when built with ``residual``;
        the condition ``y`` ``(B, cond_dim)`` when built with ``cond_dim``."""
        x = series.transpose(1, 2)  # (B, D, T)
        channels = [x, torch.diff(x, dim=2, prepend=x[:, :, :1]) * self.diff_scale]
        if self.residual:
            if residual is None:
                raise ValueError("this critic judges residuals too: pass them")
            channels.append(residual.transpose(1, 2))
        b, d, t = x.shape
        x = torch.cat(channels, dim=1).reshape(b // self.pack, self.pack * len(channels) * d, t)
        features = self.net[:-1](x)
        logits = self.net[-1](features).squeeze(1)
        projection = _project(self.embed, y, self.pack)
        if projection is not None:
            logits = logits + torch.einsum("bc,bct->bt", projection.to(features.dtype), features)
        return logits


def difference_scale(images: np.ndarray) -> float:
    """``1 / std`` of the first differences of the real series in the [-1, 1] scale."""
    flat = images.reshape(images.shape[0], images.shape[1], -1)
    return float(1.0 / (np.diff(flat, axis=2).std() + 1e-12))


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) weights, BatchNorm scale N(1, 0.02)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = getattr(module, "parametrizations", None)
        target = weight.weight.original if weight is not None else module.weight
        nn.init.normal_(target, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:  # conditional ones have none
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
