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

import copy
import math
import os
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
from chaosgan.gan.config import TrainConfig
from chaosgan.gan.ema import standing_statistics, update_ema
from chaosgan.gan.models import Discriminator, Generator, init_weights
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
    epoch: int = 0
    step: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {"d_loss": [], "g_loss": []})


def build_run(config: TrainConfig, device: torch.device) -> Run:
    """Fresh models (DCGAN initialisation, seeded) and Adam optimisers for ``config``."""
    torch.manual_seed(config.seed)  # weight initialisation only; training uses its own generators
    g = Generator(config.latent_dim, config.g_width).to(device)
    d = Discriminator(config.d_width, pack=config.pack).to(device)
    g.apply(init_weights)
    d.apply(init_weights)
    betas = (config.beta1, config.beta2)
    return Run(
        config=config,
        generator=g,
        discriminator=d,
        generator_ema=copy.deepcopy(g).eval().requires_grad_(False),
        opt_g=torch.optim.Adam(g.parameters(), lr=config.lr_g, betas=betas, fused=True),
        opt_d=torch.optim.Adam(d.parameters(), lr=config.lr_d, betas=betas, fused=True),
    )


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


def _state(run: Run, data: Dataset) -> dict[str, Any]:
    return {
        "config": run.config.to_dict(),
        "epoch": run.epoch,
        "step": run.step,
        "generator": run.generator.state_dict(),
        "discriminator": run.discriminator.state_dict(),
        "generator_ema": run.generator_ema.state_dict(),
        "opt_g": run.opt_g.state_dict(),
        "opt_d": run.opt_d.state_dict(),
        "history": run.history,
        "normalisation": data.meta["normalisation"],
        "data_meta": {
            k: data.meta.get(k) for k in ("system", "params", "dt", "steps", "coordinates", "seed")
        },
        "data_sha256": data.sha256(),
    }


