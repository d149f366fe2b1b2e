"""Per-series parameters and conditional generation: simulate, store, train, sample."""

import json

import numpy as np
import pytest
import torch

from chaosgan import load_dataset, simulate
from chaosgan.cli import main
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import load_checkpoint
from chaosgan.gan.condition import Condition, ExtrapolationWarning
from chaosgan.gan.config import load_config
from chaosgan.gan.models import (
    ConditionalBatchNorm2d,
    Discriminator,
    Generator,
    SeriesCritic,
    make_generator,
)
from chaosgan.gan.sample import sample
from chaosgan.gan.train import train
from chaosgan.simulate import ParamDraw, random_initial_states, simulate_states
from chaosgan.systems import get_system

TINY = {"latent_dim": 8, "g_width": 16, "d_width": 8, "batch_size": 8, "sample_every": 100}


@pytest.fixture(scope="module")
def two_rho():
    """Lorenz-63 series with rho drawn per series from {24, 40}."""
    return simulate("lorenz63", n=32, seed=3, vary={"rho": ParamDraw(choices=(24.0, 40.0))})


def refused(capsys, argv) -> str:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (argv, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# --- per-series parameters -----------------------------------------------------------------------
def test_per_series_parameters_are_seeded_and_survive_save_and_load(tmp_path):
    a = simulate("lorenz63", n=6, steps=64, seed=5, vary={"rho": ParamDraw(24.0, 40.0)})
    b = simulate("lorenz63", n=6, steps=64, seed=5, vary={"rho": ParamDraw(24.0, 40.0)})
    c = simulate("lorenz63", n=6, steps=64, seed=6, vary={"rho": ParamDraw(24.0, 40.0)})
    assert np.array_equal(a.series_params, b.series_params)
    assert not np.array_equal(a.series_params, c.series_params)
    assert a.series_params.shape == (6, 1) and a.meta["series_params"] == ["rho"]
    assert (a.series_params >= 24).all() and (a.series_params <= 40).all()
    assert a.meta["params"]["rho"] == 32.0  # the centre of the range
    # the initial conditions come first from the seed: a fixed-parameter dataset is unchanged
    fixed = simulate("lorenz63", n=6, steps=64, seed=5)
    assert fixed.series_params is None and "series_params" not in fixed.meta
    a.save(tmp_path / "a.npz")
    back = load_dataset(tmp_path / "a.npz")
    assert np.array_equal(back.series_params, a.series_params)
    assert back.series_param_names == ["rho"]
    assert np.array_equal(back.series_param("sigma"), np.full(6, 10.0))
    fixed.save(tmp_path / "fixed.npz")
    assert load_dataset(tmp_path / "fixed.npz").series_params is None


def test_batched_per_series_parameters_equal_one_integration_per_value(two_rho):
    """Each series equals the same initial state integrated with its rho as a fixed float."""
    system = get_system("lorenz63")
    rho = two_rho.series_params[:, 0]
    x0 = random_initial_states(
        system, system.resolve_params({"rho": 32.0}), 32, np.random.default_rng(3)
    )
    for value in (24.0, 40.0):
        mask = rho == value
        assert mask.any()
        alone = simulate_states(
            system, system.resolve_params({"rho": value}), x0[:, mask], 0.1, 1024
        )
        np.testing.assert_allclose(two_rho.trajectories[mask], alone, rtol=0, atol=1e-9)


def test_mean_z_grows_with_rho():
    ds = simulate("lorenz63", n=48, seed=0, vary={"rho": ParamDraw(26.0, 40.0)})
    mean_z = ds.trajectories[:, :, 2].mean(axis=1)
    rho = ds.series_params[:, 0]
    assert np.corrcoef(rho, mean_z)[0, 1] > 0.95
    slope = np.polyfit(rho, mean_z, 1)[0]
    assert 0.8 < slope < 1.2  # on the attractor <z> ~ rho - const (Lorenz: close to rho - 1)


def _write(path, ds, meta=None, series_params="keep"):
    arrays = {"trajectories": ds.trajectories, "meta": np.array(json.dumps(meta or ds.meta))}
    sp = ds.series_params if isinstance(series_params, str) else series_params
    if sp is not None:
        arrays["series_params"] = sp
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def test_bad_series_parameters_are_refused_with_one_line(two_rho, tmp_path, capsys):
    sp = two_rho.series_params
    meta = two_rho.meta
    cases = {
        "nan": ({}, np.where(np.arange(32)[:, None] == 3, np.nan, sp)),
        "shape": ({}, sp[:5]),
        "columns": ({}, np.concatenate([sp, sp], axis=1)),
        "unknown": ({"series_params": ["gamma"]}, sp),
        "duplicate": ({"series_params": ["rho", "rho"]}, np.concatenate([sp, sp], axis=1)),
        "no names": ({"series_params": None}, sp),
        "no array": ({}, None),
        "not a list": ({"series_params": "rho"}, sp),
    }
    want = {
        "nan": "NaN",
        "shape": "shape",
        "columns": "shape",
        "unknown": "gamma",
        "duplicate": "once",
        "no names": "no names",
        "no array": "missing",
        "not a list": "list",
    }
    for name, (patch, values) in cases.items():
        bad_meta = {k: v for k, v in {**meta, **patch}.items() if v is not None}
        path = _write(tmp_path / f"{name.replace(' ', '_')}.npz", two_rho, bad_meta, values)
        line = refused(capsys, ["info", path])
        assert want[name] in line, (name, line)
    ints = _write(tmp_path / "int.npz", two_rho, meta, sp.astype(np.int64))
    assert "float64" in refused(capsys, ["info", ints])


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("rho=40:24", "low < high"),
        ("rho=nan:30", "finite"),
        ("rho=24:x", "not a number"),
        ("gamma=1:2", "unknown parameter"),
        ("rho=24,24", "two different"),
        ("rho", "NAME=VALUE"),
    ],
)
def test_simulate_refuses_bad_parameter_draws(spec, fragment, tmp_path, capsys):
    line = refused(
        capsys,
        ["simulate", "--n", "4", "--steps", "16", "--param", spec, "--out", tmp_path / "x.npz"],
    )
    assert fragment in line
    assert not (tmp_path / "x.npz").exists()


