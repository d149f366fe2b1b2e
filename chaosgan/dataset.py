"""The one on-disk format that every stage reads and writes, real or generated.

A dataset is an uncompressed ``.npz`` with

- ``trajectories``: float64, shape ``(N, T, D)``, physical units;
- ``images``: float32, shape ``(N, 3, 32, 32)`` in [-1, 1], present when T = 1024 and D = 3
  (see :mod:`chaosgan.encoding`);
- ``meta``: a JSON string (stored as a numpy unicode scalar, so no pickle is ever needed) with
  ``format``, ``kind`` (``real`` or ``generated``), ``system``, ``params``, ``dt`` (time units per
  sample), ``steps`` (T), ``burn_in`` (time units discarded before the first sample, or null),
  ``seed``, ``normalisation`` (per-coordinate min/max) and ``version`` (of chaosgan), plus
  optional extras (``method``, ``substeps``, ``source`` ...);
- ``series_params`` (optional): float64, shape ``(N, P)``, the parameters that vary per series
  (drawn by ``chaosgan simulate --param rho=24:40``, or the condition a conditional generator
  was asked for), their names in the meta key ``series_params`` (unique, known to the system);
  the meta's ``params`` then holds, for those names, the centre of their range. Datasets
  without it (all parameters fixed) load as before.

Loading is one validation boundary that every reader goes through: the container is checked from
its headers before anything is allocated (a zip of ``.npy`` arrays, the expected names and
dtypes, shapes that fit the bytes present and the memory available; see :func:`inspect_npz`),
the arrays are read with ``allow_pickle=False``, and the meta is checked against a typed schema
(:data:`META_SCHEMA`: types, finite values, ranges, consistency with the trajectories). Every
problem raises :class:`~chaosgan.errors.ChaosganError` naming the file and the offending key.
:func:`check_comparable` is the one place that decides whether two datasets can be compared.
Writing is atomic and refuses to overwrite an existing file unless ``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chaosgan import __version__
from chaosgan.atomic import check_writable, write_atomic
from chaosgan.encoding import Normalisation, can_encode, encode
from chaosgan.errors import ChaosganError
from chaosgan.jsonio import dumps, nonfinite
from chaosgan.resources import check_memory, format_size
from chaosgan.systems import SYSTEMS

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
    series_params: np.ndarray | None = field(default=None, repr=False)

    @property
    def series_param_names(self) -> list[str]:
        """Names of the per-series parameters (columns of ``series_params``); empty if none."""
        return list(self.meta.get("series_params") or [])

    def series_param(self, name: str) -> np.ndarray:
        """Each series' value of parameter ``name``: ``(N,)``, from ``series_params`` when it
        varies per series, else the meta's fixed value repeated."""
        names = self.series_param_names
        if name in names and self.series_params is not None:
            return self.series_params[:, names.index(name)].copy()
        params = self.meta.get("params") or {}
        if name not in params:
            raise ChaosganError(f"the dataset has no parameter {name!r}")
        return np.full(self.n_series, float(params[name]))

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

    def coordinate_stats(self) -> dict[str, dict[str, float]]:
        """Each coordinate's spread over every series and sample, in the data's units: mean,
        standard deviation and the 1st and 99th percentiles (``p1``, ``p99``), keyed by
        coordinate name. A first look at a generator's output: one drawn on too small a scale,
        or missing a tail, shows here before any scorecard."""
        flat = self.trajectories.reshape(-1, self.trajectories.shape[2])
        p1, p99 = np.percentile(flat, [1, 99], axis=0)
        return {
            name: {
                "mean": float(flat[:, i].mean()),
                "std": float(flat[:, i].std()),
                "p1": float(p1[i]),
                "p99": float(p99[i]),
            }
            for i, name in enumerate(self.coordinate_names)
        }

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
        arrays = {"trajectories": self.trajectories, "meta": np.array(dumps(self.meta, None))}
        if self.images is not None:
            arrays["images"] = self.images
        if self.series_params is not None:
            arrays["series_params"] = self.series_params

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
    series_params: tuple[list[str], np.ndarray] | None = None,
    **extra: Any,
) -> Dataset:
    """Build a validated :class:`Dataset`, computing the normalisation and images when possible;
    ``series_params``: ``(names, values)`` of the parameters that vary per series, ``values``
    of shape ``(N, len(names))``."""
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
    values = None
    if series_params is not None:
        names, values = series_params
        meta["series_params"] = list(names)
        values = np.ascontiguousarray(values, dtype=np.float64)
    _, t, d = trajectories.shape
    images = encode(trajectories, norm) if can_encode(t, d) else None
    ds = Dataset(trajectories=trajectories, meta=meta, images=images, series_params=values)
    validate(ds)
    return ds


