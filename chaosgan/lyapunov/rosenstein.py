"""A batched Rosenstein estimator that reproduces ``nolds.lyap_r(..., fit="poly")``.

Rosenstein, Collins & De Luca (1993), "A practical method for calculating largest Lyapunov
exponents from small data sets", Physica D 65, 117-134:

1. delay-embed the series: ``v_i = (s_i, s_{i+lag}, ..., s_{i+(m-1) lag})``;
2. for each ``v_i`` find its nearest neighbour ``v_j`` with ``|i - j| > min_tsep`` (a Theiler
   window, so that the neighbour is not just the next point of the same stretch of orbit);
3. follow each pair ``k = 0 .. trajectory_len - 1`` steps and average ``log |v_{i+k} - v_{j+k}|``
   over pairs: the mean log divergence ``d(k)`` grows by ``lambda * k * dt`` while the pairs are
   close and saturates at the attractor size;
4. the exponent is the slope of a least-squares line through ``d(k)``, divided by ``tau``
   (the sampling step) to get 1/time units.

nolds does this one series at a time with a Python loop over rows of the distance matrix. Here a
whole batch of series is done at once with torch (CPU or CUDA): the neighbour search is a
batched matrix product (``|v_j|^2 - 2 v_i . v_j``, the row constant ``|v_i|^2`` being irrelevant
to the argmin) taken in row blocks small enough to stay in cache while they are masked and reduced.
The search runs in float32 on centred data (half the memory traffic of float64) and is certified:
a row whose best and second-best float32 scores are closer than twice a rounding-error bound is
searched again in float64, so the neighbours are those of the float64 search. The divergences are
float64 distances built from one gather of the 1-D series, and the line fit is closed-form.
The conventions follow nolds exactly (which pairs are searched, zero distances skipped, first index
on ties), so results agree with nolds to rounding (``tests/test_lyapunov.py`` checks 1e-6). One
caveat: where two neighbour candidates are equally near to within float64 rounding (an exactly
periodic series sampled in step with its period, say), the two computations of the distance may
rank them differently; chaotic data does not produce such ties.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from chaosgan.errors import ChaosganError


def rosenstein_batch(
    series: np.ndarray,
    emb_dim: int,
    lag: int,
    min_tsep: int,
    trajectory_len: int,
    tau: float = 1.0,
    fit_offset: int = 0,
    device: str = "cpu",
    series_chunk: int = 32,
    block_bytes: int = 8 * 2**20,
) -> np.ndarray:
    """Largest exponent of each row of ``series`` (shape ``(B, n)``), per ``tau`` time units.

    Parameters have nolds' meaning and units (samples); pass ``tau = dt`` for 1/time units.
    Series go ``series_chunk`` at a time; ``block_bytes`` bounds the neighbour-search working
    set (float32 rows of the distance matrix in flight), so it stays in cache (raise both on a
    GPU).
    Returns a float64 array of shape ``(B,)``.
    """
    div, counts = divergence_curves(
        series, emb_dim, lag, min_tsep, trajectory_len, device, series_chunk, block_bytes
    )
    return fit_slopes(div, counts, fit_offset) / tau


def fit_slopes(
    div: np.ndarray, counts: np.ndarray, fit_offset: int = 0, fit_end: int | None = None
) -> np.ndarray:
    """Least-squares slope (per sample) of each row of ``div`` over ``k`` in
    ``[fit_offset, fit_end)`` among the entries with ``counts > 0`` (nolds drops the first
    ``fit_offset`` *finite* entries; with no empty entries the two agree)."""
    d = torch.as_tensor(np.asarray(div, dtype=np.float64))
    finite = torch.as_tensor(np.asarray(counts)) > 0
    if fit_end is not None:
        finite[:, fit_end:] = False
    return _slopes(d, finite, fit_offset).numpy()


def divergence_curves(
    series: np.ndarray,
    emb_dim: int,
    lag: int,
    min_tsep: int,
    trajectory_len: int,
    device: str = "cpu",
    series_chunk: int = 32,
    block_bytes: int = 8 * 2**20,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean log divergence ``d(k)``, ``k < trajectory_len`` samples, of each row of ``series``.

    Returns ``(div, counts)``, both ``(B, trajectory_len)``: ``div[b, k]`` is the mean over
    neighbour pairs of ``log |v_{i+k} - v_{j+k}|`` (zero distances skipped, as nolds does), and
    ``counts[b, k]`` how many pairs entered it (0: ``div`` is meaningless there).
    """
    x = torch.as_tensor(np.asarray(series, dtype=np.float64), device=device)
    if x.ndim != 2:
        raise ChaosganError(f"series must have shape (B, n), got {tuple(x.shape)}")
    b, n = x.shape
    ntraj = points_with_future(n, emb_dim, lag, min_tsep, trajectory_len)
    chunk = min(b, series_chunk)
    row_block = min(ntraj, max(8, block_bytes // (4 * ntraj * chunk)))
    blocks = [
        (
            r0,
            min(ntraj, r0 + row_block),
            _window_positions(r0, min(ntraj, r0 + row_block), ntraj, min_tsep),
        )
        for r0 in range(0, ntraj, row_block)
    ]
    points = torch.arange(ntraj, device=device)[:, None]
    idx = points + lag * torch.arange(emb_dim, device=device)
    # positions along the series of every coordinate of v_{i+k}, k < trajectory_len
    own_idx = points + torch.arange(trajectory_len + (emb_dim - 1) * lag, device=device)

    def one_chunk(start: int) -> torch.Tensor:
        s = x[start : start + chunk]  # (c, n)
        c = s.shape[0]
        nb = _neighbours(s[:, idx], blocks, min_tsep)  # (c, ntraj)
        own = s[:, own_idx]  # (c, ntraj, T)
        partner_idx = nb[:, :, None] + (own_idx - points)
        partner = torch.gather(s, 1, partner_idx.reshape(c, -1)).view(own.shape)
        sq = (own - partner) ** 2
        # |v_{i+k} - v_{j+k}|^2 = sum over the embedding's coordinates e of sq[k + e lag]
        dist2 = sum(sq[:, :, e * lag : e * lag + trajectory_len] for e in range(emb_dim))
        dist = torch.sqrt(dist2)  # (c, ntraj, L)
        nonzero = dist != 0
        logs = torch.log(torch.where(nonzero, dist, 1.0))
        counts = nonzero.sum(1)
        div = (logs * nonzero).sum(1) / counts.clamp(min=1)  # (c, L): mean log distance at k
        return torch.stack([div, counts.to(div.dtype)])

    starts = range(0, b, chunk)
    workers = torch.get_num_threads() if x.device.type == "cpu" else 1
    if workers == 1 or len(starts) == 1:
        out = [one_chunk(i) for i in starts]
    else:
        out = _threaded(one_chunk, starts, workers)
    both = torch.cat(out, dim=1).cpu().numpy()
    return both[0], both[1].astype(np.int64)


def points_with_future(n: int, emb_dim: int, lag: int, min_tsep: int, trajectory_len: int) -> int:
    """How many delay vectors of a series of ``n`` samples can be followed ``trajectory_len``
    steps; an error when too few are left for every point to have a neighbour outside its
    Theiler window (``2 min_tsep + 2``)."""
    ntraj = n - (emb_dim - 1) * lag - trajectory_len + 1
    if ntraj < 2 * min_tsep + 2:
        raise ChaosganError(
            f"series of {n} samples are too short for emb_dim={emb_dim}, lag={lag}, "
            f"min_tsep={min_tsep}, trajectory_len={trajectory_len}"
        )
    return ntraj


def _threaded(fn, starts: range, workers: int) -> list:
    # On the CPU, chunks go to one thread per core, each with single-threaded torch: numpy's
    # argmin (single-threaded) then runs on every core, and small kernels stop paying for
    # thread start-up. Results do not depend on the thread count.
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, starts))
    finally:
        torch.set_num_threads(workers)


