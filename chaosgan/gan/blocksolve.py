"""Batched block-tridiagonal solves in torch, by block cyclic reduction.

A block-tridiagonal system couples each unknown block ``y_i`` (``d`` values) to its neighbours,

    L_i y_{i-1} + D_i y_i + U_i y_{i+1} = b_i,    i = 0 .. N-1,   L_0 = U_{N-1} = 0.

Cyclic reduction (Hockney 1965; Heller 1976, "Some aspects of the cyclic reduction algorithm for
block tridiagonal linear systems", SIAM J. Numer. Anal. 13:484) eliminates every other block at
once: each odd equation takes its two even neighbours' equations times ``D_even^{-1}``, which
leaves a block-tridiagonal system in the odd blocks alone, half the size. After ``log2 N``
halvings one block is left; the eliminated blocks then follow by back-substitution, level by
level. Every level is a handful of batched ``d x d`` products over all blocks at once, so a
system of ``N = 1023`` blocks takes 10 levels of vector operations where block Thomas elimination
(as orbit projection does it in numpy, :mod:`chaosgan.gan.projection`) takes 1023 sequential steps:
in torch, inside an autograd graph, that is the difference between milliseconds and seconds.
For a symmetric positive-definite matrix every reduced matrix is a Schur complement, again
symmetric positive definite, and the method is as stable as block Cholesky (Heller 1976).

Every operation is differentiable, so gradients run through a solve (the refinement layer's
Gauss-Newton steps, :mod:`chaosgan.gan.refine`, rely on that).
"""

from __future__ import annotations

import torch


def solve_block_tridiagonal(
    diag: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, rhs: torch.Tensor
) -> torch.Tensor:
    """Solve the block-tridiagonal systems above, batched: ``diag``, ``lower``, ``upper``
    ``(B, N, d, d)`` (``lower[:, 0]`` and ``upper[:, -1]`` are ignored: there is no block
    before the first or after the last), ``rhs`` ``(B, N, d)``; returns ``y`` ``(B, N, d)``.

    Meant for symmetric positive-definite matrices (``upper[:, i] = lower[:, i + 1]^T``), for
    which it is stable; any N (the system is padded with identity blocks to ``2^k - 1``).
    """
    batch, n, d = rhs.shape
    if n == 0:  # no unknowns
        return rhs
    size = 1
    while size < n + 1:
        size *= 2
    pad = size - 1 - n
    eye = torch.eye(d, dtype=rhs.dtype, device=rhs.device)
    zero_block = torch.zeros(batch, 1, d, d, dtype=rhs.dtype, device=rhs.device)
    lower = torch.cat([zero_block, lower[:, 1:]], dim=1)
    upper = torch.cat([upper[:, :-1], zero_block], dim=1)
    if pad:  # identity blocks that touch nothing: their unknowns come out zero
        diag = torch.cat([diag, eye.expand(batch, pad, d, d)], dim=1)
        lower = torch.cat([lower, zero_block.expand(batch, pad, d, d)], dim=1)
        upper = torch.cat([upper, zero_block.expand(batch, pad, d, d)], dim=1)
        rhs = torch.cat([rhs, rhs.new_zeros(batch, pad, d)], dim=1)
    return _reduce(diag, lower, upper, rhs)[:, :n]


def _reduce(
    diag: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, rhs: torch.Tensor
) -> torch.Tensor:
    """One level of cyclic reduction on ``2^k - 1`` blocks (even blocks eliminated), then the
    half-size system, then back-substitution for the even blocks."""
    if diag.shape[1] == 1:
        return torch.linalg.solve(diag, rhs.unsqueeze(-1)).squeeze(-1)
    d = diag.shape[-1]
    # D_e^{-1} [L_e, U_e, b_e] for the even blocks (0, 2, .., N-1: one more than the odd ones)
    inv = torch.linalg.inv(diag[:, 0::2])
    inv_lower, inv_upper = inv @ lower[:, 0::2], inv @ upper[:, 0::2]
    inv_rhs = (inv @ rhs[:, 0::2].unsqueeze(-1)).squeeze(-1)
    # odd block i = 2j + 1 sits between even blocks j (through L_i) and j + 1 (through U_i)
    odd_lower, odd_upper = lower[:, 1::2], upper[:, 1::2]
    reduced = _reduce(
        diag[:, 1::2] - odd_lower @ inv_upper[:, :-1] - odd_upper @ inv_lower[:, 1:],
        -odd_lower @ inv_lower[:, :-1],
        -odd_upper @ inv_upper[:, 1:],
        rhs[:, 1::2]
        - (odd_lower @ inv_rhs[:, :-1].unsqueeze(-1)).squeeze(-1)
        - (odd_upper @ inv_rhs[:, 1:].unsqueeze(-1)).squeeze(-1),
    )
    # even block j: y_2j = D^{-1} (b - L y_{2j-1} - U y_{2j+1}), no neighbour past either end
    edge = reduced.new_zeros(reduced.shape[0], 1, d)
    before, after = torch.cat([edge, reduced], dim=1), torch.cat([reduced, edge], dim=1)
    even = (
        inv_rhs
        - (inv_lower @ before.unsqueeze(-1)).squeeze(-1)
        - (inv_upper @ after.unsqueeze(-1)).squeeze(-1)
    )
    interleaved = torch.stack([even[:, :-1], reduced], dim=2).flatten(1, 2)
    return torch.cat([interleaved, even[:, -1:]], dim=1)
