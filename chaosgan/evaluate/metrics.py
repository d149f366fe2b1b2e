"""Real-vs-generated fidelity metrics: distributional, spectral, dynamical, discriminative.

Pure functions, no I/O. Each metric takes two arrays of trajectories ``(N, T, D)`` (the
reference, real data, first) and returns a number; the scorecard
(:mod:`chaosgan.evaluate.scorecard`) computes each one for real vs generated and for real vs an
independent real dataset, the floor that sampling noise alone gives.

- ``wasserstein_over_std``: 1-Wasserstein distance between the marginal distributions of one
  coordinate (scipy), divided by the real coordinate's std. 0 is identical; ~0.01 is the floor
  for 1000 Lorenz series; 1 means the mass is shifted by a whole std.
- ``state_space_divergence`` (D_stsp): KL divergence between 30-bins-per-dimension histograms of
  the standardised state space, Laplace smoothing 1e-5, as in the dynamical-systems-
  reconstruction literature (Koppe et al. 2019, PLOS Comput. Biol.; Brenner et al. 2022, ICML).
  0 is identical, larger is worse (unbounded).
- ``hellinger_spectrum`` (D_H): Hellinger distance between the power spectra of each
  standardised coordinate, Gaussian-smoothed (sigma = 20 frequency bins) and normalised, averaged
  over coordinates (Mikhaeil et al. 2022, NeurIPS). In [0, 1]; 0 is identical.
- ``autocorrelation_distance``: mean absolute difference between the mean autocorrelation
  functions of each coordinate up to ``max_lag_time`` (default 5 time units). In [0, 2].
- ``one_step_error``: how far each generated ``x_{t+1}`` lies from the flow of ``x_t`` over dt,
  divided by the attractor diameter (bounding-box diagonal of the real data); median and 99th
  percentile. Real data score ~0; predicting no change scores about 15% at dt = 0.1 on Lorenz.
- ``speed_factor``: how fast a series moves along the flow: for each series the least-squares
  factor c in ``x_{t+1} - x_t ~ c (Phi_dt(x_t) - x_t)`` (its steps against the flow's own steps
  from the same samples), median over series. Real data score 1; a generator that draws orbits
  too slowly scores below 1 (an orbit slowed uniformly by c has exponents c times the real ones
  per unit time). Noise in the steps does not bias it (the regressor is the flow's step).
- ``correlation_dimension``: nolds ``corr_dim`` of the first coordinate (delay embedding) with
  radii fixed from the real data, median over series.
- ``diversity``: mean RMS distance between two different series of a set (standardised with
  the real data's statistics), over random pairs. Independent series of an ergodic system score
  about sqrt(2); a mode-collapsed generator, whose samples are near-copies, scores near 0 (with
  k equally likely modes, about 1 - 1/k of the real value). The scorecard reports it as a
  ratio, other / real (1 best).
- ``discriminative_score``: held-out accuracy of a small 1-D CNN trained to tell the two sets
  apart (it sees the whole time series, so temporal structure counts). 0.5 is indistinguishable.
- ``grid_recurrence``: the share of samples whose nearest state-space neighbour in the same
  series (at least ``exclude`` samples away) lies a multiple of ``period`` samples away, +-1.
  A recurrence-time statistic (Marwan et al. 2007, Phys. Rep. 438:237): a chaotic orbit returns
  near itself after irregular times, so real series score the chance level (3/64 ~ 0.047 for
  the default period of 64 samples, two rows of the 32x32 image); a generator that repeats a
  template on the image grid (the checkerboard of strided transposed convolutions) scores far
  above it, and its series' nearest neighbours then stay close for ever, which pulls the
  Rosenstein exponent down.
- ``crossing_rate_ratio``: per coordinate, how often the series cross the real data's mean
  (with a dead band, :func:`crossing_rate`), other / real. Rice (1944)'s level-crossing rate,
  a statistic of the long-time dynamics that the one-step error and the marginals miss: on
  Lorenz-63's x and y it is the rate of switches between the wings.
- ``return_map_ratio``: per coordinate, how much of each local maximum the one before
  explains (Lorenz 1963's return map of successive maxima, :func:`maxima_map_unexplained`),
  other / real: 1 when each loop's height fixes the next as firmly as in the real data, 0 when
  they come in random order (how deterministic the map is, not whether it is the real one).

**D_stsp and D_H as the papers compute them.** ``state_space_divergence_reference`` and
``hellinger_spectrum_reference`` transcribe the reference code of the dynamical-systems-
reconstruction papers (DurstewitzLab/GTF-shPLRNN, ``src/measures/stsp_measure.jl`` and
``pse.jl``), which take *one* trajectory ``(T, D)`` per side. Our pooled versions above take all
N series at once; where they differ, and what each difference does:

- D_stsp bin range: reference ``[min - 0.1 std, max + 0.1 std]`` of the real data, generated
  points outside it *dropped*; ours ``[min, max]``, generated points *clipped* into the edge bins
  (a generator that overshoots the attractor is charged for it in the edge bins instead of
  disappearing from the histogram).
- D_stsp Laplace smoothing: reference adds alpha = 1e-5 to the *counts*, ours to the
  *probabilities*. With 10^5-10^6 points the reference's empty-bin probability is ~1e-11, ours
  1e-5, so a generated histogram that misses bins the real data visits costs ~log(1e6) more per
  unit of missed mass in the reference: our values are smaller and saturate earlier.
- D_stsp dimensions: the reference bins every coordinate (and switches to a GMM estimate from 6
  on); ours bins the first three. Standardising first (ours) changes nothing: bins are affine.
- D_H: identical definitions for one series (standardise, |rfft|^2, Gaussian smoothing with
  scipy's reflect padding, normalise, Hellinger, mean over coordinates; tested to 1e-12). Ours
  averages the N spectra before comparing (pooled); the reference compares one long trajectory,
  whose finer frequency grid makes a smoothing of ``sigma`` bins a narrower band.
- Both: the floor depends on how many samples enter the histogram / spectrum, so a pooled number
  for 1000 x 1024 samples and a paper's number for one 10^5-sample trajectory are on different
  floors. The scorecard therefore also gives the papers' protocol at our series length
  (``*_per_series``: the reference measure between real series i and generated series i,
  median over pairs), with its own floor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.stats import wasserstein_distance

from chaosgan.integrate import advance
from chaosgan.nolds_compat import nolds_measures

Flow = Callable[[np.ndarray, Mapping[str, Any] | None], np.ndarray]


def successive_maxima(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(m_n, m_{n+1})``: every pair of consecutive local maxima of each series ``(N, T)``,
    pooled over series (a pair never spans two series).

    Plotted against each other they are the return map of successive maxima, Lorenz's own test
    of determinism (Lorenz 1963, J. Atmos. Sci. 20:130, Fig. 4: the maxima of Lorenz-63's z
    lie on a thin tent-shaped curve, so each loop's height fixes the next one). A generator
    whose series have the right histograms but no such curve draws loops of unrelated sizes. A
    local maximum is a sample above the one before and not below the one after.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"series must be (N, T), got shape {x.shape}")
    peak = np.zeros(x.shape, dtype=bool)
    peak[:, 1:-1] = (x[:, 1:-1] > x[:, :-2]) & (x[:, 1:-1] >= x[:, 2:])
    rows, cols = np.nonzero(peak)  # row-major: each series' maxima in time order
    same = rows[1:] == rows[:-1]
    values = x[rows, cols]
    return values[:-1][same], values[1:][same]


def maxima_map_unexplained(series: np.ndarray, bins: int = 20) -> float:
    """The share of the variance of each local maximum ``m_{n+1}`` of series ``(N, T)`` that
    the one before, ``m_n``, does not explain (:func:`successive_maxima`): ``var(m_{n+1} -
    f(m_n)) / var(m_{n+1})`` with ``f`` the median of ``m_{n+1}`` in each of ``bins``
    equally populated bins of ``m_n``. Near 0 for a deterministic return map, 1 for maxima in
    random order; real Lorenz-63 z at dt = 0.1 scores about 0.4 (sampling blurs the peaks).
    NaN when there are fewer than ``5 bins`` pairs."""
    now, after = successive_maxima(series)
    if len(now) < 5 * bins or not np.var(after) > 0:
        return float("nan")
    which = np.digitize(now, np.quantile(now, np.linspace(0, 1, bins + 1)[1:-1]))
    medians = np.array([np.median(after[which == b]) if np.any(which == b) else 0.0
                        for b in range(bins)])  # fmt: skip
    return float(np.var(after - medians[which]) / np.var(after))


def return_map_ratio(real: np.ndarray, other: np.ndarray, bins: int = 20) -> list[float]:
    """Per coordinate of ``(N, T, D)`` series, the share of the variance of each local maximum
    that the maximum before explains (``1 -`` :func:`maxima_map_unexplained`), ``other``'s over
    ``real``'s: 1 best, 0 for maxima in random order, below 0 for worse than random (a map
    played backwards, whose binned medians then mislead); NaN when either side has too few
    maxima or the real map explains less than ``5%`` (no map to compare with).

    Lorenz's own test of a deterministic flow (Lorenz 1963, Fig. 4): each loop's height fixes
    the next one's. A generator can draw loops of the right heights, switch wings at the right
    rate and follow the flow closely from step to step while the heights come in an order no
    orbit would draw. Real vs real reads 1 within a few percent with 100 series of 1024
    samples at dt = 0.1; 5% noise reads 0.74-0.9; denser sampling blurs the peaks less and
    reads above 1 (1.2-1.4 for the same orbits at dt = 0.07 judged against dt = 0.1). It
    measures how deterministic the map is, not whether it is the real one: series that repeat
    one loop (a generator's clock) explain much with the wrong map, whose shape the report's
    ``maxima_maps.png`` shows. A share of variance weighs a few maxima far off the map heavily.
    """
    ratios = []
    for c in range(real.shape[2]):
        own = 1.0 - maxima_map_unexplained(real[:, :, c], bins)
        theirs = 1.0 - maxima_map_unexplained(other[:, :, c], bins)
        ratios.append(float(theirs / own) if own > 0.05 else float("nan"))
    return ratios


def crossing_rate(series: np.ndarray, centre: float, band: float, dt: float) -> np.ndarray:
    """Crossings of ``centre`` per time unit by each series ``(N, T)`` sampled every ``dt``,
    counted with a dead band (a Schmitt trigger): a series is on a side once it is more than
    ``band`` beyond ``centre``, and a crossing is a move to the other side; wandering inside
    the band counts nothing. Returns ``(N,)``.

    On Lorenz-63's x (or y) about 0 this counts switches between the two wings, the symbolic
    dynamics of the attractor (Lorenz 1963 counts the circuits made about each wing): at
    dt = 0.1 and a band of 0.3 std, about 0.5 per time unit at rho = 26 and 0.7 at 37, so a
    series stays on one wing for longer at small rho. On a coordinate with a nonzero mean (z
    about its mean) it counts oscillations instead.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"series must be (N, T) with T >= 2, got shape {x.shape}")
    if not band >= 0 or not dt > 0:
        raise ValueError(f"band must be >= 0 and dt > 0, got {band} and {dt}")
    side = np.where(x > centre + band, 1, np.where(x < centre - band, -1, 0))
    last = np.where(side != 0, np.arange(x.shape[1]), 0)
    np.maximum.accumulate(last, axis=1, out=last)  # index of the last sample outside the band
    held = np.take_along_axis(side, last, axis=1)  # the side each sample is on (0: not yet)
    crossings = np.sum(held[:, 1:] * held[:, :-1] < 0, axis=1)
    return crossings / ((x.shape[1] - 1) * dt)  # the series' span