def restore_run(ckpt: dict[str, Any], device: torch.device, epochs: int | None) -> Run:
    """Rebuild a run from a checkpoint: its config (architecture included) wins, but ``epochs``."""
    from chaosgan.gan.config import apply_overrides

    config = apply_overrides(TrainConfig(), ckpt["config"], "checkpoint")
    if epochs is not None:
        config.epochs = epochs
    run = build_run(config, device)
    try:
        run.generator.load_state_dict(ckpt["generator"])
        run.discriminator.load_state_dict(ckpt["discriminator"])
        run.generator_ema.load_state_dict(ckpt["generator_ema"])
        run.opt_g.load_state_dict(ckpt["opt_g"])
        run.opt_d.load_state_dict(ckpt["opt_d"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ChaosganError(f"checkpoint does not fit the models ({str(exc)[:120]})") from None
    run.epoch, run.step = int(ckpt["epoch"]), int(ckpt["step"])
    run.history = {k: list(v) for k, v in ckpt["history"].items()}
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
    """
    if data.images is None:
        raise ChaosganError("the dataset has no images (they need T = 1024 samples x 3 coords)")
    out = Path(out)
    rank, world = _distributed()
    dev = resolve_torch_device(device, rank)
    if resume:
        ckpt = load_checkpoint(out, dev)
        check_same_data(ckpt, data.sha256(), data.meta, str(out))
        run = restore_run(ckpt, dev, epochs)
    else:
        check_run_folder(out, force)
        run = build_run(config, dev)
    run.config.validate()
    # A fresh run is built in a staging folder that replaces ``out`` whole at its first
    # checkpoint: a run that fails before then leaves the old run (or nothing) behind.
    stage = StagedFolder(out) if rank == 0 and not resume else None
    try:
        return _train(run, data, out, stage, dev, rank, world, progress)
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


def _train(
    run: Run,
    data: Dataset,
    out: Path,
    stage: StagedFolder | None,
    dev: torch.device,
    rank: int,
    world: int,
    progress: bool,
) -> Run:
    """The loop; writes go to ``stage.path`` until the first checkpoint publishes it."""
    cfg = run.config
    if stage is not None:
        out = stage.path
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "config.json", dumps(cfg.to_dict()) + "\n")

    g, d = run.generator, run.discriminator
    g_train, d_train = g, d
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [dev.index] if dev.type == "cuda" else None
        g_train, d_train = DDP(g, device_ids=ids), DDP(d, device_ids=ids)
    if cfg.compile:
        # CUDA graphs ("reduce-overhead") remove the per-kernel launch cost that bounds this
        # small model at batch 64; on the CPU inductor fuses kernels into C++ loops instead.
        # Shapes never change (the last partial batch is dropped), so dynamic shapes are off.
        mode = "reduce-overhead" if dev.type == "cuda" else None
        g_train = torch.compile(g_train, mode=mode, dynamic=False)
        d_train = torch.compile(d_train, mode=mode, dynamic=False)
    graphs = cfg.compile and dev.type == "cuda"
    bce = cfg.loss == "bce"
    d_loss_fn = losses.d_loss_bce if bce else losses.d_loss_hinge
    g_loss_fn = losses.g_loss_bce if bce else losses.g_loss_hinge
    autocast = torch.autocast(dev.type, torch.bfloat16, enabled=cfg.bf16)

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
        d_sum, g_sum = torch.zeros((), device=dev), torch.zeros((), device=dev)
        d_count = 0
        for i, idx in enumerate(batches):
            frac = (epoch + i / len(batches)) / cfg.epochs
            std = tricks.noise_std(frac, cfg.noise_start, cfg.noise_end)
            if graphs:  # a new iteration: CUDA-graph outputs of the last one may be reused
                torch.compiler.cudagraph_mark_step_begin()
            real = images[idx]
            z = torch.randn(bs, cfg.latent_dim, generator=gen, device=dev)
            with autocast:
                fake = g_train(z)  # reused (detached) by the first D step, as in DCGAN
            if run.step % cfg.d_every == 0:
                for k in range(cfg.n_dis):
                    if k == 0:
                        fake_d = fake.detach()
                    else:
                        with torch.no_grad(), autocast:
                            fake_d = g(torch.randn(bs, cfg.latent_dim, generator=gen, device=dev))
                    x = tricks.add_instance_noise(torch.cat([real, fake_d.float()]), std, gen)
                    with autocast:
                        logits = d_train(x).float()
                    half = len(logits) // 2
                    lr_, lf_ = logits[:half], logits[half:]
                    if bce:
                        t_real = tricks.smoothed_targets(half, True, cfg.label_smoothing, gen, dev)
                        t_fake = tricks.smoothed_targets(half, False, cfg.label_smoothing, gen, dev)
                        t_real = tricks.flip_targets(t_real, cfg.label_flip, gen)
                        t_fake = tricks.flip_targets(t_fake, cfg.label_flip, gen)
                        loss_d = d_loss_fn(lr_, lf_, t_real, t_fake)
                    else:
                        loss_d = d_loss_fn(lr_, lf_)
                    run.opt_d.zero_grad(set_to_none=True)
                    loss_d.backward()
                    run.opt_d.step()
                    d_sum += loss_d.detach()
                    d_count += 1
            with autocast:
                logits = d_train(tricks.add_instance_noise(fake, std, gen)).float()
            loss_g = g_loss_fn(logits)
            run.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            run.opt_g.step()
            update_ema(run.generator_ema, g, cfg.ema_decay, run.step)
            g_sum += loss_g.detach()
            run.step += 1
        if world > 1:
            _sync_buffers(g, d, run.generator_ema)
        d_mean, g_mean = d_sum.item() / max(d_count, 1), g_sum.item() / max(len(batches), 1)
        _check_finite({"discriminator": d_mean, "generator": g_mean}, epoch, run, out)
        run.epoch = epoch + 1
        run.history["d_loss"].append(d_mean)
        run.history["g_loss"].append(g_mean)
        epoch_bar.set_postfix(
            d=f"{run.history['d_loss'][-1]:.3f}", g=f"{run.history['g_loss'][-1]:.3f}"
        )
        last = run.epoch == cfg.epochs
        if rank == 0 and (run.epoch % cfg.checkpoint_every == 0 or last):
            save_checkpoint(out, _state(run, data))
            if stage is not None:
                out = stage.publish()
        if rank == 0 and (run.epoch % cfg.sample_every == 0 or last):
            write_figures(run, data, out, fixed_z)
    return run


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
    if bad:
        saved = checkpoint_path(out)
        where = f"{saved} (epoch {run.epoch})" if saved.exists() else "none was written yet"
        raise ChaosganError(
            f"non-finite {' and '.join(bad)} loss in epoch {epoch + 1}: training stopped; "
            f"last good checkpoint: {where}"
        )


@torch.no_grad()
def write_figures(run: Run, data: Dataset, out: Path, fixed_z: torch.Tensor) -> None:
    """Sample grid (EMA generator, fixed latents), decoded time series, and loss curves."""
    from chaosgan.encoding import decode
    from chaosgan.plots import plot_image_grid, plot_time_series, save_figure

    ema = standing_statistics(copy.deepcopy(run.generator_ema), run.config.latent_dim)
    images = apply_layout(ema(fixed_z).float().cpu().numpy(), run.config.layout, inverse=True)
    folder = out / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    plot_image_grid(
        images[:32],
        folder / f"epoch_{run.epoch:04d}.png",
        title=f"EMA generator, epoch {run.epoch}",
    )
    traj = decode(images[:3], data.normalisation)
    preview = Dataset(traj, {**data.meta, "kind": "generated", "steps": traj.shape[1]}, None)
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
