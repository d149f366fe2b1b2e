"""The training loop: one readable function, top to bottom.

Each epoch shuffles the images with a generator seeded by (seed, epoch) and draws every other
random number (latents, instance noise, label smoothing and flips) from a generator seeded by
(seed, rank, epoch). Checkpoints are taken at epoch boundaries, so a run interrupted and resumed
replays exactly what an uninterrupted run does: on the CPU the final weights are bit-identical
(``tests/test_gan.py``).

Multi-GPU / multi-node: launched by ``torchrun``, each process trains on its shard of every
epoch's permutation with DistributedDataParallel (NCCL on CUDA, gloo on CPU); gradients are
averaged, buffers (BatchNorm statistics, spectral-norm vectors) follow rank 0, and only rank 0
writes files.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from chaosgan.atomic import StagedFolder, check_folder_writable, write_text_atomic
from chaosgan.dataset import Dataset
from chaosgan.device import resolve_torch_device
from chaosgan.encoding import apply_layout
from chaosgan.errors import ChaosganError
from chaosgan.gan import losses, tricks
from chaosgan.gan.checkpoint import (
    check_same_data,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from chaosgan.gan.condition import Condition
from chaosgan.gan.config import TrainConfig
from chaosgan.gan.ema import standing_statistics, update_ema
from chaosgan.gan.marginals import (
    band_log_power,
    grouped_marginal_loss,
    marginal_loss,
    maxima_map_loss,
    spectrum_loss,
    state_loss,
)
from chaosgan.gan.models import (
    Discriminator,
    ImageToSeries,
    SeriesCritic,
    difference_scale,
    generator_for,
    init_weights,
)
from chaosgan.gan.physics import (
    PhysicsModel,
    PolynomialFlow,
    channels_from_residuals,
    loss_from_residuals,
    physics_model,
    residual_channels,
    residual_loss,
    speed_loss,
    speed_quantiles,
    step_residuals,
    tempo_loss,
)
from chaosgan.gan.refine import OutputLayers, output_layers
from chaosgan.gan.relaxation import relax_towards
from chaosgan.jsonio import dumps


@dataclass
class Run:
    """Everything that evolves during training."""

    config: TrainConfig
    generator: nn.Module
    discriminator: nn.Module
    generator_ema: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    series_critic: nn.Module | None = None
    opt_s: torch.optim.Optimizer | None = None
    physics: PhysicsModel | None = None
    condition: Condition | None = None
    epoch: int = 0
    step: int = 0
    seconds: float = 0.0  # wall time of training so far, across resumes (identification included)
    history: dict[str, list[float]] = field(default_factory=lambda: {"d_loss": [], "g_loss": []})


def build_run(
    config: TrainConfig,
    device: torch.device,
    diff_scale: float = 1.0,
    physics: PhysicsModel | None = None,
    condition: Condition | None = None,
) -> Run:
    """Fresh models (DCGAN initialisation, seeded) and Adam optimisers for ``config``.

    ``diff_scale`` sizes the series critic's difference channel (see
    :func:`~chaosgan.gan.models.difference_scale`); ``physics`` is the model of the
    dynamics-consistency loss (``None`` when ``config.physics`` is off); ``condition`` the
    conditioning parameters' range (``None`` unless ``config.condition`` names some).
    """
    torch.manual_seed(config.seed)  # weight initialisation only; training uses its own generators
    c = len(config.condition)
    g = generator_for(config).to(device)
    d = Discriminator(config.d_width, pack=config.pack, cond_dim=c).to(device)
    if config.generator != "recurrent":  # the recurrent one keeps torch's GRU and Linear defaults
        g.apply(init_weights)
    d.apply(init_weights)
    betas = (config.beta1, config.beta2)

    def adam(module: nn.Module, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, fused=True)

    run = Run(
        config=config,
        generator=g,
        discriminator=d,
        generator_ema=copy.deepcopy(g).eval().requires_grad_(False),
        opt_g=adam(g, config.lr_g),
        opt_d=adam(d, config.lr_d),
        physics=physics,
        condition=condition,
    )
    if config.series_weight > 0:
        s = SeriesCritic(
            config.series_width,
            depth=config.series_depth,
            pack=config.pack,
            diff_scale=diff_scale,
            residual=config.series_residual,
            cond_dim=c,
        ).to(device)
        s.apply(init_weights)
        run.series_critic, run.opt_s = s, adam(s, config.lr_d)
    return run


def _seeded(seed: int, *keys: int, device: torch.device | str = "cpu") -> torch.Generator:
    value = seed
    for k in keys:
        value = (value * 1_000_003 + k) % (2**63 - 1)
    return torch.Generator(device=device).manual_seed(value)


def _distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _state(run: Run, data: Dataset, data_path: str | Path | None) -> dict[str, Any]:
    return {
        "config": run.config.to_dict(),
        "epoch": run.epoch,
        "step": run.step,
        "train_seconds": run.seconds,
        "generator": run.generator.state_dict(),
        "discriminator": run.discriminator.state_dict(),
        "generator_ema": run.generator_ema.state_dict(),
        "opt_g": run.opt_g.state_dict(),
        "opt_d": run.opt_d.state_dict(),
        "history": run.history,
        **_optional_state(run),
        "training_data": {
            "path": str(Path(data_path).resolve()) if data_path else None,
            "sha256": data.sha256(),
        },
        "normalisation": data.meta["normalisation"],
        "data_meta": {
            k: data.meta.get(k) for k in ("system", "params", "dt", "steps", "coordinates", "seed")
        },
    }


def _optional_state(run: Run) -> dict[str, Any]:
    """The series critic, the physics model and the condition, when the run has them."""
    out: dict[str, Any] = {}
    if run.series_critic is not None and run.opt_s is not None:
        out["series_critic"] = run.series_critic.state_dict()
        out["opt_s"] = run.opt_s.state_dict()
    if run.physics is not None:
        out["physics"] = run.physics.to_dict()
    if run.condition is not None:
        out["condition"] = run.condition.to_dict()
    return out


def restore_run(ckpt: dict[str, Any], device: torch.device, epochs: int | None) -> Run:
    """Rebuild a run from a checkpoint: its config (architecture included) wins, but ``epochs``."""
    from chaosgan.gan.config import apply_overrides

    config = apply_overrides(TrainConfig(), ckpt["config"], "checkpoint")
    if epochs is not None:
        config.epochs = epochs
    physics = PhysicsModel.from_dict(ckpt["physics"]) if config.physics != "off" else None
    condition = Condition.from_dict(ckpt["condition"]) if config.condition else None
    run = build_run(config, device, physics=physics, condition=condition)
    try:
        run.generator.load_state_dict(ckpt["generator"])
        run.discriminator.load_state_dict(ckpt["discriminator"])
        run.generator_ema.load_state_dict(ckpt["generator_ema"])
        run.opt_g.load_state_dict(ckpt["opt_g"])
        run.opt_d.load_state_dict(ckpt["opt_d"])
        if run.series_critic is not None and run.opt_s is not None:
            run.series_critic.load_state_dict(ckpt["series_critic"])
            run.opt_s.load_state_dict(ckpt["opt_s"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ChaosganError(f"checkpoint does not fit the models ({str(exc)[:120]})") from None
    run.epoch, run.step = int(ckpt["epoch"]), int(ckpt["step"])
    run.history = {k: list(v) for k, v in ckpt["history"].items()}
    run.seconds = float(ckpt.get("train_seconds", 0.0))  # absent before it was recorded
    return run


def train(
    data: Dataset,
    out: str | Path,
    config: TrainConfig,
    device: str = "auto",
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    epochs: int | None = None,
    data_path: str | Path | None = None,
) -> Run:
    """Train the GAN on ``data``'s images; write checkpoints and figures to the run folder ``out``.

    Args:
        data: a dataset with images (T = 1024 samples of 3 coordinates).
        out: run folder (``config.json``, ``checkpoints/last.pt``, ``samples/``, figures).
        config: resolved configuration (ignored but for ``epochs`` when resuming).
        device: ``auto``, ``cpu`` or ``cuda``.
        resume: continue from ``out``'s last checkpoint up to ``epochs`` (or its config's).
        force: start afresh even if ``out`` holds a run.
        progress: show a progress bar.
        epochs: when resuming, the total epochs to reach (``None``: the run's config).
        data_path: where ``data`` was read from, recorded with its sha256 in every checkpoint
            (``training_data``) so that samples can name their training set.
    """
    if data.images is None:
        raise ChaosganError("the dataset has no images (they need T = 1024 samples x 3 coords)")
    out = Path(out)
    start = time.perf_counter()
    rank, world = _distributed()
    dev = resolve_torch_device(device, rank)
    if resume:
        ckpt = load_checkpoint(out, dev)
        check_same_data(ckpt, data.sha256(), data.meta, str(out))
        run = restore_run(ckpt, dev, epochs)
    else:
        check_run_folder(out, force)
        config.validate()
        condition = Condition.from_data(data, config.condition) if config.condition else None
        physics = None
        if config.physics != "off":  # a conditional run's model takes the condition as input
            physics = physics_model(data, config.physics, config.seed, tuple(config.condition))
        run = build_run(config, dev, difference_scale(data.images), physics, condition)
    run.config.validate()
    clock = start - run.seconds  # training time = now - clock, across resumes
    # A fresh run is built in a staging folder that replaces ``out`` whole at its first
    # checkpoint: a run that fails before then leaves the old run (or nothing) behind.
    stage = StagedFolder(out) if rank == 0 and not resume else None
    try:
        return _train(run, data, out, stage, dev, rank, world, progress, data_path, clock)
    finally:
        if stage is not None:
            stage.discard()


def check_run_folder(out: Path, force: bool) -> None:
    """A fresh run may go to a new or empty folder, or with ``force`` replace a run folder;
    anything else (another run without ``--force``, a folder of other files, a file) is refused."""
    if out.exists() and not out.is_dir():
        raise ChaosganError(f"{out} is a file, not a run folder")
    if out.is_dir() and any(out.iterdir()):
        is_run = checkpoint_path(out).exists() or (out / "config.json").exists()
        if not is_run:
            raise ChaosganError(f"{out} holds files that are not a run; choose another --out")
        if not force:
            raise ChaosganError(f"{out} holds a run; pass --resume to continue or --force")
    check_folder_writable(out, force=True)


@contextlib.contextmanager
def frozen(*critics: nn.Module | None) -> Iterator[None]:
    """The critics as fixed functions for the generator's step: their weights need no gradient
    there (the step would compute and then discard it), so autograd skips the weight-gradient
    half of their backward pass and only carries the gradient through to the generator.

    Under DistributedDataParallel the critics also skip their gradient all-reduce for that
    step (``no_sync``): nothing of theirs is updated by it. The generator's step is
    unchanged: its gradients are the same with or without the freeze (tested).
    """
    modules = [m for m in critics if m is not None]
    flags = [[p.requires_grad for p in m.parameters()] for m in modules]
    with contextlib.ExitStack() as stack:
        for m in modules:
            if hasattr(m, "no_sync"):
                stack.enter_context(m.no_sync())
            m.requires_grad_(False)
        try:
            yield
        finally:
            for m, fl in zip(modules, flags, strict=True):
                for p, f in zip(m.parameters(), fl, strict=True):
                    p.requires_grad_(f)


def _train(
    run: Run,
    data: Dataset,
    out: Path,
    stage: StagedFolder | None,
    dev: torch.device,
    rank: int,
    world: int,
    progress: bool,
    data_path: str | Path | None,
    clock: float,
) -> Run:
    """The loop; writes go to ``stage.path`` until the first checkpoint publishes it."""
    cfg = run.config
    if stage is not None:
        out = stage.path
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "config.json", dumps(cfg.to_dict()) + "\n")
        if run.physics is not None:
            write_text_atomic(out / "physics.json", dumps(run.physics.to_dict()) + "\n")

    g, d, s = run.generator, run.discriminator, run.series_critic
    g_train, d_train, s_train = g, d, s
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [dev.index] if dev.type == "cuda" else None
        g_train, d_train = DDP(g, device_ids=ids), DDP(d, device_ids=ids)
        s_train = DDP(s, device_ids=ids) if s is not None else None
    if cfg.compile:
        # CUDA graphs ("reduce-overhead") remove the per-kernel launch cost that bounds this
        # small model at batch 64; on the CPU inductor fuses kernels into C++ loops instead.
        # Shapes never change (the last partial batch is dropped), so dynamic shapes are off.
        mode = "reduce-overhead" if dev.type == "cuda" else None
        g_train = torch.compile(g_train, mode=mode, dynamic=False)
        d_train = torch.compile(d_train, mode=mode, dynamic=False)
        if s_train is not None:
            s_train = torch.compile(s_train, mode=mode, dynamic=False)
    graphs = cfg.compile and dev.type == "cuda"
    d_loss_fn, g_loss_fn = losses.LOSSES[cfg.loss]
    gp = cfg.loss == "wgan" and cfg.gp_weight > 0  # a gradient penalty on both critics
    autocast = torch.autocast(dev.type, torch.bfloat16, enabled=cfg.bf16)
    to_series = ImageToSeries(data.normalisation, cfg.layout).to(dev)
    # a conditional run: every series' condition, indexed like the images, in physical units
    # (the physics model's inputs) and scaled to [-1, 1] (the networks')
    conditions = values = None
    if run.condition is not None:
        raw = np.stack([data.series_param(x) for x in run.condition.names], axis=1)
        values = torch.from_numpy(raw).float().to(dev)
        conditions = torch.from_numpy(run.condition.scale(raw)).to(dev)
    coordinate_std = None  # the marginal losses' units: each coordinate's std in the data
    if (
        cfg.marginal_weight > 0
        or cfg.sketch_weight > 0
        or cfg.maxima_weight > 0
        or cfg.state_weight > 0
    ):
        coordinate_std = torch.from_numpy(data.trajectories.std(axis=(0, 1))).float().to(dev)
    real_spectrum = None  # the spectral loss's target: the training series' log band powers
    if cfg.spectrum_weight > 0:
        every = torch.from_numpy(data.trajectories).float()
        real_spectrum = band_log_power(every, cfg.spectrum_bands).to(dev)
    flow = real_residuals = real_speeds = None
    if run.physics is not None:
        flow = PolynomialFlow(run.physics, data.dt, cfg.physics_substeps).to(dev)
        traj = torch.from_numpy(data.trajectories).float().to(dev)  # the real series, once
        if cfg.speed_weight > 0:  # their step lengths' quantiles
            real_speeds = speed_quantiles(traj, run.physics.diameter)
        if cfg.series_residual:  # their residual channels
            with torch.no_grad():
                real_residuals = torch.cat(
                    [
                        residual_channels(
                            traj[i : i + 128],
                            flow,
                            run.physics.diameter,
                            None if values is None else values[i : i + 128],
                        )
                        for i in range(0, len(traj), 128)
                    ]
                )

    # the generator's layers after the network, each the identity when off: the shooting
    # layer (the series integrated by the model between segment starts), then the refinement
    # layer (gradient steps towards the model's orbits, unrolled in the graph)
    finish = output_layers(cfg, to_series, flow, run.physics)

    def series_logits(
        images: torch.Tensor, residuals: torch.Tensor | None, gen: torch.Generator, *cond
    ) -> torch.Tensor:
        """The series critic's logits for images in the GAN's layout; residual channels get
        the configured noise, so residuals below it cannot tell real from fake."""
        assert s_train is not None
        if residuals is not None:
            residuals = tricks.add_instance_noise(residuals, cfg.series_residual_noise, gen)
        return s_train(to_series.scaled(images), residuals, *cond)

    def fake_residuals(images: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor | None:
        if real_residuals is None or flow is None or run.physics is None:
            return None
        return residual_channels(to_series(images.float()), flow, run.physics.diameter, params)

    images = torch.from_numpy(apply_layout(data.images, cfg.layout)).to(dev)
    n = len(images)
    bs = min(cfg.batch_size, n // world)
    if bs < 2:
        raise ChaosganError(f"too few images ({n}) for batches of 2 on {world} process(es)")
    if bs % cfg.pack:
        raise ChaosganError(f"{n} images give batches of {bs}, not a multiple of pack {cfg.pack}")
    fixed_z = torch.randn(64, cfg.latent_dim, generator=_seeded(cfg.seed, 7)).to(dev)
    epoch_bar = tqdm(
        range(run.epoch, cfg.epochs),
        disable=not progress or rank != 0,
        desc="training",
        unit="epoch",
        initial=run.epoch,
        total=cfg.epochs,
    )
    for epoch in epoch_bar:
        gen = _seeded(cfg.seed, rank, epoch, device=dev)
        order = torch.randperm(n, generator=_seeded(cfg.seed, epoch))[rank::world].to(dev)
        batches = [order[i : i + bs] for i in range(0, len(order) - bs + 1, bs)]
        # loss sums stay on the device: no host sync per step (checked once per epoch)
        keys = (
            "d_loss",
            "g_loss",
            "s_loss",
            "physics",
            "physics_weight",
            "speed",
            "tempo",
            "marginal",
            "sketch",
            "sketch_physics",
            "maxima",
            "state",
            "spectrum",
            "relax",
        )
        sums = {k: torch.zeros((), device=dev) for k in keys}
        d_count = 0
        for i, idx in enumerate(batches):
            frac = (epoch + i / len(batches)) / cfg.epochs
            std = tricks.noise_std(frac, cfg.noise_start, cfg.noise_end)
            if graphs:  # a new iteration: CUDA-graph outputs of the last one may be reused
                torch.compiler.cudagraph_mark_step_begin()
            real = images[idx]
            # the fakes get the real batch's conditions: the critics compare like with like
            cond = () if conditions is None else (conditions[idx],)
            params = None if values is None else values[idx]  # the physics model's inputs
            # the critics' batches: [real; fake] (and the interpolates under WGAN-GP, whose
            # pairs share a condition too)
            parts = 3 if gp else 2
            pair = () if conditions is None else (torch.cat([conditions[idx]] * parts),)
            z = torch.randn(bs, cfg.latent_dim, generator=gen, device=dev)
            with autocast:  # the fakes are reused (detached) by the first D step, as in DCGAN
                sketch = g_train(z, *cond)  # the network's draw, before the output layers
                fake = finish(sketch, params)
            if run.step % cfg.d_every == 0:
                for k in range(cfg.n_dis):
                    if k == 0:
                        fake_d = fake.detach().float()
                    else:
                        with torch.no_grad(), autocast:
                            z_d = torch.randn(bs, cfg.latent_dim, generator=gen, device=dev)
                            fake_d = finish(g(z_d, *cond), params).float()
                    x = tricks.add_instance_noise(torch.cat([real, fake_d]), std, gen)
                    if gp:  # WGAN-GP: interpolates judged in the same forward pass
                        eps = losses.interpolation_weights(bs, cfg.pack, gen)
                        x_hat = losses.interpolate(x[:bs], x[bs:], eps)
                        x = torch.cat([x, x_hat])
                    with autocast:
                        logits = d_train(x, *pair).float()
                    half = bs // cfg.pack  # logits per half (real, fake), one per pack
                    t_real = tricks.smoothed_targets(half, True, cfg.label_smoothing, gen, dev)
                    t_fake = tricks.smoothed_targets(half, False, cfg.label_smoothing, gen, dev)
                    t_real = tricks.flip_targets(t_real, cfg.label_flip, gen)
                    t_fake = tricks.flip_targets(t_fake, cfg.label_flip, gen)
                    loss_d = d_loss_fn(logits[:half], logits[half : 2 * half], t_real, t_fake)
                    if gp:
                        penalty = losses.gradient_penalty(logits[2 * half :], [x_hat])
                        loss_d = loss_d + cfg.gp_weight * penalty
                    run.opt_d.zero_grad(set_to_none=True)
                    loss_d.backward()
                    run.opt_d.step()
                    sums["d_loss"] += loss_d.detach()
                    if s_train is not None and run.opt_s is not None:
                        # the series critic: same samples and labels, no instance noise (it
                        # would blur exactly the step-to-step motion this critic is for)
                        residuals = None
                        if real_residuals is not None:
                            with torch.no_grad():
                                fakes = fake_residuals(fake_d, params)
                                residuals = torch.cat([real_residuals[idx], fakes])
                        x_s = torch.cat([real, fake_d])
                        if gp:  # the same weights interpolate the series and their residuals
                            s_hat = [losses.interpolate(x_s[:bs], x_s[bs:], eps)]
                            x_s = torch.cat([x_s, s_hat[0]])
                            if residuals is not None:
                                s_hat.append(
                                    losses.interpolate(residuals[:bs], residuals[bs:], eps)
                                )
                                residuals = torch.cat([residuals, s_hat[1]])
                        with autocast:
                            logits_s = series_logits(x_s, residuals, gen, *pair)
                        logits_s = logits_s.float()
                        loss_s = d_loss_fn(
                            logits_s[:half], logits_s[half : 2 * half], t_real, t_fake
                        )
                        if gp:
                            penalty = losses.gradient_penalty(logits_s[2 * half :], s_hat)
                            loss_s = loss_s + cfg.gp_weight * penalty
                        run.opt_s.zero_grad(set_to_none=True)
                        loss_s.backward()
                        run.opt_s.step()
                        sums["s_loss"] += loss_s.detach()
                    d_count += 1
            # the fake series' one-step residuals, once: the residual critic's channels and
            # the physics loss both come from them
            fake_series = one_step = None
            # the network's own draw as a series, once, for the terms that judge it directly
            drawn = None
            if cfg.sketch_weight > 0 or cfg.sketch_physics_weight > 0:
                drawn = to_series(sketch.float())
            if flow is not None and run.physics is not None:
                fake_series = to_series(fake.float())
                one_step = step_residuals(fake_series, flow, params=params)
            with autocast, frozen(d_train, s_train):
                logits = d_train(tricks.add_instance_noise(fake, std, gen), *cond).float()
                if s_train is not None:
                    channels = None
                    if real_residuals is not None and one_step is not None:
                        channels = channels_from_residuals(one_step, run.physics.diameter)
                    logits_s = series_logits(fake, channels, gen, *cond).float()
            loss_g = g_loss_fn(logits)
            if s_train is not None:
                loss_g = loss_g + cfg.series_weight * g_loss_fn(logits_s)
            if fake_series is not None and one_step is not None and run.physics is not None:
                ramp = tricks.ramp(frac, cfg.physics_start, cfg.physics_warmup)
                if cfg.physics_steps == 1:
                    residual = loss_from_residuals(one_step, run.physics.diameter)
                else:
                    residual = residual_loss(
                        fake_series, flow, run.physics.diameter, cfg.physics_steps, params
                    )
                sums["physics"] += residual.detach()
                if cfg.physics_relax and ramp > 0:  # the loss: the distance to the relaxed series
                    target = relax_towards(
                        fake_series, flow, run.physics.diameter, cfg.physics_relax, params
                    )
                    residual = loss_from_residuals(fake_series - target, run.physics.diameter)
                    sums["relax"] += residual.detach()
                weight: float | torch.Tensor = cfg.physics_weight
                if cfg.physics_balance > 0 and ramp > 0:
                    weight = balanced_weight(loss_g, residual, fake, cfg.physics_balance)
                    sums["physics_weight"] += weight
                loss_g = loss_g + weight * ramp * residual
                if cfg.sketch_physics_weight > 0:  # the network's own draw, not via the layers
                    drawn_residual = loss_from_residuals(
                        step_residuals(drawn, flow, params=params), run.physics.diameter
                    )
                    loss_g = loss_g + cfg.sketch_physics_weight * ramp * drawn_residual
                    sums["sketch_physics"] += drawn_residual.detach()
                if cfg.tempo_weight > 0:
                    tempo = tempo_loss(fake_series, one_step)
                    loss_g = loss_g + cfg.tempo_weight * ramp * tempo
                    sums["tempo"] += tempo.detach()
                if real_speeds is not None:
                    speed = speed_loss(fake_series, real_speeds, run.physics.diameter)
                    loss_g = loss_g + cfg.speed_weight * ramp * speed
                    sums["speed"] += speed.detach()
            matching = coordinate_std is not None or real_spectrum is not None
            if matching and fake_series is None:  # one decode for every matching term
                fake_series = to_series(fake.float())
            if coordinate_std is not None:
                real_series = to_series(real.float())
            if cfg.marginal_weight > 0:
                marginal = matched_marginals(
                    fake_series,
                    real_series,
                    coordinate_std,
                    params,
                    cfg.marginal_groups,
                    cfg.marginal_order,
                )
                loss_g = loss_g + cfg.marginal_weight * marginal
                sums["marginal"] += marginal.detach()
            if cfg.sketch_weight > 0:  # the network's own draw, its gradient not via the layers
                sketched = matched_marginals(
                    drawn, real_series, coordinate_std, params, cfg.sketch_groups, 1
                )
                loss_g = loss_g + cfg.sketch_weight * sketched
                sums["sketch"] += sketched.detach()
            if cfg.state_weight > 0:
                state = state_loss(fake_series, real_series, coordinate_std)
                loss_g = loss_g + cfg.state_weight * state
                sums["state"] += state.detach()
            if cfg.maxima_weight > 0:
                maxima = maxima_map_loss(fake_series, real_series, coordinate_std)
                loss_g = loss_g + cfg.maxima_weight * maxima
                sums["maxima"] += maxima.detach()
            if real_spectrum is not None:
                spectral = spectrum_loss(fake_series, real_spectrum)
                loss_g = loss_g + cfg.spectrum_weight * spectral
                sums["spectrum"] += spectral.detach()
            run.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            run.opt_g.step()
            update_ema(run.generator_ema, g, cfg.ema_decay, run.step)
            sums["g_loss"] += loss_g.detach()
            run.step += 1
        if world > 1:
            _sync_buffers(*(m for m in (g, d, s, run.generator_ema) if m is not None))
        means = {
            "d_loss": sums["d_loss"].item() / max(d_count, 1),
            "g_loss": sums["g_loss"].item() / max(len(batches), 1),
        }
        if s is not None:
            means["s_loss"] = sums["s_loss"].item() / max(d_count, 1)
        if flow is not None:
            means["physics"] = sums["physics"].item() / max(len(batches), 1)
            if cfg.physics_balance > 0:  # the balanced weight, averaged over the epoch's steps
                means["physics_weight"] = sums["physics_weight"].item() / max(len(batches), 1)
            if real_speeds is not None:
                means["speed"] = sums["speed"].item() / max(len(batches), 1)
            if cfg.tempo_weight > 0:
                means["tempo"] = sums["tempo"].item() / max(len(batches), 1)
            if cfg.sketch_physics_weight > 0:
                means["sketch_physics"] = sums["sketch_physics"].item() / max(len(batches), 1)
            if cfg.physics_relax:
                means["relax"] = sums["relax"].item() / max(len(batches), 1)
        if cfg.marginal_weight > 0:
            means["marginal"] = sums["marginal"].item() / max(len(batches), 1)
        if cfg.sketch_weight > 0:
            means["sketch"] = sums["sketch"].item() / max(len(batches), 1)
        if cfg.maxima_weight > 0:
            means["maxima"] = sums["maxima"].item() / max(len(batches), 1)
        if cfg.state_weight > 0:
            means["state"] = sums["state"].item() / max(len(batches), 1)
        if real_spectrum is not None:
            means["spectrum"] = sums["spectrum"].item() / max(len(batches), 1)
        _check_finite(means, epoch, run, out)
        run.epoch = epoch + 1
        run.seconds = time.perf_counter() - clock
        for key, value in means.items():
            run.history.setdefault(key, []).append(value)
        epoch_bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()})
        last = run.epoch == cfg.epochs
        if rank == 0 and (run.epoch % cfg.checkpoint_every == 0 or last):
            save_checkpoint(out, _state(run, data, data_path))
            if stage is not None:
                out = stage.publish()
        figures_on = cfg.sample_every <= cfg.epochs  # beyond the run: no figures at all
        if rank == 0 and figures_on and (run.epoch % cfg.sample_every == 0 or last):
            write_figures(run, data, out, fixed_z, finish)
    return run


def matched_marginals(
    fake: torch.Tensor,
    real: torch.Tensor,
    scale: torch.Tensor,
    params: torch.Tensor | None,
    groups: int,
    order: int,
) -> torch.Tensor:
    """Marginal matching of ``fake`` against ``real`` (series ``(B, T, D)``): within
    ``groups`` groups of the conditions ``params`` when above 1 (a conditional run), over the
    whole batch otherwise (:mod:`chaosgan.gan.marginals`)."""
    if groups > 1 and params is not None:
        return grouped_marginal_loss(fake, real, scale, params, groups, order)
    return marginal_loss(fake, real, scale, order)


def balanced_weight(
    adversarial: torch.Tensor, residual: torch.Tensor, fake: torch.Tensor, balance: float
) -> torch.Tensor:
    """The physics loss's weight that makes its gradient at the generator's output ``fake``
    ``balance`` times as large as the adversarial loss's (detached; the adaptive weight of
    Esser, Rombach & Ommer 2021, "Taming transformers", taken at the output instead of the last
    layer so it holds for every generator). A fixed weight lets whichever loss is larger at the
    moment take over the generator; this one keeps the critics heard however small the residual
    gets, and the residual heard however well the critics are fooled."""
    g_adv = torch.autograd.grad(adversarial, fake, retain_graph=True)[0]
    g_phys = torch.autograd.grad(residual, fake, retain_graph=True)[0]
    return (balance * g_adv.norm() / (g_phys.norm() + 1e-12)).detach()


def _sync_buffers(*modules: nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm statistics, EMA buffers, spectral-norm
    vectors): DDP broadcasts them only at the start of a forward, so the last step's local
    updates would otherwise leave the replicas' checkpoints different."""
    import torch.distributed as dist

    for module in modules:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def _check_finite(means: dict[str, float], epoch: int, run: Run, out: Path) -> None:
    """Stop on a non-finite epoch-mean loss, before this epoch's weights reach a checkpoint."""
    bad = [name for name, value in means.items() if not math.isfinite(value)]
    names = {"d_loss": "discriminator", "g_loss": "generator", "s_loss": "series critic"}
    bad = [names.get(name, name) for name in bad]
    if bad:
        saved = checkpoint_path(out)
        where = f"{saved} (epoch {run.epoch})" if saved.exists() else "none was written yet"
        raise ChaosganError(
            f"non-finite {' and '.join(bad)} loss in epoch {epoch + 1}: training stopped; "
            f"last good checkpoint: {where}"
        )