def mean_crossing_rates(
    series: np.ndarray, real: np.ndarray, dt: float, band: float = 0.3
) -> np.ndarray:
    """``(D,)``: per coordinate of ``(N, T, D)`` series, the mean :func:`crossing_rate` about
    the real data's mean ``(N', T', D)``, with a dead band of ``band`` real standard deviations
    (the real data's own rates when ``series`` is ``real``)."""
    x, r = np.asarray(series, dtype=float), np.asarray(real, dtype=float)
    rates = []
    for c in range(r.shape[2]):
        centre, width = float(r[:, :, c].mean()), band * float(r[:, :, c].std())
        rates.append(crossing_rate(x[:, :, c], centre, width, dt).mean())
    return np.array(rates)


def crossing_rate_ratio(
    real: np.ndarray, other: np.ndarray, dt: float, band: float = 0.3
) -> list[float]:
    """Per coordinate of ``(N, T, D)`` series, the mean :func:`crossing_rate` of ``other``
    over that of ``real``, both about the real data's mean with a dead band of ``band`` real
    standard deviations (:func:`mean_crossing_rates`; 1 best; above 1: the series switch too
    often).

    The level-crossing rate (Rice 1944, Bell Syst. Tech. J. 23:282) counts events far apart
    in time: on Lorenz-63's x and y the switches between the two wings, which a generator can
    get wrong while every sample lies on the attractor and every step follows the flow
    closely. Real vs real reads 1 to a few percent with 100 series of 1024 samples.
    """
    own = mean_crossing_rates(real, real, dt, band)
    theirs = mean_crossing_rates(other, real, dt, band)
    return [float(t / o) if o > 0 else float("nan") for t, o in zip(theirs, own, strict=True)]