def _window_positions(r0: int, r1: int, ntraj: int, min_tsep: int) -> np.ndarray:
    """Flat positions, inside a ``(r1 - r0, ntraj)`` block of rows, of ``|i - j| <= min_tsep``."""
    rows = np.arange(r0, r1)[:, None]
    cols = rows + np.arange(-min_tsep, min_tsep + 1)
    keep = (cols >= 0) & (cols < ntraj)
    return ((rows - r0) * ntraj + cols)[keep]


def _neighbours(head: torch.Tensor, blocks: list, min_tsep: int) -> torch.Tensor:
    """Index of the nearest neighbour of each embedded point ``head[:, i]`` (shape
    ``(c, ntraj, emb_dim)``, float64) outside the Theiler window ``|i - j| <= min_tsep``.

    Scores ``|v_j|^2 - 2 v_i . v_j`` are computed in float32 from centred points (distances do
    not change; magnitudes, and so rounding errors, shrink). Each score is then within
    ``bound = (4 emb_dim + 16) u R^2`` of its exact value (``u = 2^-24``, ``R`` the largest centred
    norm; a generous form of the standard dot-product bound, Higham 2002, sec. 3.1), so a row whose
    two smallest float32 scores are more than ``2 bound`` apart has the same argmin in exact
    arithmetic; the other rows are searched again in float64 (uncentred, as nolds does).
    """
    c, ntraj, emb_dim = head.shape
    centred = head - head.mean(1, keepdim=True)
    h32 = centred.float()
    sq32 = (h32 * h32).sum(-1)[:, None, :]
    h32_t = h32.transpose(1, 2)
    bound = _score_error_bound(centred)  # (c,)
    sq64 = (head * head).sum(-1)  # (c, ntraj)
    nb = torch.empty((c, ntraj), dtype=torch.int64, device=head.device)
    cols = torch.arange(ntraj, device=head.device)
    for r0, r1, window in blocks:
        score = torch.baddbmm(sq32, h32[:, r0:r1], h32_t, alpha=-2.0)  # (c, r1 - r0, ntraj)
        best, gap = _masked_argmin_and_gap(score, window)
        nb[:, r0:r1] = best
        unsure = (gap <= 2 * bound[:, None]).cpu().numpy()
        for k in np.flatnonzero(unsure.any(axis=1)):  # series with unsure rows (few)
            rows = torch.as_tensor(r0 + np.flatnonzero(unsure[k]), device=head.device)
            exact = torch.addmm(sq64[k], head[k, rows], head[k].T, alpha=-2.0)  # (rows, ntraj)
            exact[(cols[None, :] - rows[:, None]).abs() <= min_tsep] = float("inf")
            nb[k, rows] = exact.argmin(dim=-1)
    return nb


