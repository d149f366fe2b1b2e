"""The marginal-matching and return-map losses (chaosgan.gan.marginals) against scipy's 1-D
Wasserstein distance and the scorecard's successive maxima, and their pull on a generator that
draws too small an attractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from chaosgan import simulate
from chaosgan.errors import ChaosganError
from chaosgan.evaluate.metrics import successive_maxima, wasserstein_over_std
from chaosgan.gan.config import load_config
from chaosgan.gan.marginals import (
    band_log_power,
    grouped_marginal_loss,
    marginal_loss,
    maxima_map_loss,
    spectrum_loss,
    state_loss,
    successive_maxima_pairs,
    wasserstein_1d,
)
from chaosgan.gan.models import Generator, ImageToSeries
from chaosgan.gan.sample import sample
from chaosgan.gan.train import train
from chaosgan.simulate import ParamDraw

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


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


def test_second_order_loss_is_the_rms_gap_of_sorted_values_and_weighs_a_missing_tail_more():
    """W2 on the line is the root mean square gap of the sorted values (hand-checked on a tiny
    case, then numpy on random data). Against two fakes at the same W1 from the real values, one
    shifted as a whole and one with its lowest tenth drawn too far, W1 cannot choose; W2 ranks the
    wrong tail worse, and its gradient pulls the tail values harder than the rest."""
    hand = marginal_loss(
        torch.tensor([[[0.0], [1.0], [5.0]]]),
        torch.tensor([[[3.0], [1.0], [1.0]]]),
        torch.ones(1),
        2,
    )  # sorted gaps 1, 0, 2: sqrt(5 / 3)
    assert hand.item() == pytest.approx(np.sqrt(5 / 3), rel=1e-6)
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(4, 64, 3)), rng.standard_t(3, size=(4, 64, 3))
    gaps = np.sort(fake.reshape(-1, 3), axis=0) - np.sort(real.reshape(-1, 3), axis=0)
    expected = np.mean(np.sqrt(np.mean(gaps**2, axis=0)) / [1.0, 2.0, 4.0])
    got = marginal_loss(
        torch.from_numpy(fake), torch.from_numpy(real), torch.tensor([1.0, 2.0, 4.0]), 2
    )
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert (
        got.item()
        > marginal_loss(
            torch.from_numpy(fake), torch.from_numpy(real), torch.tensor([1.0, 2.0, 4.0])
        ).item()
    )

    real = torch.sort(torch.randn(1000, generator=torch.Generator().manual_seed(5))).values
    shifted = real + 0.5  # every value 0.5 off
    tail = real.clone()
    tail[:100] -= 5.0  # the lowest tenth 5 lower (still sorted): the same mean gap
    one, two = (real.reshape(1, -1, 1), torch.ones(1))
    w1 = [marginal_loss(f.reshape(1, -1, 1), one, two).item() for f in (shifted, tail)]
    assert w1[0] == pytest.approx(w1[1], rel=1e-5)
    w2 = [marginal_loss(f.reshape(1, -1, 1), one, two, 2).item() for f in (shifted, tail)]
    assert w2[1] > 3 * w2[0]  # sqrt(2.5) against 0.5
    tail.requires_grad_(True)
    marginal_loss(tail.reshape(1, -1, 1), one, two, 2).backward()
    assert tail.grad[:100].abs().min() > 100 * tail.grad[100:].abs().max()
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        marginal_loss(shifted.reshape(1, -1, 1), one, two, 3)


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


@pytest.mark.parametrize(
    "key", ["marginal_weight", "maxima_weight", "spectrum_weight", "state_weight"]
)
@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_config_refuses_a_negative_or_nan_weight(key, bad):
    with pytest.raises(ChaosganError, match=key):
        load_config(overrides={key: bad})


def test_two_real_batches_score_near_zero_and_a_shrunk_attractor_far_from_it():
    """The loss's floor: two disjoint batches of 64 real Lorenz series (different series, so
    different stretches of the attractor) score below 0.06; the same batch drawn at 70% of its
    amplitude about the mean scores above 0.15."""
    _, _, floor, shrunk = floor_and_shrunk(marginal_loss)
    assert floor < 0.06 and shrunk > 0.15


def floor_and_shrunk(loss) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """128 real Lorenz series ``x``, their std, and ``loss`` of the first 64 against the last
    64 (the floor) and of the first 64 drawn at 70% of their amplitude about the mean."""
    data = simulate("lorenz63", n=128, steps=1024, dt=0.1, seed=3).trajectories
    x = torch.from_numpy(data).float()
    std = x.std(dim=(0, 1))
    mean = x[64:].mean(dim=(0, 1))
    floor = loss(x[:64], x[64:], std).item()
    return x, std, floor, loss(mean + 0.7 * (x[:64] - mean), x[64:], std).item()


def test_state_loss_is_scipys_distance_along_each_direction_and_sees_a_hole():
    """Along one direction the sliced distance is scipy's 1-D distance of the projections;
    and a batch with the real marginals but its coordinates recombined at random (which fills
    the attractor's holes, the wing centres among them) scores far above the floor while its
    marginals stay exact."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 50, 3)), rng.normal(size=(2, 50, 3)) * 2.0
    got = state_loss(torch.from_numpy(a), torch.from_numpy(b), torch.ones(3), directions=1)
    unit = torch.randn(1, 3, generator=torch.Generator().manual_seed(0)).double()
    unit = (unit / unit.norm()).numpy()[0]
    expected = wasserstein_distance(a.reshape(-1, 3) @ unit, b.reshape(-1, 3) @ unit)
    assert got.item() == pytest.approx(expected, rel=1e-6)  # float32 directions
    x = torch.from_numpy(simulate("lorenz63", n=16, steps=1024, dt=0.1, seed=5).trajectories)
    std = x.std(dim=(0, 1))
    real, other = x[:8], x[8:]
    # each coordinate shuffled on its own: exactly the real marginals, the joint destroyed
    flat = real.reshape(-1, 3)
    gen = torch.Generator().manual_seed(1)
    mixed = torch.stack([flat[torch.randperm(len(flat), generator=gen), d] for d in range(3)], 1)
    mixed = mixed.reshape(real.shape)
    assert marginal_loss(mixed, real, std).item() < 1e-12
    floor = state_loss(other, real, std).item()
    assert state_loss(mixed, real, std).item() > 3 * floor


def test_wasserstein_1d_equals_scipys_for_samples_of_different_sizes_column_by_column():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(37, 2)), rng.standard_t(3, size=(101, 2)) + 0.3
    got = wasserstein_1d(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    expected = [wasserstein_distance(a[:, k], b[:, k]) for k in range(2)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_successive_maxima_pairs_equal_the_scorecards_and_never_span_two_series():
    data = simulate("lorenz63", n=6, steps=1024, dt=0.1, seed=5).trajectories[..., 2]
    pairs = successive_maxima_pairs(torch.from_numpy(data)).numpy()
    now, after = successive_maxima(data)
    np.testing.assert_array_equal(pairs, np.stack([now, after], axis=1))
    # one peak per series: no pair at all
    one_peak = torch.tensor([[0.0, 1.0, 0.0, -1.0], [0.0, 2.0, 0.0, -1.0]])
    assert successive_maxima_pairs(one_peak).shape == (0, 2)


def test_maxima_map_loss_floor_and_what_it_sees_that_the_marginals_do_not():
    """Two disjoint real batches of 64 score below 0.03; the same batch at 70% amplitude above
    0.2; and the batch run backwards in time, whose marginals are exactly the real batch's (the
    marginal loss cannot see it), scores more than 4x the floor: its loops' heights follow each
    other in the wrong order, off Lorenz's return map."""
    x, std, floor, shrunk = floor_and_shrunk(maxima_map_loss)
    backwards = x[:64].flip(1)
    assert marginal_loss(backwards, x[:64], std).item() == 0.0
    reversed_ = maxima_map_loss(backwards, x[64:], std).item()
    assert floor < 0.03 and shrunk > 0.2 and reversed_ > 4 * floor


def test_maxima_map_loss_gradient_raises_loops_that_are_too_low():
    """Real z series drawn at 80% amplitude about their mean (so their loops are too low, at the
    same places): gradient steps on the loss raise the maxima (positions stay, values move)."""
    data = simulate("lorenz63", n=8, steps=512, dt=0.1, seed=6).trajectories[..., 2:]
    real = torch.from_numpy(data).float()
    mean = real.mean()
    fake = (mean + 0.8 * (real - mean)).roll(1, dims=0).clone().requires_grad_(True)
    std = real.std(dim=(0, 1))
    opt = torch.optim.SGD([fake], lr=500.0)  # each maximum's gradient is about 1 / (pairs std)
    before = maxima_map_loss(fake, real, std).item()
    for _ in range(30):
        opt.zero_grad()
        maxima_map_loss(fake, real, std).backward()
        opt.step()
    after = maxima_map_loss(fake, real, std).item()
    assert before > 0.2 and after < 0.3 * before
    assert fake.detach().max() > 0.95 * real.max()


def test_maxima_map_loss_refuses_other_lengths_and_adds_nothing_without_pairs():
    with pytest.raises(ValueError, match="differ in shape"):
        maxima_map_loss(torch.zeros(2, 8, 3), torch.zeros(2, 9, 3), torch.ones(3))
    flat = torch.zeros(2, 8, 1, requires_grad=True)  # no local maximum at all
    real = torch.sin(torch.arange(64.0)).reshape(1, 64, 1).expand(2, 64, 1)[:, :8]
    assert maxima_map_loss(flat, real, torch.ones(1)).item() == 0.0


def test_spectrum_loss_floor_and_what_it_sees():
    """Two disjoint real batches of 64 score below 0.002 decades^2; an orbit 20% too slow (the
    same flow sampled every 0.08 time units instead of 0.1) above 0.05, and a ripple near the
    Nyquist frequency of 2% of each coordinate's std more than 4x the floor."""
    data = simulate("lorenz63", n=128, steps=1024, dt=0.1, seed=3).trajectories
    x = torch.from_numpy(data).float()
    reference = band_log_power(x[64:], 32)
    floor = spectrum_loss(x[:64], reference).item()
    slow = simulate("lorenz63", n=64, steps=1024, dt=0.08, seed=4).trajectories
    slowed = spectrum_loss(torch.from_numpy(slow).float(), reference).item()
    ripple = 0.02 * x.std(dim=(0, 1)) * torch.sin(2.7 * torch.arange(1024.0))[None, :, None]
    rippled = spectrum_loss(x[:64] + ripple, reference).item()
    assert floor < 0.002 and slowed > 0.05 and rippled > 4 * floor


def test_spectrum_loss_gradient_removes_the_high_frequency_power_of_noise():
    """Real series with 5% white noise: Adam steps on the loss bring it below a tenth of where
    it started, and the highest band's power more than halfway back to the real one's."""
    data = simulate("lorenz63", n=128, steps=1024, dt=0.1, seed=3).trajectories
    x = torch.from_numpy(data).float()
    reference = band_log_power(x[64:], 32)
    noise = torch.randn(x[:64].shape, generator=torch.Generator().manual_seed(0))
    noisy = (x[:64] + 0.05 * x.std(dim=(0, 1)) * noise).clone().requires_grad_(True)
    before = spectrum_loss(noisy, reference).item()
    top_before = band_log_power(noisy.detach(), 32)[-1]
    opt = torch.optim.Adam([noisy], lr=0.05)
    for _ in range(100):
        opt.zero_grad()
        spectrum_loss(noisy, reference).backward()
        opt.step()
    assert spectrum_loss(noisy, reference).item() < 0.1 * before
    top_after = band_log_power(noisy.detach(), 32)[-1]
    assert torch.all((top_after - reference[-1]).abs() < 0.5 * (top_before - reference[-1]).abs())


def test_spectrum_loss_refuses_a_reference_of_other_coordinates_and_config_checks_bands():
    with pytest.raises(ValueError, match="must be"):
        spectrum_loss(torch.zeros(2, 64, 3), torch.zeros(8, 2))
    for bad in (0, 257):
        with pytest.raises(ChaosganError, match="spectrum_bands"):
            load_config(overrides={"spectrum_bands": bad})


LOSSES = {  # config key -> (history key, the loss of fake series against the data)
    "marginal_weight": ("marginal", lambda fake, x, std: marginal_loss(fake, x[:4], std)),
    "maxima_weight": ("maxima", lambda fake, x, std: maxima_map_loss(fake, x[:4], std)),
    "state_weight": ("state", lambda fake, x, std: state_loss(fake, x[:4], std)),
    "spectrum_weight": (
        "spectrum",
        lambda fake, x, std: spectrum_loss(fake, band_log_power(x, 32)),
    ),
}


@pytest.mark.parametrize("key", list(LOSSES))
def test_a_run_with_a_matching_loss_logs_it_and_its_gradient_reaches_the_generator(key, tmp_path):
    logged, loss = LOSSES[key]
    data = simulate("lorenz63", n=16, steps=1024, dt=0.1, seed=0)
    g = Generator(8, 16)
    fake = ImageToSeries(data.normalisation, "snake")(g(torch.randn(4, 8)))
    x = torch.from_numpy(data.trajectories).float()
    loss(fake, x, x.std(dim=(0, 1))).backward()
    assert next(g.parameters()).grad.abs().sum() > 0
    cfg = load_config(overrides={**TINY, "epochs": 2, key: 10.0})
    run = train(data, tmp_path / "run", cfg, device="cpu")
    assert len(run.history[logged]) == 2 and all(0 < v < 10 for v in run.history[logged])
    others = {name for name, _ in LOSSES.values()} - {logged}
    assert not others & set(run.history)  # the terms switched off are not computed


def test_grouped_marginal_loss_sees_conditions_swapped_that_the_mixture_cannot():
    """Fakes that draw rho = 40's series when asked for 24 and 24's when asked for 40 have
    the mixture's marginals (the plain loss stays near its floor), but matched within groups of
    neighbouring condition values they score like a shrunk attractor; the true conditional
    draw (other real series at the same values) stays near the floor. One group is the plain
    loss."""
    data = simulate("lorenz63", n=64, seed=3, vary={"rho": ParamDraw(choices=(24.0, 40.0))})
    x = torch.from_numpy(data.trajectories).float()
    rho = torch.from_numpy(data.series_params[:, 0]).float()
    std = x.std(dim=(0, 1))
    low, high = torch.where(rho == 24.0)[0], torch.where(rho == 40.0)[0]
    k = min(len(low), len(high)) // 2
    # a batch of 2k real series, k at each value, and fakes with the same conditions
    real_idx = torch.cat([low[:k], high[:k]])
    cond = rho[real_idx]
    swapped = x[torch.cat([high[:k], low[:k]])]  # each fake from the other value
    honest = x[torch.cat([low[k : 2 * k], high[k : 2 * k]])]  # other series, same value
    real = x[real_idx]
    assert marginal_loss(swapped, real, std).item() < 0.12  # the mixture barely moves
    grouped = grouped_marginal_loss(swapped, real, std, cond, groups=2).item()
    floor = grouped_marginal_loss(honest, real, std, cond, groups=2).item()
    assert grouped > 0.3 and floor < 0.1, (grouped, floor)
    assert grouped_marginal_loss(swapped, real, std, cond, groups=1).item() == pytest.approx(
        marginal_loss(swapped, real, std).item(), rel=1e-6
    )
    with pytest.raises(ValueError, match="groups must lie"):
        grouped_marginal_loss(swapped, real, std, cond, groups=2 * k + 1)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"marginal_groups": 0}, "marginal_groups must lie"),
        ({"marginal_groups": 65, "batch_size": 64}, "marginal_groups must lie"),
        ({"marginal_groups": 4, "marginal_weight": 10.0}, "needs condition"),
        ({"marginal_groups": 4, "condition": ["rho"]}, "needs condition"),
    ],
)
def test_config_refuses_marginal_groups_without_a_conditional_marginal_term(overrides, fragment):
    with pytest.raises(ChaosganError, match=fragment):
        load_config(overrides=overrides)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"marginal_order": 3, "marginal_weight": 10.0}, "marginal_order must be 1 or 2"),
        ({"marginal_order": 2}, "needs marginal_weight"),
    ],
)
def test_config_refuses_a_marginal_order_other_than_1_or_2_or_without_the_term(overrides, fragment):
    with pytest.raises(ChaosganError, match=fragment):
        load_config(overrides=overrides)