def _subsample(values: np.ndarray, max_n: int, seed: int = 0) -> np.ndarray:
    if len(values) <= max_n:
        return values
    return values[np.random.default_rng(seed).choice(len(values), max_n, replace=False)]


def wasserstein_over_std(real: np.ndarray, gen: np.ndarray, max_n: int = 400_000) -> list[float]:
    """Per coordinate: W1(real, generated) / std(real)."""
    out = []
    for c in range(real.shape[2]):
        r = _subsample(real[..., c].ravel(), max_n, 1)
        g = _subsample(gen[..., c].ravel(), max_n, 2)
        out.append(float(wasserstein_distance(r, g) / r.std()))
    return out


def state_space_divergence(
    real: np.ndarray, gen: np.ndarray, bins: int = 30, smoothing: float = 1e-5
) -> float:
    """D_stsp: KL(p_real || p_gen) of standardised state-space histograms (first 3 coords)."""
    d = min(real.shape[2], 3)
    mean = real[..., :d].reshape(-1, d).mean(axis=0)
    std = real[..., :d].reshape(-1, d).std(axis=0)
    r = (real[..., :d].reshape(-1, d) - mean) / std
    g = (gen[..., :d].reshape(-1, d) - mean) / std
    edges = [np.linspace(lo, hi, bins + 1) for lo, hi in zip(r.min(0), r.max(0), strict=True)]
    p = np.histogramdd(r, bins=edges)[0].ravel()
    q = np.histogramdd(np.clip(g, r.min(0), r.max(0)), bins=edges)[0].ravel()
    p = (p / p.sum() + smoothing) / (1 + smoothing * p.size)
    q = (q / max(q.sum(), 1) + smoothing) / (1 + smoothing * q.size)
    return float(np.sum(p * np.log(p / q)))


