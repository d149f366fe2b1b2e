"""Shared fixtures: small real datasets simulated once per test session."""

from __future__ import annotations

import pytest

from chaosgan import simulate


@pytest.fixture(scope="session")
def lorenz_small():
    """40 Lorenz-63 series of 1024 samples at dt = 0.1 (has images)."""
    return simulate("lorenz63", n=40, dt=0.1, seed=0)


@pytest.fixture(scope="session")
def lorenz_small_path(tmp_path_factory, lorenz_small):
    path = tmp_path_factory.mktemp("data") / "lorenz.npz"
    lorenz_small.save(path)
    return path
