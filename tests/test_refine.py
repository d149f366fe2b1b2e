"""The refinement layer: unrolled gradient steps towards orbits as the generator's last layer."""

from pathlib import Path

import numpy as np
import pytest
import torch

from chaosgan import load_dataset, simulate
from chaosgan.cli import main
from chaosgan.encoding import apply_layout
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import load_checkpoint
from chaosgan.gan.config import PRESETS, load_config
from chaosgan.gan.models import ImageToSeries
from chaosgan.gan.physics import PhysicsModel, PolynomialFlow, physics_model, step_residuals
from chaosgan.gan.refine import RefineLayer, gauss_newton_series, refine_series
from chaosgan.gan.sample import sample
from chaosgan.gan.train import train
from chaosgan.simulate import ParamDraw

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


@pytest.fixture(scope="module")
def lorenz():
    return simulate("lorenz63", n=16, dt=0.1, seed=0)


@pytest.fixture(scope="module")
def model(lorenz):
    return physics_model(lorenz, "identified")


@pytest.fixture(scope="module")
def noisy_orbit(lorenz):
    """Four real orbits (300 samples) and the same with 3% Gaussian noise per coordinate."""
    clean = torch.from_numpy(lorenz.trajectories[:4, :300])
    rng = np.random.default_rng(0)
    scale = lorenz.trajectories.reshape(-1, 3).std(0)
    return clean, clean + torch.from_numpy(0.03 * scale * rng.standard_normal(clean.shape))


def _residual(x, flow, diameter):
    return float(step_residuals(x, flow).norm(dim=-1).median() / diameter)


def test_refinement_removes_noise_and_keeps_an_orbit(lorenz, model, noisy_orbit):
    flow = PolynomialFlow(model, dt=lorenz.dt)
    clean, noisy = noisy_orbit
    before = _residual(noisy, flow, model.diameter)
    refined = refine_series(noisy, flow, model.diameter, steps=20)
    assert torch.isfinite(refined).all() and refined.shape == noisy.shape
    assert _residual(refined, flow, model.diameter) < 0.3 * before  # threefold and more
    # nearer the clean orbit than the noisy input was
    assert (refined - clean).norm(dim=-1).mean() < 0.7 * (noisy - clean).norm(dim=-1).mean()
    # an orbit stays put (with a fine flow, whose orbits the true flow's samples are to its
    # accuracy; two RK4 steps per sample would move it onto the coarser map's orbit)
    fine = PolynomialFlow(model, dt=lorenz.dt, substeps=10)
    still = refine_series(clean, fine, model.diameter, steps=20)
    assert (still - clean).norm(dim=-1).max() / model.diameter < 1e-3
    assert torch.equal(refine_series(noisy, flow, model.diameter, steps=0), noisy)


def test_gauss_newton_steps_reach_an_orbit_in_a_few_steps(lorenz, model, noisy_orbit):
    """Three Gauss-Newton steps take 3% noise on an orbit to a residual a thirtieth of the
    noisy one's (measured: a seventieth), where twenty gradient steps take it to a third; the
    result is near the clean orbit, and a clean orbit stays put."""
    flow = PolynomialFlow(model, dt=lorenz.dt)
    clean, noisy = noisy_orbit
    before = _residual(noisy, flow, model.diameter)
    refined = gauss_newton_series(noisy, flow, model.diameter, steps=3)
    assert refined.dtype == noisy.dtype and refined.shape == noisy.shape
    assert _residual(refined, flow, model.diameter) < before / 30
    assert (refined - clean).norm(dim=-1).mean() < 0.7 * (noisy - clean).norm(dim=-1).mean()
    fine = PolynomialFlow(model, dt=lorenz.dt, substeps=10)
    still = gauss_newton_series(clean, fine, model.diameter, steps=3)
    assert (still - clean).norm(dim=-1).max() / model.diameter < 1e-3
    # float32 in, float32 out (the steps run in float64)
    single = gauss_newton_series(noisy.float(), flow, model.diameter, steps=3)
    assert single.dtype == torch.float32
    assert (single.double() - refined).norm(dim=-1).max() / model.diameter < 1e-5


