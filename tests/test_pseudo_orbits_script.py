"""scripts/pseudo_orbits.py: a pseudo-orbit without kicks is the simulator's orbit, and each kind
of series is drawn at the one-step error asked for."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from chaosgan import simulate
from chaosgan.evaluate import metrics

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import pseudo_orbits  # noqa: E402


@pytest.fixture(scope="module")
def clean():
    return simulate("lorenz63", n=8, steps=pseudo_orbits.STEPS, dt=pseudo_orbits.DT, seed=2)


def test_a_pseudo_orbit_without_kicks_is_the_simulated_orbit(clean):
    x = clean.trajectories
    drawn = pseudo_orbits.pseudo_orbits(x[:, 0], 0.0, seed=0)
    np.testing.assert_allclose(drawn, x, rtol=0, atol=1e-9)  # the same RK4 steps


@pytest.mark.parametrize("kind", pseudo_orbits.KINDS)
def test_each_kind_is_drawn_at_the_level_asked_for(clean, kind):
    x = clean.trajectories
    diameter = metrics.attractor_diameter(x)
    series = pseudo_orbits.at_level(kind, 0.01, x, diameter, seed=0)
    assert series.shape == x.shape and np.isfinite(series).all()
    assert pseudo_orbits.median_step_error(series, diameter) == pytest.approx(0.01, rel=0.1)
    moved = np.abs(series - x).mean()
    if kind == "noisy orbit":  # the noise sits on the samples: they stay near the orbit
        assert moved < 0.01 * diameter
    else:  # the kicks enter the dynamics: the series leaves the orbit it started on
        assert moved > 0.05 * diameter


def test_bad_levels_are_refused():
    with pytest.raises(pseudo_orbits.ChaosganError, match="levels"):
        pseudo_orbits.main(["--levels", "0.5"])
