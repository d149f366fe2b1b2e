"""Fidelity scorecard: real-vs-real sits on the floor; corrupted data are flagged by stated margins.

Floors measured for 100 vs 100 Lorenz series (seeds 0 and 1, dt = 0.1): W1/std <= 0.009,
D_stsp 0.015, D_H 0.009, ACF distance 0.010, one-step error 1e-6, correlation-dimension ratio
0.99, classifier accuracy 0.55. The bounds below leave room above those.
"""

import json

import numpy as np
import pytest

from chaosgan import Dataset, metrics, simulate
from chaosgan.cli import main
from chaosgan.lyapunov.report import compare
from chaosgan.scorecard import _pair_metrics, flow_of

N = 100


@pytest.fixture(scope="module")
def real():
    return simulate("lorenz63", n=N, dt=0.1, seed=0)


@pytest.fixture(scope="module")
def real2():
    return simulate("lorenz63", n=N, dt=0.1, seed=1)


@pytest.fixture(scope="module")
def score(real):
    flow, params, _ = flow_of(real)
    diameter = metrics.attractor_diameter(real.trajectories)
    radii = metrics.corr_dim_radii(real.trajectories)

    def run(other: np.ndarray) -> dict:
        ds = Dataset(other, dict(real.meta))
        return _pair_metrics(real, ds, flow, params, diameter, radii, seed=0)

    return run


def corrupt(x: np.ndarray, how: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    if how == "shuffled":
        return x[:, rng.permutation(x.shape[1])]
    if how == "noise":
        return x + rng.normal(size=x.shape) * 0.05 * x.reshape(-1, 3).std(0)
    if how == "smoothed":
        kernel = np.ones(5) / 5
        return np.apply_along_axis(lambda s: np.convolve(s, kernel, mode="same"), 1, x)
    raise ValueError(how)


def test_real_vs_real_sits_on_the_floor(score, real2):
    m = score(real2.trajectories)
    assert max(m["wasserstein_over_std"]) < 0.03
    assert m["state_space_divergence"] < 0.05
    assert m["hellinger_spectrum"] < 0.03
    assert m["autocorrelation_distance"] < 0.03
    assert m["one_step_error"]["median"] < 1e-4
    assert 0.9 < m["correlation_dimension_ratio"] < 1.1
    assert 0.95 < m["diversity_ratio"] < 1.05
    assert 0.35 <= m["discriminative_accuracy"] <= 0.65


def test_shuffled_time_order_is_flagged_by_the_temporal_metrics(score, real2):
    m = score(corrupt(real2.trajectories, "shuffled"))
    assert max(m["wasserstein_over_std"]) < 0.03  # the marginals cannot see it ...
    assert m["hellinger_spectrum"] > 0.2  # ... everything that looks at time can
    assert m["autocorrelation_distance"] > 0.05
    assert m["one_step_error"]["median"] > 0.1
    assert m["correlation_dimension_ratio"] < 0.5
    assert m["discriminative_accuracy"] > 0.9


def test_added_noise_is_flagged(score, real2):
    m = score(corrupt(real2.trajectories, "noise"))
    assert m["one_step_error"]["median"] > 0.005  # thousands of times the floor
    assert m["state_space_divergence"] > 0.05
    assert m["correlation_dimension_ratio"] > 1.1


def test_wrong_parameters_are_flagged(score):
    m = score(simulate("lorenz63", n=N, dt=0.1, seed=1, params={"rho": 35.0}).trajectories)
    assert max(m["wasserstein_over_std"]) > 0.3
    assert m["state_space_divergence"] > 1.0
    assert m["hellinger_spectrum"] > 0.05
    assert m["autocorrelation_distance"] > 0.05
    assert m["one_step_error"]["median"] > 0.02
    assert m["discriminative_accuracy"] > 0.9


def test_smoothed_series_are_flagged(score, real2):
    m = score(corrupt(real2.trajectories, "smoothed"))
    assert max(m["wasserstein_over_std"]) > 0.1
    assert m["hellinger_spectrum"] > 0.1
    assert m["one_step_error"]["median"] > 0.01
    assert m["discriminative_accuracy"] > 0.9


def test_mode_collapse_is_flagged(score, real2):
    """Every 'generated' series a near-copy of one of two real series (a collapsed generator):
    the marginals stay plausible, the diversity ratio does not."""
    x = real2.trajectories
    rng = np.random.default_rng(0)
    collapsed = x[rng.integers(0, 2, len(x))] + rng.normal(size=x.shape) * 0.05 * x.std((0, 1))
    m = score(collapsed)
    assert m["diversity_ratio"] < 0.7  # two modes: about 1 - 1/2 of the real diversity
    assert score(x)["diversity_ratio"] > 0.95


def test_lyapunov_ratio_flags_shuffled_series(real, real2):
    shuffled = Dataset(corrupt(real2.trajectories, "shuffled"), dict(real2.meta))
    result, _, _ = compare(real, shuffled, backend="fast")
    for c in result["coordinates"].values():
        lo, hi = c["ratio"]["ci95"]
        assert lo > 1.5 or hi < 0.67


def test_trivial_baselines_are_what_the_issue_says(real):
    b = metrics.trivial_baselines(real.trajectories, metrics.attractor_diameter(real.trajectories))
    assert 0.05 < b["no_change"] < 0.2 and 0.15 < b["random_point"] < 0.4


def test_report_json_schema_and_identified_flow(tmp_path, capsys):
    """No known system in the meta: the floor comes from --real2 and the flow is identified."""
    a = simulate("lorenz63", n=40, dt=0.1, seed=0)
    b = simulate("lorenz63", n=40, dt=0.1, seed=1)
    c = simulate("lorenz63", n=40, dt=0.1, seed=2)
    paths = []
    for name, ds in [("a", a), ("b", b), ("c", c)]:
        meta = {**ds.meta, "system": None, "params": None}
        path = tmp_path / f"{name}.npz"
        Dataset(ds.trajectories, meta, ds.images).save(path)
        paths.append(str(path))
    out = tmp_path / "rep"
    argv = [
        "lyapunov",
        "report",
        "--real",
        paths[0],
        "--generated",
        paths[1],
        "--real2",
        paths[2],
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["metrics"]) == {
        "wasserstein_over_std",
        "state_space_divergence",
        "hellinger_spectrum",
        "autocorrelation_distance",
        "one_step_error",
        "correlation_dimension_ratio",
        "diversity_ratio",
        "discriminative_accuracy",
        "lyapunov_ratio",
    }
    for m in report["metrics"].values():
        assert {"generated", "floor", "description"} <= set(m)
    assert report["metrics"]["one_step_error"]["flow"].startswith("model identified")
    assert report["metrics"]["one_step_error"]["generated"]["median"] < 1e-3
    assert {"no_change", "random_point"} == set(report["metrics"]["one_step_error"]["baselines"])
    assert "reference_exponent" not in report
    assert (out / "report.md").read_text().startswith("# Lyapunov report\n\n## Scorecard")
    assert (out / "one_step_error.png").exists() and (out / "spectra_autocorrelations.png").exists()
    capsys.readouterr()
    no_floor = [
        "lyapunov",
        "report",
        "--real",
        paths[0],
        "--generated",
        paths[1],
        "--out",
        str(tmp_path / "rep2"),
    ]
    assert main(no_floor) == 2
    assert "pass a second real dataset" in capsys.readouterr().err
