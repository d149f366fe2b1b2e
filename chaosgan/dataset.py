"""The one on-disk format that every stage reads and writes, real or generated.

A dataset is an uncompressed ``.npz`` with

- ``trajectories``: float64, shape ``(N, T, D)``, physical units;
- ``images``: float32, shape ``(N, 3, 32, 32)`` in [-1, 1], present when T = 1024 and D = 3
  (see :mod:`chaosgan.encoding`);
- ``meta``: a JSON string (stored as a numpy unicode scalar, so no pickle is ever needed) with
  ``format``, ``kind`` (``real`` or ``generated``), ``system``, ``params``, ``dt`` (time units per
  sample), ``steps`` (T), ``burn_in`` (time units discarded before the first sample, or null),
  ``seed``, ``normalisation`` (per-coordinate min/max) and ``version`` (of chaosgan), plus
  optional extras (``method``, ``substeps``, ``source`` ...).

Loading uses ``allow_pickle=False`` and checks every key, shape, dtype and value, raising
:class:`~chaosgan.errors.ChaosganError` with the exact problem. Writing is atomic and refuses to
overwrite an existing file unless ``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chaosgan import __version__
from chaosgan.atomic import check_writable, write_atomic
from chaosgan.encoding import Normalisation, can_encode, encode
from chaosgan.errors import ChaosganError

FORMAT = "chaosgan-dataset/1"
KINDS = ("real", "generated")
REQUIRED_META = (
    "format",
    "kind",
    "system",
    "params",
    "dt",
    "steps",
    "burn_in",
    "seed",
    "normalisation",
    "version",
)


@dataclass
class Dataset:
    """Trajectories, their images (when they have an image form) and their metadata."""

    trajectories: np.ndarray
    meta: dict[str, Any]
    images: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_series(self) -> int:
        return self.trajectories.shape[0]

    @property
    def dt(self) -> float:
        return float(self.meta["dt"])

    @property
    def normalisation(self) -> Normalisation:
        return Normalisation.from_dict(self.meta["normalisation"])

    @property
    def coordinate_names(self) -> list[str]:
        d = self.trajectories.shape[2]
        names = self.meta.get("coordinates")
        return list(names) if names and len(names) == d else [f"x{i}" for i in range(d)]

    def sha256(self) -> str:
        """Identity of the data: sha256 of the trajectories (float64, C order, shape included).

        Recorded where one stage depends on another's data (a checkpoint's training set, the
        training set of generated samples), so that a mismatch can be detected later.
        """
        return trajectories_sha256(self.trajectories)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Validate, then write atomically to ``path`` (refusing to overwrite unless ``force``)."""
        validate(self)
        path = check_writable(path, force)
        arrays = {"trajectories": self.trajectories, "meta": np.array(json.dumps(self.meta))}
        if self.images is not None:
            arrays["images"] = self.images

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        write_atomic(path, write)
        return path


def trajectories_sha256(trajectories: np.ndarray) -> str:
    """sha256 hex digest of ``(N, T, D)`` trajectories as float64 in C order, shape first."""
    x = np.ascontiguousarray(trajectories, dtype=np.float64)
    digest = hashlib.sha256(repr(x.shape).encode())
    digest.update(x.tobytes())
    return digest.hexdigest()


def make_dataset(
    trajectories: np.ndarray,
    *,
    kind: str,
    system: str | None,
    params: dict[str, float] | None,
    dt: float,
    seed: int | None,
    burn_in: float | None,
    normalisation: Normalisation | None = None,
    **extra: Any,
) -> Dataset:
    """Build a validated :class:`Dataset`, computing the normalisation and images when possible."""
    trajectories = np.ascontiguousarray(trajectories, dtype=np.float64)
    norm = normalisation or Normalisation.fit(trajectories)
    meta = {
        "format": FORMAT,
        "kind": kind,
        "system": system,
        "params": params,
        "dt": float(dt),
        "steps": int(trajectories.shape[1]),
        "burn_in": burn_in,
        "seed": seed,
        "normalisation": norm.to_dict(),
        "version": __version__,
        **extra,
    }
    _, t, d = trajectories.shape
    images = encode(trajectories, norm) if can_encode(t, d) else None
    ds = Dataset(trajectories=trajectories, meta=meta, images=images)
    validate(ds)
    return ds


