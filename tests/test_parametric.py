"""One model across parameter values: parametric identification and the conditional physics loss.

Hypotheses: series at many rho identify Lorenz-63's ``y' = x rho - x z - y`` once rho is a
variable; the torch flow given each series' rho follows the true system at that rho; a
conditional run trains with the physics loss and its samples project onto the model at the
requested rho.
"""

import numpy as np
import pytest
import torch

from chaosgan import simulate
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import load_checkpoint, validate_checkpoint
from chaosgan.gan.config import load_config
from chaosgan.gan.physics import PhysicsModel, PolynomialFlow, physics_model, residual_loss
from chaosgan.gan.sample import sample
from chaosgan.gan.train import train
from chaosgan.identify.library import PolynomialLibrary
from chaosgan.identify.parametric import identify_parametric_model, with_parameters
from chaosgan.identify.targets import dominant_period
from chaosgan.identify.truth import true_coefficients
from chaosgan.integrate import advance
from chaosgan.simulate import ParamDraw
from chaosgan.systems import get_system

NAMES = ("x", "y", "z", "rho")


@pytest.fixture(scope="module")
def many_rho():
    """Lorenz-63 at dt = 0.1, rho drawn per series from [26, 40] (every series chaotic)."""
    return simulate("lorenz63", n=48, seed=4, vary={"rho": ParamDraw(26.0, 40.0)})


def lorenz_with_rho() -> PhysicsModel:
    """The true Lorenz-63 equations with rho as a variable, written out by hand (tests only)."""
    library = PolynomialLibrary(4, 2, NAMES)
    coef = np.zeros((4, library.n_terms))
    term = {name: i for i, name in enumerate(library.names)}
    coef[0, term["x"]], coef[0, term["y"]] = -10.0, 10.0
    coef[1, term["x rho"]], coef[1, term["x z"]], coef[1, term["y"]] = 1.0, -1.0, -1.0
    coef[2, term["x y"]], coef[2, term["z"]] = 1.0, -8.0 / 3.0
    return PhysicsModel(coef, 2, NAMES, "known", 50.0, parameters=("rho",))


def test_dominant_period_of_mixed_parameters_is_the_oscillation(many_rho):
    """The plain power spectrum's peak was the series' length here (102.4 time units): the red
    wing-switching power of x and y adds up, the rho-dependent oscillation's peak spreads."""
    period = dominant_period(many_rho.trajectories, many_rho.dt)
    assert 0.5 < period < 0.9
    one = simulate("lorenz63", n=32, seed=0)
    assert dominant_period(one.trajectories, one.dt) == pytest.approx(0.7585, abs=1e-3)


def test_parametric_identification_finds_the_rho_term(many_rho):
    model, info = identify_parametric_model(
        many_rho.trajectories, many_rho.series_params, many_rho.dt, parameter_names=["rho"]
    )
    truth = lorenz_with_rho().coef
    assert info["parameters"] == ["rho"] and info["method"] in ("lasso", "ridge", "stlsq")
    assert np.abs(model.coef - truth).max() < 1e-2, model.equations()
    assert not model.coef[3].any()  # rho' = 0 exactly
    with pytest.raises(ChaosganError, match="cannot fit parameters"):
        identify_parametric_model(
            many_rho.trajectories,
            many_rho.series_params,
            0.1,
            parameter_names=["rho"],
            methods=["galerkin"],
        )
    with pytest.raises(ChaosganError, match="per-series values"):
        with_parameters(many_rho.trajectories, many_rho.series_params[:3])