def _score_error_bound(centred: torch.Tensor) -> torch.Tensor:
    """Per series, a bound on |float32 score - exact score| for points ``centred`` (c, n, e)."""
    emb_dim = centred.shape[-1]
    return (4 * emb_dim + 16) * 2.0**-24 * (centred * centred).sum(-1).amax(1)


def _masked_argmin_and_gap(
    score: torch.Tensor, window: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """First index of the minimum along the last axis, the Theiler window set to +inf, and the
    gap (float64) between the smallest and the second-smallest score. Overwrites ``score``.

    On the CPU this goes through numpy views of the same memory: numpy's fancy assignment and
    argmin are several times faster than torch's there. Both take the first index on ties.
    """
    c = score.shape[0]
    if score.device.type == "cpu":
        values = score.numpy()
        values.reshape(c, -1)[:, window] = np.inf
        best = values.argmin(axis=-1)[..., None]
        first = np.take_along_axis(values, best, -1)[..., 0].astype(np.float64)
        np.put_along_axis(values, best, np.inf, -1)
        gap = values.min(axis=-1).astype(np.float64) - first
        return torch.from_numpy(best[..., 0]), torch.from_numpy(gap)
    flat = torch.as_tensor(window, device=score.device)
    score.view(c, -1)[:, flat] = float("inf")
    first, best = score.min(dim=-1)
    score.scatter_(-1, best[..., None], float("inf"))
    return best, score.amin(dim=-1).double() - first.double()


def _slopes(div: torch.Tensor, finite: torch.Tensor, fit_offset: int) -> torch.Tensor:
    """Least-squares slope of ``div[k]`` against k over finite entries, from ``fit_offset`` on."""
    k = torch.arange(div.shape[1], dtype=div.dtype, device=div.device).expand_as(div)
    use = finite.clone()
    # nolds drops the first fit_offset *finite* entries
    rank = torch.cumsum(finite.to(torch.int64), dim=1) - 1
    use &= rank >= fit_offset
    w = use.to(div.dtype)
    count = w.sum(1)
    k_mean = (w * k).sum(1) / count
    d_mean = (w * torch.where(use, div, 0.0)).sum(1) / count
    dk = (k - k_mean[:, None]) * w
    slope = (dk * torch.where(use, div - d_mean[:, None], 0.0)).sum(1) / (dk * dk).sum(1)
    # like nolds: no finite divergence at all gives -inf; a single point has no slope (NaN)
    slope = torch.where(count >= 2, slope, torch.full_like(slope, float("nan")))
    return torch.where(count == 0, torch.full_like(slope, float("-inf")), slope)