def state_space_divergence_reference(
    x: np.ndarray, x_gen: np.ndarray, bins: int = 30, alpha: float = 1e-5
) -> float:
    """D_stsp of one trajectory ``(T, D)`` against another, as GTF-shPLRNN computes it.

    Bins span ``[min - 0.1 std, max + 0.1 std]`` of ``x`` per coordinate (every coordinate; the
    reference switches to a GMM estimate from D = 6, which is not transcribed here); generated
    points outside are dropped; Laplace smoothing adds ``alpha`` to the counts; KL(p_x || p_gen).
    NaN when no generated point falls inside the bins (the reference's convention).
    """
    std = x.std(axis=0, ddof=1)
    edges = [
        np.linspace(lo, hi, bins + 1)
        for lo, hi in zip(x.min(0) - 0.1 * std, x.max(0) + 0.1 * std, strict=True)
    ]
    p = np.histogramdd(x, bins=edges)[0].ravel()
    q = np.histogramdd(x_gen, bins=edges)[0].ravel()
    if q.sum() == 0:
        return float("nan")
    p = (p + alpha) / (p.sum() + alpha * p.size)
    q = (q + alpha) / (q.sum() + alpha * q.size)
    return float(np.sum(p * np.log(p / q)))


def hellinger_spectrum_reference(x: np.ndarray, x_gen: np.ndarray, sigma: float = 20.0) -> float:
    """D_H of one trajectory ``(T, D)`` against another, as GTF-shPLRNN's ``pse.jl`` computes
    it: z-score each coordinate, |rfft|^2, Gaussian smoothing (scipy, reflect), negatives set to
    0, normalise, Hellinger distance ``sqrt(sum (sqrt p - sqrt q)^2 / 2)``, mean over coordinates.
    """

    def spectrum(a: np.ndarray) -> np.ndarray:
        z = (a - a.mean(axis=0)) / a.std(axis=0, ddof=1)
        ps = np.abs(np.fft.rfft(z, axis=0)) ** 2
        if sigma > 0:
            ps = np.clip(gaussian_filter1d(ps, sigma, axis=0), 0, None)
        return ps / ps.sum(axis=0)

    p, q = spectrum(x), spectrum(x_gen)
    return float(np.mean(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=0) / 2)))


