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
to the argmin) taken in row blocks small enough to stay in cache while they are masked and reduced;
the divergences are exact float64 norms of gathered differences, and the line fit is closed-form.
The conventions follow nolds exactly (which pairs are searched, zero distances skipped, first index
on ties), so results agree with nolds to rounding (``tests/test_lyapunov.py`` checks 1e-6). One
caveat: where two neighbour candidates are equally near to within float64 rounding (an exactly
periodic series sampled in step with its period, say), the two computations of the distance may
rank them differently; chaotic data does not produce such ties.
"""

from __future__ import annotations

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
    block_bytes: int = 2 * 2**20,
) -> np.ndarray:
    """Largest exponent of each row of ``series`` (shape ``(B, n)``), per ``tau`` time units.

    Parameters have nolds' meaning and units (samples); pass ``tau = dt`` for 1/time units.
    Series go ``series_chunk`` at a time; ``block_bytes`` bounds the neighbour-search working
    set (rows of the distance matrix in flight), so it stays in cache (raise both on a GPU).
    Returns a float64 array of shape ``(B,)``.
    """
    x = torch.as_tensor(np.asarray(series, dtype=np.float64), device=device)
    if x.ndim != 2:
        raise ChaosganError(f"series must have shape (B, n), got {tuple(x.shape)}")
    b, n = x.shape
    m = n - (emb_dim - 1) * lag
    ntraj = m - trajectory_len + 1
    if ntraj < 2 * min_tsep + 2:
        raise ChaosganError(
            f"series of {n} samples are too short for emb_dim={emb_dim}, lag={lag}, "
            f"min_tsep={min_tsep}, trajectory_len={trajectory_len}"
        )
    idx = torch.arange(m, device=device)[:, None] + lag * torch.arange(emb_dim, device=device)
    chunk = min(b, series_chunk)
    row_block = min(ntraj, max(8, block_bytes // (8 * ntraj * chunk)))
    blocks = [
        (
            r0,
            min(ntraj, r0 + row_block),
            _window_positions(r0, min(ntraj, r0 + row_block), ntraj, min_tsep),
        )
        for r0 in range(0, ntraj, row_block)
    ]
    out = []
    for start in range(0, b, chunk):
        orbit = x[start : start + chunk][:, idx]  # (c, m, emb_dim)
        c = orbit.shape[0]
        head = orbit[:, :ntraj]
        sq = (head * head).sum(-1)[:, None, :]  # (c, 1, ntraj)
        head_t = head.transpose(1, 2)
        nb = torch.empty((c, ntraj), dtype=torch.int64, device=device)
        for r0, r1, window in blocks:
            score = torch.baddbmm(sq, head[:, r0:r1], head_t, alpha=-2.0)  # (c, r1 - r0, ntraj)
            nb[:, r0:r1] = _masked_argmin(score, window)
        logs = torch.empty((c, ntraj, trajectory_len), dtype=x.dtype, device=device)
        nonzero = torch.empty((c, ntraj, trajectory_len), dtype=torch.bool, device=device)
        for k in range(trajectory_len):
            partner = torch.gather(orbit, 1, (nb + k)[:, :, None].expand(-1, -1, emb_dim))
            diff = orbit[:, k : k + ntraj] - partner
            dist = torch.sqrt((diff * diff).sum(-1))  # (c, ntraj)
            nonzero[:, :, k] = dist != 0
            logs[:, :, k] = torch.log(torch.where(dist != 0, dist, 1.0))
        counts = nonzero.sum(1)
        div = (logs * nonzero).sum(1) / counts.clamp(min=1)  # (c, L): mean log distance at k
        out.append(_slopes(div, counts > 0, fit_offset))
    return torch.cat(out).cpu().numpy() / tau


def _window_positions(r0: int, r1: int, ntraj: int, min_tsep: int) -> np.ndarray:
    """Flat positions, inside a ``(r1 - r0, ntraj)`` block of rows, of ``|i - j| <= min_tsep``."""
    rows = np.arange(r0, r1)[:, None]
    cols = rows + np.arange(-min_tsep, min_tsep + 1)
    keep = (cols >= 0) & (cols < ntraj)
    return ((rows - r0) * ntraj + cols)[keep]


def _masked_argmin(score: torch.Tensor, window: np.ndarray) -> torch.Tensor:
    """First index of the minimum along the last axis, the Theiler window set to +inf.

    On the CPU this goes through numpy views of the same memory: numpy's fancy assignment and
    argmin are several times faster than torch's there. Both take the first index on ties.
    """
    c = score.shape[0]
    if score.device.type == "cpu":
        values = score.numpy()
        values.reshape(c, -1)[:, window] = np.inf
        return torch.from_numpy(values.argmin(axis=-1))
    flat = torch.as_tensor(window, device=score.device)
    score.view(c, -1)[:, flat] = float("inf")
    return score.argmin(dim=-1)


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
