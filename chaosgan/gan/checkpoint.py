"""Checkpoints: written atomically, read with ``torch.load(..., weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings and lists (nothing that needs pickle's
arbitrary code execution): model, EMA and optimiser states, the resolved config, the completed
epoch count, the loss history, the dataset's normalisation and metadata, so that sampling
needs nothing but the run folder, and the sha256 of the training trajectories
(``training_data``), so that ``--resume`` can refuse other data.

Every loaded checkpoint goes through one typed schema (:func:`validate_checkpoint`): a file that
torch can load but whose config, epoch, history or normalisation has the wrong type is refused
with the file name and the offending key, before anything is built from it. Keys beyond the
schema (``physics``, ...) are allowed; the known optional ones are checked when present, and a
conditional run's ``condition`` (names, training range, sample of training values) is required
and checked against its config.
"""

from __future__ import annotations

import math
import pickle
import re
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from chaosgan.atomic import write_atomic
from chaosgan.dataset import DT_RANGE
from chaosgan.errors import ChaosganError
from chaosgan.gan.condition import check_condition_dict
from chaosgan.gan.config import TrainConfig, apply_overrides

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


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    """A number (NaN allowed: a history may record the loss that stopped a run)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _state_dict(v: Any) -> str | None:
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        return "must be a state dict (names -> tensors)"
    return None


def _optimizer(v: Any) -> str | None:
    if not isinstance(v, dict) or not {"state", "param_groups"} <= set(v):
        return "must be an optimiser state dict (state, param_groups)"
    return None


def _history(v: Any) -> str | None:
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        return "must map names to lists of numbers"
    for key, values in v.items():
        if not isinstance(values, list) or not all(_is_real(x) for x in values):
            return f"{key} must be a list of numbers"
    if "d_loss" not in v or "g_loss" not in v:
        return "must hold d_loss and g_loss"
    return None


def _data_meta(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "must be an object"
    dt = v.get("dt")
    if not _is_real(dt) or not math.isfinite(dt) or not DT_RANGE[0] <= dt <= DT_RANGE[1]:
        return f"dt must be a number in [{DT_RANGE[0]:g}, {DT_RANGE[1]:g}]"
    if not _is_int(v.get("steps")) or v["steps"] < 2:
        return "steps must be an integer >= 2"
    if v.get("system") is not None and not isinstance(v["system"], str):
        return "system must be a name or null"
    params = v.get("params")
    if params is not None and (
        not isinstance(params, dict)
        or not all(_is_real(x) and math.isfinite(x) for x in params.values())
    ):
        return "params must map names to finite numbers"
    return None


def _normalisation(v: Any) -> str | None:
    ok = isinstance(v, dict) and all(
        isinstance(v.get(k), list) and v[k] and all(_is_real(x) and math.isfinite(x) for x in v[k])
        for k in ("min", "max")
    )
    if not ok or len(v["min"]) != len(v["max"]):
        return "must hold min and max, equal-length lists of finite numbers"
    if any(hi <= lo for lo, hi in zip(v["min"], v["max"], strict=True)):
        return "max must exceed min in every coordinate"
    return None


SCHEMA: dict[str, Callable[[Any], str | None]] = {
    "config": lambda v: (
        None
        if isinstance(v, dict) and all(isinstance(k, str) for k in v)
        else "must be an object of config keys"
    ),
    "epoch": lambda v: None if _is_int(v) and v >= 0 else "must be an integer >= 0",
    "step": lambda v: None if _is_int(v) and v >= 0 else "must be an integer >= 0",
    "generator": _state_dict,
    "discriminator": _state_dict,
    "generator_ema": _state_dict,
    "opt_g": _optimizer,
    "opt_d": _optimizer,
    "history": _history,
    "normalisation": _normalisation,
    "data_meta": _data_meta,
}


def _training_data(v: Any) -> str | None:
    if not isinstance(v, dict) or not isinstance(v.get("sha256"), str):
        return "must hold the sha256 of the training trajectories"
    if not re.fullmatch("[0-9a-f]{64}", v["sha256"]):
        return "sha256 must be a hex digest"
    if v.get("path") is not None and not isinstance(v["path"], str):
        return "path must be a string or null"
    return None


def _physics(v: Any) -> str | None:
    """The identified (or known) model: the fields :class:`~chaosgan.gan.physics.PhysicsModel`
    is rebuilt from, with their types."""
    if not isinstance(v, dict):
        return "must be an object"
    coef = v.get("coef")
    if not (
        isinstance(coef, list)
        and coef
        and all(
            isinstance(row, list) and row and all(_is_real(x) and math.isfinite(x) for x in row)
            for row in coef
        )
        and len({len(row) for row in coef}) == 1
    ):
        return "coef must be a matrix of finite numbers"
    if not _is_int(v.get("degree")) or not 1 <= v["degree"] <= 5:
        return "degree must be an integer in [1, 5]"
    names = v.get("names")
    if not isinstance(names, list) or len(names) != len(coef):
        return "names must name each coordinate"
    if not all(isinstance(x, str) for x in names) or not isinstance(v.get("source"), str):
        return "names and source must be strings"
    if not _is_real(v.get("diameter")) or not (math.isfinite(v["diameter"]) and v["diameter"] > 0):
        return "diameter must be a positive number"
    if not isinstance(v.get("info", {}), dict):
        return "info must be an object"
    params = v.get("parameters", [])
    if (
        not isinstance(params, list)
        or len(params) >= len(names)
        or params != names[len(names) - len(params) :]
    ):
        return "parameters must be a list of the last names (fewer than all of them)"
    return None


# Optional keys, checked when present (other extra keys are allowed and left alone); the config
# says when some of them are required (the physics model, the series critic).
OPTIONAL: dict[str, Callable[[Any], str | None]] = {
    "train_seconds": lambda v: (
        None if _is_real(v) and math.isfinite(v) and v >= 0 else "must be a number >= 0"
    ),
    "training_data": _training_data,
    "physics": _physics,
    "series_critic": _state_dict,
    "opt_s": _optimizer,
}


def validate_checkpoint(ckpt: Any, source: str = "checkpoint") -> dict[str, Any]:
    """Check a loaded checkpoint against :data:`SCHEMA` (and :data:`OPTIONAL`); the config must
    also be a valid :class:`~chaosgan.gan.config.TrainConfig`. Returns ``ckpt``.

    Raises:
        ChaosganError: ``"<source>: checkpoint <key> <what it must be>"``.
    """
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ChaosganError(f"{source}: not a chaosgan checkpoint")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise ChaosganError(f"{source}: checkpoint lacks {', '.join(missing)}")
    for key, check in (*SCHEMA.items(), *OPTIONAL.items()):
        if key in ckpt:
            problem = check(ckpt[key])
            if problem:
                raise ChaosganError(f"{source}: checkpoint {key} {problem}")
    config = apply_overrides(TrainConfig(), ckpt["config"], f"{source}: checkpoint config")
    try:
        config.validate()
    except ChaosganError as exc:
        raise ChaosganError(f"{source}: checkpoint config: {exc}") from None
    needs = []
    if config.physics != "off":
        needs.append("physics")
    if config.series_weight > 0:
        needs += ["series_critic", "opt_s"]
    if config.condition:
        needs.append("condition")
    missing = [k for k in needs if k not in ckpt]
    if missing:
        raise ChaosganError(
            f"{source}: checkpoint lacks {', '.join(missing)} (its config uses them)"
        )
    if config.condition:
        problem = check_condition_dict(ckpt["condition"], config.condition)
        if problem:
            raise ChaosganError(f"{source}: checkpoint condition {problem}")
    n = len(ckpt["history"]["d_loss"])
    if len(ckpt["history"]["g_loss"]) != n or n != ckpt["epoch"]:
        raise ChaosganError(
            f"{source}: checkpoint history holds {n} epochs but epoch is {ckpt['epoch']}"
        )
    return ckpt


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint; corrupted, foreign or badly typed files raise a one-line error.

    Only torch's zip format is read (a raw pickle is refused before torch sees it), always with
    ``weights_only=True``, and the contents are checked by :func:`validate_checkpoint`.
    """
    path = Path(path)
    if path.is_dir():
        path = checkpoint_path(path)
    if not path.is_file():
        raise ChaosganError(f"{path}: no checkpoint here")
    try:
        if not _is_zip(path):
            raise ChaosganError(f"{path}: not a chaosgan checkpoint (not a torch zip file)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except ChaosganError:
        raise
    except (
        OSError,
        RuntimeError,
        pickle.UnpicklingError,
        EOFError,
        zipfile.BadZipFile,
        ValueError,
        AttributeError,
        TypeError,
        KeyError,
        IndexError,
    ) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if len(first) > 200:
            first = first[:197] + "..."
        raise ChaosganError(f"{path}: corrupted or unsafe checkpoint ({first})") from None
    return validate_checkpoint(ckpt, str(path))


def check_same_data(ckpt: dict[str, Any], data_sha256: str, meta: dict[str, Any], source: str):
    """Refuse to resume a run on data other than its own.

    The checkpoint's ``training_data.sha256`` must equal ``data_sha256`` (see
    :func:`chaosgan.dataset.trajectories_sha256`); a checkpoint written before identities were
    recorded is compared by system, dt, length and normalisation instead.
    """
    recorded = (ckpt.get("training_data") or {}).get("sha256")
    if recorded is not None:
        if recorded != data_sha256:
            raise ChaosganError(
                f"{source}: this run was trained on other data (sha256 {recorded[:12]}..., "
                f"this dataset {data_sha256[:12]}...); resume with its own dataset or start "
                "afresh with --force"
            )
        return
    theirs = ckpt["data_meta"]
    for key in ("system", "dt", "steps"):
        if theirs.get(key) != meta.get(key):
            raise ChaosganError(
                f"{source}: this run was trained on data with {key} = {theirs.get(key)!r}, "
                f"this dataset has {meta.get(key)!r}"
            )
    if ckpt["normalisation"] != meta["normalisation"]:
        raise ChaosganError(f"{source}: this run was trained on data with another normalisation")
