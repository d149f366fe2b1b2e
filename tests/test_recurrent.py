"""The recurrent generator and SeriesToImage: exact inverse of ImageToSeries, encode's layout,
training, sampling to the dataset format, resume, config."""

import numpy as np
import pytest
import torch

from chaosgan import load_dataset, simulate
from chaosgan.cli import main
from chaosgan.encoding import LAYOUTS, apply_layout, encode
from chaosgan.errors import ChaosganError
from chaosgan.gan.config import PRESETS, load_config
from chaosgan.gan.models import ImageToSeries, RecurrentGenerator, SeriesToImage
from chaosgan.gan.train import train

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


@pytest.fixture(scope="module")
def data():
    return simulate("lorenz63", n=16, dt=0.1, seed=0)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_series_to_image_inverts_image_to_series_exactly_and_matches_encode(data, layout):
    norm = data.normalisation
    to_series, to_image = ImageToSeries(norm, layout), SeriesToImage(layout)
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.equal(to_image(to_series.scaled(images)), images)
    series = torch.rand(4, 1024, 3) * 2 - 1
    assert torch.equal(to_series.scaled(to_image(series)), series)
    # from physical units (through SeriesToImage): the encoding module's images, in the layout
    traj = data.trajectories[:3]
    expected = apply_layout(encode(traj, norm), layout)
    got = to_series.to_images(torch.from_numpy(traj)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_recurrent_generator_draws_its_series_into_the_layout():
    torch.manual_seed(0)
    g = RecurrentGenerator(latent_dim=8, hidden=16, layout="snake")
    z = torch.randn(3, 8)
    images = g(z)
    assert images.shape == (3, 3, 32, 32) and images.abs().max() <= 1
    series = g.series(z)
    assert torch.equal(ImageToSeries(unit_norm(), "snake").scaled(images), series)
    # different z, different series; gradients reach the GRU
    assert not torch.allclose(series[0], series[1])
    images.square().mean().backward()
    assert g.gru.weight_hh_l0.grad.abs().sum() > 0 and g.initial.weight.grad.abs().sum() > 0


def unit_norm():
    from chaosgan.encoding import Normalisation

    return Normalisation((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


def test_config_validates_the_generator_and_the_recurrent_preset():
    with pytest.raises(ChaosganError, match="generator must be one of dcgan, resize, recurrent"):
        load_config(overrides={"generator": "lstm"})
    cfg = load_config("recurrent")
    assert cfg.generator == "recurrent" and cfg.g_width == 64
    best = load_config("best").to_dict()
    assert {k: v for k, v in cfg.to_dict().items() if k not in ("generator", "g_width")} == {
        k: v for k, v in best.items() if k not in ("generator", "g_width")
    }
    assert set(PRESETS["recurrent"]) >= set(PRESETS["best"])


def test_recurrent_run_samples_to_the_dataset_format(data, tmp_path, capsys):
    path = tmp_path / "real.npz"
    data.save(path)
    toml = tmp_path / "tiny.toml"
    # the recurrent preset's critics (pack 2 here) without its physics model, whose
    # identification would take most of the test's time
    recipe = {"generator": '"recurrent"', "layout": '"snake"', "pack": 2, "series_weight": 1.0}
    lines = {**TINY, **recipe, "series_width": 8}
    toml.write_text("\n".join(f"{k} = {v}" for k, v in lines.items()))
    run = tmp_path / "run"
    args = ["train", str(path), "--out", str(run), "--device", "cpu", "--epochs", "1"]
    assert main([*args, "--config", str(toml)]) == 0
    out = tmp_path / "gen.npz"
    assert main(["sample", str(run), "--n", "5", "--out", str(out), "--seed", "2"]) == 0
    gen = load_dataset(out)
    assert gen.meta["kind"] == "generated" and gen.trajectories.shape == (5, 1024, 3)
    assert gen.meta["dt"] == data.dt and gen.images is not None
    lo, hi = np.array(data.normalisation.minimum), np.array(data.normalisation.maximum)
    assert np.all(gen.trajectories >= lo - 1e-9) and np.all(gen.trajectories <= hi + 1e-9)
    assert np.isfinite(gen.trajectories).all() and gen.trajectories.std(axis=(0, 1)).min() > 0


def test_recurrent_run_resumes_exactly_and_keeps_its_architecture(data, tmp_path):
    cfg = load_config(overrides={**TINY, "generator": "recurrent", "layout": "snake", "epochs": 2})
    straight = train(data, tmp_path / "a", cfg, device="cpu")
    assert isinstance(straight.generator, RecurrentGenerator)
    train(data, tmp_path / "b", load_config(overrides={**cfg.to_dict(), "epochs": 1}), "cpu")
    # the architecture comes from the checkpoint, whatever config is passed on resume
    resumed = train(data, tmp_path / "b", load_config(), "cpu", resume=True, epochs=2)
    assert isinstance(resumed.generator, RecurrentGenerator) and resumed.epoch == 2
    a, b = straight.generator.state_dict(), resumed.generator.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_recurrent_generator_starts_moving_and_truncates_gradients_between_chunks():
    torch.manual_seed(0)
    g = RecurrentGenerator(latent_dim=100, hidden=64)
    with torch.no_grad():
        late = g.series(torch.randn(16, 100))[:, 512:]
    # not a contracting map that settles on a fixed point: the series still move late on
    assert late.std(dim=1).mean() > 0.05 and late.diff(dim=1).abs().mean() > 0.02
    # a loss on the second chunk alone reaches the GRU's weights but not z's initial state
    g.series(torch.randn(2, 100))[:, g.chunk : 2 * g.chunk].sum().backward()
    assert g.gru.weight_hh_l0.grad.abs().sum() > 0
    assert g.initial.weight.grad is None or g.initial.weight.grad.abs().sum() == 0
