"""The data an identification starts from: validation, observation noise, held-out series."""

from __future__ import annotations

import numpy as np

from chaosgan.errors import ChaosganError

MIN_SAMPLES = 64


def check_data(trajectories: np.ndarray) -> None:
    """One-line errors for data nothing can be identified from."""
    if np.ndim(trajectories) != 3:
        raise ChaosganError(f"trajectories must have shape (N, T, D), got {np.shape(trajectories)}")
    n, t, d = trajectories.shape
    if t < MIN_SAMPLES:
        raise ChaosganError(f"need at least {MIN_SAMPLES} samples per series to identify, got {t}")
    if not np.isfinite(trajectories).all():
        raise ChaosganError("trajectories contain NaN or inf")
    if np.any(trajectories.reshape(-1, d).std(axis=0) == 0):
        raise ChaosganError("a coordinate is constant: nothing to identify")


def add_noise(trajectories: np.ndarray, level: float, seed: int) -> np.ndarray:
    """Gaussian observation noise with std ``level`` x each coordinate's std (seeded)."""
    if level <= 0:
        return trajectories
    rng = np.random.default_rng(seed)
    std = trajectories.reshape(-1, trajectories.shape[2]).std(axis=0)
    return trajectories + rng.normal(size=trajectories.shape) * level * std


def split_held_out(
    trajectories: np.ndarray, held_out: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """``(fit, validation)``: the last ``held_out`` fraction of the series (at least one) is held
    out; a single series is split in time instead (its last ``held_out`` fraction)."""
    n, t, _ = trajectories.shape
    if n >= 2:
        k = min(n - 1, max(1, round(held_out * n)))
        return trajectories[: n - k], trajectories[n - k :]
    cut = t - max(MIN_SAMPLES, round(held_out * t))
    if cut < MIN_SAMPLES:
        raise ChaosganError(
            f"a single series needs at least {2 * MIN_SAMPLES} samples to hold some out, got {t}"
        )
    return trajectories[:, :cut], trajectories[:, cut:]
