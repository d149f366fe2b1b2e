"""Fidelity scorecard: real-vs-real sits on the floor; corrupted data are flagged by stated margins.

Floors measured for 100 vs 100 Lorenz series (seeds 0 and 1, dt = 0.1): W1/std <= 0.009,
D_stsp 0.015, D_H 0.009, ACF distance 0.010, one-step error 1e-6, correlation-dimension ratio
0.99, classifier accuracy 0.55. ``FLOOR_BOUNDS`` (quoted in the README) leave room above those.
"""

import json

import numpy as np
import pytest

from chaosgan import Dataset, simulate
from chaosgan.errors import ChaosganError
from chaosgan.evaluate import metrics, score
from chaosgan.evaluate.lyapunov import compare_exponents
from chaosgan.evaluate.memorisation import memorisation_ratio, nearest_distances
from chaosgan.evaluate.scorecard import SCHEMA, RealReference, pair_metrics

N = 100

# Real vs real, 100 vs 100 Lorenz series at dt = 0.1: every metric's documented floor (README).
FLOOR_BOUNDS = {
    "wasserstein_over_std": (0.0, 0.03),
    "state_space_divergence": (0.0, 0.05),
    "hellinger_spectrum": (0.0, 0.03),
    "autocorrelation_distance": (0.0, 0.03),
    "one_step_error": (0.0, 1e-4),
    "speed_factor": (0.99, 1.01),
    "correlation_dimension_ratio": (0.9, 1.1),
    "diversity_ratio": (0.95, 1.05),
    "discriminative_accuracy": (0.35, 0.65),
    "lyapunov_ratio": (0.9, 1.1),
    "state_space_divergence_per_series": (0.0, 6.0),
    "hellinger_spectrum_per_series": (0.0, 0.06),
    "memorisation_ratio": (0.9, 1.1),
    "grid_recurrence": (0.02, 0.08),
    "crossing_rate_ratio": (0.9, 1.1),
    "return_map_ratio": (0.9, 1.1),
}


def scalar(key: str, value) -> list[float]:
    """The numbers a bound applies to (every coordinate; the median of the one-step error)."""
    if key == "one_step_error":
        return [value["median"]]
    if key == "lyapunov_ratio":
        return [v["value"] for v in value.values()]
    return list(value) if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def real():
    return simulate("lorenz63", n=N, dt=0.1, seed=0)


@pytest.fixture(scope="module")
def real2():
    return simulate("lorenz63", n=N, dt=0.1, seed=1)


@pytest.fixture(scope="module")
def pair(real):
    ref = RealReference.of(real)

    def run(other: np.ndarray) -> dict:
        return pair_metrics(ref, Dataset(other, dict(real.meta)), seed=0)[0]

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


@pytest.fixture(scope="module")
def card(real, real2):
    """score() with real vs real as the floor, 5%-noise real data as 'generated', and a
    training set of which the generated series are noisy copies."""
    floor = simulate("lorenz63", n=N, dt=0.1, seed=2)
    noisy = Dataset(corrupt(real2.trajectories, "noise"), {**real2.meta, "kind": "generated"})
    return score(real, noisy, floor=floor, train=real2)


def test_score_puts_real_vs_real_within_every_documented_floor(card):
    m = card.to_dict()["metrics"]
    assert set(m) == set(FLOOR_BOUNDS)
    for key, (lo, hi) in FLOOR_BOUNDS.items():
        values = scalar(key, m[key]["floor"])
        assert all(lo <= v <= hi for v in values), (key, values)


def test_score_flags_noise_and_copying_against_the_floor(card):
    d = card.to_dict()
    m = d["metrics"]
    assert d["schema"] == SCHEMA and set(d["inputs"]) == {"real", "generated", "floor", "train"}
    assert m["one_step_error"]["generated"]["median"] > 100 * m["one_step_error"]["floor"]["median"]
    assert m["correlation_dimension_ratio"]["generated"] > 1.1
    # the generated series are the training series plus 5% noise: copies, not new series
    assert m["memorisation_ratio"]["generated"] < 0.2
    assert d["warnings"] == []
    assert d["lyapunov"]["reference_exponent"] == pytest.approx(0.9056)
    assert card.to_markdown().startswith("# Fidelity scorecard\n")
    json.dumps(d, allow_nan=False)  # strict JSON: no NaN anywhere


def test_shuffled_time_order_is_flagged_by_the_temporal_metrics(pair, real2):
    m = pair(corrupt(real2.trajectories, "shuffled"))
    assert max(m["wasserstein_over_std"]) < 0.03  # the marginals cannot see it ...
    assert m["hellinger_spectrum"] > 0.2  # ... everything that looks at time can
    assert m["autocorrelation_distance"] > 0.05
    assert m["one_step_error"]["median"] > 0.1
    assert m["correlation_dimension_ratio"] < 0.5
    assert m["discriminative_accuracy"] > 0.9


