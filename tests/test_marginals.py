"""The marginal-matching loss (chaosgan.gan.marginals) against scipy's 1-D Wasserstein distance,
and its pull on a generator that draws too small an attractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from chaosgan import simulate
from chaosgan.errors import ChaosganError
from chaosgan.gan.config import load_config
from chaosgan.gan.marginals import marginal_loss
from chaosgan.gan.models import Generator, ImageToSeries
from chaosgan.gan.train import train


def test_marginal_loss_equals_scipys_wasserstein_distance_over_std():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(4, 64, 3)) * [1.0, 2.0, 5.0]
    fake = rng.standard_t(3, size=(4, 64, 3)) + [0.5, -1.0, 2.0]
    scale = np.array([1.0, 2.0, 5.0])
    expected = np.mean(
        [
            wasserstein_distance(fake[..., d].ravel(), real[..., d].ravel()) / scale[d]
            for d in range(3)
        ]
    )
    got = marginal_loss(torch.from_numpy(fake), torch.from_numpy(real), torch.from_numpy(scale))
    assert got.item() == pytest.approx(expected, rel=1e-10)


def test_marginal_loss_ignores_order_and_is_zero_on_a_permutation_of_the_real_values():
    real = torch.randn(8, 32, 3, generator=torch.Generator().manual_seed(1))
    shuffled = real.reshape(-1, 3)[torch.randperm(8 * 32)].reshape(8, 32, 3)
    assert marginal_loss(shuffled, real, torch.ones(3)).item() == 0.0


def test_marginal_loss_gradient_widens_a_shrunk_attractor():
    """Series drawn at 60% of the real amplitude: gradient steps on the loss widen them back."""
    real = torch.randn(4, 256, 3, generator=torch.Generator().manual_seed(2)) * 8.0 + 25.0
    fake = (0.6 * (real - 25.0) + 25.0).roll(1, dims=0).clone().requires_grad_(True)
    opt = torch.optim.SGD([fake], lr=1e4)  # per-value gradients are 1 / (B T D std)
    before = marginal_loss(fake, real, torch.full((3,), 8.0)).item()
    for _ in range(40):
        opt.zero_grad()
        marginal_loss(fake, real, torch.full((3,), 8.0)).backward()
        opt.step()
    after = marginal_loss(fake, real, torch.full((3,), 8.0)).item()
    assert before > 0.2 and after < 0.1 * before
    assert fake.detach().std().item() > 0.9 * real.std().item()


def test_marginal_loss_refuses_batches_of_different_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        marginal_loss(torch.zeros(2, 8, 3), torch.zeros(3, 8, 3), torch.ones(3))


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_config_refuses_a_negative_or_nan_marginal_weight(bad):
    with pytest.raises(ChaosganError, match="marginal_weight"):
        load_config(overrides={"marginal_weight": bad})


def test_a_run_with_marginal_matching_logs_it_and_its_gradient_reaches_the_generator(tmp_path):
    data = simulate("lorenz63", n=16, steps=1024, dt=0.1, seed=0)
    g = Generator(8, 16)
    to_series = ImageToSeries(data.normalisation, "snake")
    real = torch.from_numpy(data.trajectories[:4]).float()
    std = torch.from_numpy(data.trajectories.std(axis=(0, 1))).float()
    marginal_loss(to_series(g(torch.randn(4, 8))), real, std).backward()
    assert next(g.parameters()).grad.abs().sum() > 0
    tiny = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}
    cfg = load_config(overrides={**tiny, "epochs": 2, "marginal_weight": 10.0})
    run = train(data, tmp_path / "run", cfg, device="cpu")
    assert len(run.history["marginal"]) == 2 and all(0 < v < 10 for v in run.history["marginal"])


def test_two_real_batches_score_near_zero_and_a_shrunk_attractor_far_from_it():
    """The loss's floor: two disjoint batches of 64 real Lorenz series (different series, so
    different stretches of the attractor) score below 0.06; the same batch drawn at 70% of its
    amplitude about the mean scores above 0.15."""
    data = simulate("lorenz63", n=128, steps=1024, dt=0.1, seed=3).trajectories
    x = torch.from_numpy(data).float()
    std = x.std(dim=(0, 1))
    floor = marginal_loss(x[:64], x[64:], std).item()
    mean = x[64:].mean(dim=(0, 1))
    shrunk = marginal_loss(mean + 0.7 * (x[:64] - mean), x[64:], std).item()
    assert floor < 0.06 and shrunk > 0.15