@pytest.mark.parametrize("order", [1, 2])
def test_a_conditional_run_with_grouped_marginals_logs_the_term(order, tmp_path):
    data = simulate("lorenz63", n=16, seed=3, vary={"rho": ParamDraw(choices=(24.0, 40.0))})
    overrides = {
        "condition": ["rho"],
        "marginal_weight": 10.0,
        "marginal_groups": 4,
        "marginal_order": order,
    }
    cfg = load_config(overrides={**TINY, "epochs": 1, **overrides})
    run = train(data, tmp_path / "run", cfg, device="cpu")
    assert len(run.history["marginal"]) == 1 and 0 < run.history["marginal"][0] < 10


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"sketch_weight": -1.0}, "sketch_weight must be >= 0"),
        ({"sketch_weight": float("nan")}, "sketch_weight must be a finite"),
        ({"sketch_weight": 10.0}, "needs refine_steps or shooting"),
        ({"sketch_groups": 0}, "sketch_groups must lie"),
        ({"sketch_groups": 4, "condition": ["rho"]}, "needs condition and sketch_weight"),
    ],
)
def test_config_refuses_a_sketch_term_without_a_layer_or_with_bad_groups(overrides, fragment):
    with pytest.raises(ChaosganError, match=fragment):
        load_config(overrides=overrides)