def per_series_median(
    measure: Callable[[np.ndarray, np.ndarray], float], real: np.ndarray, gen: np.ndarray
) -> float:
    """The papers' one-trajectory protocol at our series length: ``measure(real[i], gen[i])``
    over the pairs ``i < min(N_real, N_gen)``, median of the finite values (NaN if none)."""
    values = np.array([measure(r, g) for r, g in zip(real, gen, strict=False)])
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else float("nan")


def power_spectra(x: np.ndarray, sigma: float = 20.0) -> np.ndarray:
    """Mean power spectrum of each standardised coordinate, smoothed and normalised: (D, F)."""
    z = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-12)
    power = (np.abs(np.fft.rfft(z, axis=1)) ** 2).mean(axis=0).T  # (D, F)
    power = gaussian_filter1d(power, sigma, axis=1)
    return power / power.sum(axis=1, keepdims=True)


def hellinger_spectrum(real: np.ndarray, gen: np.ndarray, sigma: float = 20.0) -> float:
    """D_H: Hellinger distance between smoothed power spectra, averaged over coordinates."""
    p, q = power_spectra(real, sigma), power_spectra(gen, sigma)
    h = np.sqrt(np.clip(1 - np.sum(np.sqrt(p * q), axis=1), 0, None))
    return float(h.mean())