# --- the meta schema -----------------------------------------------------------------------------
# Each known key maps to a checker that returns None when the value is fine, else what it must be.
# Limits are wide enough for any real use and narrow enough that no stage overflows or hangs.
DT_RANGE = (1e-9, 1e6)  # time units per sample
MAX_BURN_IN = 1e5  # time units
MAX_SUBSTEPS = 10_000
MAX_SEED = 2**63 - 1


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _numbers(v: Any, d: int) -> bool:
    return isinstance(v, list) and len(v) == d and all(_is_number(x) for x in v)


def _check_params(meta: dict[str, Any], d: int) -> str | None:
    params, system = meta["params"], meta.get("system")
    if params is None:
        return None
    if not isinstance(params, dict):
        return "must be an object of NAME: number, or null"
    for key, value in params.items():
        if not _is_number(value):
            return f"must hold finite numbers, but {key!r} is {_short(value)}"
    if isinstance(system, str) and system in SYSTEMS:
        spec = SYSTEMS[system]
        unknown = sorted(set(params) - set(spec.defaults))
        missing = sorted(set(spec.defaults) - set(params))
        if unknown or missing:
            # names from the file go out quoted (repr): a control character in one must not
            # break the one-line error
            what = f"unknown {_names(unknown)}" if unknown else f"lacks {', '.join(missing)}"
            return f"{what} (a {system} dataset has {', '.join(spec.defaults)})"
        try:
            dim = spec.dim(spec.resolve_params(params))
        except ChaosganError as exc:
            return str(exc)
        if dim != d:
            return f"give a {dim}-dimensional {system}, but the trajectories have D = {d}"
    return None


def _check_series_param_names(meta: dict[str, Any]) -> str | None:
    names, params = meta["series_params"], meta.get("params")
    if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
        return "must be a non-empty list of parameter names"
    if len(set(names)) != len(names):
        return "must name each parameter once"
    if not isinstance(params, dict):
        return "needs the meta params to hold the same parameters"
    unknown = [x for x in names if x not in params]
    if unknown:
        return f"names {_names(unknown)}, not among the parameters ({_names(params)})"
    return None


def _check_normalisation(norm: Any, d: int) -> str | None:
    if not isinstance(norm, dict) or not _numbers(norm.get("min"), d):
        return f"must hold min and max, lists of {d} finite numbers"
    if not _numbers(norm.get("max"), d):
        return f"must hold min and max, lists of {d} finite numbers"
    if any(hi <= lo for lo, hi in zip(norm["min"], norm["max"], strict=True)):
        return "max must exceed min in every coordinate"
    return None


def _optional(check: Any) -> Any:
    return lambda v, d, t: None if v is None else check(v, d, t)