def test_added_noise_is_flagged(pair, real2):
    m = pair(corrupt(real2.trajectories, "noise"))
    assert m["one_step_error"]["median"] > 0.005  # thousands of times the floor
    assert m["state_space_divergence"] > 0.05
    assert m["correlation_dimension_ratio"] > 1.1


def test_an_orbit_drawn_too_slowly_reads_its_speed_and_noise_does_not_bias_it(pair, real2):
    slow = simulate("lorenz63", n=N, dt=0.07, seed=1).trajectories  # judged as dt = 0.1
    assert pair(slow)["speed_factor"] == pytest.approx(0.7, abs=0.02)
    assert pair(corrupt(real2.trajectories, "noise"))["speed_factor"] == pytest.approx(1, abs=0.02)


def test_crossing_rate_ratio_reads_the_pace_of_wing_switches(pair, real2):
    """An orbit drawn at 0.7 of the flow's speed switches wings 0.7 times as often per unit
    time; 5% noise is inside the dead band and changes nothing; shuffled time order switches
    wings at random (x, y six times as often), and z, which oscillates about its mean once a
    loop already, half again as often."""
    slow = simulate("lorenz63", n=N, dt=0.07, seed=1).trajectories  # judged as dt = 0.1
    np.testing.assert_allclose(pair(slow)["crossing_rate_ratio"], 0.7, atol=0.07)
    noisy = pair(corrupt(real2.trajectories, "noise"))["crossing_rate_ratio"]
    np.testing.assert_allclose(noisy, 1.0, atol=0.05)
    shuffled = pair(corrupt(real2.trajectories, "shuffled"))["crossing_rate_ratio"]
    assert min(shuffled[:2]) > 4 and shuffled[2] > 1.3


def test_return_map_ratio_reads_the_order_of_the_loops(pair, real2):
    """Shuffled time order leaves no return map (about 0); 5% noise blurs the maxima and reads
    below 1 but well above 0; the same orbits played backwards turn Lorenz's tent into a curve
    with two branches, which the binned medians mispredict (below 0); a real set of other
    orbits reads 1."""
    x = real2.trajectories
    shuffled = pair(corrupt(x, "shuffled"))["return_map_ratio"]
    np.testing.assert_allclose(shuffled, 0.0, atol=0.1)
    noisy = pair(corrupt(x, "noise"))["return_map_ratio"]
    assert all(0.6 < v < 0.95 for v in noisy)
    assert max(pair(x[:, ::-1])["return_map_ratio"]) < 0
    np.testing.assert_allclose(pair(x)["return_map_ratio"], 1.0, atol=0.05)


def test_wrong_parameters_are_flagged(pair):
    m = pair(simulate("lorenz63", n=N, dt=0.1, seed=1, params={"rho": 35.0}).trajectories)
    assert max(m["wasserstein_over_std"]) > 0.3
    assert m["state_space_divergence"] > 1.0
    assert m["hellinger_spectrum"] > 0.05
    assert m["autocorrelation_distance"] > 0.05
    assert m["one_step_error"]["median"] > 0.02
    assert m["discriminative_accuracy"] > 0.9


def test_smoothed_series_are_flagged(pair, real2):
    m = pair(corrupt(real2.trajectories, "smoothed"))
    assert max(m["wasserstein_over_std"]) > 0.1
    assert m["hellinger_spectrum"] > 0.1
    assert m["one_step_error"]["median"] > 0.01
    assert m["discriminative_accuracy"] > 0.9


def test_mode_collapse_is_flagged(pair, real2):
    """Every 'generated' series a near-copy of one of two real series (a collapsed generator):
    the marginals stay plausible, the diversity ratio does not."""
    x = real2.trajectories
    rng = np.random.default_rng(0)
    collapsed = x[rng.integers(0, 2, len(x))] + rng.normal(size=x.shape) * 0.05 * x.std((0, 1))
    m = pair(collapsed)
    assert m["diversity_ratio"] < 0.7  # two modes: about 1 - 1/2 of the real diversity
    assert pair(x)["diversity_ratio"] > 0.95


def test_lyapunov_ratio_flags_shuffled_series(real, real2):
    shuffled = Dataset(corrupt(real2.trajectories, "shuffled"), dict(real2.meta))
    ratios = compare_exponents(real, shuffled, backend="fast").ratios()
    for c in ratios.values():
        lo, hi = c["ci95"]
        assert lo > 1.5 or hi < 0.67


def test_trivial_baselines_are_what_the_issue_says(real):
    b = metrics.trivial_baselines(real.trajectories, metrics.attractor_diameter(real.trajectories))
    assert 0.05 < b["no_change"] < 0.2 and 0.15 < b["random_point"] < 0.4


