"""Series from any generator, read as datasets the scorecard can judge.

Accepted files:

- our dataset ``.npz`` (:mod:`chaosgan.dataset`: trajectories and meta);
- a plain ``(N, T, D)`` array of real numbers in a ``.npy`` file, or in an ``.npz`` file without
  meta (the array named ``trajectories``, or its only array);
- a ``.csv`` file in long format: a header, then one row per sample with the columns
  ``series, time, <coordinate>, <coordinate>, ...`` (series ids are integers; every series has
  the same, equally spaced times; rows may come in any order). The header names the
  coordinates.

A bare array carries no sampling step: ``dt`` must be given (for a CSV it is read from the time
column, to 12 significant digits, and a ``dt`` given too must agree); ``system`` and ``params``
optionally name the system (then the floor can be simulated and the one-step error uses the
true flow). Files are read
with ``allow_pickle=False``; every problem is one :class:`ChaosganError` line naming the file.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from chaosgan import __version__, dataset
from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.systems import SYSTEMS


def from_array(
    trajectories: np.ndarray,
    dt: float,
    *,
    kind: str = "generated",
    system: str | None = None,
    params: dict[str, float] | None = None,
    coordinates: list[str] | None = None,
    source: str = "array",
) -> Dataset:
    """A :class:`Dataset` (no images) around a plain ``(N, T, D)`` array sampled every ``dt``
    time units, validated as strictly as our own files; ``source`` names it in errors."""
    x = np.asarray(trajectories)
    if x.dtype.kind not in "fiu":
        raise ChaosganError(f"{source}: expected an array of real numbers, got dtype {x.dtype}")
    if x.ndim != 3:
        raise ChaosganError(f"{source}: expected shape (N, T, D), got {x.shape}")
    if not isinstance(dt, (int, float)) or not np.isfinite(dt) or dt <= 0:
        raise ChaosganError(f"{source}: dt must be a positive number of time units, got {dt!r}")
    x = np.ascontiguousarray(x, dtype=np.float64)
    if system is not None:
        if system not in SYSTEMS:
            raise ChaosganError(
                f"{source}: unknown system {system!r} (valid: {', '.join(SYSTEMS)})"
            )
        params = SYSTEMS[system].resolve_params(params)
        if coordinates is None:
            coordinates = SYSTEMS[system].coordinate_names(params)
    elif params:
        raise ChaosganError(f"{source}: parameters were given without a system")
    d = x.shape[2]
    meta: dict[str, Any] = {
        "format": dataset.FORMAT,
        "kind": kind,
        "system": system,
        "params": params,
        "dt": float(dt),
        "steps": int(x.shape[1]),
        "burn_in": None,
        "seed": None,
        "normalisation": {"min": [0.0] * d, "max": [1.0] * d},  # set once validated
        "version": __version__,
    }
    if coordinates is not None:
        meta["coordinates"] = list(coordinates)
    ds = Dataset(trajectories=x, meta=meta)
    dataset.validate(ds, source=source)
    flat = x.reshape(-1, d)
    meta["normalisation"] = {"min": flat.min(axis=0).tolist(), "max": flat.max(axis=0).tolist()}
    return ds


def _read_npz_array(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as npz:
        names = list(npz.files)
        if "trajectories" in names:
            return npz["trajectories"]
        if len(names) != 1:
            raise ChaosganError(
                f"{path}: holds arrays {names}; name the series array 'trajectories'"
            )
        return npz[names[0]]


def _read_csv(path: Path) -> tuple[np.ndarray, float, list[str]]:
    with open(path, newline="") as f:
        header = next(csv.reader(f), None)
    if header is None or len(header) < 3:
        raise ChaosganError(f"{path}: expected a header 'series,time,<coordinate>,...'")
    header = [h.strip() for h in header]
    if header[0] != "series" or header[1] != "time":
        raise ChaosganError(f"{path}: the first two columns must be 'series' and 'time'")
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise ChaosganError(f"{path}: not a numeric CSV table ({exc})") from None
    if table.shape[1] != len(header):
        raise ChaosganError(f"{path}: {table.shape[1]} columns, the header names {len(header)}")
    ids, times = table[:, 0], table[:, 1]
    if not np.all(ids == np.round(ids)):
        raise ChaosganError(f"{path}: series ids must be integers")
    order = np.lexsort((times, ids))
    table = table[order]
    series, counts = np.unique(table[:, 0], return_counts=True)
    if len(set(counts.tolist())) != 1:
        raise ChaosganError(f"{path}: the series have different numbers of samples")
    n, t = len(series), int(counts[0])
    if t < 2:
        raise ChaosganError(f"{path}: each series needs at least 2 samples")
    times = table[:, 1].reshape(n, t)
    steps = np.diff(times, axis=1)
    dt = float(f"{np.median(steps):.12g}")  # times are text: 0.1 is meant, not 0.1000000000001
    if not np.all(np.isfinite(times)) or dt <= 0 or not np.allclose(steps, dt, rtol=1e-6):
        raise ChaosganError(f"{path}: times must be equally spaced and increasing in each series")
    if not np.allclose(times, times[:1], rtol=0, atol=1e-6 * dt):
        raise ChaosganError(f"{path}: the series are not sampled at the same times")
    return table[:, 2:].reshape(n, t, -1), dt, header[2:]


def load_series(
    path: str | Path,
    *,
    dt: float | None = None,
    system: str | None = None,
    params: dict[str, float] | None = None,
    kind: str = "generated",
) -> Dataset:
    """Read ``path`` (see the module doc for the formats) as a :class:`Dataset`.

    For our own ``.npz`` the file's meta rules; a ``dt`` or ``system`` given as well must agree
    with it. For bare arrays ``dt`` is required (CSV: read from the time column).
    """
    path = Path(path)
    if not path.is_file():
        raise ChaosganError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            ours = {"trajectories", "meta"} <= set(dataset.npz_headers(path))
            if ours:
                ds = dataset.load(path)
                if dt is not None and not np.isclose(dt, ds.dt, rtol=1e-9, atol=0):
                    raise ChaosganError(f"{path}: --dt {dt:g} disagrees with its meta dt {ds.dt:g}")
                if system is not None and system != ds.meta.get("system"):
                    raise ChaosganError(
                        f"{path}: --system {system} disagrees with its meta system "
                        f"{ds.meta.get('system')!r}"
                    )
                return ds
            array, coordinates = _read_npz_array(path), None
        elif suffix == ".npy":
            dataset.npy_header(path)
            array, coordinates = np.load(path, allow_pickle=False), None
        elif suffix == ".csv":
            array, csv_dt, coordinates = _read_csv(path)
            if dt is not None and not np.isclose(dt, csv_dt, rtol=1e-6, atol=0):
                raise ChaosganError(
                    f"{path}: --dt {dt:g} disagrees with its time column ({csv_dt:g})"
                )
            dt = csv_dt
        else:
            raise ChaosganError(f"{path}: unknown file type {suffix!r} (use .npz, .npy or .csv)")
    except ChaosganError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ChaosganError(f"{path}: holds pickled objects, refused for safety") from None
        raise ChaosganError(f"{path}: unreadable ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ChaosganError(f"{path}: unreadable ({exc})") from None
    if dt is None:
        raise ChaosganError(f"{path}: a bare array carries no sampling step; pass --dt")
    return from_array(
        array,
        dt,
        kind=kind,
        system=system,
        params=params,
        coordinates=coordinates,
        source=str(path),
    )


def training_set_of(
    generated: Dataset,
    generated_path: str | Path,
    train_path: str | Path | None = None,
    dt: float | None = None,
) -> Dataset | None:
    """The generator's training set: ``train_path`` if given, else the file named by the
    generated data's meta ``training_data`` = ``{"path", "sha256"}`` (a relative path is looked
    up from the working folder, then beside the generated file), verified against its sha256.
    ``None`` when neither names one; a recorded file that is missing or changed is an error.
    ``dt`` is the sampling step of a bare-array file, as in :func:`load_series`.
    """
    if train_path is not None:
        return load_series(train_path, dt=dt, kind="real")
    recorded = generated.meta.get("training_data")
    if recorded is None:
        return None
    if not isinstance(recorded, dict):
        raise ChaosganError(f"{generated_path}: meta training_data must be {{'path', 'sha256'}}")
    if not isinstance(recorded.get("path"), str):
        return None  # trained from data without a file: score() warns that it is missing
    candidates = [Path(recorded["path"])]
    if not candidates[0].is_absolute():
        candidates.append(Path(generated_path).parent / recorded["path"])
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise ChaosganError(
            f"{generated_path}: its training data {recorded['path']!r} is not found; "
            "pass --train PATH"
        )
    train = load_series(found, dt=dt, kind="real")
    if recorded.get("sha256") and train.sha256() != recorded["sha256"]:
        raise ChaosganError(
            f"{found}: sha256 {train.sha256()[:12]} is not that of the data the generator was "
            f"trained on ({str(recorded['sha256'])[:12]}); pass the right file with --train"
        )
    return train
