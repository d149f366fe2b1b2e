"""Largest Lyapunov exponents of two datasets compared: medians, CIs and ratios with CIs.

Both datasets go through the *same* estimator with the *same* parameters: a
:class:`~chaosgan.lyapunov.from_data.RosensteinParams` (default: the fixed calibrated ones),
another one given, or ``"auto"``, derived once from the real data. For each coordinate: the
median exponent of each dataset with its bootstrap 95% CI, and the ratio other / real of the
medians with a percentile-bootstrap CI (both datasets resampled independently). Two independent
real datasets must give a ratio whose CI contains 1. Where the real data's system is in the
catalogue, the exponent from the equations (QR method) is given as the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.lyapunov.from_data import (
    DatasetEstimate,
    EckmannParams,
    RosensteinParams,
    derive_rosenstein_params,
    estimate_dataset,
)
from chaosgan.lyapunov.spectrum import lyapunov_spectrum
from chaosgan.systems import SYSTEMS


def ratio_ci(
    other: np.ndarray, real: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """Ratio of medians other / real (finite values) and its percentile-bootstrap 95% CI."""
    g = other[np.isfinite(other)]
    r = real[np.isfinite(real)]
    if len(g) == 0 or len(r) == 0:
        return float("nan"), (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    gm = np.median(g[rng.integers(0, len(g), (n_boot, len(g)))], axis=1)
    rm = np.median(r[rng.integers(0, len(r), (n_boot, len(r)))], axis=1)
    lo, hi = np.quantile(gm / rm, [0.025, 0.975])
    return float(np.median(g) / np.median(r)), (float(lo), float(hi))


def reference_exponent(ds: Dataset) -> float | None:
    """Largest exponent from the equations for the dataset's system and parameters, 1/time."""
    name = ds.meta.get("system")
    if name not in SYSTEMS:
        return None
    system = SYSTEMS[name]
    params = ds.meta.get("params") or {}
    if all(params.get(k, v) == v for k, v in system.defaults.items()):
        return float(system.reference_exponents[0])
    if system.dim(params) > 3:
        return None  # large systems: the QR computation would dominate the report's time
    return float(lyapunov_spectrum(system, params, n_trajectories=16, t_average=200.0).exponents[0])


@dataclass
class LyapunovComparison:
    """Per-coordinate exponents of a real and another dataset, and their ratios (1/time)."""

    method: str
    dt: float
    estimator_params: dict[str, float]
    real: DatasetEstimate
    other: DatasetEstimate
    reference_exponent: float | None

    def ratios(self) -> dict[str, dict[str, Any]]:
        """``{coordinate: {"value": ratio, "ci95": [lo, hi]}}``, other / real."""
        out = {}
        for name, r in self.real.coordinates.items():
            value, ci = ratio_ci(self.other.coordinates[name].values, r.values)
            out[name] = {"value": value, "ci95": list(ci)}
        return out

    def to_dict(self) -> dict[str, Any]:
        ratios = self.ratios()
        coords = {}
        for name, r in self.real.coordinates.items():
            g = self.other.coordinates[name]
            coords[name] = {
                "real": {"median": r.median, "ci95": list(r.ci95), "n": r.n},
                "generated": {"median": g.median, "ci95": list(g.ci95), "n": g.n},
                "ratio": ratios[name],
            }
        out = {
            "method": self.method,
            "units": "1/time",
            "dt": self.dt,
            "estimator_params": self.estimator_params,
            "coordinates": coords,
        }
        if self.reference_exponent is not None:
            out["reference_exponent"] = self.reference_exponent
        return out

    def failures(self) -> dict[str, int]:
        """Series whose estimate failed (NaN, left out of the medians), per side."""
        return {
            "real": sum(c.n_failed for c in self.real.coordinates.values()),
            "generated": sum(c.n_failed for c in self.other.coordinates.values()),
        }


def resolve_params(
    real: Dataset, method: str, params: RosensteinParams | EckmannParams | str | None
) -> RosensteinParams | EckmannParams | dict[int, RosensteinParams]:
    """The one set of estimator parameters for every dataset of a comparison: the fixed
    defaults (``None``), the given ones, or (``"auto"``, Rosenstein) derived from the *real*
    data by :func:`~chaosgan.lyapunov.from_data.derive_rosenstein_params`, one set per
    coordinate).

    Derived parameters search each series' neighbours in that series only (``pool = 1``), not
    pooled over series as ``chaosgan lyapunov estimate`` does by default: pooling makes the
    absolute exponent of real data more accurate, but a comparison needs the same estimator on
    both sides, not an accurate one, and with own-series neighbours a generated series' exponent
    depends on that series alone, so the per-series values stay independent (as the bootstrap CI
    of the median assumes) and no generated series borrows its neighbours from another."""
    if isinstance(params, str):
        if params != "auto" or method != "rosenstein":
            raise ChaosganError(
                f"params must be 'auto' (Rosenstein only) or explicit, got {params!r}"
            )
        return derive_rosenstein_params(real.trajectories, real.dt, pool=1)
    if params is None:
        return RosensteinParams() if method == "rosenstein" else EckmannParams()
    return params


def compare_exponents(
    real: Dataset,
    other: Dataset,
    *,
    method: str = "rosenstein",
    params: RosensteinParams | EckmannParams | str | None = None,
    backend: str = "auto",
    real_estimate: DatasetEstimate | None = None,
) -> LyapunovComparison:
    """Estimate both datasets' exponents with the same estimator and parameters and compare.

    ``real_estimate`` reuses the real side's estimate (the scorecard compares real with the
    generated set and with the floor set, and estimates the real set once).
    """
    if real.trajectories.shape[2] != other.trajectories.shape[2]:
        raise ChaosganError("the two datasets have different numbers of coordinates")
    if not np.isclose(real.dt, other.dt):
        raise ChaosganError(f"the datasets have different dt ({real.dt} vs {other.dt})")
    params = resolve_params(real, method, params)
    if real_estimate is None:
        real_estimate = estimate_dataset(real, method, params, backend)
    est_other = estimate_dataset(other, method, params, backend)
    return LyapunovComparison(
        method, real.dt, real_estimate.params, real_estimate, est_other, reference_exponent(real)
    )
