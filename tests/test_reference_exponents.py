"""The catalogue's reference exponents (with their citations) are what our QR code computes."""

import pytest

from chaosgan import get_system
from chaosgan.lyapunov.spectrum import lyapunov_spectrum


def test_chen_spectrum_matches_its_reference_and_the_trace():
    system = get_system("chen")
    spec = lyapunov_spectrum("chen", n_trajectories=8, t_average=100.0, h=0.005, seed=0)
    ref = system.reference_exponents
    assert spec.exponents[0] == pytest.approx(ref[0], rel=0.03)
    assert abs(spec.exponents[1]) < 0.02
    assert spec.exponents[2] == pytest.approx(ref[2], rel=0.01)
    trace = system.trace(system.resolve_params(None))  # -a + c - b = -10
    assert trace == -10.0
    assert spec.exponents.sum() == pytest.approx(trace, abs=1e-3)
    assert sum(ref) == pytest.approx(trace, abs=1e-3)


def test_lorenz96_largest_exponent_matches_its_reference():
    ref = get_system("lorenz96").reference_exponents[0]  # 1.67 for N = 40, F = 8
    spec = lyapunov_spectrum("lorenz96", n_trajectories=8, t_average=100.0, seed=0, n_exponents=1)
    assert spec.exponents.shape == (1,)
    assert spec.exponents[0] == pytest.approx(ref, rel=0.05)
    assert spec.stderr[0] < 0.05
