"""Generated series that are orbits: in-graph decoding, the series critic, the physics loss and its
torch flow, orbit projection, and a run that uses them end to end (tiny sizes, CPU)."""

import json

import numpy as np
import pytest
import torch

from chaosgan import load_dataset, simulate
from chaosgan.cli import main
from chaosgan.encoding import LAYOUTS, apply_layout, decode
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import load_checkpoint
from chaosgan.gan.config import load_config
from chaosgan.gan.models import Generator, ImageToSeries, SeriesCritic, difference_scale
from chaosgan.gan.physics import (
    PhysicsModel,
    PolynomialFlow,
    physics_model,
    residual_channels,
    residual_loss,
    speed_loss,
    speed_quantiles,
    step_residuals,
    tempo_loss,
)
from chaosgan.gan.projection import _block_tridiagonal_solve, project
from chaosgan.gan.sample import sample
from chaosgan.gan.shooting import ShootingLayer, integrate_segments
from chaosgan.gan.train import balanced_weight, train
from chaosgan.integrate import advance

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


@pytest.fixture(scope="module")
def lorenz():
    return simulate("lorenz63", n=24, dt=0.1, seed=0)


@pytest.fixture(scope="module")
def known(lorenz):
    return physics_model(lorenz, "known")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_in_graph_decode_equals_the_codecs_decode(lorenz, layout):
    laid = apply_layout(lorenz.images, layout)
    expected = decode(apply_layout(laid, layout, inverse=True), lorenz.normalisation)
    got = ImageToSeries(lorenz.normalisation, layout)(torch.from_numpy(laid).double())
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-12)


def test_a_residual_critic_needs_the_physics_model_and_reads_the_residuals(lorenz, known):
    with pytest.raises(ChaosganError, match="series_residual needs physics"):
        load_config(overrides={**TINY, "series_weight": 1.0, "series_residual": True})
    critic = SeriesCritic(8, residual=True).eval()
    series = ImageToSeries(lorenz.normalisation, "raster").scaled(torch.from_numpy(lorenz.images))
    flow = PolynomialFlow(known, dt=lorenz.dt, substeps=10)
    real = residual_channels(torch.from_numpy(lorenz.trajectories).float(), flow, known.diameter)
    assert real.abs().max() < 1e-2  # real orbits: residuals far below 1% of the diameter
    assert not torch.equal(critic(series[:2], real[:2]), critic(series[:2], real[:2] + 1.0))
    with pytest.raises(ValueError, match="pass them"):
        critic(series[:2])


def test_series_critic_scores_windows_and_packs_without_mixing(lorenz):
    critic = SeriesCritic(8, pack=2, diff_scale=difference_scale(lorenz.images))
    series = ImageToSeries(lorenz.normalisation, "raster").scaled(torch.from_numpy(lorenz.images))
    logits = critic(series[:8])
    assert logits.shape == (4, 1024 - 60)  # 4 packs, one logit per 61-sample window
    critic.eval()
    changed = series[:8].clone()
    changed[4:] += 0.5  # the last two packs only
    after = critic(changed)
    assert torch.equal(logits[:2], after[:2]) and not torch.equal(logits[2:], after[2:])


def test_torch_flow_equals_the_numpy_integrator(known):
    rng = np.random.default_rng(0)
    x = rng.uniform(-15, 15, (3, 50)) + np.array([[0.0], [0.0], [25.0]])
    expected = advance(known.polynomial.rhs, x.copy(), None, 0.1 / 7, 7 * 3)
    flow = PolynomialFlow(known, dt=0.1, substeps=7)
    got = flow(torch.from_numpy(x.T.copy()), steps=3).numpy().T
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_the_flow_s_tangent_is_the_derivative_of_its_step(known):
    """:meth:`PolynomialFlow.step_with_tangent` against autograd's Jacobian of the step (and
    of the vector field): the RK4 map's own derivative, exact to rounding."""
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.uniform(-15, 15, (4, 3)) + np.array([0.0, 0.0, 25.0]))
    flow = PolynomialFlow(known, dt=0.1, substeps=3)
    image, tangent = flow.step_with_tangent(x)
    torch.testing.assert_close(image, flow(x), rtol=0, atol=1e-12)
    for i in range(len(x)):
        step = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0], x[i])
        field = torch.autograd.functional.jacobian(flow.rhs, x[i])
        torch.testing.assert_close(tangent[i], step, rtol=0, atol=1e-10)
        torch.testing.assert_close(flow.rhs_jacobian(x[i]), field, rtol=0, atol=1e-12)


