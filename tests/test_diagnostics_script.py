"""scripts/row_end_errors.py's error split, loop counts and crossings: zero error on a real
orbit, a timing error shows along the flow, time-shuffled series draw many more loops, and an
orbit at half speed crosses half as often."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from chaosgan import simulate
from chaosgan.systems import get_system

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import row_end_errors  # noqa: E402

DT = 0.1


def numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"\d+\.\d+|\d+", text)]


def test_a_real_orbit_has_no_error_and_a_slow_one_errs_along_the_flow():
    system = get_system("lorenz63")
    params = system.resolve_params()
    real = simulate("lorenz63", n=4, steps=1024, dt=DT, seed=0).trajectories
    along, across, step = numbers(
        row_end_errors.error_split(*row_end_errors.residuals(real, system.rhs, params, DT))
    )
    assert along < 0.01 and across < 0.01 and step > 1
    slow = simulate("lorenz63", n=4, steps=1024, dt=0.8 * DT, seed=0).trajectories
    along, across, _ = numbers(
        row_end_errors.error_split(*row_end_errors.residuals(slow, system.rhs, params, DT))
    )
    assert along > 0.5 and along > 1.5 * across  # a 20% slow orbit: mostly timing


def test_loops_counts_maxima_per_series_and_shuffling_adds_many():
    real = simulate("lorenz63", n=8, steps=1024, dt=DT, seed=1).trajectories
    shuffled = real[:, np.random.default_rng(0).permutation(1024)]
    counts = numbers(row_end_errors.loops(real))[0::2]  # x n (share), y n (share), z n (share)
    counts_shuffled = numbers(row_end_errors.loops(shuffled))[0::2]
    assert 80 < counts[2] < 200  # z: one maximum per loop, about 7.6 samples apart
    assert all(s > 2 * c for s, c in zip(counts_shuffled, counts, strict=True))


def test_the_fixed_points_are_found_and_a_series_resting_on_one_dwells_there():
    system = get_system("lorenz63")
    params = system.resolve_params()
    real = simulate("lorenz63", n=4, steps=1024, dt=DT, seed=2).trajectories
    points = row_end_errors.fixed_points(system.rhs, params, real, 77.0)
    centre = np.sqrt(params["beta"] * (params["rho"] - 1))
    expected = [[0, 0, 0], [centre, centre, 27], [-centre, -centre, 27]]
    assert len(points) == 3
    for e in expected:  # the origin and the two wing centres, each once
        assert np.min(np.linalg.norm(points - np.array(e), axis=1)) < 1e-6
    resting = np.broadcast_to(points[1], (2, 1024, 3))
    shares = numbers(row_end_errors.dwell(resting, points, 77.0).split(":")[1])[3::4]
    assert sorted(shares) == [0.0, 0.0, 1.0]
    real_shares = numbers(row_end_errors.dwell(real, points, 77.0).split(":")[1])[3::4]
    assert max(real_shares) < 0.05


def test_crossings_give_rates_and_their_ratio_to_the_real_data():
    real = simulate("lorenz63", n=24, steps=1024, dt=DT, seed=0).trajectories
    slow = simulate("lorenz63", n=24, steps=1024, dt=0.5 * DT, seed=1).trajectories
    own = numbers(row_end_errors.crossings(real, real, DT))  # x rate, ratio, y rate, ...
    assert own[1::2] == [1.0, 1.0, 1.0] and 0.4 < own[0] < 0.8  # x: the wing switches
    half = numbers(row_end_errors.crossings(slow, real, DT))  # judged as dt = 0.1: half speed
    assert all(0.4 < r < 0.6 for r in half[1::2]), half
