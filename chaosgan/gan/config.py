"""Training configuration: one dataclass with documented defaults, presets, TOML overrides.

A config file holds only what differs from the defaults (or from a preset) and fails loudly on an
unknown key; command-line flags override the file; the resolved configuration is saved in every
checkpoint and as ``config.json`` in the run folder.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from chaosgan.encoding import IMAGE_STEPS, LAYOUTS
from chaosgan.errors import ChaosganError
from chaosgan.gan.losses import LABELLED, LOSSES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_WIDTH = 8192  # latent_dim, g_width, d_width: larger would not fit any GPU's memory

G_MARGINS = (0, 4, 8)  # a convolutional generator's cropped margin: 4 pixels per first-stage pixel


@dataclass
class TrainConfig:
    """Everything a training run depends on (besides the data).

    Architecture (re-imposed on resume):
        generator: ``dcgan`` (transposed convolutions drawing the image), ``resize`` (the same
            with resize-convolutions, free of the transposed ones' repeating templates; see
            :class:`~chaosgan.gan.models.Generator`) or ``recurrent`` (a
            GRU drawing the series step by step, :class:`~chaosgan.gan.models.RecurrentGenerator`,
            whose series is laid into the same image, so the critics, losses, EMA, checkpoints
            and sampling are shared).
        latent_dim: size of the generator's input noise z.
        g_width: channels of the generator's 4x4 stage (halved at each upsampling); for the
            recurrent generator, the GRU's hidden size.
        g_margin: pixels (0, 4 or 8) by which the convolutional generators draw a larger canvas
            on every side, cropped off: against the border rows' collapse (the series' first and
            last samples) and the position the zero padding gives away. Not for ``recurrent``.
        d_width: channels of the discriminator's first stage (doubled at each downsampling).
        layout: pixel order the GAN sees, ``raster`` (the study's), ``snake`` (odd rows
            reversed) or ``hilbert`` (along a Hilbert curve); in the last two consecutive
            samples are always neighbouring pixels (see :mod:`chaosgan.encoding`). Samples are
            laid back to raster before decoding.
        pack: samples the discriminator judges together (PacGAN, Lin et al. 2018), which lets it
            see mode collapse; 1 = each alone. Must divide batch_size.
        condition: names of system parameters to condition on (``["rho"]``; empty: an
            unconditional GAN). The data must vary them per series (``chaosgan simulate
            --param rho=24:40``); each is scaled to [-1, 1] by its range in the training data
            (saved in the checkpoint), fed to the generator concatenated to z, and to both
            critics by projection (:mod:`chaosgan.gan.models`). With ``physics =
            "identified"`` the model is identified with the condition as a variable
            (:mod:`chaosgan.identify.parametric`) and given each series' value; ``known``
            physics and the shooting layer are not available for a conditional run.
        cond_norm: in a conditional run, give the condition to every BatchNorm of the
            convolutional generator as well (conditional BatchNorm, scale and shift linear in
            the condition: :class:`~chaosgan.gan.models.ConditionalBatchNorm2d`), not only
            concatenated to z; off by default.
    Optimisation:
        epochs: passes over the data.
        batch_size: images per step (per process under DDP).
        lr_g, lr_d: Adam learning rates; the two-time-scale update rule (Heusel et al. 2017)
            uses lr_d = 4 lr_g.
        beta1, beta2: Adam betas (DCGAN's 0.5, 0.999).
        loss: ``bce`` (the study's non-saturating loss), ``minimax`` (the saturating textbook
            loss), ``lsgan`` (least squares), ``hinge`` (Miyato et al. 2018) or ``wgan``
            (Wasserstein with gradient penalty); see :mod:`chaosgan.gan.losses`.
        gp_weight: weight of the ``wgan`` loss's gradient penalty, on both critics (Gulrajani
            et al. 2017's lambda = 10); only the ``wgan`` loss has one.
        n_dis: discriminator steps per update round (WGAN-GP takes 5).
        d_every: update the discriminator only every ``d_every`` generator steps (the study's
            "less frequent discriminator updates"; 1 = every step).
        ema_decay: decay of the exponential moving average of the generator's weights, used
            for sampling (0 disables it).
    The study's tricks (the label tricks only with the labelled losses: minimax, bce, lsgan):
        label_smoothing: real labels drawn in [1 - s, 1], fake in [0, s] (0 = hard labels).
        label_flip: probability of swapping a sample's real/fake label in the D loss.
        noise_start, noise_end: instance noise std added to the discriminator's inputs, decaying
            linearly from start to end over the run (Sønderby et al. 2017; 0 = none).
    A critic that sees time (off by default):
        series_weight: weight of the series critic's loss in the generator's loss, beside the
            image critic's (weight 1); 0 switches the series critic off. The series critic
            (:class:`~chaosgan.gan.models.SeriesCritic`) judges windows of the decoded series.
        series_width: channels of the series critic's first layers.
        series_depth: its dilated layers, dilations 1, 2, 4, ... 2^(depth - 1) with kernels of
            5: a receptive field of 1 + 4 (2^depth - 1) samples (4: 61, the first design;
            6: 253, enough to see a pattern repeat every 64 samples, two image rows).
        series_residual: the series critic also sees each sample's one-step residual under the
            physics model (a physics-informed discriminator; needs ``physics`` on).
        series_residual_noise: std of Gaussian noise added to those residual channels, in
            hundredths of the attractor diameter: residuals well below it (the one-step error
            asked of a good generator is 1e-2 diameters) cannot tell real from fake, so the
            critic cannot win on them alone and keeps judging the rest of the series.
    Marginal matching (off by default; :mod:`chaosgan.gan.marginals`):
        marginal_weight: weight of the 1-Wasserstein distance between the generated batch's
            values of each coordinate and the real batch's, over each coordinate's standard
            deviation (the scorecard's ``wasserstein_over_std``), in the generator's loss from
            the first step; 0 switches it off. Against series drawn on too small an attractor.
        marginal_groups: in a conditional run, the batch is sorted by its condition and the
            marginals are matched within this many groups of neighbouring values
            (``grouped_marginal_loss``), so each condition's marginals are matched, not only
            the mixture's; 1 (the default) matches the whole batch at once. Needs
            ``condition``, ``marginal_weight > 0`` and at most ``batch_size`` groups.
        marginal_order: 1 (the default) matches the marginals in the 1-Wasserstein distance,
            the scorecard's; 2 in the 2-Wasserstein distance (root mean square of the gaps
            between sorted values), whose pull grows with each gap, so missing tails weigh
            more than a bulk slightly off; the logged ``marginal`` is then W2. Needs
            ``marginal_weight > 0``.
        sketch_weight: weight of marginal matching (order 1) on the network's own draw, the
            series before the refinement and shooting layers, the real batch as the target;
            0 (the default) switches it off. The other terms judge only the layers' output,
            and behind thirty refinement steps a conditional network learns to draw one blob
            for every condition and leave the conditioning to the layer (README, "Thirty
            refinement steps"). This term's gradient reaches the network without passing
            through the layer, so the draw itself must follow the data (deep supervision of
            an intermediate output; Lee et al. 2015, "Deeply-supervised nets"). Needs
            ``refine_steps`` or ``shooting``.
        sketch_groups: the sketch term's condition groups, as ``marginal_groups`` for the
            main term (1, the default, matches the whole batch). Needs ``condition`` and
            ``sketch_weight > 0`` when above 1.
        maxima_weight: weight of return-map matching (``maxima_map_loss``): the sliced
            1-Wasserstein distance between the generated and the real batch's pairs of
            successive local maxima of each coordinate, over its standard deviation, from the
            first step; 0 switches it off. Against loops of unrelated or too small heights.
        state_weight: weight of state matching (``state_loss``): the sliced 1-Wasserstein
            distance between the generated and the real batch's states (all coordinates at
            once, each over its standard deviation), from the first step; 0 switches it off.
            Against series that linger where real orbits do not (a fixed point), which every
            coordinate's marginal alone can miss.
        spectrum_weight: weight of spectral matching (``spectrum_loss``): the mean squared
            gap, in decades, between the generated batch's and the training data's mean power
            spectrum of each standardised coordinate, in ``spectrum_bands`` equal bands of
            frequency, from the first step; 0 switches it off. Against high-frequency ripples.
    Dynamics consistency (off by default; :mod:`chaosgan.gan.physics`):
        physics: ``off``; ``identified``: a polynomial model identified from the training data
            before training (never the true parameters); ``known``: the true equations of the
            catalogue system the data's meta names (labelled as such everywhere: the GAN is then
            told the answer).
        physics_weight: weight of the squared k-step residual (in attractor diameters squared).
        physics_start: fraction of the run trained without it (the critics first learn what the
            data look like: a generator pushed towards orbits from the start finds the slow
            spirals near the fixed points, which are orbits too, and collapses onto them).
        physics_warmup: fraction of the run over which that weight then ramps up linearly.
        physics_balance: when > 0, the physics loss's weight is set at every step so that its
            gradient at the generator's output is ``physics_balance`` times the adversarial
            losses' (an adaptive weight, Esser et al. 2021; ``physics_weight`` is then unused);
            0 keeps the fixed ``physics_weight``.
        physics_steps: k, the steps after which the residual is taken (1: one-step).
        sketch_physics_weight: weight of the one-step residual of the network's own draw,
            the series before the refinement and shooting layers, in diameters squared (0:
            off; needs ``refine_steps`` or ``shooting``, so ``physics`` on; same start and ramp
            as the residual, fixed weight). Behind thirty refinement steps the draw has no
            loops at all and the layer makes them, in an order no orbit would draw (README,
            "What the classifier sees"); this term asks the network to draw near-orbits
            itself and leave the layer the polish (deep supervision, as ``sketch_weight``).
        physics_relax: 0 keeps the residual loss above; K > 0 (at most 100, with k = 1)
            replaces it by ``mean ||x - sg(R_K(x))||^2 / diameter^2``, the squared distance from
            the generated series to where K L-BFGS steps of relaxation towards the model's
            orbits take it (:func:`~chaosgan.gan.relaxation.relax_towards`, detached): a
            quasi-Newton direction towards a near orbit instead of the residual's own
            gradient (at 60 epochs it acted as a stronger pull, not a better one: README).
            Same start, ramp and weight
            (or balance) as the residual; the run logs the one-step residual as ``physics``
            and this distance as ``relax``.
        speed_weight: weight of a speed-matching term beside the residual (0: off; needs
            ``physics`` on; same start and ramp): the 1-Wasserstein distance, in diameters,
            between the generated and the real step lengths ``|x_{t+1} - x_t|``
            (:func:`~chaosgan.gan.physics.speed_loss`), against the residual's degenerate
            minima (a series at rest on a fixed point is an orbit too).
        tempo_weight: weight of a tempo term beside the residual (0: off; needs ``physics``
            on; same start and ramp): the mean over series of ``(1 - c)^2``, c the series'
            least-squares speed against the model's own steps
            (:func:`~chaosgan.gan.physics.tempo_loss`; the scorecard's ``speed_factor``),
            against the residual loss's pull towards series that run too slowly.
        physics_substeps: RK4 steps per sampling step dt in the model's flow (2: within 4e-5
            attractor diameters of the exact flow, median, on Lorenz-63 at dt = 0.1).
        shooting: segment length, in samples, of the shooting layer
            (:mod:`chaosgan.gan.shooting`): the generator's series is replaced by the physics
            model's flow from every ``shooting``-th sample, so it is an orbit of the model
            inside each segment and the physics loss only has the jumps between segments left
            to remove; 0 switches it off. Must divide 1024; needs ``physics`` on.
        refine_steps: gradient steps of the refinement layer (:mod:`chaosgan.gan.refine`;
            0: off; at most 100; needs ``physics`` on): the generator's series takes that many
            heavy-ball steps down its one-step residual under the physics model, unrolled in
            the graph, so the critics judge the refined series and the generator learns
            through the steps. After the shooting layer, if both are on.
        refine_rate: the refinement's step size (dimensionless, in (0, 1]; 0.1 is stable on
            Lorenz-63 at dt = 0.1; at 0.15 the worst series' error grows, from 0.2 some blow up).
        refine_momentum: the refinement's heavy-ball momentum, in [0, 1).
        refine_method: ``"gradient"`` (the heavy-ball steps above) or ``"gauss-newton"``:
            each of the ``refine_steps`` steps is then the minimum-norm damped Gauss-Newton
            step to the model's orbits, a block-tridiagonal solve
            (:func:`~chaosgan.gan.refine.gauss_newton_series`); rate and momentum are unused.
        refine_damping: the Gauss-Newton steps' Levenberg-Marquardt damping (dimensionless,
            > 0, at most 1): larger is shorter, safer steps.
        refine_gradient: how the generator's gradient passes the refinement layer:
            ``"unrolled"`` (through the steps) or ``"straight-through"`` (as if the layer were
            the identity, Bengio, Leonard & Courville 2013: the forward pass is refined, the
            backward pass skips the steps, and costs nothing).
    Run:
        seed: seeds the weights, data order, latents, noise and labels.
        sample_every: epochs between sample grids, time-series and loss-curve figures (also
            drawn at the last epoch); a value beyond ``epochs`` draws none.
        checkpoint_every: epochs between checkpoints (the last epoch is always saved).
        bf16: bfloat16 autocast (CUDA or CPU); losses and the optimiser stay in float32.
        compile: ``torch.compile`` the models; on CUDA with CUDA graphs ("reduce-overhead"),
            which remove the kernel-launch overhead that bounds this small model at batch 64.
    """

    generator: str = "dcgan"
    latent_dim: int = 100
    g_width: int = 256
    g_margin: int = 0
    d_width: int = 64
    layout: str = "raster"
    pack: int = 1
    condition: list[str] = field(default_factory=list)
    cond_norm: bool = False
    epochs: int = 200
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "bce"
    gp_weight: float = 10.0
    n_dis: int = 1
    d_every: int = 1
    ema_decay: float = 0.999
    label_smoothing: float = 0.0
    label_flip: float = 0.0
    noise_start: float = 0.0
    noise_end: float = 0.0
    series_weight: float = 0.0
    series_width: int = 32
    series_depth: int = 4
    series_residual: bool = False
    series_residual_noise: float = 0.0
    marginal_weight: float = 0.0
    marginal_groups: int = 1
    marginal_order: int = 1
    sketch_weight: float = 0.0
    sketch_groups: int = 1
    maxima_weight: float = 0.0
    state_weight: float = 0.0
    spectrum_weight: float = 0.0
    spectrum_bands: int = 32
    physics: str = "off"
    physics_weight: float = 100.0
    physics_start: float = 0.0
    physics_warmup: float = 0.1
    physics_balance: float = 0.0
    speed_weight: float = 0.0
    tempo_weight: float = 0.0
    physics_steps: int = 1
    sketch_physics_weight: float = 0.0
    physics_relax: int = 0
    physics_substeps: int = 2
    shooting: int = 0
    refine_steps: int = 0
    refine_rate: float = 0.1
    refine_momentum: float = 0.9
    refine_method: str = "gradient"
    refine_damping: float = 0.01
    refine_gradient: str = "unrolled"
    seed: int = 0
    sample_every: int = 10
    checkpoint_every: int = 1
    bf16: bool = False
    compile: bool = False

    def _check_groups(self, term: str) -> None:
        """``{term}_groups``: at most ``batch_size``, and above 1 only where the term is on in
        a conditional run (the groups are neighbouring condition values)."""
        groups, weight = getattr(self, f"{term}_groups"), getattr(self, f"{term}_weight")
        if not 1 <= groups <= self.batch_size:
            raise ChaosganError(
                f"{term}_groups must lie in [1, batch_size = {self.batch_size}], got {groups}"
            )
        if groups > 1 and not (self.condition and weight > 0):
            raise ChaosganError(
                f"{term}_groups > 1 groups a conditional run's batch by its condition: it "
                f"needs condition and {term}_weight > 0"
            )

    def validate(self) -> TrainConfig:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ChaosganError(f"{f.name} must be a finite number, got {value}")
        if self.loss not in LOSSES:
            raise ChaosganError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.generator not in GENERATORS:
            raise ChaosganError(
                f"generator must be one of {', '.join(GENERATORS)}, got {self.generator!r}"
            )
        if self.g_margin not in G_MARGINS:
            raise ChaosganError(
                f"g_margin must be one of {', '.join(map(str, G_MARGINS))}, got {self.g_margin}"
            )
        if self.g_margin and self.generator == "recurrent":
            raise ChaosganError("g_margin is for the convolutional generators, not recurrent")
        if self.loss not in LABELLED and (self.label_smoothing > 0 or self.label_flip > 0):
            raise ChaosganError(
                f"the {self.loss} loss has no labels: label_smoothing and label_flip must be 0 "
                f"(they apply to {', '.join(LABELLED)})"
            )
        if not self.gp_weight >= 0:
            raise ChaosganError(f"gp_weight must be >= 0, got {self.gp_weight}")
        if self.loss != "wgan" and self.gp_weight != TrainConfig.gp_weight:
            raise ChaosganError("gp_weight applies to the wgan loss only")
        if self.loss == "wgan" and self.gp_weight > 0 and self.compile:
            raise ChaosganError(
                "the wgan loss's gradient penalty needs a double backward, which torch.compile "
                "does not support: turn compile off (or gp_weight = 0)"
            )
        if self.physics not in PHYSICS:
            raise ChaosganError(
                f"physics must be one of {', '.join(PHYSICS)}, got {self.physics!r}"
            )
        if self.layout not in LAYOUTS:
            raise ChaosganError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        for name in (
            "latent_dim",
            "g_width",
            "d_width",
            "epochs",
            "batch_size",
            "n_dis",
            "d_every",
            "sample_every",
            "checkpoint_every",
            "series_width",
            "series_depth",
            "physics_steps",
            "physics_substeps",
        ):
            if getattr(self, name) < 1:
                raise ChaosganError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("latent_dim", "g_width", "d_width"):
            if getattr(self, name) > MAX_WIDTH:
                raise ChaosganError(f"{name} must be <= {MAX_WIDTH}, got {getattr(self, name)}")
        if not 0 <= self.label_smoothing < 0.5 or not 0 <= self.label_flip < 0.5:
            raise ChaosganError("label_smoothing and label_flip must lie in [0, 0.5)")
        if self.noise_start < 0 or self.noise_end < 0 or not 0 <= self.ema_decay < 1:
            raise ChaosganError("noise std must be >= 0 and ema_decay in [0, 1)")
        if self.series_depth > 8:
            raise ChaosganError(f"series_depth must be <= 8, got {self.series_depth}")
        if self.series_residual and (self.physics == "off" or self.series_weight <= 0):
            raise ChaosganError("series_residual needs physics on and series_weight > 0")
        if self.shooting and (
            self.physics == "off" or self.shooting < 2 or IMAGE_STEPS % self.shooting
        ):
            raise ChaosganError(
                f"shooting must be 0 or a divisor of {IMAGE_STEPS} >= 2 with physics on, "
                f"got {self.shooting}"
            )
        if not 0 <= self.refine_steps <= MAX_REFINE_STEPS:
            raise ChaosganError(
                f"refine_steps must lie in [0, {MAX_REFINE_STEPS}], got {self.refine_steps}"
            )
        if not (0 < self.refine_rate <= 1 and 0 <= self.refine_momentum < 1):
            raise ChaosganError(
                "refine_rate must lie in (0, 1] and refine_momentum in [0, 1), got "
                f"{self.refine_rate} and {self.refine_momentum}"
            )
        if self.refine_method not in REFINE_METHODS:
            raise ChaosganError(
                f"refine_method must be one of {', '.join(REFINE_METHODS)}, got "
                f"{self.refine_method!r}"
            )
        if self.refine_gradient not in REFINE_GRADIENTS:
            raise ChaosganError(
                f"refine_gradient must be one of {', '.join(REFINE_GRADIENTS)}, got "
                f"{self.refine_gradient!r}"
            )
        if not 0 < self.refine_damping <= 1:  # also rejects NaN
            raise ChaosganError(f"refine_damping must lie in (0, 1], got {self.refine_damping}")
        if self.refine_steps and self.physics == "off":
            raise ChaosganError("refine_steps needs physics on (the model it refines towards)")
        for name in ("physics_start", "physics_warmup"):
            if not 0 <= getattr(self, name) <= 1:
                raise ChaosganError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if not (self.series_weight >= 0 and self.physics_weight >= 0):  # also rejects NaN
            raise ChaosganError("series_weight and physics_weight must be >= 0")
        if not self.marginal_weight >= 0:  # also rejects NaN
            raise ChaosganError(f"marginal_weight must be >= 0, got {self.marginal_weight}")
        self._check_groups("marginal")
        if self.marginal_order not in (1, 2):
            raise ChaosganError(f"marginal_order must be 1 or 2, got {self.marginal_order}")
        if self.marginal_order != 1 and not self.marginal_weight > 0:
            raise ChaosganError("marginal_order = 2 needs marginal_weight > 0 (the term it shapes)")
        if not self.sketch_weight >= 0:  # also rejects NaN
            raise ChaosganError(f"sketch_weight must be >= 0, got {self.sketch_weight}")
        if self.sketch_weight > 0 and not (self.refine_steps or self.shooting):
            raise ChaosganError(
                "sketch_weight matches the network's draw before the refinement or shooting "
                "layer: it needs refine_steps or shooting"
            )
        self._check_groups("sketch")
        if not self.maxima_weight >= 0:
            raise ChaosganError(f"maxima_weight must be >= 0, got {self.maxima_weight}")
        if not self.state_weight >= 0:  # also rejects NaN
            raise ChaosganError(f"state_weight must be >= 0, got {self.state_weight}")
        if not self.spectrum_weight >= 0:
            raise ChaosganError(f"spectrum_weight must be >= 0, got {self.spectrum_weight}")
        if not 1 <= self.spectrum_bands <= 256:  # a band of at least two of 512 frequencies
            raise ChaosganError(f"spectrum_bands must lie in [1, 256], got {self.spectrum_bands}")
        if not self.physics_balance >= 0:
            raise ChaosganError(f"physics_balance must be >= 0, got {self.physics_balance}")
        if self.physics_balance > 0 and self.physics == "off":
            raise ChaosganError("physics_balance needs physics on")
        if not 0 <= self.physics_relax <= 100:
            raise ChaosganError(f"physics_relax must lie in [0, 100], got {self.physics_relax}")
        if not self.sketch_physics_weight >= 0:  # also rejects NaN
            raise ChaosganError(
                f"sketch_physics_weight must be >= 0, got {self.sketch_physics_weight}"
            )
        if self.sketch_physics_weight > 0 and not (self.refine_steps or self.shooting):
            raise ChaosganError(  # both layers need physics on, so the model is there too
                "sketch_physics_weight is the residual of the network's draw before the "
                "refinement or shooting layer: it needs refine_steps or shooting"
            )
        if self.physics_relax and (self.physics == "off" or self.physics_steps != 1):
            raise ChaosganError("physics_relax needs physics on and physics_steps = 1")
        for name in ("speed_weight", "tempo_weight"):  # the terms beside the residual
            weight = getattr(self, name)
            if not weight >= 0:
                raise ChaosganError(f"{name} must be >= 0, got {weight}")
            if weight > 0 and self.physics == "off":
                raise ChaosganError(f"{name} needs physics on")
        if not self.series_residual_noise >= 0:
            raise ChaosganError("series_residual_noise must be >= 0")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ChaosganError("learning rates must be positive")
        if not isinstance(self.condition, list) or not all(
            isinstance(x, str) and x for x in self.condition
        ):
            raise ChaosganError(
                f"condition must be a list of parameter names, got {self.condition!r}"
            )
        if len(set(self.condition)) != len(self.condition):
            raise ChaosganError(f"condition names a parameter twice: {self.condition}")
        if self.condition and self.physics == "known":
            raise ChaosganError(
                f"physics = 'known' with condition {', '.join(self.condition)}: a conditional "
                "run's model is identified with the condition as a variable; use physics = "
                "'identified'"
            )
        if self.cond_norm and not (self.condition and self.generator != "recurrent"):
            raise ChaosganError(
                "cond_norm gives the condition to the convolutional generator's BatchNorms: it "
                "needs condition and generator dcgan or resize"
            )
        if self.condition and self.shooting:
            raise ChaosganError("shooting is not available for a conditional run")
        if self.pack < 1 or self.batch_size % self.pack:
            raise ChaosganError(f"pack ({self.pack}) must divide batch_size ({self.batch_size})")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PHYSICS = ("off", "identified", "known")
REFINE_METHODS = ("gradient", "gauss-newton")
REFINE_GRADIENTS = ("unrolled", "straight-through")
MAX_REFINE_STEPS = 100  # the refinement layer's steps: unrolled, each costs a backward through it
GENERATORS = ("dcgan", "resize", "recurrent")

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # the recommended recipe (README "The GAN"; scripts/orbit_ablation.py measures each part):
    # PacGAN packs of 4 against mode collapse, the snake layout so that consecutive samples are
    # neighbouring pixels, a critic of the decoded series, and the dynamics-consistency loss of
    # a model identified from the training data, switched on once the critics have learnt
    "best": {
        "pack": 4,
        "layout": "snake",
        "series_weight": 1.0,
        "series_residual": True,
        "series_residual_noise": 1.0,
        "physics": "identified",
        "physics_weight": 3000.0,
        "physics_start": 0.3,
        "physics_warmup": 0.3,
    },
    # Wasserstein loss with gradient penalty (Gulrajani et al. 2017): 5 critic steps per
    # generator step, Adam(0, 0.9) and lr 1e-4 as in their paper's Algorithm 1, no label tricks
    # (the critic has no labels). The critics stay spectrally normalised: WGAN-GP only forbids
    # BatchNorm in the critic (the penalty is per sample), which ours has none of, and SN with GP
    # is a common, stable pairing (Kurach et al. 2019, "A large-scale study of regularization and
    # normalization in GANs"; StudioGAN's WGAN-GP configs). SN bounds each layer's Lipschitz
    # constant by 1, the penalty pulls the critic's gradient norm towards 1 on the interpolates.
    "wgan-gp": {
        "loss": "wgan",
        "n_dis": 5,
        "lr_g": 1e-4,
        "lr_d": 1e-4,
        "beta1": 0.0,
        "beta2": 0.9,
    },
    # the study's recipe: every trick on
    "study": {
        "lr_g": 1e-4,
        "lr_d": 4e-4,
        "label_smoothing": 0.1,
        "label_flip": 0.05,
        "noise_start": 0.1,
        "noise_end": 0.0,
        "d_every": 2,
    },
}

# the Wasserstein game with the dynamics-consistency loss of an identified model (same weight and
# schedule as "best"): the game without the image grid's clock (README "Why the exponents are
# low"), exponents 0.72-0.90 of the real ones at 60 CPU epochs, at seven times best's cost
PHYSICS_KEYS = ("physics", "physics_weight", "physics_start", "physics_warmup")
PRESETS["wgan-physics"] = {**PRESETS["wgan-gp"], **{k: PRESETS["best"][k] for k in PHYSICS_KEYS}}

# best's critics, layout and physics on the Wasserstein game, the critics held to Lipschitz
# bounds by their spectral norms alone (no gradient penalty, which costs a double backward:
# three times a critic step on the CPU), one critic step per generator step at four times the
# generator's learning rate (TTUR, Heusel et al. 2017), and a physics weight of 1e4 (the
# Wasserstein critics' gradients are larger than BCE's, 3000 left the one-step error at 0.055).
# At 60 CPU epochs (README "Why the exponents are low" and the leaderboard): no grid clock,
# exponents 0.70-0.96 of the real ones in 1.3-1.6 times best's training time, a one-step error
# 1.8 times best's
PRESETS["best-wgan"] = {
    **PRESETS["best"],
    "loss": "wgan",
    "gp_weight": 0.0,
    "beta1": 0.0,
    "beta2": 0.9,
    "lr_g": 1e-4,
    "lr_d": 4e-4,
    "physics_weight": 1e4,
}

# best-wgan with the adaptive physics weight and the refinement layer (10 unrolled heavy-ball
# steps towards the identified model's orbits as the generator's last layer, chaosgan.gan.refine):
# at 60 CPU epochs, two seeds (README "A refinement layer inside the generator"), exponents
# 0.92-1.08 of the real ones on every coordinate and W1/std 0.07-0.14, at six times the
# training time of best-wgan with the adaptive weight alone
PRESETS["best-wgan-refine"] = {**PRESETS["best-wgan"], "physics_balance": 1.0, "refine_steps": 10}

# the best recipe's critics and losses, the series drawn by a GRU step by step
# (:class:`~chaosgan.gan.models.RecurrentGenerator`; hidden size 64 keeps it CPU-cheap)
PRESETS["recurrent"] = {**PRESETS["best"], "generator": "recurrent", "g_width": 64}


def apply_overrides(config: TrainConfig, overrides: dict[str, Any], source: str) -> TrainConfig:
    """``config`` with ``overrides`` applied; an unknown key or a wrong type is an error."""
    known = {f.name: f for f in fields(TrainConfig)}
    values = config.to_dict()
    for key, value in overrides.items():
        if key not in known:
            raise ChaosganError(f"{source}: unknown config key {key!r} (valid: {', '.join(known)})")
        default = values[key]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ChaosganError(f"{source}: {key} must be true or false, got {value!r}")
        if isinstance(default, int) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ChaosganError(f"{source}: {key} must be an integer, got {value!r}")
        if isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ChaosganError(f"{source}: {key} must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ChaosganError(f"{source}: {key} must be a finite number, got {value!r}")
        if isinstance(default, str) and not isinstance(value, str):
            raise ChaosganError(f"{source}: {key} must be a string, got {value!r}")
        if isinstance(default, list):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ChaosganError(f"{source}: {key} must be a list of names, got {value!r}")
            value = list(value)
        values[key] = value
    return TrainConfig(**values)


def load_config(
    preset: str = "default",
    path: str | Path | list[str | Path] | None = None,
    overrides: dict | None = None,
) -> TrainConfig:
    """Defaults, then the preset, then the TOML file(s) in order, then explicit overrides (CLI
    flags). Several files let a model size (``scripts/demo_gan.toml``) and a recipe combine."""
    if preset not in PRESETS:
        raise ChaosganError(f"unknown preset {preset!r} (valid: {', '.join(PRESETS)})")
    config = apply_overrides(TrainConfig(), PRESETS[preset], f"preset {preset}")
    files = [] if path is None else path if isinstance(path, list) else [path]
    for file in map(Path, files):
        if not file.is_file():
            raise ChaosganError(f"{file}: no such config file")
        try:
            data = tomllib.loads(file.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ChaosganError(f"{file}: not valid TOML ({exc})") from None
        config = apply_overrides(config, data, str(file))
    config = apply_overrides(config, overrides or {}, "command line")
    return config.validate()
