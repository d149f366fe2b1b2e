"""The condition of a conditional GAN: which system parameters, their training range, scaling.

A conditional run (``condition = ["rho"]`` in its config) learns series for each value of some
system parameters that vary across its training data (the dataset's ``series_params``). The
networks see each parameter scaled to [-1, 1] by its range in the training data, the range
saved in the checkpoint (:meth:`Condition.to_dict`), so that a sample for ``rho = 33`` is scaled
as the training series were. A request outside the range is an extrapolation: allowed, flagged.

The checkpoint also keeps a sample of the training conditions (at most :data:`MAX_VALUES`
rows): the generator's BatchNorm statistics are re-estimated for sampling with conditions drawn
from them (:func:`chaosgan.gan.ema.standing_statistics`), the distribution it was trained on,
not the one value asked for (which would normalise the condition's effect away).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError


class ExtrapolationWarning(UserWarning):
    """A condition requested outside the training range."""


MAX_VALUES = 4096  # training conditions kept in a checkpoint for the BatchNorm statistics


@dataclass(frozen=True)
class Condition:
    """Names of the conditioning parameters, their training range (physical units) and a
    sample of the training values, ``(M, P)``."""

    names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    values: np.ndarray

    @classmethod
    def from_data(cls, data: Dataset, names: list[str]) -> Condition:
        """The condition ``names`` of ``data``: every name must vary per series in it."""
        have = data.series_param_names
        missing = [x for x in names if x not in have]
        if missing:
            varying = ", ".join(have) if have else "none"
            raise ChaosganError(
                f"condition {', '.join(missing)}: the training data does not vary it per series "
                f"(varying: {varying}; simulate with --param {missing[0]}=LOW:HIGH)"
            )
        assert data.series_params is not None
        values = data.series_params[:, [have.index(x) for x in names]]
        low, high = values.min(axis=0), values.max(axis=0)
        flat = [x for x, lo, hi in zip(names, low, high, strict=True) if not hi > lo]
        if flat:
            raise ChaosganError(f"condition {flat[0]} takes one value in the training data")
        keep = values[:: max(1, math.ceil(len(values) / MAX_VALUES))]
        return cls(tuple(names), tuple(map(float, low)), tuple(map(float, high)), keep)

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Physical values ``(N, P)`` -> [-1, 1] over the training range (float32)."""
        low, high = np.asarray(self.low), np.asarray(self.high)
        return (2.0 * (np.asarray(values, dtype=np.float64) - low) / (high - low) - 1.0).astype(
            np.float32
        )

    def unscale(self, scaled: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`scale`: values ``(N, P)`` in [-1, 1] -> physical units
        (float32)."""
        low, high = np.asarray(self.low), np.asarray(self.high)
        return (low + (np.asarray(scaled, dtype=np.float64) + 1.0) / 2.0 * (high - low)).astype(
            np.float32
        )

    def request(self, asked: Mapping[str, float] | None) -> tuple[np.ndarray, list[str]]:
        """The values ``asked`` (``{"rho": 33.0}``) as a ``(P,)`` array in this order, and a
        warning for each outside the training range (an extrapolation); nonsense (a name not
        conditioned on, a missing one, a non-finite value) raises."""
        asked = dict(asked or {})
        need = ", ".join(f"{x}=VALUE" for x in self.names)
        unknown = sorted(set(asked) - set(self.names))
        if unknown:
            raise ChaosganError(
                f"condition {unknown[0]}: this run is conditional on {', '.join(self.names)} only"
            )
        missing = [x for x in self.names if x not in asked]
        if missing:
            raise ChaosganError(
                f"this run is conditional on {', '.join(self.names)}: pass --condition {need}"
            )
        warnings = []
        for name, lo, hi in zip(self.names, self.low, self.high, strict=True):
            value = asked[name]
            if not math.isfinite(value):
                raise ChaosganError(f"condition {name} must be a finite number, got {value}")
            if not lo <= value <= hi:
                warnings.append(
                    f"{name}={value:g} lies outside the training range [{lo:g}, {hi:g}]: "
                    "an extrapolation"
                )
        return np.array([float(asked[x]) for x in self.names]), warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "low": list(self.low),
            "high": list(self.high),
            "values": self.values.tolist(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Condition:
        return cls(
            tuple(d["names"]),
            tuple(map(float, d["low"])),
            tuple(map(float, d["high"])),
            np.asarray(d["values"], dtype=np.float64).reshape(-1, len(d["names"])),
        )


def check_condition_dict(v: Any, names: list[str]) -> str | None:
    """What is wrong with a checkpoint's ``condition`` entry for a config conditional on
    ``names``, or None."""
    if not isinstance(v, dict) or v.get("names") != names:
        return f"must be an object naming the config's condition {names}"
    p = len(names)
    for key in ("low", "high"):
        x = v.get(key)
        if not isinstance(x, list) or len(x) != p or not all(_finite(e) for e in x):
            return f"{key} must be a list of {p} finite numbers"
    if not all(hi > lo for lo, hi in zip(v["low"], v["high"], strict=True)):
        return "high must exceed low for every name"
    rows = v.get("values")
    if (
        not isinstance(rows, list)
        or not rows
        or not all(isinstance(r, list) and len(r) == p and all(map(_finite, r)) for r in rows)
    ):
        return f"values must be a non-empty list of rows of {p} finite numbers"
    return None


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
