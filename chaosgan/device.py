"""Where torch work runs: one place, low in the layers, for every stage that uses torch.

``auto`` means the GPU when torch sees one, else the CPU; ``cuda`` is refused with a one-line
error where there is no GPU. Under ``torchrun`` each process takes the GPU of its local rank.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chaosgan.errors import ChaosganError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; anything else is checked."""
    if device not in DEVICES:
        raise ChaosganError(f"unknown device {device!r} (valid: {', '.join(DEVICES)})")
    if device == "cpu":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ChaosganError("--device cuda asked for, but torch sees no CUDA device")
    return "cpu"


def resolve_torch_device(device: str, rank: int = 0) -> torch.device:
    """:func:`resolve_device` as a torch device; on CUDA, this process's GPU (``LOCAL_RANK``)."""
    import torch

    if resolve_device(device) == "cuda":
        index = int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count()
        return torch.device("cuda", index)
    return torch.device("cpu")