META_SCHEMA: dict[str, Any] = {
    "format": lambda v, d, t: None if v == FORMAT else f"must be {FORMAT!r}",
    "kind": lambda v, d, t: None if v in KINDS else f"must be one of {', '.join(KINDS)}",
    "system": _optional(lambda v, d, t: None if isinstance(v, str) and v else "a name or null"),
    "params": None,  # needs the system too: _check_params
    "dt": lambda v, d, t: (
        None
        if _is_number(v) and DT_RANGE[0] <= v <= DT_RANGE[1]
        else f"must be a number in [{DT_RANGE[0]:g}, {DT_RANGE[1]:g}] (time units per sample)"
    ),
    "steps": lambda v, d, t: None if _is_int(v) and v == t else f"must equal T = {t}",
    "burn_in": _optional(
        lambda v, d, t: (
            None
            if _is_number(v) and 0 <= v <= MAX_BURN_IN
            else f"must be a number in [0, {MAX_BURN_IN:g}] (time units) or null"
        )
    ),
    "seed": _optional(
        lambda v, d, t: None if _is_int(v) and 0 <= v <= MAX_SEED else "must be an integer >= 0"
    ),
    "normalisation": lambda v, d, t: _check_normalisation(v, d),
    "version": lambda v, d, t: None if isinstance(v, str) else "must be a string",
    # optional keys: checked when present
    "coordinates": _optional(
        lambda v, d, t: (
            None
            if isinstance(v, list) and len(v) == d and all(isinstance(x, str) for x in v)
            else f"must be a list of {d} names"
        )
    ),
    "method": _optional(lambda v, d, t: None if isinstance(v, str) else "must be a string"),
    "substeps": _optional(
        lambda v, d, t: (
            None
            if _is_int(v) and 1 <= v <= MAX_SUBSTEPS
            else f"must be an integer in [1, {MAX_SUBSTEPS}]"
        )
    ),
    "series_params": None,  # needs the params and the array too: _check_series_param_names
    "source_run": _optional(lambda v, d, t: None if isinstance(v, str) else "must be a string"),
    "source_epoch": _optional(
        lambda v, d, t: None if _is_int(v) and v >= 0 else "must be an integer >= 0"
    ),
}


def _names(names: Any) -> str:
    """Names read from a file, each quoted and cut short, for a one-line error."""
    return ", ".join(_short(x, 30) for x in names)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_meta(meta: Any, shape: tuple[int, int, int], source: str = "dataset") -> None:
    """Check ``meta`` against :data:`META_SCHEMA` for trajectories of ``shape`` (N, T, D).

    Raises:
        ChaosganError: ``"<source>: meta <key> <what it must be>, got <value>"``.
    """
    if not isinstance(meta, dict):
        raise ChaosganError(f"{source}: meta must be a JSON object")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ChaosganError(f"{source}: meta lacks {', '.join(missing)}")
    _, t, d = shape
    for key, check in META_SCHEMA.items():
        if key not in meta:
            continue
        if key == "params":
            problem = _check_params(meta, d)
        elif key == "series_params":
            problem = _check_series_param_names(meta)
        else:
            problem = check(meta[key], d, t)
        if problem:
            raise ChaosganError(f"{source}: meta {key} {problem}, got {_short(meta[key])}")


def validate(ds: Dataset, source: str = "dataset") -> None:
    """Raise :class:`ChaosganError` naming the first thing wrong with ``ds``."""
    traj, meta = ds.trajectories, ds.meta
    if not isinstance(traj, np.ndarray) or traj.ndim != 3:
        raise ChaosganError(
            f"{source}: trajectories must have shape (N, T, D), got {np.shape(traj)}"
        )
    n, t, d = traj.shape
    if n < 1 or t < 2 or d < 1:
        raise ChaosganError(f"{source}: trajectories shape {traj.shape} is empty")
    if traj.dtype != np.float64:
        raise ChaosganError(f"{source}: trajectories must be float64, got {traj.dtype}")
    if not np.isfinite(traj).all():
        bad = int((~np.isfinite(traj)).any(axis=(1, 2)).sum())
        raise ChaosganError(f"{source}: trajectories contain NaN or inf (in {bad} series)")
    validate_meta(meta, traj.shape, source)
    if ds.images is not None:
        want = (n, 3, 32, 32)
        if ds.images.shape != want:
            raise ChaosganError(f"{source}: images must have shape {want}, got {ds.images.shape}")
        if ds.images.dtype != np.float32:
            raise ChaosganError(f"{source}: images must be float32, got {ds.images.dtype}")
        if not np.isfinite(ds.images).all():
            raise ChaosganError(f"{source}: images contain NaN or inf")
    _validate_series_params(ds, source)