def test_gauss_newton_steps_are_capped_and_differentiable(lorenz, model):
    flow = PolynomialFlow(model, dt=lorenz.dt)
    rng = np.random.default_rng(1)
    garbage = torch.from_numpy(rng.uniform(-20, 20, (2, 200, 3)) + [0.0, 0.0, 25.0])
    out = gauss_newton_series(garbage, flow, model.diameter, steps=5, max_step=0.01)
    assert torch.isfinite(out).all()
    assert (out - garbage).norm(dim=-1).max() <= 5 * 0.01 * model.diameter * (1 + 1e-9)
    to_series = ImageToSeries(lorenz.normalisation, "snake")
    layer = RefineLayer(to_series, flow, model.diameter, steps=2, method="gauss-newton")
    images = torch.from_numpy(apply_layout(lorenz.images[:2], "snake")).float().requires_grad_()
    weights = torch.randn(images.shape, generator=torch.Generator().manual_seed(0))
    (layer(images) * weights).sum().backward()
    assert images.grad is not None and torch.isfinite(images.grad).all()
    assert not torch.allclose(images.grad, weights, atol=1e-3)  # not the identity's gradient
    with torch.no_grad():
        out = layer(images)
    assert not out.requires_grad and out.dtype == images.dtype
    torch.testing.assert_close(out, layer(images).detach())


@pytest.mark.parametrize("method", ["gradient", "gauss-newton"])
def test_a_straight_through_layer_refines_forward_and_passes_gradients_unchanged(
    lorenz, model, method
):
    to_series = ImageToSeries(lorenz.normalisation, "snake")
    flow = PolynomialFlow(model, dt=lorenz.dt)
    kwargs = {"steps": 2, "method": method}
    unrolled = RefineLayer(to_series, flow, model.diameter, **kwargs)
    straight = RefineLayer(to_series, flow, model.diameter, gradient="straight-through", **kwargs)
    images = torch.from_numpy(apply_layout(lorenz.images[:2], "snake")).float().requires_grad_()
    weights = torch.randn(images.shape, generator=torch.Generator().manual_seed(0))
    out = straight(images)
    torch.testing.assert_close(out, unrolled(images))  # the same refined samples
    assert not torch.allclose(out, images, atol=1e-3)  # and they are refined
    (out * weights).sum().backward()
    torch.testing.assert_close(images.grad, weights)  # the identity's gradient
    with pytest.raises(ChaosganError, match="refine_gradient"):
        load_config(overrides={**TINY, "physics": "identified", "refine_gradient": "none"})
    with pytest.raises(ChaosganError, match="refinement method"):  # the layer checks too
        RefineLayer(to_series, flow, model.diameter, steps=2, method="gauss_newton")


def test_each_step_is_capped_so_garbage_cannot_diverge(lorenz, model):
    flow = PolynomialFlow(model, dt=lorenz.dt)
    rng = np.random.default_rng(1)
    garbage = torch.from_numpy(rng.uniform(-20, 20, (2, 200, 3)) + [0.0, 0.0, 25.0])
    out = refine_series(garbage, flow, model.diameter, steps=30, rate=0.5, max_step=0.01)
    assert torch.isfinite(out).all()
    # 30 steps of at most 0.01 diameters each per sample
    assert (out - garbage).norm(dim=-1).max() <= 30 * 0.01 * model.diameter * (1 + 1e-9)


def test_gradients_run_through_the_unrolled_steps(lorenz, model):
    """The layer is differentiable (second derivatives of the flow), and its gradient is not
    the identity's: the steps damp what they remove."""
    to_series = ImageToSeries(lorenz.normalisation, "snake")
    flow = PolynomialFlow(model, dt=lorenz.dt)
    layer = RefineLayer(to_series, flow, model.diameter, steps=5)
    images = torch.from_numpy(apply_layout(lorenz.images[:2], "snake")).requires_grad_()
    weights = torch.randn(
        images.shape, dtype=images.dtype, generator=torch.Generator().manual_seed(0)
    )
    (layer(images) * weights).sum().backward()
    assert images.grad is not None and torch.isfinite(images.grad).all()
    assert images.grad.abs().sum() > 0 and not torch.allclose(images.grad, weights, atol=1e-3)
    with torch.no_grad():  # under no_grad it still refines, and builds no graph
        out = layer(images)
    assert not out.requires_grad
    torch.testing.assert_close(out, layer(images).detach())