def test_the_tempo_loss_reads_a_slow_orbit_and_costs_standing_still_one(lorenz, known, tmp_path):
    flow = PolynomialFlow(known, dt=lorenz.dt, substeps=10)
    real = torch.from_numpy(lorenz.trajectories)
    slow = torch.from_numpy(simulate("lorenz63", n=8, dt=0.07, seed=3).trajectories)
    still = real[:, :1].expand(-1, 1024, -1).contiguous()  # every series at rest at its start
    costs = [tempo_loss(x, step_residuals(x, flow)).item() for x in (real, slow, still)]
    assert costs[0] < 1e-20
    assert costs[1] == pytest.approx((1 - 0.7) ** 2, rel=0.15)  # steps 0.7 of the flow's
    assert costs[2] == pytest.approx(1.0)
    g = Generator(8, 16)
    series = ImageToSeries(lorenz.normalisation, "snake")(g(torch.randn(4, 8)))
    tempo_loss(series, step_residuals(series, flow.float())).backward()
    assert next(g.parameters()).grad.abs().sum() > 0
    with pytest.raises(ChaosganError, match="tempo_weight needs physics on"):
        load_config(overrides={**TINY, "tempo_weight": 1.0})
    cfg = load_config(overrides={**TINY, "epochs": 2, "physics": "known", "tempo_weight": 10.0})
    run = train(lorenz, tmp_path / "run", cfg, device="cpu")
    assert len(run.history["tempo"]) == 2 and all(0 < v < 10 for v in run.history["tempo"])


