"""The GAN losses: hand-checked values and gradients, the saturation of the minimax loss, the
WGAN-GP penalty on linear critics of known Lipschitz constant, config rules, a tiny run."""

import json
import math

import pytest
import torch
from ddp import train_two_replicas

from chaosgan import simulate
from chaosgan.cli import main
from chaosgan.errors import ChaosganError
from chaosgan.gan import losses
from chaosgan.gan.config import PRESETS, load_config

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def value_and_grads(fn, *tensors):
    """The loss and its gradient wrt each input tensor."""
    leaves = [t.clone().requires_grad_(True) for t in tensors]
    value = fn(*leaves)
    value.backward()
    return value.item(), [leaf.grad for leaf in leaves]


REAL, FAKE = [0.0, 2.0], [0.0, -1.0]  # two logits each, mean over 2


def d_value_and_grads(name):
    d_loss, _ = losses.LOSSES[name]
    return value_and_grads(
        lambda r, f: d_loss(r, f, torch.ones(2), torch.zeros(2)),
        torch.tensor(REAL),
        torch.tensor(FAKE),
    )


def test_bce_family_d_loss_value_and_gradient_by_hand():
    # -log sigmoid(r) for real, -log(1 - sigmoid(f)) for fake; d/dr = sigmoid(r) - 1, d/df =
    # sigmoid(f); each averaged over the 2 logits. minimax and bce share the D loss.
    expected = sum(-math.log(sigmoid(r)) for r in REAL) / 2
    expected += sum(-math.log(1 - sigmoid(f)) for f in FAKE) / 2
    for name in ("minimax", "bce"):
        value, (g_real, g_fake) = d_value_and_grads(name)
        assert value == pytest.approx(expected)
        assert g_real.tolist() == pytest.approx([(sigmoid(r) - 1) / 2 for r in REAL])
        assert g_fake.tolist() == pytest.approx([sigmoid(f) / 2 for f in FAKE])


def test_lsgan_hinge_and_wgan_d_losses_by_hand():
    # least squares, 0-1 coding: ((r - 1)^2 + f^2) / 2 averaged: ((1 + 1) / 2 + (0 + 1) / 2) / 2
    value, (g_real, g_fake) = d_value_and_grads("lsgan")
    assert value == pytest.approx(0.5 * ((1 + 1) / 2 + (0 + 1) / 2))
    assert g_real.tolist() == pytest.approx([(r - 1) / 2 for r in REAL])  # (r - 1) / n
    assert g_fake.tolist() == pytest.approx([f / 2 for f in FAKE])
    # hinge: relu(1 - r) = [1, 0], relu(1 + f) = [1, 0]
    value, (g_real, g_fake) = d_value_and_grads("hinge")
    assert value == pytest.approx(1.0)
    assert g_real.tolist() == [-0.5, 0.0] and g_fake.tolist() == [0.5, 0.0]
    # Wasserstein: mean(f) - mean(r) = -0.5 - 1
    value, (g_real, g_fake) = d_value_and_grads("wgan")
    assert value == pytest.approx(-1.5)
    assert g_real.tolist() == [-0.5, -0.5] and g_fake.tolist() == [0.5, 0.5]


def test_generator_losses_value_and_gradient_by_hand():
    fake = torch.tensor(FAKE)
    cases = {  # value, d/df per logit (before the mean's 1/2)
        "minimax": (
            sum(math.log(1 - sigmoid(f)) for f in FAKE) / 2,
            [-sigmoid(f) for f in FAKE],
        ),
        "bce": (sum(-math.log(sigmoid(f)) for f in FAKE) / 2, [sigmoid(f) - 1 for f in FAKE]),
        "lsgan": (sum(0.5 * (f - 1) ** 2 for f in FAKE) / 2, [f - 1 for f in FAKE]),
        "hinge": (-sum(FAKE) / 2, [-1.0, -1.0]),
        "wgan": (-sum(FAKE) / 2, [-1.0, -1.0]),
    }
    assert set(cases) == set(losses.LOSSES)
    for name, (expected, grad) in cases.items():
        value, (g_fake,) = value_and_grads(losses.LOSSES[name][1], fake)
        assert value == pytest.approx(expected), name
        assert g_fake.tolist() == pytest.approx([g / 2 for g in grad]), name


