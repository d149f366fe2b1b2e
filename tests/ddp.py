"""The DDP tests' shared harness: one config trained by two gloo processes on the CPU.

Each process trains with ``chaosgan.gan.train.train`` (which joins the process group from the
torchrun-style environment set here) and saves every model's weights; the caller compares the
two replicas, which DistributedDataParallel must keep bit-identical.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp


def _worker(
    rank: int, world: int, port: int, data_path: str, out: str, preset: str, overrides: dict
) -> None:
    import torch.distributed as dist

    from chaosgan import load_dataset
    from chaosgan.gan.config import load_config
    from chaosgan.gan.train import train

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    run = train(load_dataset(data_path), out, load_config(preset, overrides=overrides), "cpu")
    models = {"g": run.generator, "d": run.discriminator, "s": run.series_critic}
    state = {
        f"{name}.{key}": value
        for name, model in models.items()
        if model is not None
        for key, value in model.state_dict().items()
    }
    torch.save(state, Path(out).parent / f"rank{rank}.pt")
    dist.destroy_process_group()


def train_two_replicas(
    data_path: Path, out: Path, preset: str, overrides: dict[str, Any]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Train ``preset`` + ``overrides`` on two gloo processes writing the run to ``out``; the
    two ranks' final weights (generator ``g.``, image critic ``d.``, series critic ``s.``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = (2, port, str(data_path), str(out), preset, overrides)
    mp.spawn(_worker, args=args, nprocs=2, join=True)
    ranks = [out.parent / f"rank{r}.pt" for r in (0, 1)]
    a, b = (torch.load(path, weights_only=True) for path in ranks)
    return a, b