def test_a_run_with_a_refinement_layer_samples_through_it_and_says_so(lorenz, tmp_path, capsys):
    with pytest.raises(ChaosganError, match="refine_steps needs physics"):
        load_config(overrides={**TINY, "refine_steps": 5})
    for bad in ({"refine_steps": 101}, {"refine_rate": 0.0}, {"refine_momentum": 1.0}):
        with pytest.raises(ChaosganError, match="refine"):
            load_config(overrides={**TINY, "physics": "identified", **bad})
    bad_values = (
        {"refine_method": "newton"},
        {"refine_damping": 0.0},
        {"refine_damping": 1.5},
        {"refine_damping": float("nan")},
    )
    for bad in bad_values:
        with pytest.raises(ChaosganError, match="refine_(method|damping)"):
            load_config(overrides={**TINY, "physics": "identified", **bad})
    cfg = load_config(overrides={**TINY, "epochs": 1, "physics": "identified", "refine_steps": 4})
    train(lorenz, tmp_path / "run", cfg, device="cpu")
    generated = sample(tmp_path / "run", n=4)
    assert generated.meta["refinement"]["steps"] == 4
    assert generated.meta["refinement"]["method"] == "gradient"
    assert "identified from the training data" in generated.meta["refinement"]["model"]
    # the samples are the layer's output: the same draw without the layer, refined, gives them
    ckpt = load_checkpoint(tmp_path / "run")
    model = PhysicsModel.from_dict(ckpt["physics"])
    ckpt["config"]["refine_steps"] = 0
    torch.save(ckpt, tmp_path / "raw.pt")
    raw = sample(tmp_path / "raw.pt", n=4)
    assert "refinement" not in raw.meta
    # the diagnostic draw without the layer is that draw, and says what it left out
    network = sample(tmp_path / "run", n=4, refine_steps=0)
    np.testing.assert_array_equal(network.trajectories, raw.trajectories)
    assert "not the run's samples" in network.meta["refinement"]["left_out"]
    assert network.meta["refinement"]["steps"] == 0
    with pytest.raises(ChaosganError, match="no refinement layer"):
        sample(tmp_path / "raw.pt", n=4, refine_steps=0)
    out = str(tmp_path / "network.npz")
    assert (
        main(["sample", str(tmp_path / "run"), "--n", "2", "--out", out, "--without-refinement"])
        == 0
    )
    assert "left_out" in load_dataset(out).meta["refinement"]
    capsys.readouterr()
    bad = [
        "sample",
        str(tmp_path / "raw.pt"),
        "--n",
        "2",
        "--out",
        out + "2",
        "--without-refinement",
    ]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no refinement layer" in err[0]
    flow = PolynomialFlow(model, dt=lorenz.dt, substeps=cfg.physics_substeps)
    again = refine_series(torch.from_numpy(raw.trajectories), flow, model.diameter, steps=4)
    gap = (again - torch.from_numpy(generated.trajectories)).norm(dim=-1).max() / model.diameter
    moved = (again - torch.from_numpy(raw.trajectories)).norm(dim=-1).mean() / model.diameter
    assert gap < 1e-4 < moved  # float32 sampling against float64 here
    # a diagnostic draw with more steps runs the same layer longer, and says so
    longer = sample(tmp_path / "run", n=4, refine_steps=9)
    assert longer.meta["refinement"]["steps"] == 9
    assert longer.meta["refinement"]["trained_steps"] == 4
    assert "not the run's samples" in longer.meta["refinement"]["changed"]
    again = refine_series(torch.from_numpy(raw.trajectories), flow, model.diameter, steps=9)
    gap = (again - torch.from_numpy(longer.trajectories)).norm(dim=-1).max() / model.diameter
    assert gap < 1e-4
    assert "trained_steps" not in sample(tmp_path / "run", n=4, refine_steps=4).meta["refinement"]
    for bad_steps, message in ((101, r"lie in \[0, 100\]"), (-1, r"lie in \[0, 100\]")):
        with pytest.raises(ChaosganError, match=message):
            sample(tmp_path / "run", n=4, refine_steps=bad_steps)
    with pytest.raises(ChaosganError, match="no refinement layer"):
        sample(tmp_path / "raw.pt", n=4, refine_steps=9)
    out = str(tmp_path / "longer.npz")
    argv = ["sample", str(tmp_path / "run"), "--n", "2", "--out", out, "--refine-steps", "9"]
    assert main(argv) == 0
    assert load_dataset(out).meta["refinement"]["trained_steps"] == 4
    capsys.readouterr()
    for extra in (["--refine-steps", "9", "--without-refinement"], ["--refine-steps", "500"]):
        assert main(["sample", str(tmp_path / "run"), "--n", "2", "--out", out + "3", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:"), err
        assert not Path(out + "3").exists()


@pytest.mark.parametrize("method", ["gradient", "gauss-newton"])
def test_a_conditional_run_refines_towards_its_model_at_the_requested_value(tmp_path, method):
    data = simulate("lorenz63", n=24, seed=4, vary={"rho": ParamDraw(26.0, 40.0)})
    overrides = {**TINY, "condition": ["rho"], "epochs": 1, "physics": "identified"}
    cfg = load_config(overrides={**overrides, "refine_steps": 3, "refine_method": method})
    train(data, tmp_path / "run", cfg, device="cpu")
    generated = sample(tmp_path / "run", n=3, condition={"rho": 33.0})
    ckpt = load_checkpoint(tmp_path / "run")
    model = PhysicsModel.from_dict(ckpt["physics"])
    assert model.parameters == ("rho",)
    ckpt["config"]["refine_steps"] = 0
    torch.save(ckpt, tmp_path / "raw.pt")
    raw = torch.from_numpy(sample(tmp_path / "raw.pt", n=3, condition={"rho": 33.0}).trajectories)
    out = torch.from_numpy(generated.trajectories)

    def refined_at(rho: float) -> torch.Tensor:
        flow = PolynomialFlow(model.at([rho]), dt=data.dt, substeps=cfg.physics_substeps)
        if method == "gauss-newton":
            return gauss_newton_series(raw, flow, model.diameter, steps=3)
        return refine_series(raw, flow, model.diameter, steps=3)

    gap = (refined_at(33.0) - out).norm(dim=-1).max() / model.diameter
    other = (refined_at(26.0) - out).norm(dim=-1).max() / model.diameter
    assert gap < 1e-4 < other  # the requested value's model, not another
    assert generated.meta["refinement"]["method"] == method


def test_the_refine_preset_is_best_wgan_with_the_adaptive_weight_and_ten_steps():
    cfg, base = load_config("best-wgan-refine"), load_config("best-wgan")
    assert (cfg.refine_steps, cfg.physics_balance, cfg.physics) == (10, 1.0, "identified")
    changed = {k for k, v in cfg.to_dict().items() if v != base.to_dict()[k]}
    assert changed == {"refine_steps", "physics_balance"} and "best-wgan-refine" in PRESETS


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"sketch_physics_weight": -1.0}, "sketch_physics_weight must be >= 0"),
        ({"sketch_physics_weight": 10.0, "physics": "identified"}, "needs refine_steps or"),
        ({"sketch_physics_weight": 10.0}, "needs refine_steps or shooting"),
    ],
)
def test_config_refuses_a_sketch_residual_without_a_model_or_a_layer(overrides, fragment):
    with pytest.raises(ChaosganError, match=fragment):
        load_config(overrides={**TINY, **overrides})


def test_the_sketch_residual_is_taken_on_the_networks_own_draw_and_lowers_it(lorenz, tmp_path):
    """The term judges the network's draw before the refinement layer, whose residual is larger
    than the layer's output's (the run's logged ``physics``). The physics loss on the output
    pulls the draw towards orbits as well, so the term is compared with a run whose weight is
    negligible (same seed, so the same batches and draws): with it, the draw's residual ends
    lower."""
    logged = {}
    for weight in (1e-6, 1e4):
        cfg = load_config(
            overrides={
                **TINY,
                "epochs": 5,
                "physics": "identified",
                "physics_start": 0.0,
                "physics_warmup": 0.0,
                "refine_steps": 10,
                "lr_g": 0.01,
                "sketch_physics_weight": weight,
            }
        )
        run = train(lorenz, tmp_path / f"run{weight}", cfg, device="cpu")
        drawn, output = run.history["sketch_physics"], run.history["physics"]
        assert len(drawn) == 5 and all(d > 1.5 * o for d, o in zip(drawn, output, strict=True))
        logged[weight] = drawn
    assert logged[1e4][-1] < 0.85 * logged[1e-6][-1], logged