def test_per_window_logits_broadcast_the_targets_in_every_labelled_loss():
    windows = torch.tensor([[0.0, 2.0], [-1.0, 1.0]])  # 2 samples x 2 windows
    real_t, fake_t = torch.tensor([0.9, 1.0]), torch.tensor([0.0, 0.1])
    got = losses.d_loss_lsgan(windows, windows, real_t, fake_t)
    by_hand = 0.5 * (
        ((windows - real_t[:, None]) ** 2).mean() + ((windows - fake_t[:, None]) ** 2).mean()
    )
    assert got.item() == pytest.approx(by_hand.item())


def test_the_minimax_generator_gradient_vanishes_when_the_discriminator_wins():
    # D rejects the fakes confidently: logit -10, D(G(z)) = 4.5e-5
    fake = torch.full((8,), -10.0)
    _, (saturating,) = value_and_grads(losses.g_loss_minimax, fake)
    _, (non_saturating,) = value_and_grads(losses.g_loss_bce, fake)
    ratio = non_saturating.abs() / saturating.abs()
    assert torch.all(ratio >= 100)  # theory: (1 - sigmoid(l)) / sigmoid(l) = e^10 = 22026
    assert ratio[0].item() == pytest.approx(math.exp(10), rel=1e-3)
    # where D cannot tell (logit 0) both give the same push
    _, (a,) = value_and_grads(losses.g_loss_minimax, torch.zeros(8))
    _, (b,) = value_and_grads(losses.g_loss_bce, torch.zeros(8))
    assert torch.allclose(a, b)


def linear_critic(weight: torch.Tensor, pack: int = 1):
    """x (B, ...) -> w . x, one value per pack of consecutive samples (Lipschitz = ||w||)."""
    return lambda x: x.reshape(x.shape[0] // pack, -1) @ weight


def test_gradient_penalty_is_zero_for_a_1_lipschitz_critic_and_positive_for_3():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6, 3, 4, 4, generator=gen), torch.randn(6, 3, 4, 4, generator=gen)
    eps = losses.interpolation_weights(6, 1, gen)
    x_hat = losses.interpolate(real, fake, eps)
    e = eps[:, None, None, None]
    assert torch.allclose(x_hat, e * real + (1 - e) * fake)  # on the segments
    unit = torch.randn(48, generator=gen)
    unit /= unit.norm()
    assert losses.gradient_penalty(linear_critic(unit)(x_hat), [x_hat]).item() < 1e-6
    # ||grad|| = 3 everywhere: (3 - 1)^2 = 4; d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 4 u
    w = (3 * unit).requires_grad_(True)
    penalty = losses.gradient_penalty(linear_critic(w)(x_hat), [x_hat])
    assert penalty.item() == pytest.approx(4.0, rel=1e-5)
    penalty.backward()  # differentiable wrt the critic's weights (create_graph)
    assert torch.allclose(w.grad, 4 * unit, atol=1e-5)


def test_gradient_penalty_on_packs_windows_and_two_inputs():
    gen = torch.Generator().manual_seed(1)
    eps = losses.interpolation_weights(8, 2, gen)
    assert eps.shape == (8,) and torch.equal(eps[0::2], eps[1::2])  # one weight per pack
    series = losses.interpolate(torch.randn(8, 10, 3), torch.randn(8, 10, 3), eps)
    resid = losses.interpolate(torch.randn(8, 10, 3), torch.randn(8, 10, 3), eps)
    # a packed critic of (series, residuals) with 5 identical windows: its value per pack is
    # u . [series pack, residual pack], with ||u|| = 1 over both inputs
    u = torch.randn(120, generator=gen)
    u /= u.norm()

    def critic(s, r):
        flat = torch.cat([s.reshape(4, -1), r.reshape(4, -1)], dim=1)
        return (flat @ u)[:, None].expand(4, 5)

    assert losses.gradient_penalty(critic(series, resid), [series, resid]).item() < 1e-6
    # the series alone carries part of the norm: then the penalty is positive
    assert losses.gradient_penalty(critic(series, resid.detach()), [series]).item() > 1e-3


