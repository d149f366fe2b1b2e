"""Largest Lyapunov exponents from data: per coordinate, per series, with honest uncertainty.

Two estimators from nolds (Schölzel, *nolds*, doi:10.5281/zenodo.3814723), always in 1/time units
(``tau = dt``) and with every parameter that nolds would otherwise choose per series fixed
explicitly, so two datasets are always compared with the *same* estimator:

- **Rosenstein** (Rosenstein, Collins & De Luca 1993, Physica D 65, 117): nearest neighbours in a
  delay embedding, mean log divergence, slope of a line (``fit="poly"``: deterministic; nolds'
  default RANSAC is random and unseeded). Parameters are in *time units*, converted with the
  dataset's dt, and come two ways: :func:`derive_rosenstein_params` chooses them from a dataset
  (lag and Theiler window from its mean period, fit region from its mean divergence curve,
  neighbours pooled over 128 series: :mod:`chaosgan.lyapunov.pooled`; ``params="auto"``),
  and :class:`RosensteinParams` holds fixed ones (the defaults were tuned on Lorenz-63 at
  dt = 0.01 and 0.1 only, each series' neighbours from its own points). Either way two
  datasets are compared with the same parameters. ``scripts/calibrate_rosenstein.py``
  measures both on a grid of systems and sampling steps. A single 1024-sample estimate
  scatters by tens of percent, so read distributions and their confidence intervals, never
  one value. The batched fast path
  (:mod:`chaosgan.lyapunov.rosenstein`) gives the same numbers as nolds to 1e-6.
- **Eckmann** (Eckmann, Kamphorst, Ruelle & Ciliberto 1986, Phys. Rev. A 34, 4971): local
  Jacobians fitted in the embedding; its largest exponent has the right sign but overestimates
  the size several-fold on short series (nolds issue 36), so use it for comparing two datasets,
  not as an absolute value.

Statistics over a dataset: median, mean, and a seeded bootstrap 95% confidence interval of the
median per coordinate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from chaosgan.dataset import Dataset
from chaosgan.errors import ChaosganError
from chaosgan.lyapunov.pooled import pooled_divergence_curves, rosenstein_pooled
from chaosgan.lyapunov.rosenstein import divergence_curves, rosenstein_batch
from chaosgan.nolds_compat import nolds_measures

METHODS = ("rosenstein", "eckmann")
BACKENDS = ("auto", "fast", "nolds")
FAST_PATH_MIN_SERIES = 32  # auto uses the fast path from this many series (x coordinates) on
DEFAULT_POOL = 128  # series per neighbour pool of the derived parameters (see derive_...)


@dataclass(frozen=True)
class RosensteinParams:
    """Rosenstein parameters in time units (converted to samples with the dataset's dt).

    Attributes:
        emb_dim: delay-embedding dimension.
        lag_time: delay between embedding coordinates (about a fifth of Lorenz's mean period).
        min_tsep_time: Theiler window: neighbours must be further apart in time than this.
        trajectory_time: how long each neighbour pair is followed (stays inside the linear
            region of the mean log divergence before it saturates at the attractor size).
        fit_offset_time: initial stretch left out of the line fit (the transient in which the
            separation turns onto the most unstable direction).
        pool: series per neighbour pool (:mod:`chaosgan.lyapunov.pooled`): each point's
            nearest neighbour is searched among the points of this many series of the dataset,
            not only its own; 1 is Rosenstein's (and nolds') own-series rule.
        first_step_jump: the diagnostic behind ``warning`` (:func:`first_step_jump` of the
            curve the parameters were derived from; NaN for parameters not derived).
        warning: why an exponent measured with these parameters should not be trusted (set by
            :func:`derive_rosenstein_params` for a coordinate whose divergence curve has no
            clean exponential stretch; empty otherwise).
        Neither of the last two is a parameter: they take no part in comparisons or hashing.
    """

    emb_dim: int = 7
    lag_time: float = 0.2
    min_tsep_time: float = 1.0
    trajectory_time: float = 1.5
    fit_offset_time: float = 0.3
    pool: int = 1
    first_step_jump: float = field(default=float("nan"), compare=False)
    warning: str = field(default="", compare=False)

    def in_samples(self, dt: float) -> dict[str, int]:
        """The nolds keyword arguments (in samples) for sampling step ``dt`` (``pool`` is not
        one: nolds has no pooled search)."""
        return {
            "emb_dim": self.emb_dim,
            "lag": max(1, round(self.lag_time / dt)),
            "min_tsep": max(1, round(self.min_tsep_time / dt)),
            "trajectory_len": max(2, round(self.trajectory_time / dt)),
            "fit_offset": round(self.fit_offset_time / dt),
        }


def mean_period(trajectories: np.ndarray, dt: float) -> float:
    """Mean period (time units) of ``(N, T, D)`` data: ``1 / mean frequency`` of the power
    spectrum (each series' mean removed), averaged over the coordinates. nolds takes its default
    Theiler window the same way (``lyap_r``'s ``min_tsep``)."""
    x = np.asarray(trajectories, dtype=float)
    x = x - x.mean(axis=1, keepdims=True)
    power = (np.abs(np.fft.rfft(x, axis=1)) ** 2).sum(axis=0)  # (freqs, D)
    freqs = np.fft.rfftfreq(x.shape[1], dt)[:, None]
    mean_freq = (freqs * power).sum(axis=0) / np.maximum(power.sum(axis=0), 1e-300)
    return float(np.mean(1.0 / np.maximum(mean_freq, 1e-300)))


def linear_region(curve: np.ndarray, window: int, level: float = 0.9) -> tuple[int, int]:
    """``(start, end)`` samples (end exclusive) of the linear part of a mean log-divergence curve.

    The slope is averaged over ``window`` samples (one mean period of the data: the stretching
    rate varies around an orbit, so the curve's local slope is modulated with the orbital
    period, and a shorter window picks the modulation's peak: on Lorenz-63 sampled at
    dt = 0.025 a window of a fifth of a period read the exponent 28-34% high, one period
    16-20%); the region is the window of steepest average slope, widened on both sides while
    the average slope stays at least ``level`` times that maximum. Before it lies the transient
    in which separations turn onto the most unstable direction, after it the bend to saturation
    at the attractor's size.
    """
    d = np.asarray(curve, dtype=float)
    w = max(1, min(window, len(d) - 1))
    slope = (d[w:] - d[:-w]) / w  # slope[k]: average over [k, k + w]
    top = int(np.argmax(slope))
    lo, hi = top, top
    while lo > 0 and slope[lo - 1] >= level * slope[top]:
        lo -= 1
    while hi + 1 < len(slope) and slope[hi + 1] >= level * slope[top]:
        hi += 1
    return lo, hi + w + 1


# A coordinate whose mean log-divergence curve rises by more than this share of its fitted
# rise in the very first sample does not resolve the separation's exponential growth: on the
# calibration grid (scripts/calibrate_rosenstein.py) Rössler's z jumps 0.69-0.94 and reads its
# exponent 109-155% high; every other case and coordinate jumps 0.22 or less.
MAX_FIRST_STEP_JUMP = 0.4


def first_step_jump(curve: np.ndarray, end: int) -> float:
    """The mean log-divergence curve's rise in its first sample over its rise up to ``end``
    (the fit region's end, exclusive): near 0 for a curve that starts its exponential stretch
    at once, near 1 for one whose growth happens within a sample."""
    rise = curve[end - 1] - curve[0]
    return float((curve[1] - curve[0]) / rise) if rise > 0 else float("inf")


def derive_rosenstein_params(
    trajectories: np.ndarray,
    dt: float,
    *,
    coordinates: list[int] | None = None,
    emb_dim: int = 7,
    pool: int = DEFAULT_POOL,
    max_series: int | None = None,
    level: float = 0.9,
    device: str = "cpu",
) -> dict[int, RosensteinParams]:
    """Rosenstein parameters chosen from a (real) dataset, deterministically, in time units.

    Returns ``{coordinate index: RosensteinParams}``. Apply the result unchanged to every dataset
    to be compared (``estimate_dataset(ds, params=result)``): the scorecard derives it from the
    real data and uses it for real and generated alike, so both are measured the same way.

    How (a careful analyst's recipe, made automatic):

    - mean period ``T`` from the power spectrum (:func:`mean_period`), pooled over the
      coordinates, so all coordinates share one time scale;
    - embedding lag ``T / 5`` (coordinates of a delay vector neither redundant nor unrelated:
      about where the autocorrelation of an oscillation has dropped by ``1 - 1/e``, the choice
      Rosenstein et al. 1993 recommend) and ``emb_dim`` lags (7: a generous fixed value, about
      ``1.2 T`` of the series per vector);
    - Theiler window ``T``: neighbours must be at least a mean period apart in time;
    - neighbours pooled over ``pool`` series (:mod:`chaosgan.lyapunov.pooled`; 128 by
      default): 10-14 times closer neighbours than one series of 1024 samples offers, so a
      linear stretch over two e-foldings longer (on the calibration grid this took the
      (case, coordinate) pairs within 10% of the truth from 22 of 39 to 34);
    - fit region, per coordinate: the mean log-divergence curve over the series is computed
      for ``10 T`` (at most a quarter of the series) and the region is its linear part before
      saturation (:func:`linear_region`, slopes averaged over one period ``T``), returned as
      ``fit_offset_time`` (start) and
      ``trajectory_time`` (end), so the fit is the same in the fast path and in nolds.

    ``scripts/calibrate_rosenstein.py`` measures the result on a grid of systems and steps.
    A coordinate whose curve rises more than :data:`MAX_FIRST_STEP_JUMP` of its fitted rise in
    the first sample (:func:`first_step_jump`) gets a ``warning``: its estimate is returned but
    should not be trusted (a spiky coordinate such as Rössler's z).

    Args:
        trajectories: ``(N, T, D)`` samples every ``dt`` time units.
        dt: sampling step, time units.
        coordinates: coordinate indices (default the first three).
        emb_dim: embedding dimension.
        pool: series per neighbour pool (1: each series' own points only, nolds' rule).
        max_series: the first this many series are used (default one pool, at least 64: the
            curve is a mean).
        level: passed to :func:`linear_region`.
        device: torch device of the neighbour search.
    """
    x = np.asarray(trajectories, dtype=np.float64)
    if x.ndim != 3 or not np.isfinite(x).all():
        raise ChaosganError("trajectories must be a finite (N, T, D) array")
    if not dt > 0:
        raise ChaosganError(f"dt must be positive, got {dt}")
    coords = list(range(min(x.shape[2], 3))) if coordinates is None else list(coordinates)
    x = x[: max(64, pool) if max_series is None else max_series]
    n = x.shape[1]
    period = mean_period(x[:, :, coords], dt)
    lag = max(1, round(period / 5 / dt))
    tsep = max(1, round(period / dt))
    length = int(min(max(20, round(10 * period / dt)), n // 4))
    if n - (emb_dim - 1) * lag - length + 1 < 2 * tsep + 2:
        raise ChaosganError(
            f"series of {n} samples are too short for Rosenstein at this sampling: the mean "
            f"period is {period:.3g} time units = {period / dt:.0f} samples"
        )
    out = {}
    for c in coords:
        if pool > 1:
            div, counts = pooled_divergence_curves(x[:, :, c], emb_dim, lag, tsep, length, pool)
        else:
            div, counts = divergence_curves(x[:, :, c], emb_dim, lag, tsep, length, device=device)
        curve = np.nanmean(np.where(counts > 0, div, np.nan), axis=0)
        start, end = linear_region(curve, tsep, level)
        jump = first_step_jump(curve, max(end, 2))
        warning = ""
        if not jump <= MAX_FIRST_STEP_JUMP:
            warning = (
                f"the mean log divergence rises {jump:.0%} of its fitted rise in the first "
                "sample: this coordinate does not resolve the separation's exponential growth "
                "(a spiky or coarsely sampled observable), so its exponent is unreliable"
            )
        out[c] = RosensteinParams(
            emb_dim=emb_dim,
            lag_time=lag * dt,
            min_tsep_time=tsep * dt,
            trajectory_time=max(end, start + 2) * dt,
            fit_offset_time=start * dt,
            pool=pool,
            first_step_jump=jump,
            warning=warning,
        )
    return out


@dataclass(frozen=True)
class EckmannParams:
    """Eckmann parameters: embedding and matrix dimension, neighbours, Theiler window (time)."""

    emb_dim: int = 7
    matrix_dim: int = 4
    min_nb: int = 12
    min_tsep_time: float = 1.0

    def in_samples(self, dt: float) -> dict[str, int]:
        return {
            "emb_dim": self.emb_dim,
            "matrix_dim": self.matrix_dim,
            "min_nb": self.min_nb,
            "min_tsep": max(1, round(self.min_tsep_time / dt)),
        }


@dataclass
class CoordinateEstimate:
    """Statistics of one coordinate's per-series exponents (1/time)."""

    median: float
    mean: float
    ci95: tuple[float, float]
    n: int
    n_failed: int
    values: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("values")
        d["ci95"] = list(self.ci95)
        return d


@dataclass
class DatasetEstimate:
    """Per-coordinate exponent statistics of a dataset, with the estimator that made them."""

    method: str
    dt: float
    params: dict[str, float]
    coordinates: dict[str, CoordinateEstimate]
    warnings: list[str] = field(default_factory=list)  # "<coordinate>: why it is unreliable"

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "dt": self.dt,
            "params": self.params,
            "units": "1/time",
            "coordinates": {k: v.to_dict() for k, v in self.coordinates.items()},
            "warnings": list(self.warnings),
        }


def bootstrap_median_ci(
    values: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median (seeded, so reproducible)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        v = float(values[0]) if len(values) else float("nan")
        return (v, v)
    rng = np.random.default_rng(seed)
    medians = np.median(values[rng.integers(0, len(values), (n_boot, len(values)))], axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(medians, [alpha, 1 - alpha])
    return float(lo), float(hi)


def summarise(values: np.ndarray, seed: int = 0) -> CoordinateEstimate:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        nan = float("nan")
        return CoordinateEstimate(nan, nan, (nan, nan), 0, len(values), values)
    return CoordinateEstimate(
        median=float(np.median(finite)),
        mean=float(np.mean(finite)),
        ci95=bootstrap_median_ci(finite, seed=seed),
        n=len(finite),
        n_failed=len(values) - len(finite),
        values=values,
    )


def _nolds_one(args: tuple[str, np.ndarray, float, dict]) -> float:
    method, series, dt, kwargs = args
    import warnings

    nm = nolds_measures()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            if method == "rosenstein":
                return float(nm.lyap_r(series, tau=dt, fit="poly", **kwargs))
            return float(nm.lyap_e(series, tau=dt, **kwargs)[0])
        except (ValueError, np.linalg.LinAlgError):
            return float("nan")


def estimate_series(
    series: np.ndarray,
    dt: float,
    method: str = "rosenstein",
    params: RosensteinParams | EckmannParams | None = None,
    backend: str = "auto",
    n_jobs: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Largest exponent (1/time) of each row of ``series`` (shape ``(B, n)``); NaN where it fails.

    ``backend``: ``fast`` (batched torch, Rosenstein only), ``nolds`` (the reference, in
    ``n_jobs`` processes, default all cores), or ``auto`` (fast for Rosenstein from
    ``FAST_PATH_MIN_SERIES`` series on, nolds otherwise). Rosenstein parameters with
    ``pool > 1`` go through :mod:`chaosgan.lyapunov.pooled` (``fast`` and ``auto``; nolds has
    no pooled search).
    """
    if method not in METHODS:
        raise ChaosganError(f"unknown method {method!r} (valid: {', '.join(METHODS)})")
    if backend not in BACKENDS:
        raise ChaosganError(f"unknown backend {backend!r} (valid: {', '.join(BACKENDS)})")
    series = np.asarray(series, dtype=np.float64)
    if params is None:
        params = RosensteinParams() if method == "rosenstein" else EckmannParams()
    kwargs = params.in_samples(dt)
    if method == "rosenstein" and params.pool > 1:
        if backend == "nolds":
            raise ChaosganError(
                f"nolds searches each series' own neighbours only: pool {params.pool} needs "
                "backend fast or auto (or pool 1)"
            )
        return rosenstein_pooled(series, pool=params.pool, tau=dt, **kwargs)
    if backend == "auto":
        backend = (
            "fast" if method == "rosenstein" and len(series) >= FAST_PATH_MIN_SERIES else "nolds"
        )
    if backend == "fast":
        if method != "rosenstein":
            raise ChaosganError("the fast backend implements Rosenstein only")
        return rosenstein_batch(series, tau=dt, **kwargs)
    jobs = [(method, s, dt, kwargs) for s in series]
    workers = n_jobs or os.cpu_count() or 1
    if workers == 1 or len(jobs) < 4:
        it = map(_nolds_one, jobs)
        return np.array(list(tqdm(it, total=len(jobs), disable=not progress, desc=method)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        it = pool.map(_nolds_one, jobs, chunksize=max(1, len(jobs) // (8 * workers)))
        return np.array(list(tqdm(it, total=len(jobs), disable=not progress, desc=method)))


DIAGNOSTICS = ("first_step_jump", "warning")  # RosensteinParams fields that are not parameters


def params_dict(params: RosensteinParams | EckmannParams) -> dict[str, float]:
    """An estimator's parameters as the JSON records them (a warning is reported apart)."""
    return {k: v for k, v in asdict(params).items() if k not in DIAGNOSTICS}


def estimate_dataset(
    ds: Dataset,
    method: str = "rosenstein",
    params: RosensteinParams | EckmannParams | Mapping[int, RosensteinParams] | str | None = None,
    backend: str = "auto",
    coordinates: list[int] | None = None,
    n_jobs: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> DatasetEstimate:
    """Per-coordinate largest-exponent statistics of every series in ``ds`` (1/time units).

    ``params``: ``None`` for the fixed defaults; ``"auto"`` for Rosenstein parameters derived
    from ``ds`` itself (:func:`derive_rosenstein_params`); explicit parameters for every
    coordinate; or a mapping ``{coordinate index: RosensteinParams}`` (what
    :func:`derive_rosenstein_params` returns). To compare two datasets, derive the parameters
    from one and pass them for both.
    """
    n, t, d = ds.trajectories.shape
    coords = list(range(min(d, 3))) if coordinates is None else coordinates
    if isinstance(params, str):
        if params != "auto" or method != "rosenstein":
            raise ChaosganError(
                f"params must be 'auto' (Rosenstein only) or explicit, got {params!r}"
            )
        params = derive_rosenstein_params(ds.trajectories, ds.dt, coordinates=coords)
    if params is None:
        params = RosensteinParams() if method == "rosenstein" else EckmannParams()
    if isinstance(params, Mapping):
        missing = [c for c in coords if c not in params]
        if missing:
            raise ChaosganError(f"no Rosenstein parameters for coordinate {missing[0]}")
        per_coord = {c: params[c] for c in coords}
    else:
        per_coord = {c: params for c in coords}
    names = ds.coordinate_names
    stats = {}
    groups: dict = {}
    for c in coords:  # coordinates sharing parameters go through the estimator together,
        # unless their neighbours are pooled (a pool must hold one coordinate's series only)
        pooled = getattr(per_coord[c], "pool", 1) > 1
        groups.setdefault((per_coord[c], c if pooled else None), []).append(c)
    for (p, _), group in groups.items():
        flat = np.concatenate([ds.trajectories[:, :, c] for c in group])
        try:
            values = estimate_series(flat, ds.dt, method, p, backend, n_jobs, progress)
        except ChaosganError:
            raise
        except ValueError as exc:
            raise ChaosganError(f"{method}: {exc}") from None
        for i, c in enumerate(group):
            stats[names[c]] = summarise(values[i * n : (i + 1) * n], seed)
    stats = {names[c]: stats[names[c]] for c in coords}
    warnings = [
        f"{names[c]}: {per_coord[c].warning}"
        for c in coords
        if getattr(per_coord[c], "warning", "")
    ]
    if len({p for p, _ in groups}) == 1:
        shown = params_dict(next(iter(groups))[0])
    else:
        shown = {names[c]: params_dict(per_coord[c]) for c in coords}
    return DatasetEstimate(method, ds.dt, shown, stats, warnings)
