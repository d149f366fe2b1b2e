"""Checkpoints: written atomically, read with ``torch.load(..., weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings and lists (nothing that needs pickle's
arbitrary code execution): model, EMA and optimiser states, the resolved config, the completed
epoch count, the loss history, and the dataset's normalisation and metadata, so that sampling
needs nothing but the run folder.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from chaosgan.atomic import write_atomic
from chaosgan.errors import ChaosganError

FORMAT = "chaosgan-checkpoint/1"
REQUIRED = (
    "format",
    "config",
    "epoch",
    "step",
    "generator",
    "discriminator",
    "generator_ema",
    "opt_g",
    "opt_d",
    "history",
    "normalisation",
    "data_meta",
)


def checkpoint_path(run: str | Path) -> Path:
    return Path(run) / "checkpoints" / "last.pt"


def save_checkpoint(run: str | Path, state: dict[str, Any]) -> Path:
    path = checkpoint_path(run)
    write_atomic(path, lambda tmp: torch.save({"format": FORMAT, **state}, tmp))
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint; corrupted or foreign files raise a one-line error."""
    path = Path(path)
    if path.is_dir():
        path = checkpoint_path(path)
    if not path.is_file():
        raise ChaosganError(f"{path}: no checkpoint here")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (
        RuntimeError,
        pickle.UnpicklingError,
        EOFError,
        zipfile.BadZipFile,
        ValueError,
        AttributeError,
        TypeError,
        KeyError,
    ) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ChaosganError(f"{path}: corrupted or unsafe checkpoint ({first[:120]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ChaosganError(f"{path}: not a chaosgan checkpoint")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise ChaosganError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return ckpt