def validate(ds: Dataset, source: str = "dataset") -> None:
    """Raise :class:`ChaosganError` naming the first thing wrong with ``ds``."""
    traj, meta = ds.trajectories, ds.meta
    if traj.ndim != 3:
        raise ChaosganError(f"{source}: trajectories must have shape (N, T, D), got {traj.shape}")
    n, t, d = traj.shape
    if n < 1 or t < 2 or d < 1:
        raise ChaosganError(f"{source}: trajectories shape {traj.shape} is empty")
    if traj.dtype != np.float64:
        raise ChaosganError(f"{source}: trajectories must be float64, got {traj.dtype}")
    if not np.isfinite(traj).all():
        bad = int((~np.isfinite(traj)).any(axis=(1, 2)).sum())
        raise ChaosganError(f"{source}: trajectories contain NaN or inf (in {bad} series)")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ChaosganError(f"{source}: meta lacks {', '.join(missing)}")
    if meta["format"] != FORMAT:
        raise ChaosganError(f"{source}: unknown format {meta['format']!r} (expected {FORMAT})")
    if meta["kind"] not in KINDS:
        raise ChaosganError(f"{source}: meta kind must be one of {KINDS}, got {meta['kind']!r}")
    if not isinstance(meta["dt"], (int, float)) or not meta["dt"] > 0:
        raise ChaosganError(f"{source}: meta dt must be a positive number, got {meta['dt']!r}")
    if meta["steps"] != t:
        raise ChaosganError(f"{source}: meta steps = {meta['steps']} but trajectories have T = {t}")
    norm = meta["normalisation"]
    if not isinstance(norm, dict) or len(norm.get("min", ())) != d or len(norm.get("max", ())) != d:
        raise ChaosganError(f"{source}: meta normalisation must hold min and max of length {d}")
    if ds.images is not None:
        want = (n, 3, 32, 32)
        if ds.images.shape != want:
            raise ChaosganError(f"{source}: images must have shape {want}, got {ds.images.shape}")
        if ds.images.dtype != np.float32:
            raise ChaosganError(f"{source}: images must be float32, got {ds.images.dtype}")
        if not np.isfinite(ds.images).all():
            raise ChaosganError(f"{source}: images contain NaN or inf")


def load(path: str | Path) -> Dataset:
    """Read and validate a dataset; every problem raises :class:`ChaosganError`, never pickle."""
    path = Path(path)
    if not path.is_file():
        raise ChaosganError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            for key in ("trajectories", "meta"):
                if key not in keys:
                    raise ChaosganError(f"{path}: not a chaosgan dataset (no {key!r} array)")
            trajectories = npz["trajectories"]
            meta_raw = npz["meta"]
            images = npz["images"] if "images" in keys else None
    except ChaosganError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ChaosganError(f"{path}: holds pickled objects, refused for safety") from None
        raise ChaosganError(f"{path}: unreadable dataset ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ChaosganError(f"{path}: not a readable .npz file ({exc})") from None
    if meta_raw.dtype.kind != "U" or meta_raw.ndim != 0:
        raise ChaosganError(f"{path}: meta must be a JSON string")
    try:
        meta = json.loads(str(meta_raw))
    except json.JSONDecodeError as exc:
        raise ChaosganError(f"{path}: meta is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ChaosganError(f"{path}: meta must be a JSON object")
    ds = Dataset(trajectories=trajectories, meta=meta, images=images)
    validate(ds, source=str(path))
    return ds