def test_residual_loss_is_zero_on_real_orbits_and_its_gradient_reaches_the_generator(lorenz, known):
    flow = PolynomialFlow(known, dt=lorenz.dt, substeps=10)  # the data's own RK4 step
    real = torch.from_numpy(lorenz.trajectories)
    assert residual_loss(real, flow, known.diameter).item() < 1e-20
    assert residual_loss(real, flow, known.diameter, steps=3).item() < 1e-20
    shuffled = real[:, torch.randperm(real.shape[1], generator=torch.Generator().manual_seed(0))]
    assert residual_loss(shuffled, flow, known.diameter).item() > 1e-2
    g = Generator(8, 16)
    to_series = ImageToSeries(lorenz.normalisation, "snake")
    loss = residual_loss(to_series(g(torch.randn(4, 8))), flow.float(), known.diameter)
    loss.backward()
    grads = [p.grad for p in g.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert grads[0].abs().sum() > 0  # the first layer: the gradient went all the way back


def test_identified_model_comes_from_the_data_and_is_labelled(lorenz):
    model = physics_model(lorenz, "identified")
    assert model.source == "identified" and "identified" in model.label
    truth = physics_model(lorenz, "known")
    assert "true equations" in truth.label
    # learned, not copied: close to the truth but not bit-equal
    assert 0 < np.abs(model.coef - truth.coef).max() < 1e-2
    assert PhysicsModel.from_dict(json.loads(json.dumps(model.to_dict()))).coef.tolist() == (
        model.coef.tolist()
    )
    bare = simulate("lorenz63", n=4, dt=0.1, seed=0)
    bare.meta["system"] = None
    with pytest.raises(ChaosganError, match="catalogue system"):
        physics_model(bare, "known")


def test_block_tridiagonal_solve_matches_a_dense_solve():
    rng = np.random.default_rng(1)
    b, k, d = 3, 5, 3
    diag = rng.normal(size=(b, k, d, d))
    diag = diag @ diag.transpose(0, 1, 3, 2) + 10 * np.eye(d)
    upper = rng.normal(size=(b, k - 1, d, d))
    rhs = rng.normal(size=(b, k, d))
    x = _block_tridiagonal_solve(diag, upper, rhs)
    for i in range(b):
        dense = np.zeros((k * d, k * d))
        for j in range(k):
            dense[j * d : (j + 1) * d, j * d : (j + 1) * d] = diag[i, j]
        for j in range(k - 1):
            dense[j * d : (j + 1) * d, (j + 1) * d : (j + 2) * d] = upper[i, j]
            dense[(j + 1) * d : (j + 2) * d, j * d : (j + 1) * d] = upper[i, j].T
        np.testing.assert_allclose(x[i].ravel(), np.linalg.solve(dense, rhs[i].ravel()))


def _one_step_errors(series, model, dt, diameter):
    a = series[:, :-1].reshape(-1, 3).T.copy()
    predicted = advance(model.rhs, a, None, dt / 10, 10).T
    return np.linalg.norm(series[:, 1:].reshape(-1, 3) - predicted, axis=1) / diameter


def test_projection_turns_a_noisy_orbit_into_a_nearby_orbit(known):
    clean = simulate("lorenz63", n=3, dt=0.1, seed=5).trajectories
    rng = np.random.default_rng(0)
    noisy = clean + 0.01 * clean.reshape(-1, 3).std(0) * rng.standard_normal(clean.shape)
    model = physics_model(simulate("lorenz63", n=16, dt=0.1, seed=6), "identified")
    result = project(noisy, model.polynomial, 0.1, model.diameter, tol=1e-4)
    assert result.orbits.shape == noisy.shape and np.isfinite(result.orbits).all()
    assert result.converged.all() and result.max_gap.max() < 1e-4
    # an orbit of the model: every step follows the flow (the gaps bound the segment ends)
    assert _one_step_errors(result.orbits, model.polynomial, 0.1, model.diameter).max() < 2e-4
    assert np.median(_one_step_errors(noisy, model.polynomial, 0.1, model.diameter)) > 1e-3
    # nearer to the clean orbit than the noisy input was
    dist = np.sqrt(((result.orbits - clean) ** 2).sum(axis=2).mean())
    assert dist < 0.5 * np.sqrt(((noisy - clean) ** 2).sum(axis=2).mean())
    assert 0 < result.moved.mean() < 0.01


def test_projection_of_garbage_is_an_orbit_or_a_clear_error(known):
    rng = np.random.default_rng(2)
    garbage = rng.uniform(-20, 40, (2, 256, 3))
    result = project(garbage, known.polynomial, 0.1, known.diameter)
    assert np.isfinite(result.orbits).all() and np.isfinite(result.max_gap).all()
    # no orbit is near uniform noise: every series is marked, none passed off as an orbit
    assert not result.converged.any() and (result.max_gap > 1e-4).all()
    with pytest.raises(ChaosganError, match="diverges"):
        project(garbage * 1e8, known.polynomial, 0.1, known.diameter)
    with pytest.raises(ChaosganError, match="NaN"):
        project(np.full((1, 10, 3), np.nan), known.polynomial, 0.1, known.diameter)


def test_training_with_both_and_resuming_is_exact_and_samples_project(lorenz, tmp_path):
    cfg = load_config(
        overrides={
            **TINY,
            "epochs": 2,
            "series_weight": 0.5,
            "physics": "known",
            "series_residual": True,
            "series_residual_noise": 1.0,
        }
    )
    straight = train(lorenz, tmp_path / "a", cfg, device="cpu")
    assert straight.history["physics"][-1] > 0 and len(straight.history["s_loss"]) == 2
    half = load_config(overrides={**cfg.to_dict(), "epochs": 1})
    train(lorenz, tmp_path / "b", half, device="cpu")
    resumed = train(lorenz, tmp_path / "b", half, device="cpu", resume=True, epochs=2)
    for name in ("generator", "series_critic"):
        a = getattr(straight, name).state_dict()
        b = getattr(resumed, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    ckpt = load_checkpoint(tmp_path / "b")
    assert ckpt["physics"]["source"] == "known"
    assert json.loads((tmp_path / "b" / "physics.json").read_text())["equations"]
    raw = sample(tmp_path / "b", n=4)
    assert "projected" not in raw.meta


def test_physics_changes_training_and_cli_sample_project_records_it(
    lorenz, tmp_path, capsys, monkeypatch
):
    plain = train(lorenz, tmp_path / "p", load_config(overrides={**TINY, "epochs": 1}))
    phys = train(
        lorenz,
        tmp_path / "q",
        load_config(overrides={**TINY, "epochs": 1, "physics": "identified", "physics_warmup": 0}),
    )
    a, b = plain.generator.state_dict(), phys.generator.state_dict()
    assert not torch.equal(a["net.0.weight"], b["net.0.weight"])
    assert load_checkpoint(tmp_path / "q")["physics"]["source"] == "identified"
    data_path = tmp_path / "real.npz"
    lorenz.save(data_path)
    run = tmp_path / "run"
    args = ["train", str(data_path), "--out", str(run), "--epochs", "1", "--device", "cpu"]
    config = tmp_path / "tiny.toml"
    config.write_text("\n".join(f"{k} = {v}" for k, v in TINY.items()) + "\n")
    assert main([*args, "--config", str(config)]) == 0
    capsys.readouterr()
    # a one-epoch generator draws nothing an orbit is near (projection refuses it, tested
    # above): let it "generate" noisy real series, to test what --project records
    rng = np.random.default_rng(0)
    noisy = lorenz.trajectories[:3] + 0.05 * rng.standard_normal((3, 1024, 3))
    monkeypatch.setattr("chaosgan.gan.sample.decode", lambda images, norm: noisy[: len(images)])
    out = tmp_path / "gen.npz"
    assert main(["sample", str(run), "--n", "3", "--out", str(out), "--project", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    ds = load_dataset(out)
    assert ds.meta["projected"] is True and summary["projected"] is True
    assert "identified" in ds.meta["projection"]["model"]
    assert ds.meta["projection"]["max_gap_diameters"] < 1e-4
    assert ds.meta["projection"]["acceptance"] == 1.0 and ds.meta["projection"]["drawn"] == 3
    assert ds.meta["training_data"]["sha256"] == lorenz.sha256()
    # a generator whose series no orbit is near: nothing is passed off as projected
    garbage = rng.uniform(-20, 40, (3, 1024, 3))
    monkeypatch.setattr("chaosgan.gan.sample.decode", lambda images, norm: garbage[: len(images)])
    capsys.readouterr()
    args = ["sample", str(run), "--n", "3", "--out", str(tmp_path / "g2.npz"), "--project"]
    assert main(args) == 2
    assert "have an orbit of the model near them" in capsys.readouterr().err
    assert not (tmp_path / "g2.npz").exists()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_series_to_images_inverts_the_in_graph_decode(lorenz, layout):
    laid = torch.from_numpy(apply_layout(lorenz.images, layout)).double()
    to_series = ImageToSeries(lorenz.normalisation, layout)
    back = to_series.to_images(to_series(laid))
    np.testing.assert_allclose(back.numpy(), laid.numpy(), rtol=0, atol=1e-12)


def test_shooting_follows_the_model_from_each_start_and_spreads_the_jumps(lorenz, known):
    flow = PolynomialFlow(known, dt=lorenz.dt, substeps=2)
    rng = np.random.default_rng(3)
    garbage = torch.from_numpy(rng.uniform(-15, 15, (2, 64, 3)) + [0.0, 0.0, 25.0])
    shot = integrate_segments(garbage, flow, 8)
    assert torch.equal(shot[:, ::8], garbage[:, ::8])  # segment starts are kept
    # the last segment (no start after it) is the model's flow, step for step
    last = (shot[:, -7:] - flow(shot[:, -8:-1])).norm(dim=-1)
    assert last.max() < 1e-12
    # elsewhere the jump to the next start is spread evenly: o_{8s+j} = Phi^j(g_8s) + j/8 J_s
    for s, j in ((0, 1), (2, 5), (6, 7)):
        start, following = garbage[:, 8 * s], garbage[:, 8 * (s + 1)]
        jump = following - flow(start, steps=8)
        expected = flow(start, steps=j) + j / 8 * jump
        torch.testing.assert_close(shot[:, 8 * s + j], expected, rtol=0, atol=1e-9)
    # a real orbit is (almost) a fixed point of the layer: only the model's error remains
    real = torch.from_numpy(lorenz.trajectories[:2])
    fine = PolynomialFlow(known, dt=lorenz.dt, substeps=10)
    moved = (integrate_segments(real, fine, 8) - real).norm(dim=-1) / known.diameter
    assert moved.max() < 1e-3
    with pytest.raises(ChaosganError, match="divide"):
        integrate_segments(garbage, flow, 3)


def test_gradients_reach_the_generator_through_the_segment_starts_only(lorenz, known):
    to_series = ImageToSeries(lorenz.normalisation, "snake")
    layer = ShootingLayer(to_series, PolynomialFlow(known, dt=lorenz.dt), 16)
    images = torch.from_numpy(apply_layout(lorenz.images[:2], "snake")).requires_grad_()
    layer(images).square().sum().backward()
    grad_per_step = to_series.scaled(images.grad).abs().sum(dim=(0, 2))
    starts = torch.arange(1024) % 16 == 0
    assert (grad_per_step[starts] > 0).all() and (grad_per_step[~starts] == 0).all()


def test_a_run_with_a_shooting_layer_samples_through_it(lorenz, tmp_path):
    with pytest.raises(ChaosganError, match="shooting"):
        load_config(overrides={**TINY, "shooting": 8})  # physics off
    with pytest.raises(ChaosganError, match="shooting"):
        load_config(overrides={**TINY, "shooting": 6, "physics": "known"})
    cfg = load_config(overrides={**TINY, "epochs": 1, "physics": "identified", "shooting": 8})
    train(lorenz, tmp_path / "run", cfg, device="cpu")
    series = sample(tmp_path / "run", n=4).trajectories
    model = PhysicsModel.from_dict(load_checkpoint(tmp_path / "run")["physics"])
    flow = PolynomialFlow(model, dt=lorenz.dt, substeps=cfg.physics_substeps)
    x = torch.from_numpy(series)
    # the samples are the layer's output: applying it again changes nothing
    again = integrate_segments(x, flow, 8)
    assert (again - x).abs().max() / model.diameter < 1e-4  # sampled in float32


def test_balanced_physics_weight_matches_the_gradients_at_the_output(lorenz, tmp_path):
    fake = torch.randn(4, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    adversarial, residual = 3.0 * fake.sum(), 0.5 * fake.square().sum()
    weight = balanced_weight(adversarial, residual, fake, balance=2.0)
    expected = 2.0 * 3.0 * fake.numel() ** 0.5 / fake.detach().norm()  # |3 * 1| over |fake|
    torch.testing.assert_close(weight, expected)
    assert not weight.requires_grad
    with pytest.raises(ChaosganError, match="physics_balance needs physics"):
        load_config(overrides={**TINY, "physics_balance": 1.0})
    balanced = {"physics": "known", "physics_balance": 0.5, "physics_start": 0}
    cfg = load_config(overrides={**TINY, "epochs": 2, **balanced})
    run = train(lorenz, tmp_path / "run", cfg, device="cpu")
    assert all(w > 0 for w in run.history["physics_weight"]) and len(run.history["physics"]) == 2


def test_speed_loss_charges_series_that_stand_still_and_pulls_them_into_motion(lorenz, tmp_path):
    """The residual's degenerate minimum, a series at rest on a fixed point, is an exact orbit;
    the speed term is near zero for independent real series and large for that one, and its
    gradient moves the resting series' steps apart."""
    x = torch.from_numpy(lorenz.trajectories)
    target = speed_quantiles(x, 50.0)
    other = torch.from_numpy(simulate("lorenz63", n=24, dt=0.1, seed=1).trajectories)
    beta, rho = 8 / 3, 28.0
    c = (beta * (rho - 1)) ** 0.5
    at_rest = torch.tensor([c, c, rho - 1], dtype=torch.float64).expand(4, 1024, 3).clone()
    at_rest += 1e-3 * torch.randn_like(at_rest)
    at_rest.requires_grad_(True)
    real_loss = float(speed_loss(other, target, 50.0))
    rest_loss = speed_loss(at_rest, target, 50.0)
    assert real_loss < 0.01 < 0.1 < rest_loss.item()
    rest_loss.backward()
    moved = at_rest.detach() - 1e3 * at_rest.grad
    assert speed_loss(moved, target, 50.0).item() < rest_loss.item()
    with pytest.raises(ChaosganError, match="speed_weight needs physics"):
        load_config(overrides={**TINY, "speed_weight": 1.0})
    cfg = load_config(overrides={**TINY, "epochs": 2, "physics": "known", "speed_weight": 10.0})
    run = train(lorenz, tmp_path / "run", cfg, device="cpu")
    assert len(run.history["speed"]) == 2 and all(v > 0 for v in run.history["speed"])
