"""Batched block-tridiagonal solves by cyclic reduction, against a dense solve."""

import pytest
import torch

from chaosgan.gan.blocksolve import solve_block_tridiagonal


def _system(batch: int, n: int, d: int, seed: int):
    """A random symmetric positive-definite block-tridiagonal system and its dense matrix."""
    gen = torch.Generator().manual_seed(seed)
    lower = torch.randn(batch, n, d, d, generator=gen, dtype=torch.float64)
    lower[:, 0] = 0.0
    upper = torch.cat([lower[:, 1:].transpose(-1, -2), torch.zeros_like(lower[:, :1])], dim=1)
    a = torch.randn(batch, n, d, d, generator=gen, dtype=torch.float64)
    # diagonally dominant enough to be positive definite whatever the couplings
    diag = a @ a.transpose(-1, -2) + 2.0 * (1 + 2 * d) * torch.eye(d, dtype=torch.float64)
    dense = torch.zeros(batch, n * d, n * d, dtype=torch.float64)
    for i in range(n):
        rows = slice(i * d, (i + 1) * d)
        dense[:, rows, rows] = diag[:, i]
        if i:
            dense[:, rows, (i - 1) * d : i * d] = lower[:, i]
        if i < n - 1:
            dense[:, rows, (i + 1) * d : (i + 2) * d] = upper[:, i]
    rhs = torch.randn(batch, n, d, generator=gen, dtype=torch.float64)
    return diag, lower, upper, rhs, dense


@pytest.mark.parametrize("n", [1, 2, 3, 6, 7, 8, 31, 100])
def test_cyclic_reduction_matches_a_dense_solve_for_any_length(n):
    diag, lower, upper, rhs, dense = _system(3, n, 3, seed=n)
    got = solve_block_tridiagonal(diag, lower, upper, rhs)
    expected = torch.linalg.solve(dense, rhs.reshape(3, -1)).reshape(3, n, 3)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_a_system_without_unknowns_has_an_empty_solution():
    diag, lower, upper, rhs, _ = _system(2, 1, 3, seed=0)
    empty = solve_block_tridiagonal(diag[:, :0], lower[:, :0], upper[:, :0], rhs[:, :0])
    assert empty.shape == (2, 0, 3)


def test_the_blocks_outside_the_matrix_are_ignored():
    diag, lower, upper, rhs, _ = _system(2, 7, 2, seed=0)
    expected = solve_block_tridiagonal(diag, lower, upper, rhs)
    lower[:, 0], upper[:, -1] = 5.0, -3.0  # no block before the first or after the last
    torch.testing.assert_close(solve_block_tridiagonal(diag, lower, upper, rhs), expected)


def test_gradients_through_the_solve_are_the_dense_solves():
    diag, lower, upper, rhs, _ = _system(1, 5, 2, seed=1)
    inputs = tuple(t.clone().requires_grad_(True) for t in (diag, lower, upper, rhs))
    assert torch.autograd.gradcheck(solve_block_tridiagonal, inputs)