@torch.no_grad()
def write_figures(
    run: Run, data: Dataset, out: Path, fixed_z: torch.Tensor, finish: OutputLayers
) -> None:
    """Sample grid (EMA generator, fixed latents, through the run's output layers ``finish``),
    decoded time series, and loss curves."""
    from chaosgan.encoding import decode
    from chaosgan.plots import plot_image_grid, plot_time_series, save_figure

    # figures show 64 samples: 512 latents estimate their BatchNorm statistics well enough
    cond: tuple[torch.Tensor, ...] = ()
    training = params = None
    if run.condition is not None:  # the grid sweeps each condition over its training range
        training = torch.from_numpy(run.condition.scale(run.condition.values))
        sweep = torch.linspace(-1.0, 1.0, len(fixed_z))[:, None]
        cond = (sweep.expand(-1, len(run.condition.names)).to(fixed_z.device),)
        params = torch.from_numpy(run.condition.unscale(cond[0].cpu().numpy())).to(fixed_z.device)
    ema = standing_statistics(
        copy.deepcopy(run.generator_ema),
        run.config.latent_dim,
        n_batches=2,
        conditions=training,
    )
    images = apply_layout(
        finish(ema(fixed_z, *cond), params).float().cpu().numpy(), run.config.layout, inverse=True
    )
    folder = out / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    plot_image_grid(
        images[:32],
        folder / f"epoch_{run.epoch:04d}.png",
        title=f"EMA generator, epoch {run.epoch}",
    )
    traj = decode(images[:3], data.normalisation)
    meta = {k: v for k, v in data.meta.items() if k != "series_params"}
    preview = Dataset(traj, {**meta, "kind": "generated", "steps": traj.shape[1]}, None)
    plot_time_series(preview, out / "time_series.png")

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    epochs = np.arange(1, len(run.history["d_loss"]) + 1)
    ax.plot(epochs, run.history["d_loss"], label="discriminator")
    ax.plot(epochs, run.history["g_loss"], label="generator")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{run.config.loss} loss (epoch mean)")
    ax.legend()
    save_figure(fig, out / "loss_curves.png")