def test_simulate_cli_draws_and_fixes(tmp_path, capsys):
    out = tmp_path / "d.npz"
    argv = ["simulate", "--n", "5", "--steps", "16", "--param", "rho=24:40", "--param", "sigma=9"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    ds = load_dataset(out)
    assert ds.meta["params"]["sigma"] == 9.0 and ds.series_param_names == ["rho"]
    summary = json.loads(capsys.readouterr().out)
    assert summary["series_params"]["rho"][0] >= 24


# --- conditional models --------------------------------------------------------------------------
def test_projection_discriminator_adds_the_embedded_condition():
    torch.manual_seed(0)
    d = Discriminator(8, pack=2, cond_dim=1).eval()  # eval: no power-iteration step per call
    x = torch.randn(4, 3, 32, 32)
    zero = torch.zeros(4, 1)
    y = torch.tensor([[1.0], [1.0], [-1.0], [0.5]])
    features = d.features(x.reshape(2, 6, 32, 32)).flatten(1)
    np.testing.assert_allclose(d(x, zero).detach(), d.head(features).squeeze(1).detach(), atol=1e-6)
    inner = (d.embed(y.reshape(2, 2)) * features).sum(1)
    np.testing.assert_allclose(
        (d(x, y) - d(x, zero)).detach(), inner.detach(), rtol=1e-5, atol=1e-6
    )
    s = SeriesCritic(8, pack=2, cond_dim=1)
    series = torch.randn(4, 100, 3)
    assert not torch.allclose(s(series, None, y), s(series, None, zero))
    g = Generator(8, 16, cond_dim=1).eval()
    z = torch.randn(4, 8)
    assert not torch.allclose(g(z, y), g(z, zero))
    with pytest.raises(ValueError):
        g(z)


def test_conditional_batchnorm_scales_and_shifts_by_the_condition():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(4, cond_dim=1).train()
    x = torch.randn(6, 4, 5, 5)
    y = torch.linspace(-1, 1, 6)[:, None]
    plain = torch.nn.functional.batch_norm(x, None, None, training=True)
    gain = 1 + cbn.gain(y)[:, :, None, None]
    want = gain * plain + cbn.shift(y)[:, :, None, None]
    np.testing.assert_allclose(cbn(x, y).detach(), want.detach(), rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # a condition-blind scale and shift: BatchNorm with an affine map
        for layer in (cbn.gain, cbn.shift):
            layer.weight.zero_()
            layer.bias.fill_(0.5)
    np.testing.assert_allclose(cbn(x, y).detach(), (1.5 * plain + 0.5).detach(), atol=1e-5)
    with pytest.raises(ValueError, match="needs the condition"):
        cbn(x, None)
    # in the generator the condition reaches every stage, not only the input: with its input
    # weights for y zeroed, the output still depends on y through the normalisations
    g = make_generator("dcgan", 8, 16, "raster", cond_dim=1, cond_norm=True).train()
    norms = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(norms) == 3
    with torch.no_grad():
        g.net[0].weight[8:] = 0  # the rows of the concatenated condition
    z = torch.randn(4, 8)
    y = torch.tensor([[-1.0], [-0.5], [0.5], [1.0]])
    assert not torch.allclose(g(z, y), g(z, torch.zeros(4, 1)))
    with pytest.raises(ValueError, match="convolutional generators"):
        make_generator("recurrent", 8, 16, "raster", cond_dim=1, cond_norm=True)


def test_condition_with_known_physics_is_refused_and_data_must_vary_it(lorenz_small, tmp_path):
    with pytest.raises(ChaosganError, match="physics = 'known' with condition"):
        load_config("best", overrides={"condition": ["rho"], "physics": "known"})
    with pytest.raises(ChaosganError, match="does not vary it"):
        train(lorenz_small, tmp_path / "r", load_config(overrides={**TINY, "condition": ["rho"]}))
    with pytest.raises(ChaosganError, match="list of names"):
        load_config(overrides={"condition": "rho"})
    for extra in ({}, {"condition": ["rho"], "generator": "recurrent"}):
        with pytest.raises(ChaosganError, match="cond_norm"):
            load_config(overrides={"cond_norm": True, **extra})


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    """A 4-epoch conditional run on rho in {24, 40}: 256 series, the small model, image critic."""
    data = simulate("lorenz63", n=256, seed=1, vary={"rho": ParamDraw(choices=(24.0, 40.0))})
    root = tmp_path_factory.mktemp("cond")
    data.save(root / "data.npz")
    cfg = load_config(
        overrides={
            "latent_dim": 16,
            "g_width": 32,
            "d_width": 16,
            "batch_size": 16,
            "pack": 2,
            "layout": "snake",
            "lr_g": 1e-3,
            "lr_d": 1e-3,
            "condition": ["rho"],
            "epochs": 4,
            "sample_every": 4,
            "seed": 0,
        }
    )
    torch.set_num_threads(1)
    train(data, root / "run", cfg, device="cpu", data_path=root / "data.npz")
    return data, root


def test_conditional_samples_order_like_the_real_series(conditional_run):
    data, root = conditional_run
    rho = data.series_params[:, 0]
    real = {r: data.trajectories[rho == r, :, 2].mean() for r in (24.0, 40.0)}
    gen = {}
    for r in (24.0, 40.0):
        ds = sample(root / "run", n=200, seed=0, device="cpu", condition={"rho": r})
        assert ds.meta["params"]["rho"] == r and np.all(ds.series_params == r)
        assert ds.meta["condition"]["extrapolation"] is False
        gen[r] = ds.trajectories[:, :, 2].mean()
    # same latents (seed 0) at both values: only the condition differs. The real gap is about
    # 15; a generator that ignored the condition would give exactly 0.
    assert real[40.0] - real[24.0] > 10
    assert gen[40.0] - gen[24.0] > 0.1 * (real[40.0] - real[24.0]), (gen, real)


def test_checkpoint_keeps_the_condition_and_resume_reimposes_it(conditional_run, tmp_path):
    data, root = conditional_run
    ckpt = load_checkpoint(root / "run")
    assert ckpt["condition"]["names"] == ["rho"]
    assert ckpt["condition"]["low"] == [24.0] and ckpt["condition"]["high"] == [40.0]
    assert (root / "run" / "samples" / "epoch_0004.png").is_file()  # figures sweep the condition
    import shutil

    shutil.copytree(root / "run", tmp_path / "run")
    # a config without the condition does not matter on resume: the checkpoint's wins
    run = train(
        data, tmp_path / "run", load_config(overrides=TINY), device="cpu", resume=True, epochs=5
    )
    assert run.config.condition == ["rho"] and run.epoch == 5 and run.generator.cond_dim == 1
    bad = dict(ckpt)
    bad["condition"] = {**ckpt["condition"], "low": [40.0], "high": [24.0]}
    from chaosgan.gan.checkpoint import validate_checkpoint

    with pytest.raises(ChaosganError, match="condition high must exceed low"):
        validate_checkpoint(bad)
    del bad["condition"]
    with pytest.raises(ChaosganError, match="lacks condition"):
        validate_checkpoint(bad)


def test_sample_cli_condition_errors_and_extrapolation_warning(conditional_run, tmp_path, capsys):
    _, root = conditional_run
    run, out = root / "run", tmp_path / "s.npz"
    base = ["sample", run, "--n", "4", "--out", out, "--device", "cpu"]
    assert "pass --condition rho=VALUE" in refused(capsys, base)
    assert "conditional on rho only" in refused(capsys, [*base, "--condition", "sigma=10"])
    assert "finite" in refused(capsys, [*base, "--condition", "rho=nan"])
    assert "number" in refused(capsys, [*base, "--condition", "rho=x"])
    assert "twice" in refused(capsys, [*base, "--condition", "rho=30", "--condition", "rho=31"])
    assert "trained without physics" in refused(
        capsys, [*base, "--condition", "rho=30", "--project"]
    )
    assert not out.exists()
    assert main([str(a) for a in [*base, "--condition", "rho=44"]]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: rho=44 lies outside the training range [24, 40]")
    ds = load_dataset(out)
    assert ds.meta["condition"]["extrapolation"] is True and ds.meta["params"]["rho"] == 44.0
    with pytest.warns(ExtrapolationWarning):
        sample(run, n=2, device="cpu", condition={"rho": 10.0})


def test_unconditional_run_refuses_a_condition(lorenz_small, tmp_path, capsys):
    train(
        lorenz_small, tmp_path / "run", load_config(overrides={**TINY, "epochs": 1}), device="cpu"
    )
    line = refused(
        capsys,
        [
            "sample",
            tmp_path / "run",
            "--n",
            "2",
            "--out",
            tmp_path / "s.npz",
            "--condition",
            "rho=30",
        ],
    )
    assert "not a conditional run" in line


def test_one_model_of_the_dynamics_is_refused_for_data_that_vary_it(two_rho, tmp_path):
    from chaosgan.gan.physics import physics_model

    for source in ("known", "identified"):
        with pytest.raises(ChaosganError, match="vary rho per series"):
            physics_model(two_rho, source)


def test_scorecard_warns_on_other_parameters_and_needs_a_floor_for_varying_data(two_rho):
    from chaosgan.evaluate.scorecard import independent_real, parameter_mismatch

    at28 = simulate("lorenz63", n=4, steps=64, seed=0)
    at33 = simulate("lorenz63", n=4, steps=64, seed=1, params={"rho": 33.0})
    assert "rho: 33 vs 28" in parameter_mismatch(at28, at33)
    assert parameter_mismatch(at28, simulate("lorenz63", n=4, steps=64, seed=2)) is None
    assert parameter_mismatch(two_rho, at33) is None  # rho varies in the real data
    with pytest.raises(ChaosganError, match="--floor"):
        independent_real(two_rho)


@pytest.mark.parametrize(
    "extra",
    [
        {"loss": "wgan", "gp_weight": 10.0, "series_weight": 1.0, "series_width": 8},
        {"generator": "recurrent", "g_width": 8},
        {"cond_norm": True},
    ],
    ids=["wgan-gp with both critics", "recurrent generator", "conditional BatchNorm"],
)
def test_conditional_runs_with_the_other_losses_and_generators(two_rho, tmp_path, extra):
    cfg = load_config(overrides={**TINY, "condition": ["rho"], "epochs": 1, **extra})
    run = train(two_rho, tmp_path / "run", cfg, device="cpu")
    assert np.isfinite(run.history["d_loss"]).all()
    a = sample(tmp_path / "run", n=4, device="cpu", condition={"rho": 24.0})
    b = sample(tmp_path / "run", n=4, device="cpu", condition={"rho": 40.0})
    assert not np.allclose(a.trajectories, b.trajectories)  # same latents, other condition


def test_condition_unscale_inverts_scale(two_rho):
    spec = Condition.from_data(two_rho, ["rho"])
    values = np.array([[24.0], [30.0], [40.0], [44.0]])
    np.testing.assert_allclose(spec.scale(values)[[0, 2]], [[-1.0], [1.0]])
    np.testing.assert_allclose(spec.unscale(spec.scale(values)), values, rtol=1e-6)