def test_nearest_distances_equal_scikit_learn_brute_force():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    reference = rng.normal(size=(300, 64))
    queries = np.concatenate([rng.normal(size=(100, 64)), reference[:20] + 1e-9])  # near-ties
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    index = nn.kneighbors(queries, return_distance=False)[:, 0]
    got = nearest_distances(queries, reference, block=37)  # blocks that do not divide Q
    # scikit-learn's neighbour, its distance taken directly (its own |a|^2 - 2ab + |b|^2 form
    # rounds distances of 1e-9 to about 1e-7; ours re-ranks with exact differences)
    want = np.linalg.norm(queries - reference[index], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert np.all(got[100:] < 1e-8)


def test_memorisation_ratio_tells_copies_from_fresh_data(real, real2):
    train = simulate("lorenz63", n=N, dt=0.1, seed=3).trajectories
    rng = np.random.default_rng(1)
    copies = train[rng.integers(0, len(train), N)]  # a generator that returns training series
    assert memorisation_ratio(copies, real.trajectories, train)["ratio"] < 0.2
    fresh = memorisation_ratio(real2.trajectories, real.trajectories, train)
    assert 0.9 < fresh["ratio"] < 1.1
    assert fresh["generated_median"] > 0.5  # standardised RMS distances of unrelated series


def test_hellinger_reference_transcription_equals_ours_on_one_series(real, real2):
    """For one series per side the pooled D_H and the papers' definition coincide."""
    for i in range(3):
        ours = metrics.hellinger_spectrum(
            real.trajectories[i : i + 1], real2.trajectories[i : i + 1]
        )
        ref = metrics.hellinger_spectrum_reference(real.trajectories[i], real2.trajectories[i])
        assert ours == pytest.approx(ref, rel=1e-9, abs=1e-12)
    assert ref > 0.01


def test_state_space_divergence_reference_differs_where_documented(real, real2):
    x, y = real.trajectories.reshape(-1, 3), real2.trajectories.reshape(-1, 3)
    assert metrics.state_space_divergence_reference(x, x) == pytest.approx(0.0, abs=1e-12)
    # generated points entirely outside the real range: the reference drops them (NaN),
    # ours clips them into the edge bins and charges for it
    far = y + 10 * x.std(0)
    assert np.isnan(metrics.state_space_divergence_reference(x, far))
    assert (
        metrics.state_space_divergence(real.trajectories, far.reshape(real.trajectories.shape)) > 3
    )
    # Laplace smoothing on counts (reference) punishes missed bins far more than on
    # probabilities (ours): keep only half of the attractor (x > 0) as 'generated'
    half = y[y[:, 0] > 0]
    ours = metrics.state_space_divergence(real.trajectories, half[None])
    ref = metrics.state_space_divergence_reference(x, half)
    assert ref > 2 * ours > 0


def test_rosenstein_parameters_are_derived_once_from_the_real_data(lorenz_small):
    from chaosgan.lyapunov.from_data import derive_rosenstein_params, params_dict

    other = simulate("lorenz63", n=40, dt=0.1, seed=5, params={"rho": 35.0})
    card = score(lorenz_small, other, metrics=False, lyapunov_params="auto")
    # own-series neighbours (pool 1): the scorecard's choice (chaosgan.evaluate.lyapunov)
    derived = derive_rosenstein_params(lorenz_small.trajectories, lorenz_small.dt, pool=1)
    used = card.to_dict()["lyapunov"]["estimator_params"]

    def shown(per_coordinate: dict) -> dict:  # one parameter set per coordinate, by name
        names = lorenz_small.coordinate_names
        if len(set(per_coordinate.values())) == 1:
            return params_dict(next(iter(per_coordinate.values())))
        return {names[c]: params_dict(p) for c, p in per_coordinate.items()}

    assert used == shown(derived) == card.data.lyapunov.other.params  # the same for both sides
    assert used != shown(derive_rosenstein_params(other.trajectories, other.dt, pool=1))
    assert all(p["pool"] == 1 for p in used.values()) if "x" in used else used["pool"] == 1


def test_a_different_system_is_refused_before_any_metric(lorenz_small):
    rossler = simulate("rossler", n=4, steps=lorenz_small.trajectories.shape[1], dt=lorenz_small.dt)
    with pytest.raises(ChaosganError, match="system rossler, the real data are lorenz63"):
        score(lorenz_small, rossler, metrics=False)


def test_grid_recurrence_is_chance_for_orbits_and_flags_a_repeated_template(real):
    """Real orbits return near themselves after irregular times (chance: 3/64); series that
    repeat a 64-sample template with small drift and noise, as an image generator's
    checkerboard does, have their nearest neighbours two rows away."""
    x = real.trajectories
    orbit = metrics.grid_recurrence(x)
    assert 0.02 < orbit < 0.08
    rng = np.random.default_rng(0)
    template = x[:, :64]
    tiled = np.concatenate([template + 0.02 * k for k in range(16)], axis=1)
    tiled = tiled + rng.normal(size=tiled.shape) * 0.01
    assert metrics.grid_recurrence(tiled) > 0.9
    # another period, not the grid's: at chance for period 64, caught when asked for its own
    tiled_50 = np.concatenate([x[:, :50]] * 21, axis=1)[:, :1024]
    tiled_50 = tiled_50 + rng.normal(size=tiled_50.shape) * 0.01
    assert metrics.grid_recurrence(tiled_50) < 0.2
    assert metrics.grid_recurrence(tiled_50, period=50) > 0.9
    assert np.isnan(metrics.grid_recurrence(x[:, :20]))


def test_successive_maxima_of_a_sine_are_its_peaks_and_never_pair_across_series():
    t = np.arange(400) * 0.1
    x = np.stack([np.sin(t), 2.0 * np.sin(t + 1.0)])  # 7 peaks each, heights 1 and 2
    now, after = metrics.successive_maxima(x)
    assert len(now) == len(after) == 2 * (7 - 1)  # 6 pairs per series, none across them
    np.testing.assert_allclose(now, after, atol=2e-3)
    assert set(np.round(now, 2)) == {1.0, 2.0}
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        metrics.successive_maxima(x[..., None])


def test_the_maxima_of_lorenz_z_follow_a_map_and_shuffled_ones_do_not(real):
    """Lorenz (1963)'s test: each z maximum nearly fixes the next one on real orbits (binned
    medians of m_{n+1} given m_n explain most of its variance, even at dt = 0.1, which blurs the
    peaks); the same series with their samples shuffled in time explain none of it."""
    z = real.trajectories[..., 2]
    now, _ = metrics.successive_maxima(z)
    assert len(now) > 50 * len(z)  # a loop about every 0.75 time units
    assert metrics.maxima_map_unexplained(z) < 0.5
    shuffled = np.random.default_rng(0).permuted(z, axis=1)
    assert metrics.maxima_map_unexplained(shuffled) > 0.9
    assert np.isnan(metrics.maxima_map_unexplained(z[:1, :40]))  # too few maxima


def test_crossing_rate_counts_side_changes_beyond_the_band():
    """Hand-checked: 3 -> -3 and -3 -> 3 cross 0 with a band of 1 (twice in 6 time units);
    the excursions to +-0.1 and +-0.2 inside the band count nothing; a series that never
    leaves the band never crosses. It equals a plain loop on random walks."""
    x = np.array([[3.0, 0.1, -0.1, -3.0, -0.2, 0.2, 3.0], [0.5, -0.5, 0.9, -0.9, 0.0, 0.3, -0.3]])
    np.testing.assert_allclose(metrics.crossing_rate(x, 0.0, 1.0, dt=1.0), [2 / 6, 0.0])
    np.testing.assert_allclose(metrics.crossing_rate(x + 5, 5.0, 1.0, dt=0.5), [4 / 6, 0.0])

    walks = np.cumsum(np.random.default_rng(1).normal(size=(5, 300)), axis=1)
    expected = []
    for row in walks:
        side, count = 0, 0
        for v in row:
            now = 1 if v > 2.0 else -1 if v < -2.0 else 0
            if now and side and now != side:
                count += 1
            side = now or side
        expected.append(count / (299 * 0.1))
    np.testing.assert_allclose(metrics.crossing_rate(walks, 0.0, 2.0, dt=0.1), expected)
    with pytest.raises(ValueError, match=r"\(N, T\)"):
        metrics.crossing_rate(walks[0], 0.0, 2.0, dt=0.1)
    with pytest.raises(ValueError, match="T >= 2"):
        metrics.crossing_rate(walks[:, :1], 0.0, 2.0, dt=0.1)
    with pytest.raises(ValueError, match="band"):
        metrics.crossing_rate(walks, 0.0, -1.0, dt=0.1)


def test_lorenz_switches_wings_more_often_at_larger_rho():
    """x's crossings of 0 beyond 0.3 std are Lorenz-63's wing switches: at dt = 0.1 about 0.5
    per time unit at rho = 26 and 0.7 at rho = 37 (the docstring's figures)."""
    rates = []
    for rho in (26.0, 37.0):
        x = simulate("lorenz63", n=16, dt=0.1, seed=3, params={"rho": rho}).trajectories[..., 0]
        rates.append(metrics.crossing_rate(x, 0.0, 0.3 * x.std(), dt=0.1).mean())
    assert 0.42 < rates[0] < 0.6 and 0.62 < rates[1] < 0.8, rates