def autocorrelations(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Mean autocorrelation function of each coordinate up to ``max_lag``: (D, max_lag + 1)."""
    z = x - x.mean(axis=1, keepdims=True)
    n = x.shape[1]
    f = np.fft.rfft(z, 2 * n, axis=1)
    acov = np.fft.irfft(np.abs(f) ** 2, axis=1)[:, : max_lag + 1].mean(axis=0).T  # (D, L)
    return acov / acov[:, :1]


def autocorrelation_distance(
    real: np.ndarray, gen: np.ndarray, dt: float, max_lag_time: float = 5.0
) -> float:
    """Mean |ACF_real - ACF_gen| over lags 0..max_lag_time and coordinates."""
    lag = min(int(round(max_lag_time / dt)), real.shape[1] - 1)
    return float(np.abs(autocorrelations(real, lag) - autocorrelations(gen, lag)).mean())


def attractor_diameter(x: np.ndarray) -> float:
    """Diagonal of the bounding box of all samples."""
    flat = x.reshape(-1, x.shape[2])
    return float(np.linalg.norm(flat.max(axis=0) - flat.min(axis=0)))


def flow_step(
    states: np.ndarray, flow: Flow, params: Any, dt: float, substeps: int = 10
) -> np.ndarray:
    """``Phi_dt`` of each state ``(N, D)``: where the flow takes it in ``dt`` (RK4 in
    ``substeps`` steps); a state the flow blows up from comes back non-finite, not an error."""
    with np.errstate(all="ignore"):
        return advance(flow, states.T.copy(), params, dt / substeps, substeps).T


def one_step_errors(
    x: np.ndarray,
    flow: Flow,
    params: Any,
    dt: float,
    diameter: float,
    substeps: int = 10,
    max_pairs: int = 200_000,
) -> np.ndarray:
    """``|x_{t+1} - Phi_dt(x_t)| / diameter`` for (a subsample of) consecutive pairs."""
    d = x.shape[2]
    a = x[:, :-1].reshape(-1, d)
    b = x[:, 1:].reshape(-1, d)
    pick = _subsample(np.arange(len(a)), max_pairs, 3)
    pred = flow_step(a[pick], flow, params, dt, substeps)
    err = np.linalg.norm(b[pick] - pred, axis=1) / diameter
    return np.where(np.isfinite(err), err, np.inf)


def speed_factor(
    x: np.ndarray,
    flow: Flow,
    params: Any,
    dt: float,
    substeps: int = 10,
    max_series: int = 200,
) -> float:
    """Median over (up to ``max_series``) series of the factor c fitted by least squares in
    ``x_{t+1} - x_t = c (Phi_dt(x_t) - x_t)``: 1 for orbits, < 1 for series drawn too slowly."""
    x = x[:max_series]
    n, t, d = x.shape
    a = x[:, :-1].reshape(-1, d)
    pred = flow_step(a, flow, params, dt, substeps)
    moved = (x[:, 1:] - x[:, :-1]).reshape(n, -1)
    flowed = (pred - a).reshape(n, -1)
    with np.errstate(all="ignore"):
        factors = (moved * flowed).sum(axis=1) / (flowed * flowed).sum(axis=1)
    factors = factors[np.isfinite(factors)]
    return float(np.median(factors)) if len(factors) else float("nan")


def trivial_baselines(real: np.ndarray, diameter: float, seed: int = 0) -> dict[str, float]:
    """Median one-step 'errors' of predicting no change, and of an unrelated attractor point."""
    d = real.shape[2]
    a = real[:, :-1].reshape(-1, d)
    b = real[:, 1:].reshape(-1, d)
    pick = _subsample(np.arange(len(a)), 200_000, 4)
    other = np.random.default_rng(seed).permutation(pick)
    return {
        "no_change": float(np.median(np.linalg.norm(b[pick] - a[pick], axis=1)) / diameter),
        "random_point": float(np.median(np.linalg.norm(b[pick] - a[other], axis=1)) / diameter),
    }


def correlation_dimension(
    x: np.ndarray, rvals: np.ndarray, n_series: int = 40, emb_dim: int = 5, lag: int = 1
) -> float:
    """Median nolds ``corr_dim`` of the first coordinate over the first ``n_series`` series."""
    nm = nolds_measures()
    values = []
    for s in x[:n_series, :, 0]:
        try:
            values.append(nm.corr_dim(s, emb_dim, lag=lag, rvals=rvals, fit="poly"))
        except (ValueError, np.linalg.LinAlgError):
            continue
    return float(np.median(values)) if values else float("nan")


def corr_dim_radii(real: np.ndarray) -> np.ndarray:
    """Radii for ``corr_dim``, fixed from the real data: 10 log-spaced in [0.1, 0.5] std."""
    std = real[..., 0].std()
    return np.logspace(np.log10(0.1 * std), np.log10(0.5 * std), 10)


def diversity(x: np.ndarray, reference: np.ndarray, n_pairs: int = 2000, seed: int = 0) -> float:
    """Mean over random pairs ``i != j`` of the RMS distance between series ``x[i]`` and
    ``x[j]``, each coordinate divided by ``reference``'s std (the real data)."""
    std = reference.reshape(-1, reference.shape[2]).std(0)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), n_pairs)
    j = (i + rng.integers(1, len(x), n_pairs)) % len(x)  # never i itself
    d = (x[i] - x[j]) / std
    return float(np.sqrt((d * d).mean(axis=(1, 2))).mean())