def _validate_series_params(ds: Dataset, source: str) -> None:
    """The ``series_params`` array against its names in the meta: both or neither, shape
    ``(N, P)``, float64, finite."""
    values, names = ds.series_params, ds.meta.get("series_params")
    if values is None and names is None:
        return
    if values is None:
        raise ChaosganError(f"{source}: meta names series_params but the array is missing")
    if names is None:
        raise ChaosganError(f"{source}: a series_params array but no names in the meta")
    want = (ds.n_series, len(names))
    if not isinstance(values, np.ndarray) or values.shape != want:
        raise ChaosganError(
            f"{source}: series_params must have shape {want} (N series x {len(names)} "
            f"parameters), got {np.shape(values)}"
        )
    if values.dtype != np.float64:
        raise ChaosganError(f"{source}: series_params must be float64, got {values.dtype}")
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).any(axis=1).sum())
        raise ChaosganError(f"{source}: series_params contain NaN or inf (in {bad} series)")


# --- the container -------------------------------------------------------------------------------
ARRAYS = {
    "trajectories": np.float64,
    "images": np.float32,
    "series_params": np.float64,
    "meta": None,
}  # None: unicode scalar
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _read_header(stream: Any, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of the ``.npy`` stream at its start (nothing else read)."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, TypeError, SyntaxError) as exc:
        raise ChaosganError(f"{where} is not a numpy array ({_short(str(exc))})") from None
    return shape, dtype, stream.tell()


def _check_size(shape: tuple[int, ...], dtype: np.dtype, present: int, where: str) -> int:
    if dtype.hasobject:
        raise ChaosganError(f"{where} holds pickled objects, refused for safety")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > present:
        raise ChaosganError(
            f"{where} declares shape {shape} ({format_size(nbytes)}) but holds "
            f"{format_size(present)}"
        )
    return nbytes


def _magic(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(6)


def npy_header(path: str | Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of the ``.npy`` file at ``path`` from its header, checked as
    :func:`npz_headers` checks each member; call it before ``np.load``."""
    path = Path(path)
    if _magic(path) != np.lib.format.MAGIC_PREFIX:
        raise ChaosganError(f"{path}: not a .npy array file")
    with open(path, "rb") as f:
        shape, dtype, header = _read_header(f, str(path))
    _check_size(shape, dtype, path.stat().st_size - header, str(path))
    check_memory(math.prod(shape) * dtype.itemsize, f"loading {path}")
    return shape, dtype


def npz_headers(path: str | Path, names: Any = None) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in the ``.npz`` at ``path``, from the headers alone.

    Refuses, before anything is allocated: a file that is not a zip archive (a plain ``.npy``
    renamed, text, anything else); members that are not ``.npy`` arrays (or, with ``names``,
    not one of those); object arrays (they need pickle); a header whose shape needs more bytes
    than the member holds; and arrays that would not fit in the memory available. Call it
    before ``np.load``.
    """
    path = Path(path)
    head = _magic(path)
    if head == np.lib.format.MAGIC_PREFIX:
        raise ChaosganError(f"{path}: a single .npy array, not a .npz archive (renamed?)")
    if head[:4] not in ZIP_MAGIC:
        raise ChaosganError(f"{path}: not a .npz archive (not a zip file)")
    found: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy") or (names is not None and name[:-4] not in names):
                    wanted = (
                        "numpy arrays" if names is None else ", ".join(f"{k}.npy" for k in names)
                    )
                    raise ChaosganError(
                        f"{path}: unexpected member {_short(name)} (expected {wanted})"
                    )
                where = f"{path}: member {name}"
                with zf.open(info) as member:
                    shape, dtype, header = _read_header(member, where)
                total += _check_size(shape, dtype, info.file_size - header, where)
                found[name[:-4]] = (shape, dtype)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ChaosganError(f"{path}: not a readable .npz file ({_short(str(exc))})") from None
    check_memory(total, f"loading {path}")
    return found


def inspect_npz(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """:func:`npz_headers` of a dataset: only its arrays, with their dtypes, meta a string."""
    found = npz_headers(path, ARRAYS)
    for key in ("trajectories", "meta"):
        if key not in found:
            raise ChaosganError(f"{path}: not a chaosgan dataset (no {key!r} array)")
    for key, (shape, dtype) in found.items():
        want = ARRAYS[key]
        if want is None and (dtype.kind != "U" or shape != ()):
            raise ChaosganError(f"{path}: meta must be a JSON string, got {dtype} {shape}")
        if want is not None and dtype != want:
            raise ChaosganError(f"{path}: {key} must be {np.dtype(want)}, got {dtype}")
    return found


def load(path: str | Path) -> Dataset:
    """Read and validate a dataset; every problem raises :class:`ChaosganError`, never pickle.

    The container is checked from its headers first (:func:`inspect_npz`), then the arrays are
    read with ``allow_pickle=False``, then the meta JSON is checked against
    :data:`META_SCHEMA` and everything against the trajectories (:func:`validate`).
    """
    path = Path(path)
    if path.is_dir():
        raise ChaosganError(f"{path}: a folder, not a dataset file")
    if not path.is_file():
        raise ChaosganError(f"{path}: no such file")
    try:
        found = inspect_npz(path)
        with np.load(path, allow_pickle=False) as npz:
            trajectories = npz["trajectories"]
            meta_raw = npz["meta"]
            images = npz["images"] if "images" in found else None
            series_params = npz["series_params"] if "series_params" in found else None
    except ChaosganError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ChaosganError(f"{path}: not a readable .npz file ({_short(str(exc))})") from None
    try:
        meta = json.loads(str(meta_raw))
    except json.JSONDecodeError as exc:
        raise ChaosganError(f"{path}: meta is not valid JSON ({exc})") from None
    ds = Dataset(trajectories=trajectories, meta=meta, images=images, series_params=series_params)
    validate(ds, source=str(path))
    bad = nonfinite(meta)  # NaN / Infinity: accepted by Python's reader, but not JSON
    if bad:
        where, what = next(iter(bad.items()))
        raise ChaosganError(f"{path}: meta {where.lstrip('/')} is {what.split()[0]}, not JSON")
    return ds


# --- comparing two datasets ----------------------------------------------------------------------
def check_comparable(
    reference: Dataset,
    other: Dataset,
    names: tuple[str, str] = ("real", "generated"),
    min_series: int = 2,
) -> None:
    """Refuse to compare datasets that do not describe the same thing, before any metric runs.

    Checks, in order: the system (when both name one), dt (to 1e-9 relative), the series
    length T, the dimension D, at least ``min_series`` series in each, and that no coordinate
    of either is constant (every metric that scales by a spread would give NaN).

    Raises:
        ChaosganError: one line naming both datasets and what differs.
    """
    a, b = names
    sa, sb = reference.meta.get("system"), other.meta.get("system")
    if sa is not None and sb is not None and sa != sb:
        raise ChaosganError(f"{a} is {sa} data but {b} is {sb}: they cannot be compared")
    if not math.isclose(reference.dt, other.dt, rel_tol=1e-9):
        raise ChaosganError(f"{a} has dt = {reference.dt:g} but {b} has dt = {other.dt:g}")
    (na, ta, da), (nb, tb, db) = reference.trajectories.shape, other.trajectories.shape
    if ta != tb:
        raise ChaosganError(f"{a} series have {ta} samples but {b} series have {tb}")
    if da != db:
        raise ChaosganError(f"{a} has {da} coordinates but {b} has {db}")
    for name, n in ((a, na), (b, nb)):
        if n < min_series:
            raise ChaosganError(f"{name} holds {n} series; comparing needs at least {min_series}")
    for name, ds in ((a, reference), (b, other)):
        spread = np.ptp(ds.trajectories, axis=(0, 1))
        if np.any(spread == 0):
            coord = ds.coordinate_names[int(np.argmin(spread))]
            raise ChaosganError(f"{name}: coordinate {coord} is constant; nothing to compare")
