"""Sample a trained generator into the project's dataset format (kind = generated).

Images come from the EMA generator in eval mode, its BatchNorm statistics re-estimated for its
own weights (:func:`chaosgan.gan.ema.standing_statistics`); they are decoded to trajectories in
physical units with the normalisation stored in the checkpoint and saved with the real data's
system, parameters and dt, so the scorecard compares them with real data directly. The meta
records where the samples come from (run, epoch) and the training data's path and sha256
(``training_data``), so the scorecard's memorisation check can find the training set.

With ``project=True`` each series is replaced by the nearest orbit of the run's physics model
(:mod:`chaosgan.gan.projection`), or, for a run trained without one, of a model identified from
its training data; the meta then says ``projected: true``, which model was used (and whether it
was identified or the true equations), and how far the series moved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from chaosgan.dataset import Dataset, load, make_dataset
from chaosgan.device import resolve_torch_device
from chaosgan.encoding import Normalisation, apply_layout, decode
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import load_checkpoint
from chaosgan.gan.config import TrainConfig, apply_overrides
from chaosgan.gan.ema import standing_statistics
from chaosgan.gan.models import Generator
from chaosgan.gan.physics import PhysicsModel, physics_model
from chaosgan.gan.projection import project as project_orbits


@torch.no_grad()
def sample(
    run: str | Path,
    n: int = 1000,
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 1024,
    project: bool = False,
    training_data: Dataset | None = None,
) -> Dataset:
    """``n`` generated series from the run folder (or checkpoint file) ``run``; with
    ``project``, each replaced by the nearest orbit of the run's model (see the module), or,
    for a run without one, of a model identified from ``training_data`` (default: the data file
    the checkpoint names)."""
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
    trajectories = decode(apply_layout(images, config.layout, inverse=True), norm)
    extra: dict[str, Any] = {}
    if ckpt.get("training_data"):
        extra["training_data"] = ckpt["training_data"]
    if project:
        model = _projection_model(ckpt, training_data)
        result = project_orbits(trajectories, model.polynomial, float(meta["dt"]), model.diameter)
        trajectories = result.orbits
        extra["projected"] = True
        extra["projection"] = {
            "model": model.label,
            "equations": model.polynomial.equations(),
            "mean_moved_diameters": float(np.mean(result.moved)),
            "max_moved_diameters": float(np.max(result.moved)),
            "max_gap_diameters": float(np.max(result.max_gap)),
            "segment_steps": result.segment_steps,
            "iterations": result.iterations,
        }
    return make_dataset(
        trajectories,
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
        **extra,
    )


def _projection_model(ckpt: dict[str, Any], training_data: Dataset | None) -> PhysicsModel:
    """The run's physics model, or one identified from its training data."""
    if ckpt.get("physics"):
        return PhysicsModel.from_dict(ckpt["physics"])
    if training_data is not None:
        return physics_model(training_data, "identified")
    source = ckpt.get("training_data") or {}
    path = source.get("path")
    if not path or not Path(path).is_file():
        raise ChaosganError(
            "--project needs a model: this run was trained without one and its training data "
            f"({path or 'not recorded'}) is not readable"
        )
    data = load(path)
    if data.sha256() != source.get("sha256"):
        raise ChaosganError(f"{path} is not the data this run was trained on (sha256 differs)")
    return physics_model(data, "identified")
