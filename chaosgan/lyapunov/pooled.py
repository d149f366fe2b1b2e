"""Rosenstein's mean log divergence with nearest neighbours pooled over a dataset's series.

Rosenstein, Collins & De Luca (1993) look for each delay vector's nearest neighbour inside its
own series. In a series of 1024 samples the nearest neighbour is far away: a few percent of the
attractor, so the pair saturates after two or three e-foldings, and the short linear stretch of
the mean log divergence is bent by the transient at its start and the saturation at its end.
A dataset of many series of the same system holds far more points on the same attractor, so
here each point's neighbour is searched among the points of ``pool`` series (its own series
outside the Theiler window, the others anywhere): with 128 series neighbours come 10-14 times
closer and the linear stretch grows by as many e-foldings (Kantz 1994, Phys. Lett. A 185, 77,
uses more neighbours per point in the same spirit; Kantz & Schreiber, *Nonlinear Time Series
Analysis*, 2004, sec. 5.3). Each series still gets its own curve and its own exponent (the
mean over its own points), so datasets are still compared as distributions of per-series
values.

Pools have exactly ``pool`` series, so an estimate does not depend on how many series a dataset
holds (the last pool overlaps the one before it when ``pool`` does not divide the count; each
series' curve comes from the first pool that holds it). A dataset of fewer series is one pool.

The neighbour search is scipy's k-d tree (:class:`scipy.spatial.cKDTree`), exact, queried for
the nearest few points and again for more where all of those lie in the point's own Theiler
window. Divergences and counts follow :func:`chaosgan.lyapunov.rosenstein.divergence_curves`
(Euclidean distance of the followed delay vectors, zero distances skipped), so ``pool = 1`` is
that function's neighbour rule, within one series, but for one thing: a point at distance 0 (an
exact copy) is never a neighbour here.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from chaosgan.errors import ChaosganError
from chaosgan.lyapunov.rosenstein import fit_slopes, points_with_future

FIRST_QUERY = 16  # neighbours asked for first; rows with none valid ask for 4x more, and so on


def pool_groups(n_series: int, pool: int) -> list[tuple[int, int, int]]:
    """``(start, stop, keep_from)`` of each pool: series ``start:stop`` form the pool and the
    curves of series ``keep_from:stop`` are taken from it (pools of exactly ``pool`` series;
    the last one overlaps the one before it; fewer series than ``pool``: one pool of all)."""
    if pool < 1:
        raise ChaosganError(f"pool must be at least 1, got {pool}")
    if n_series <= pool:
        return [(0, n_series, 0)]
    groups = [(s, s + pool, s) for s in range(0, n_series - pool + 1, pool)]
    covered = groups[-1][1]
    if covered < n_series:
        groups.append((n_series - pool, n_series, covered))
    return groups


def rosenstein_pooled(
    series: np.ndarray,
    emb_dim: int,
    lag: int,
    min_tsep: int,
    trajectory_len: int,
    pool: int,
    tau: float = 1.0,
    fit_offset: int = 0,
) -> np.ndarray:
    """Largest exponent of each row of ``series`` (``(B, n)``), per ``tau`` time units, from
    its pooled mean log divergence (:func:`pooled_divergence_curves`) and the line fit of
    :func:`chaosgan.lyapunov.rosenstein.rosenstein_batch` (``k`` from ``fit_offset`` to
    ``trajectory_len``). Parameters in samples, as nolds' ``lyap_r``."""
    div, counts = pooled_divergence_curves(series, emb_dim, lag, min_tsep, trajectory_len, pool)
    return fit_slopes(div, counts, fit_offset) / tau


def pooled_divergence_curves(
    series: np.ndarray,
    emb_dim: int,
    lag: int,
    min_tsep: int,
    trajectory_len: int,
    pool: int,
    workers: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean log divergence ``d(k)``, ``k < trajectory_len`` samples, of each row of ``series``
    (``(B, n)``), neighbours searched over pools of ``pool`` series (see the module docstring).

    Returns ``(div, counts)``, both ``(B, trajectory_len)``, with the meaning of
    :func:`chaosgan.lyapunov.rosenstein.divergence_curves`. ``workers``: threads of the k-d
    tree query (-1: all cores; the result does not depend on it).
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 2:
        raise ChaosganError(f"series must have shape (B, n), got {x.shape}")
    b, n = x.shape
    ntraj = points_with_future(n, emb_dim, lag, min_tsep, trajectory_len)
    div = np.zeros((b, trajectory_len))
    counts = np.zeros((b, trajectory_len), dtype=np.int64)
    for start, stop, keep_from in pool_groups(b, pool):
        d, c = _pool_curves(x[start:stop], ntraj, emb_dim, lag, min_tsep, trajectory_len, workers)
        div[keep_from:stop] = d[keep_from - start :]
        counts[keep_from:stop] = c[keep_from - start :]
    return div, counts


def _pool_curves(
    s: np.ndarray, ntraj: int, emb_dim: int, lag: int, min_tsep: int, length: int, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    b = len(s)
    idx = np.arange(ntraj)[:, None] + lag * np.arange(emb_dim)
    points = s[:, idx].reshape(b * ntraj, emb_dim)
    neighbour = _nearest_outside_window(points, ntraj, min_tsep, workers)
    offsets = np.arange(length + (emb_dim - 1) * lag)
    div = np.zeros((b, length))
    counts = np.zeros((b, length), dtype=np.int64)
    for k in range(b):  # one series' pairs at a time: (ntraj, length) arrays stay small
        partner = neighbour[k * ntraj : (k + 1) * ntraj]
        has = partner >= 0  # a point with nothing but exact copies has no pair
        partner = partner[has]
        own = s[k][np.flatnonzero(has)[:, None] + offsets]
        other = s[(partner // ntraj)[:, None], (partner % ntraj)[:, None] + offsets]
        sq = (own - other) ** 2
        dist = np.sqrt(sum(sq[:, e * lag : e * lag + length] for e in range(emb_dim)))
        nonzero = dist != 0
        logs = np.log(np.where(nonzero, dist, 1.0))
        counts[k] = nonzero.sum(0)
        div[k] = (logs * nonzero).sum(0) / np.maximum(counts[k], 1)
    return div, counts


def _nearest_outside_window(
    points: np.ndarray, ntraj: int, min_tsep: int, workers: int
) -> np.ndarray:
    """For each row of ``points`` (series-major, ``ntraj`` per series), the index of its nearest
    other row that is not in the same series within ``min_tsep`` samples and not at distance 0
    (the first such row in the tree's distance order). An exact copy is no neighbour: a dataset
    holding a series twice (a generator's copies) would otherwise pair every point with its
    copy, whose divergence stays 0 and is skipped, leaving that series without an exponent."""
    tree = cKDTree(points)
    total = len(points)
    found = np.full(total, -1, dtype=np.int64)
    todo = np.arange(total)
    k = FIRST_QUERY
    while len(todo):
        k = min(k, total)
        dist, cand = tree.query(points[todo], k=k, workers=workers)
        dist, cand = dist.reshape(len(todo), k), cand.reshape(len(todo), k)
        same_series = cand // ntraj == (todo // ntraj)[:, None]
        near_in_time = np.abs(cand % ntraj - (todo % ntraj)[:, None]) <= min_tsep
        valid = ~(same_series & near_in_time) & (dist > 0)
        first = valid.argmax(axis=1)
        ok = valid[np.arange(len(todo)), first]
        found[todo[ok]] = cand[ok, first[ok]]
        todo = todo[~ok]
        if k == total:  # every row searched in full: what is left has only copies (-1)
            break
        k *= 4
    return found