def grid_recurrence(
    x: np.ndarray,
    period: int = 64,
    tolerance: int = 1,
    exclude: int = 32,
    max_series: int = 200,
    max_steps: int = 2048,
    seed: int = 0,
) -> float:
    """Share of samples whose nearest neighbour (Euclidean, in the series' own state space,
    ``|t - s| >= exclude``) lies at ``|t - s|`` within ``tolerance`` of a multiple of ``period``;
    exact (every pair of the first ``max_steps`` samples of up to ``max_series`` series).
    Returns NaN for series too short to hold a neighbour that far away."""
    pick = _subsample(np.arange(len(x)), max_series, seed)
    steps = min(x.shape[1], max_steps)
    if steps <= exclude:
        return float("nan")
    t = np.arange(steps)
    far = np.abs(t[:, None] - t[None, :]) >= exclude
    hits = []
    for i in pick:
        s = np.asarray(x[i, :steps], dtype=np.float64)
        sq = (s * s).sum(1)
        dist = sq[:, None] + sq[None, :] - 2.0 * (s @ s.T)
        dist = np.where(far & np.isfinite(dist), dist, np.inf)
        nearest = np.argmin(dist, axis=1)
        residue = np.abs(nearest - t) % period
        hits.append(np.minimum(residue, period - residue) <= tolerance)
    return float(np.mean(hits))


def discriminative_score(
    real: np.ndarray, gen: np.ndarray, seed: int = 0, epochs: int = 8, max_series: int = 1000
) -> float:
    """Held-out accuracy of a 1-D CNN telling ``real`` from ``gen`` (0.5: indistinguishable).

    The series are standardised with the real data's statistics and given to the network with
    their first differences as extra channels (so roughness and time order are one layer away);
    70% of each set trains, 30% tests; the network (three strided convolutions, global average
    pooling) sees the whole series. Seeded: the same inputs give the same score.
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    r = real[rng.permutation(len(real))[:max_series]]
    g = gen[rng.permutation(len(gen))[:max_series]]
    n = min(len(r), len(g))
    r, g = r[:n], g[:n]
    mean, std = r.reshape(-1, r.shape[2]).mean(0), r.reshape(-1, r.shape[2]).std(0)
    z = np.concatenate([(r - mean) / std, (g - mean) / std])
    dz = np.diff(z, axis=1, prepend=z[:, :1])
    dz = dz / (dz[:n].reshape(-1, dz.shape[2]).std(0) + 1e-12)
    x = np.concatenate([z, dz], axis=2).transpose(0, 2, 1)
    x = np.nan_to_num(np.clip(x, -10, 10)).astype(np.float32)
    y = np.concatenate([np.ones(n), np.zeros(n)]).astype(np.float32)
    cut = int(0.7 * n)  # stratified: 70% of each set trains, so a constant guess scores 0.5
    real_idx, gen_idx = rng.permutation(n), n + rng.permutation(n)
    train = np.concatenate([real_idx[:cut], gen_idx[:cut]])
    test = np.concatenate([real_idx[cut:], gen_idx[cut:]])
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    channels = x.shape[1]
    net = nn.Sequential(
        nn.Conv1d(channels, 16, 9, stride=4, padding=4),
        nn.ReLU(),
        nn.Conv1d(16, 32, 9, stride=4, padding=4),
        nn.ReLU(),
        nn.Conv1d(32, 32, 9, stride=4, padding=4),
        nn.ReLU(),
        nn.AdaptiveAvgPool1d(1),
        nn.Flatten(),
        nn.Linear(32, 1),
    )
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    gen_t = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.from_numpy(train)[torch.randperm(len(train), generator=gen_t)]
        for i in range(0, len(perm), 64):
            idx = perm[i : i + 64]
            loss = nn.functional.binary_cross_entropy_with_logits(net(xt[idx]).squeeze(1), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred = net(xt[torch.from_numpy(test)]).squeeze(1) > 0
    return float((pred.float() == yt[torch.from_numpy(test)]).float().mean())