def test_identify_refuses_data_whose_parameters_vary(many_rho, tmp_path, capsys):
    """It used to fit one fixed-rho model to them (rho = 1.8 read from data drawn in [24, 40])."""
    from chaosgan.cli import main
    from chaosgan.identify import identify

    with pytest.raises(ChaosganError, match="vary rho per series"):
        identify(many_rho, methods=["stlsq"])
    many_rho.save(tmp_path / "rho.npz")
    capsys.readouterr()
    assert main(["identify", str(tmp_path / "rho.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: the data vary rho per series")


def test_flow_with_parameters_follows_the_true_system_at_each_rho():
    rng = np.random.default_rng(0)
    x = rng.uniform(-15, 15, (6, 3)) + np.array([0.0, 0.0, 25.0])
    rho = np.array([24.0, 28.0, 30.0, 33.0, 37.0, 40.0])
    flow = PolynomialFlow(lorenz_with_rho(), dt=0.1, substeps=7)
    got = flow(torch.from_numpy(x), steps=3, params=torch.from_numpy(rho[:, None])).numpy()
    system = get_system("lorenz63")
    params = system.resolve_params({"rho": rho})  # one rho per state, batched
    expected = advance(system.rhs, x.T.copy(), params, 0.1 / 7, 7 * 3).T
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    with pytest.raises(ChaosganError, match="pass params"):
        flow(torch.from_numpy(x))


def test_the_tangent_with_parameters_is_the_derivative_in_the_state_alone():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.uniform(-15, 15, (3, 3)) + np.array([0.0, 0.0, 25.0]))
    rho = torch.tensor([[24.0], [30.0], [40.0]], dtype=torch.float64)
    flow = PolynomialFlow(lorenz_with_rho(), dt=0.1, substeps=2)
    image, tangent = flow.step_with_tangent(x, params=rho)
    assert tangent.shape == (3, 3, 3)  # d state / d state: rho is given, not moved
    torch.testing.assert_close(image, flow(x, params=rho), rtol=0, atol=1e-12)
    for i in range(3):
        at = PolynomialFlow(lorenz_with_rho().at([float(rho[i, 0])]), dt=0.1, substeps=2)
        step = torch.autograd.functional.jacobian(lambda v, at=at: at(v[None])[0], x[i])
        torch.testing.assert_close(tangent[i], step, rtol=0, atol=1e-10)


def test_model_at_a_parameter_value_is_the_model_of_that_value():
    at = lorenz_with_rho().at([33.0])
    library = PolynomialLibrary(3, 2, NAMES[:3])
    system = get_system("lorenz63")
    expected = true_coefficients(system, system.resolve_params({"rho": 33.0}), library)
    np.testing.assert_allclose(at.coef, expected, rtol=0, atol=1e-12)
    assert at.parameters == () and at.names == NAMES[:3] and at.info["at"] == {"rho": 33.0}
    with pytest.raises(ChaosganError, match="parameter value"):
        lorenz_with_rho().at([])


def test_residual_is_zero_only_with_each_series_own_rho(many_rho):
    model = physics_model(many_rho, "identified", parameters=("rho",))
    assert model.parameters == ("rho",) and "rho as variables" in model.label
    assert model.at([33.0]).label.endswith("; at rho=33)")
    flow = PolynomialFlow(model, many_rho.dt, substeps=2)
    series = torch.from_numpy(many_rho.trajectories)
    rho = torch.from_numpy(many_rho.series_params)
    own = residual_loss(series, flow, model.diameter, params=rho).item()
    swapped = residual_loss(series, flow, model.diameter, params=rho.flip(0)).item()
    assert own < 1e-6 and swapped > 100 * own, (own, swapped)
    with pytest.raises(ChaosganError, match="only 'identified'"):
        physics_model(many_rho, "known", parameters=("rho",))
    one = simulate("lorenz63", n=4, seed=0)
    with pytest.raises(ChaosganError, match="do not vary rho"):
        physics_model(one, "identified", parameters=("rho",))


def test_config_allows_identified_physics_with_a_condition_only():
    cfg = load_config("best", overrides={"condition": ["rho"]})
    assert cfg.physics == "identified"
    with pytest.raises(ChaosganError, match="physics = 'known' with condition"):
        load_config("best", overrides={"condition": ["rho"], "physics": "known"})
    with pytest.raises(ChaosganError, match="shooting is not available"):
        load_config("best", overrides={"condition": ["rho"], "shooting": 8})


def test_conditional_run_with_physics_trains_samples_and_projects(many_rho, tmp_path):
    cfg = load_config(
        "best",
        overrides={
            "latent_dim": 8,
            "g_width": 16,
            "d_width": 8,
            "series_width": 8,
            "batch_size": 8,
            "condition": ["rho"],
            "epochs": 2,
            "physics_start": 0.0,
            "physics_warmup": 0.0,
            "sample_every": 100,
        },
    )
    torch.set_num_threads(1)
    run = train(many_rho, tmp_path / "run", cfg, device="cpu")
    assert all(np.isfinite(run.history["physics"])) and len(run.history["physics"]) == 2
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt["physics"]["parameters"] == ["rho"]
    bad = {**ckpt, "physics": {**ckpt["physics"], "parameters": ["x"]}}
    with pytest.raises(ChaosganError, match="parameters must be a list of the last names"):
        validate_checkpoint(bad)
    ds = sample(tmp_path / "run", n=4, seed=0, device="cpu", condition={"rho": 33.0})
    assert ds.trajectories.shape == (4, 1024, 3) and np.isfinite(ds.trajectories).all()
    # two epochs are far from orbits: projection at rho = 33 runs and says none was found
    with pytest.raises(ChaosganError, match="have an orbit of the model near them"):
        sample(tmp_path / "run", n=2, seed=0, device="cpu", condition={"rho": 33.0}, project=True)
