"""The echo-state-network baseline: forecasts, hyperparameter choice, the dataset it writes."""

from __future__ import annotations

import numpy as np
import pytest

from chaosgan.baselines.esn import (
    EchoStateNetwork,
    select_hyperparameters,
    valid_prediction_time,
)
from chaosgan.baselines.sample import esn_dataset, warmup_windows
from chaosgan.cli import main
from chaosgan.dataset import load
from chaosgan.errors import ChaosganError

SMALL_GRID = {"spectral_radius": (0.4,), "input_scaling": (1.0, 2.0), "alpha": (1e-6,)}


@pytest.fixture(scope="module")
def fitted(lorenz_small):
    """A 300-unit network fitted on 30 of the 40 series (the other 10 are held out)."""
    x = lorenz_small.trajectories
    esn = EchoStateNetwork(n_reservoir=300, spectral_radius=0.4, input_scaling=1.0, seed=0)
    return esn.fit(x[:30]), x[30:]


def test_short_term_forecast_beats_predicting_no_change(fitted):
    esn, held_out = fitted
    warm, truth = held_out[:, :200], held_out[:, 200:205]
    forecast = esn.generate(warm, 5)
    diameter = np.ptp(held_out.reshape(-1, 3), axis=0).max()
    for k in (0, 4):  # one step and five steps (0.5 time units) ahead
        esn_err = np.linalg.norm(forecast[:, k] - truth[:, k], axis=1).mean() / diameter
        still = np.linalg.norm(warm[:, -1] - truth[:, k], axis=1).mean() / diameter
        assert esn_err < 0.1 * still, (k, esn_err, still)


def test_valid_prediction_time_counts_steps_until_the_error_exceeds_the_threshold():
    truth = np.zeros((2, 6, 2))
    pred = np.zeros((2, 6, 2))
    pred[0, 3:, 0] = 1.0  # error sqrt(1/2) = 0.71 > 0.5 from step 3
    pred[1, :, 1] = 0.6  # sqrt(0.36 / 2) = 0.42 <= 0.5: valid throughout
    assert valid_prediction_time(pred, truth, np.ones(2)).tolist() == [3, 6]
    # the scale is per coordinate: with std 2 in x the same error is 0.35, valid throughout
    assert valid_prediction_time(pred, truth, np.array([2.0, 1.0])).tolist() == [6, 6]


def test_selection_prefers_the_candidate_that_forecasts_and_keeps_the_attractor(lorenz_small):
    grid = {"spectral_radius": (0.4,), "input_scaling": (0.05, 1.0, 2.0), "alpha": (1e-6,)}
    params, table = select_hyperparameters(
        lorenz_small.trajectories, grid=grid, fixed={"n_reservoir": 200}, seed=0
    )
    assert len(table) == 3
    by_scaling = {row["input_scaling"]: row for row in table}
    # inputs scaled down to 0.05 leave the units nearly linear: the forecast fails within a
    # few steps and the autonomous run decays, so the candidate is not eligible
    weak = by_scaling[0.05]
    assert not weak["climate_ok"]
    assert weak["valid_prediction_samples"] < 0.5 * max(
        r["valid_prediction_samples"] for r in table
    )
    eligible = [r for r in table if r["climate_ok"]]
    winner = max(eligible, key=lambda r: r["valid_prediction_samples"])
    assert params["input_scaling"] == winner["input_scaling"] and params["n_reservoir"] == 200


def test_generate_is_seeded_and_checks_its_input(lorenz_small):
    x = lorenz_small.trajectories[:20]
    a = EchoStateNetwork(n_reservoir=100, seed=3).fit(x).generate(x[:2, -100:], 10)
    b = EchoStateNetwork(n_reservoir=100, seed=3).fit(x).generate(x[:2, -100:], 10)
    c = EchoStateNetwork(n_reservoir=100, seed=4).fit(x).generate(x[:2, -100:], 10)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    esn = EchoStateNetwork(n_reservoir=100).fit(x)
    with pytest.raises(ChaosganError, match="coordinates"):
        esn.generate(x[:2, -100:, :2], 10)
    with pytest.raises(ChaosganError, match="NaN"):
        esn.fit(np.full((2, 300, 3), np.nan))
    with pytest.raises(ChaosganError, match="leak_rate"):
        EchoStateNetwork(leak_rate=0.0).fit(x)


def test_warmup_windows_are_distinct_and_end_at_the_data_end():
    windows = warmup_windows(3, 1024, 7, 100, np.random.default_rng(0))
    assert len(set(windows)) == 7
    assert sorted(s for s, e in windows[:3]) == [0, 1, 2]
    assert [e for _, e in windows] == [1024] * 3 + [924] * 3 + [824]
    with pytest.raises(ChaosganError, match="warm-up windows"):
        warmup_windows(2, 250, 5, 100, np.random.default_rng(0))


def test_esn_dataset_validates_records_its_source_and_copies_nothing(lorenz_small, tmp_path):
    train = lorenz_small
    ds = esn_dataset(train, 12, seed=0, n_reservoir=200, grid=SMALL_GRID, data_path="t.npz")
    path = ds.save(tmp_path / "esn.npz")
    back = load(path)
    assert back.meta["kind"] == "generated" and back.meta["generator"] == "esn"
    assert back.meta["training_data"]["sha256"] == train.sha256()
    assert back.meta["esn"]["hyperparameters"]["n_reservoir"] == 200
    assert back.trajectories.shape == (12, 1024, 3) and back.images is not None
    # no generated series is (a shifted piece of) a training series: every first sample lies
    # away from every training sample by more than the rounding of a copy would
    first = back.trajectories[:, 0]
    dist = np.linalg.norm(train.trajectories.reshape(-1, 3)[None] - first[:, None], axis=2)
    assert dist.min() > 1e-6
    again = esn_dataset(train, 12, seed=0, n_reservoir=200, grid=SMALL_GRID, data_path="t.npz")
    assert np.array_equal(again.trajectories, ds.trajectories)


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def test_cli_baseline_esn_bad_input(lorenz_small_path, tmp_path, capsys):
    out = tmp_path / "out.npz"
    out.write_bytes(b"old")
    cases = [
        ("baseline", "esn", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "a.npz")),
        ("baseline", "esn", str(lorenz_small_path), "--out", str(out)),  # exists, no --force
        ("baseline", "esn", str(lorenz_small_path), "--out", str(tmp_path / "b.npz"), "--n", "0"),
        (
            "baseline",
            "esn",
            str(lorenz_small_path),
            "--out",
            str(tmp_path / "c.npz"),
            "--reservoir",
            "nan",
        ),  # fmt: skip
        (
            "baseline",
            "esn",
            str(lorenz_small_path),
            "--out",
            str(tmp_path / "d.npz"),
            "--n",
            "1000",
            "--warmup",
            "600",
        ),  # fmt: skip
    ]
    for args in cases:
        code, err = run_cli(capsys, *args)
        assert code == 2, args
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)
        assert "Traceback" not in err
    assert out.read_bytes() == b"old"
    assert not any(p.name != "out.npz" for p in tmp_path.iterdir())
