"""Sample a trained generator into the project's dataset format (kind = generated).

Images come from the EMA generator in eval mode, its BatchNorm statistics re-estimated for its
own weights (:func:`chaosgan.gan.ema.standing_statistics`); they are decoded to trajectories in
physical units with the normalisation stored in the checkpoint and saved with the real data's
system, parameters and dt, so ``chaosgan lyapunov report`` compares them with real data directly.
"""

from __future__ import annotations

from pathlib import Path

import torch

from chaosgan.dataset import Dataset, make_dataset
from chaosgan.device import resolve_torch_device
from chaosgan.encoding import Normalisation, apply_layout, decode
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import load_checkpoint
from chaosgan.gan.config import TrainConfig, apply_overrides
from chaosgan.gan.ema import standing_statistics
from chaosgan.gan.models import Generator


@torch.no_grad()
def sample(
    run: str | Path, n: int = 1000, seed: int = 0, device: str = "auto", batch_size: int = 1024
) -> Dataset:
    """``n`` generated series from the run folder (or checkpoint file) ``run``."""
    if n < 1:
        raise ChaosganError(f"n must be >= 1, got {n}")
    dev = resolve_torch_device(device)
    ckpt = load_checkpoint(run, dev)
    config = apply_overrides(TrainConfig(), ckpt["config"], "checkpoint")
    g = Generator(config.latent_dim, config.g_width).to(dev)
    try:
        g.load_state_dict(ckpt["generator_ema"])
    except RuntimeError as exc:
        raise ChaosganError(f"checkpoint does not fit the generator ({str(exc)[:120]})") from None
    standing_statistics(g, config.latent_dim, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    images = torch.cat(
        [
            g(torch.randn(min(batch_size, n - i), config.latent_dim, generator=gen).to(dev))
            .float()
            .cpu()
            for i in range(0, n, batch_size)
        ]
    ).numpy()
    norm = Normalisation.from_dict(ckpt["normalisation"])
    meta = ckpt["data_meta"]
    return make_dataset(
        decode(apply_layout(images, config.layout, inverse=True), norm),
        kind="generated",
        system=meta.get("system"),
        params=meta.get("params"),
        dt=meta["dt"],
        seed=seed,
        burn_in=None,
        normalisation=norm,
        coordinates=meta.get("coordinates"),
        source_run=str(run),
        source_epoch=int(ckpt["epoch"]),
    )