def test_the_sketch_term_pulls_the_networks_own_draw_towards_the_data(tmp_path):
    """Behind a refinement layer the other terms judge only the layer's output; the sketch
    term matches the network's draw before it, so after the same few epochs (same seed) that
    draw lies nearer the data's marginals than without the term, and the logged term falls."""
    data = simulate("lorenz63", n=16, seed=3, vary={"rho": ParamDraw(choices=(24.0, 40.0))})
    common = {
        **TINY,
        "epochs": 3,
        "condition": ["rho"],
        "physics": "identified",
        "refine_steps": 1,
        "lr_g": 0.01,
    }
    distances = {}
    for weight in (0.0, 100.0):
        extra = {"sketch_weight": weight, "sketch_groups": 2} if weight else {}
        cfg = load_config(overrides={**common, **extra})
        run = train(data, tmp_path / f"run{weight}", cfg, device="cpu")
        drawn = np.concatenate(
            [
                sample(
                    tmp_path / f"run{weight}", n=8, refine_steps=0, seed=1, condition=value
                ).trajectories
                for value in ({"rho": 24.0}, {"rho": 40.0})
            ]
        )
        distances[weight] = np.mean(wasserstein_over_std(data.trajectories, drawn))
        if weight:
            logged = run.history["sketch"]
            assert len(logged) == 3 and logged[-1] < 0.8 * logged[0], logged
        else:
            assert "sketch" not in run.history
    assert distances[100.0] < 0.6 * distances[0.0], distances
