"""Trajectory <-> 32x32 RGB image, the representation the GAN sees.

A trajectory of T = 1024 samples of 3 coordinates becomes an image of shape ``(3, 32, 32)``: one
coordinate per channel, time laid out in row-major order (sample ``t`` sits at row ``t // 32``,
column ``t % 32``). Each coordinate is min-max scaled to [-1, 1] with statistics taken over the
whole dataset (not per image), so amplitudes stay comparable between images and the generator's
``tanh`` output maps back to physical units with the same numbers.

The raster order puts time neighbours ``t = 32k + 31`` and ``32k + 32`` at opposite edges of the
image, where a convolutional generator cannot tie them together: a GAN trained on raster images
jumps there (one-step error about twice that of predicting no change;
``scripts/row_end_errors.py`` shows it). :func:`apply_layout` can re-lay the pixels in "snake"
(boustrophedon) order, every odd row reversed, or along a Hilbert curve, so that consecutive
samples are always neighbouring pixels; the GAN trains in that layout when asked
(``layout = "snake"``) and its samples are laid back to raster before decoding.

The float round trip is exact up to floating-point rounding. The 8-bit PNG export quantises each
channel to 256 levels, so a decoded value is off by at most half a level: ``range / 510`` per
coordinate, where ``range = max - min`` (about 0.2% of the range).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaosgan.errors import ChaosganError

IMAGE_SIDE = 32
IMAGE_STEPS = IMAGE_SIDE * IMAGE_SIDE  # 1024 samples per image
IMAGE_CHANNELS = 3


@dataclass(frozen=True)
class Normalisation:
    """Per-coordinate minimum and maximum used to scale trajectories to [-1, 1]."""

    minimum: tuple[float, ...]
    maximum: tuple[float, ...]

    @classmethod
    def fit(cls, trajectories: np.ndarray) -> Normalisation:
        """Dataset-wide statistics from trajectories of shape ``(N, T, D)``."""
        lo = trajectories.min(axis=(0, 1))
        hi = trajectories.max(axis=(0, 1))
        if np.any(hi <= lo):
            raise ChaosganError("cannot normalise a constant coordinate (max == min)")
        return cls(tuple(float(v) for v in lo), tuple(float(v) for v in hi))

    def to_dict(self) -> dict[str, list[float]]:
        return {"min": list(self.minimum), "max": list(self.maximum)}

    @classmethod
    def from_dict(cls, d: dict) -> Normalisation:
        return cls(tuple(float(v) for v in d["min"]), tuple(float(v) for v in d["max"]))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.minimum), np.asarray(self.maximum)


def can_encode(n_steps: int, dim: int) -> bool:
    """Whether trajectories of this shape have an image form (T = 1024, D = 3)."""
    return n_steps == IMAGE_STEPS and dim == IMAGE_CHANNELS


def encode(trajectories: np.ndarray, norm: Normalisation) -> np.ndarray:
    """Trajectories ``(N, 1024, 3)`` -> float32 images ``(N, 3, 32, 32)`` in [-1, 1]."""
    n, t, d = trajectories.shape
    if not can_encode(t, d):
        raise ChaosganError(f"images need trajectories of shape (N, 1024, 3), got {(n, t, d)}")
    lo, hi = norm._arrays()
    scaled = 2.0 * (trajectories - lo) / (hi - lo) - 1.0
    images = scaled.reshape(n, IMAGE_SIDE, IMAGE_SIDE, d).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images, dtype=np.float32)


def decode(images: np.ndarray, norm: Normalisation) -> np.ndarray:
    """Images ``(N, 3, 32, 32)`` -> float64 trajectories ``(N, 1024, 3)`` in physical units."""
    n = images.shape[0]
    if images.shape[1:] != (IMAGE_CHANNELS, IMAGE_SIDE, IMAGE_SIDE):
        raise ChaosganError(f"images must have shape (N, 3, 32, 32), got {images.shape}")
    lo, hi = norm._arrays()
    scaled = np.asarray(images, dtype=np.float64).transpose(0, 2, 3, 1).reshape(n, IMAGE_STEPS, -1)
    return (scaled + 1.0) / 2.0 * (hi - lo) + lo


LAYOUTS = ("raster", "snake", "hilbert")


def _hilbert_xy(d: int, side: int) -> tuple[int, int]:
    """Column and row of step ``d`` along the Hilbert curve filling a ``side`` x ``side`` grid
    (the iterative d -> (x, y) conversion of Hilbert 1891, as in Warren, *Hacker's Delight*)."""
    x = y = 0
    s = 1
    while s < side:
        rx = 1 & (d // 2)
        ry = 1 & (d ^ rx)
        if ry == 0:  # rotate the quadrant
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x, y = x + s * rx, y + s * ry
        d //= 4
        s *= 2
    return x, y


def layout_order(layout: str) -> np.ndarray:
    """Flat pixel index (row * 32 + column) of each time step in ``layout``."""
    t = np.arange(IMAGE_STEPS)
    row, col = t // IMAGE_SIDE, t % IMAGE_SIDE
    if layout == "raster":
        return t
    if layout == "snake":
        return row * IMAGE_SIDE + np.where(row % 2 == 1, IMAGE_SIDE - 1 - col, col)
    if layout == "hilbert":
        xy = np.array([_hilbert_xy(int(d), IMAGE_SIDE) for d in t])
        return xy[:, 1] * IMAGE_SIDE + xy[:, 0]
    raise ChaosganError(f"unknown image layout {layout!r} (valid: {', '.join(LAYOUTS)})")


def apply_layout(images: Any, layout: str, inverse: bool = False) -> Any:
    """Raster images ``(..., 32, 32)`` -> the same pixels in ``layout`` order, or back to raster
    with ``inverse=True``. Works on numpy arrays and torch tensors; raster is the identity.

    Layouts: ``snake`` reverses every odd row; ``hilbert`` follows the Hilbert curve, so each
    quadrant, and each quadrant of a quadrant, holds one contiguous stretch of time, matching
    the generator's 4 -> 8 -> 16 -> 32 upsampling. In both, consecutive samples are always
    neighbouring pixels.
    """
    order = layout_order(layout)
    if layout == "raster":
        return images
    index = order if inverse else np.argsort(order)
    if not isinstance(images, np.ndarray):  # a torch tensor
        import torch

        index = torch.as_tensor(index, device=images.device)
    flat = images.reshape(*images.shape[:-2], IMAGE_STEPS)
    return flat[..., index].reshape(images.shape)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """One image ``(3, 32, 32)`` in [-1, 1] -> ``(32, 32, 3)`` uint8, rounding to nearest level."""
    levels = np.rint((np.clip(image, -1.0, 1.0) + 1.0) * 127.5)
    return levels.astype(np.uint8).transpose(1, 2, 0)


def from_uint8(pixels: np.ndarray) -> np.ndarray:
    """``(32, 32, 3)`` uint8 -> one float32 image ``(3, 32, 32)`` in [-1, 1]."""
    return (pixels.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)


def save_png(image: np.ndarray, path: str | Path) -> None:
    """Write one image ``(3, 32, 32)`` as an 8-bit RGB PNG."""
    from PIL import Image

    Image.fromarray(to_uint8(image)).save(path, format="PNG")


def load_png(path: str | Path) -> np.ndarray:
    """Read an 8-bit RGB PNG written by :func:`save_png` back to a float image ``(3, 32, 32)``."""
    from PIL import Image

    with Image.open(path) as img:
        pixels = np.asarray(img.convert("RGB"))
    if pixels.shape != (IMAGE_SIDE, IMAGE_SIDE, IMAGE_CHANNELS):
        raise ChaosganError(f"{path}: expected a 32x32 RGB image, got {pixels.shape}")
    return from_uint8(pixels)
