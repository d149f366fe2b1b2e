"""Relaxation towards orbits (gradient-descent noise reduction) and `chaosgan sample --relax`."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from chaosgan import load_dataset, simulate
from chaosgan.cli import main
from chaosgan.errors import ChaosganError
from chaosgan.evaluate import score
from chaosgan.evaluate.scorecard import RELAXED_WARNING
from chaosgan.gan.config import load_config
from chaosgan.gan.physics import PolynomialFlow, physics_model
from chaosgan.gan.relaxation import relax, relax_towards
from chaosgan.gan.train import train
from chaosgan.simulate import ParamDraw

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


@pytest.fixture(scope="module")
def model():
    return physics_model(simulate("lorenz63", n=16, dt=0.1, seed=6), "identified")


@pytest.fixture(scope="module")
def clean():
    return simulate("lorenz63", n=3, dt=0.1, seed=5).trajectories[:, :300].astype(np.float64)


def _rms(a, b):
    return float(np.sqrt(np.square(a - b).sum(-1).mean()))


def test_relaxation_removes_noise_and_comes_back_near_the_clean_orbit(model, clean):
    rng = np.random.default_rng(0)
    noisy = clean + 0.03 * clean.reshape(-1, 3).std(0) * rng.standard_normal(clean.shape)
    result = relax(noisy, model, 0.1, iterations=60)
    assert result.series.shape == noisy.shape and np.isfinite(result.series).all()
    # noise reduction: the one-step residual falls tenfold and more ...
    assert (result.residual_after < 0.1 * result.residual_before).all()
    # ... and the series ends nearer the clean orbit than the noisy input was
    assert _rms(result.series, clean) < 0.5 * _rms(noisy, clean)
    assert np.allclose(result.moved * model.diameter, _per_series_rms(result.series, noisy))


def _per_series_rms(a, b):
    return np.sqrt(np.square(a - b).sum(-1).mean(1))


def test_an_orbit_stays_where_it_is_and_fewer_steps_move_less(model, clean):
    still = relax(clean, model, 0.1, iterations=20)
    assert still.moved.max() < 1e-3 and still.residual_before.max() < 1e-3
    rng = np.random.default_rng(1)
    noisy = clean + 0.05 * clean.reshape(-1, 3).std(0) * rng.standard_normal(clean.shape)
    short = relax(noisy, model, 0.1, iterations=2)
    long = relax(noisy, model, 0.1, iterations=40)
    assert np.median(long.residual_after) < np.median(short.residual_after)


def test_chunks_are_reproducible(model, clean):
    a = relax(clean[:2] + 0.1, model, 0.1, iterations=5, chunk=1)
    b = relax(clean[:2] + 0.1, model, 0.1, iterations=5, chunk=1)
    np.testing.assert_array_equal(a.series, b.series)
    single = relax(clean[1:2] + 0.1, model, 0.1, iterations=5)
    np.testing.assert_array_equal(a.series[1], single.series[0])  # chunk 1: series alone


def test_bad_input_is_refused(model, clean):
    with pytest.raises(ChaosganError, match="shape"):
        relax(clean[0], model, 0.1)
    with pytest.raises(ChaosganError, match="shape"):
        relax(clean[:, :, :2], model, 0.1)
    with pytest.raises(ChaosganError, match="NaN"):
        relax(np.full((1, 10, 3), np.nan), model, 0.1)
    garbage = np.random.default_rng(2).uniform(-20, 40, (2, 64, 3)) * 1e8
    with pytest.raises(ChaosganError, match="diverged"):
        relax(garbage, model, 0.1, iterations=5)
    with pytest.raises(ChaosganError, match="iterations"):
        relax(clean, model, 0.1, iterations=0)
    conditional = replace(model, names=(*model.names, "rho"), parameters=("rho",))
    with pytest.raises(ChaosganError, match="fixed parameter"):
        relax(clean, conditional, 0.1)


def test_cli_sample_relax_records_it_and_refuses_projection_beside_it(
    tmp_path, capsys, monkeypatch
):
    lorenz = simulate("lorenz63", n=24, dt=0.1, seed=0)
    data_path = tmp_path / "real.npz"
    lorenz.save(data_path)
    run = tmp_path / "run"
    config = tmp_path / "tiny.toml"
    config.write_text("\n".join(f"{k} = {v}" for k, v in TINY.items()) + "\n")
    args = ["train", str(data_path), "--out", str(run), "--epochs", "1", "--device", "cpu"]
    assert main([*args, "--config", str(config)]) == 0
    # a one-epoch generator: let it "generate" noisy real series, to see what --relax does
    rng = np.random.default_rng(0)
    noisy = lorenz.trajectories[:3] + 0.3 * rng.standard_normal((3, 1024, 3))
    monkeypatch.setattr("chaosgan.gan.sample.decode", lambda images, norm: noisy[: len(images)])
    capsys.readouterr()
    out = tmp_path / "gen.npz"
    cmd = ["sample", str(run), "--n", "3", "--out", str(out), "--relax", "30", "--json"]
    assert main(cmd) == 0
    summary = json.loads(capsys.readouterr().out)
    ds = load_dataset(out)
    info = ds.meta["relaxation"]
    assert ds.meta["relaxed"] is True and summary["relaxed"] is True
    assert summary["projected"] is False and "projected" not in ds.meta
    assert "identified" in info["model"] and info["iterations"] == 30
    assert info["median_residual_after_diameters"] < 0.2 * info["median_residual_before_diameters"]
    assert 0 < info["mean_moved_diameters"] <= info["max_moved_diameters"]
    truth = lorenz.trajectories[:3]
    assert _rms(ds.trajectories, truth) < 0.7 * _rms(noisy, truth)
    both = ["sample", str(run), "--n", "3", "--out", str(tmp_path / "g2.npz"), "--relax", "5"]
    assert main([*both, "--project"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main([*both[:-1], "0"]) == 2  # argparse: not an integer >= 1
    assert not (tmp_path / "g2.npz").exists()
    # the scorecard says what Rosenstein's method makes of relaxed series; of others, nothing
    assert RELAXED_WARNING in score(lorenz, ds, metrics=False).warnings
    assert RELAXED_WARNING not in score(lorenz, lorenz, metrics=False).warnings


def test_physics_relax_is_checked_by_the_config():
    ok = load_config(overrides={**TINY, "physics": "identified", "physics_relax": 10})
    assert ok.physics_relax == 10
    for bad, match in (
        ({"physics_relax": 10}, "needs physics on"),
        ({"physics": "identified", "physics_relax": 10, "physics_steps": 2}, "physics_steps"),
        ({"physics": "identified", "physics_relax": 101}, r"\[0, 100\]"),
        ({"physics": "identified", "physics_relax": -1}, r"\[0, 100\]"),
    ):
        with pytest.raises(ChaosganError, match=match):
            load_config(overrides={**TINY, **bad})


def test_relax_towards_takes_each_series_parameters():
    data = simulate("lorenz63", n=16, dt=0.1, seed=4, vary={"rho": ParamDraw(26.0, 34.0)})
    conditional = physics_model(data, "identified", parameters=("rho",))
    flow = PolynomialFlow(conditional, 0.1)
    values = (26.0, 34.0)
    clean = np.concatenate(
        [simulate("lorenz63", n=1, dt=0.1, seed=7, params={"rho": v}).trajectories for v in values]
    )[:, :200]
    rng = np.random.default_rng(3)
    noisy = torch.from_numpy(clean + 0.5 * rng.standard_normal(clean.shape))
    own = torch.tensor([[v] for v in values], dtype=torch.float64)
    d = conditional.diameter

    def error(series: torch.Tensor) -> torch.Tensor:  # per series, under its own rho
        return (series[:, 1:] - flow(series[:, :-1], 1, own)).norm(dim=-1).median(dim=1).values

    right = relax_towards(noisy, flow, d, 20, own)
    wrong = relax_towards(noisy, flow, d, 20, own.flip(0))
    assert not right.requires_grad
    assert (error(right) < 0.2 * error(noisy)).all()
    assert (error(right) < 0.5 * error(wrong)).all()


def test_a_run_with_physics_relax_trains_logs_it_and_pulls_towards_orbits(tmp_path):
    lorenz = simulate("lorenz63", n=24, dt=0.1, seed=0)
    common = {**TINY, "epochs": 2, "physics": "identified", "physics_warmup": 0}
    relaxed = train(lorenz, tmp_path / "r", load_config(overrides={**common, "physics_relax": 3}))
    plain = train(lorenz, tmp_path / "p", load_config(overrides=common))
    history = relaxed.history
    assert len(history["relax"]) == 2 and min(history["relax"]) > 0
    assert len(history["physics"]) == 2 and min(history["physics"]) > 0
    assert "relax" not in plain.history
    a, b = relaxed.generator.state_dict(), plain.generator.state_dict()
    assert not torch.equal(a["net.0.weight"], b["net.0.weight"])