def test_config_keeps_label_tricks_and_the_penalty_to_their_losses(tmp_path):
    cfg = load_config("wgan-gp")
    assert cfg.loss == "wgan" and cfg.n_dis == 5 and cfg.gp_weight == 10
    assert cfg.label_smoothing == 0 and cfg.label_flip == 0 and cfg.noise_start == 0
    for loss in ("hinge", "wgan"):
        with pytest.raises(ChaosganError, match=f"the {loss} loss has no labels"):
            load_config("study", overrides={"loss": loss})
    for loss in ("minimax", "bce", "lsgan"):
        assert load_config("study", overrides={"loss": loss}).label_smoothing == 0.1
    with pytest.raises(ChaosganError, match="gp_weight applies to the wgan loss only"):
        load_config(overrides={"gp_weight": 5.0})
    with pytest.raises(ChaosganError, match="gp_weight must be >= 0"):
        load_config("wgan-gp", overrides={"gp_weight": -1.0})
    with pytest.raises(ChaosganError, match="double backward"):
        load_config("wgan-gp", overrides={"compile": True})
    assert load_config("wgan-gp", overrides={"gp_weight": 0.0, "compile": True}).compile
    assert "wgan-gp" in PRESETS and "lsgan" in losses.LOSSES
    # the Wasserstein game with best's physics loss: every other key as in wgan-gp
    both = load_config("wgan-physics")
    for key, value in PRESETS["wgan-gp"].items():
        assert getattr(both, key) == value
    assert both.physics == "identified" and both.series_weight == 0
    assert both.physics_weight == PRESETS["best"]["physics_weight"]
    assert both.physics_start == PRESETS["best"]["physics_start"] > 0
    # best's recipe on the Wasserstein game, spectral norms instead of the penalty
    game = load_config("best-wgan")
    for key in ("pack", "layout", "series_weight", "series_residual", "physics_start"):
        assert getattr(game, key) == PRESETS["best"][key]
    assert (game.loss, game.gp_weight, game.n_dis, game.lr_d) == ("wgan", 0.0, 1, 4 * game.lr_g)


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "real.npz"
    simulate("lorenz63", n=16, dt=0.1, seed=0).save(path)
    return path


def train_cli(data_path, out, *extra):
    return main(["train", str(data_path), "--out", str(out), "--device", "cpu", "--json", *extra])


def test_tiny_wgan_gp_runs_train_with_both_critics_penalised(data_path, tmp_path, capsys):
    toml = tmp_path / "tiny.toml"
    toml.write_text("\n".join(f"{k} = {v}" for k, v in TINY.items()))
    assert (
        train_cli(
            data_path, tmp_path / "a", "--preset", "wgan-gp", "--epochs", "2", "--config", str(toml)
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 2 and summary["config"]["loss"] == "wgan"
    assert summary["config"]["n_dis"] == 5 and math.isfinite(summary["d_loss"])
    # with the series critic, and the penalty's weight changes what both critics learn
    with_series = tmp_path / "series.toml"
    with_series.write_text("series_weight = 1.0\nseries_width = 8\n")
    histories = []
    for name, weight in (("b", "10.0"), ("c", "0.0")):
        penalty = tmp_path / f"{name}.toml"
        penalty.write_text(f"gp_weight = {weight}\n")
        assert (
            train_cli(
                data_path,
                tmp_path / name,
                "--preset",
                "wgan-gp",
                "--epochs",
                "1",
                "--config",
                str(toml),
                "--config",
                str(with_series),
                "--config",
                str(penalty),
            )
            == 0
        )
        histories.append(json.loads(capsys.readouterr().out))
    with_gp, without = histories
    assert math.isfinite(with_gp["d_loss"]) and with_gp["config"]["series_weight"] == 1.0
    # the penalty is >= 0 and is added: the critics' losses differ and are larger with it
    assert with_gp["d_loss"] > without["d_loss"]


@pytest.mark.slow
def test_wgan_gp_under_ddp_keeps_replicas_equal(data_path, tmp_path):
    """The penalty's double backward through DistributedDataParallel: the interpolates share
    the critics' one forward pass, so every weight's gradient is reduced once."""
    extra = {"epochs": 1, "n_dis": 2, "series_weight": 1.0, "series_width": 8}
    a, b = train_two_replicas(data_path, tmp_path / "run", "wgan-gp", {**TINY, **extra})
    assert a.keys() == b.keys() and [k for k in a if not torch.equal(a[k], b[k])] == []
