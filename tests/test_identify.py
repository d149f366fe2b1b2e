"""Equation identification: library, estimators, Galerkin constraints, Jaya, and the study's bar."""

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.preprocessing import PolynomialFeatures
from sklearn.utils.estimator_checks import check_estimator

from chaosgan import simulate
from chaosgan.cli import main
from chaosgan.errors import ChaosganError
from chaosgan.identify import (
    STLSQ,
    GalerkinRegressor,
    JayaPowell,
    LassoRegressor,
    PolynomialLibrary,
    PolynomialModel,
    RidgeRegressor,
    fit_coefficients,
    identify,
    identify_model,
)
from chaosgan.identify.checks import prediction_error
from chaosgan.identify.observations import add_noise
from chaosgan.identify.regressors import energy_constraints
from chaosgan.identify.truth import true_coefficients
from chaosgan.identify.wendy import fit_wendy, noise_std
from chaosgan.systems import get_system

LIB = PolynomialLibrary(3, 2)


def test_library_matches_sklearn_and_its_jacobian_matches_finite_differences():
    x = np.random.default_rng(0).normal(size=(3, 7))
    np.testing.assert_allclose(LIB.theta(x.T), PolynomialFeatures(2).fit_transform(x.T))
    jac, eps = LIB.theta_jacobian_cm(x), 1e-6
    for d in range(3):
        step = np.zeros_like(x)
        step[d] = eps
        fd = (LIB.theta_cm(x + step) - LIB.theta_cm(x - step)) / (2 * eps)
        np.testing.assert_allclose(jac[:, d], fd, atol=1e-7)


def test_equations_read_like_the_study():
    coef = true_coefficients(get_system("lorenz63"), get_system("lorenz63").defaults, LIB)
    assert LIB.equations(coef) == [
        "x' = -10.000 x + 10.000 y",
        "y' = 28.000 x - 1.000 y - 1.000 x z",
        "z' = -2.667 z + 1.000 x y",
    ]


@pytest.mark.parametrize("est", [LassoRegressor(), RidgeRegressor(), STLSQ(), GalerkinRegressor()])
def test_estimators_follow_sklearn_conventions(est):
    check_estimator(est)
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize("est", [LassoRegressor(), RidgeRegressor(), STLSQ(), GalerkinRegressor()])
def test_sparse_regressors_recover_a_sparse_linear_model(est):
    rng = np.random.default_rng(1)
    g = rng.normal(size=(300, 10))
    true = np.zeros((3, 10))
    true[0, [1, 2]] = [-3.0, 2.0]
    true[1, 5] = 1.5
    true[2, [0, 9]] = [0.7, -1.2]
    fitted = est.fit(g, g @ true.T).coef_
    np.testing.assert_allclose(fitted, true, atol=1e-8)


def test_galerkin_solution_satisfies_the_energy_constraint_where_least_squares_does_not():
    ds = simulate("lorenz63", n=4, dt=0.01, seed=2)
    rng = np.random.default_rng(0)
    noisy = ds.trajectories + rng.normal(size=ds.trajectories.shape) * 0.5
    C = energy_constraints(LIB)
    constrained, _ = fit_coefficients(noisy, 0.01, GalerkinRegressor(LIB, threshold=0), LIB)
    free, _ = fit_coefficients(noisy, 0.01, GalerkinRegressor(None, threshold=0), LIB)
    assert np.abs(C @ constrained.ravel()).max() < 1e-8
    assert np.abs(C @ free.ravel()).max() > 1e-4


def test_jaya_is_reproducible_with_a_seed_and_differs_between_seeds():
    x = simulate("lorenz63", n=3, steps=200, dt=0.01, seed=4).trajectories
    kwargs = {
        "dt": 0.01,
        "iterations": 10,
        "population": 8,
        "n_starts": 50,
        "warm_start": False,
        "powell_maxfev": 200,
    }
    a = JayaPowell(seed=1, **kwargs).fit(x).coef_
    b = JayaPowell(seed=1, **kwargs).fit(x).coef_
    c = JayaPowell(seed=2, **kwargs).fit(x).coef_
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_jaya_cold_start_finds_lorenz_at_dt_001():
    """No warm start: with one-step shots Jaya alone finds the basin and Powell polishes
    (search box [-50, 50]); longer shots make the cold-start landscape too rugged."""
    x = simulate("lorenz63", n=4, steps=300, dt=0.01, seed=5).trajectories
    est = JayaPowell(dt=0.01, horizon=1, substeps=10, warm_start=False, n_starts=200, seed=0)
    est.fit(x)
    truth = true_coefficients(get_system("lorenz63"), get_system("lorenz63").defaults, LIB)
    assert np.sqrt(np.mean((est.coef_ - truth) ** 2)) < 1e-3


@pytest.mark.parametrize(
    ("dt", "limits"),
    [
        (
            0.01,
            {"lasso": 1e-3, "ridge": 1e-3, "galerkin": 1e-3, "stlsq": 1e-3, "jaya-powell": 1e-3},
        ),
        (0.1, {"lasso": 5e-3, "ridge": 5e-3, "galerkin": 5e-3, "stlsq": 5e-3, "jaya-powell": 1e-4}),
    ],
)
def test_identification_beats_the_study_by_orders_of_magnitude(dt, limits):
    result = identify(simulate("lorenz63", n=16, dt=dt, seed=0))
    lyap = []
    for method, limit in limits.items():
        r = result["methods"][method]
        assert r["rmse"] <= limit, (method, r["rmse"])
        assert r["bounded"], method
        lyap.append(r["lyapunov"])
        # the identified model's largest exponent, at either sampling step
        assert r["lyapunov"] == pytest.approx(0.9056, rel=0.02), method
    best = min(result["methods"].values(), key=lambda r: r["rmse"])
    assert best["lyapunov"] == pytest.approx(0.9056, rel=0.01)


def test_bad_data_gets_clear_errors(lorenz_small):
    few = lorenz_small.trajectories[:, :20]
    nan = lorenz_small.trajectories.copy()
    nan[0, 3, 0] = np.nan
    const = lorenz_small.trajectories.copy()
    const[..., 1] = 1.0
    for data, message in [(few, "at least 64 samples"), (nan, "NaN"), (const, "constant")]:
        ds = type(lorenz_small)(trajectories=data, meta=lorenz_small.meta)
        with pytest.raises(ChaosganError, match=message):
            identify(ds, methods=["stlsq"])
    with pytest.raises(ChaosganError, match="unknown method 'sindy'"):
        identify(lorenz_small, methods=["sindy"])


def test_cli_identify_json_and_errors(capsys, lorenz_small_path):
    argv = ["identify", str(lorenz_small_path), "--methods", "stlsq,ridge", "--max-series", "4"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for r in out["methods"].values():
        assert {"params", "rmse", "lyapunov", "bounded", "equations"} <= set(r)
        assert set(r["params"]) == {"sigma", "rho", "beta"}
    assert main(["identify", str(lorenz_small_path), "--methods", "magic"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown method 'magic'" in err and err.count("\n") == 1


def test_identify_model_picks_by_held_out_prediction_from_data_alone():
    """The public data-only entry point: a model for noisy Lorenz data, chosen by held-out
    prediction error, close to the truth; the criterion ranks the true model above a 5% wrong
    one even on noisy data."""
    x = simulate("lorenz63", n=6, steps=512, dt=0.01, seed=3).trajectories
    noisy = add_noise(x, 0.01, seed=0)
    model, info = identify_model(noisy, 0.01, methods=("stlsq", "galerkin"))
    assert set(info["criterion"]) == {"stlsq", "galerkin"}
    assert info["method"] == min(info["criterion"], key=info["criterion"].get)
    assert info["fit_series"] + info["held_out_series"] == 6
    truth = true_coefficients(get_system("lorenz63"), get_system("lorenz63").defaults, LIB)
    assert np.sqrt(np.mean((model.coef - truth) ** 2)) < 0.05
    bad = PolynomialModel(LIB, truth * 1.05)
    good = PolynomialModel(LIB, truth)
    assert prediction_error(good, noisy, 0.01) < prediction_error(bad, noisy, 0.01)
    # one long series is split in time; too short a single series is a clear error
    _, single = identify_model(noisy[:1], 0.01, methods=("stlsq",))
    assert single["held_out_series"] == 0 and single["fit_series"] == 1
    with pytest.raises(ChaosganError, match="single series"):
        identify_model(noisy[:1, :100], 0.01, methods=("stlsq",))


def test_identify_layers_have_no_cycle_and_selection_never_sees_the_truth():
    """Imports go downward (fit <- jaya <- compare), and the modules that fit or choose a model
    do not import the true-coefficient bookkeeping."""
    import ast
    import pathlib

    import chaosgan.identify as pkg

    root = pathlib.Path(pkg.__file__).parent
    deps = {}
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        mods = {
            n.module.rsplit(".", 1)[-1]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("chaosgan.identify.")
        }
        deps[path.stem] = mods

    def reaches(a, b, seen=()):
        return any(d == b or (d not in seen and reaches(d, b, (*seen, d))) for d in deps.get(a, ()))

    assert not any(reaches(m, m) for m in deps), deps
    for module in ("fit", "jaya", "checks", "observations", "targets", "regressors"):
        assert not reaches(module, "truth"), module


def test_derivative_target_identifies_lorenz_at_dt_001():
    """Finite differences (order 4, and order 2 after Savitzky-Golay smoothing) resolve
    Lorenz-63 at dt = 0.01; the CLI's --target derivative runs the same path."""
    x = simulate("lorenz63", n=4, steps=512, dt=0.01, seed=6).trajectories
    truth = true_coefficients(get_system("lorenz63"), get_system("lorenz63").defaults, LIB)
    coef, info = fit_coefficients(x, 0.01, STLSQ(), LIB, target="derivative")
    assert info["target"] == "derivative" and np.abs(coef - truth).max() < 0.02
    coef2, _ = fit_coefficients(
        x, 0.01, STLSQ(), LIB, target="derivative", fd_order=2, smooth_window=7
    )
    assert np.abs(coef2 - truth).max() < 0.3  # smoothing biases the amplitudes a little
    with pytest.raises(ChaosganError, match="order must be 2 or 4"):
        fit_coefficients(x, 0.01, STLSQ(), LIB, target="derivative", fd_order=3)


def test_noisy_identification_at_small_size(capsys, tmp_path):
    """1% observation noise, 6 series at dt = 0.01: the weak-form fits stay close (parameter
    RMSE below 0.02, bounded models with the right exponent), worse than on clean data; the
    CLI's --noise gives the same numbers as the library."""
    ds = simulate("lorenz63", n=6, dt=0.01, seed=0)
    methods = ["galerkin", "stlsq", "wendy"]
    clean = identify(ds, methods=methods)
    noisy = identify(ds, methods=methods, noise=0.01, seed=2)
    for method in methods:
        r = noisy["methods"][method]
        assert r["rmse"] < 0.02 and r["bounded"], (method, r["rmse"])
        assert r["rmse"] > clean["methods"][method]["rmse"]
        assert r["lyapunov"] == pytest.approx(0.9056, rel=0.05)
    assert noisy["methods"]["wendy"]["fit"]["target"] == "weak (WENDy)"
    path = tmp_path / "l.npz"
    ds.save(path)
    argv = ["identify", str(path), "--methods", "galerkin,stlsq", "--noise", "0.01"]
    assert main([*argv, "--seed", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["noise"] == 0.01
    for method in ("galerkin", "stlsq"):
        assert out["methods"][method]["rmse"] == pytest.approx(noisy["methods"][method]["rmse"])


def test_wendy_reads_the_noise_level_and_beats_ordinary_least_squares():
    """WENDy (generalised least squares on the weak form): the noise level it reads from the
    data is within 5% of the noise added; over three noise draws its median parameter error is
    below the ordinary (Galerkin) weak-form fit's on the same data; clean data stay exact."""
    ds = simulate("lorenz63", n=6, dt=0.01, seed=1)
    truth = true_coefficients(get_system("lorenz63"), get_system("lorenz63").defaults, LIB)
    ours, ols = [], []
    for seed in (1, 2, 3):
        x = add_noise(ds.trajectories, 0.01, seed)
        added = 0.01 * ds.trajectories.reshape(-1, 3).std(axis=0)
        np.testing.assert_allclose(noise_std(x), added, rtol=0.05)
        coef, info = fit_wendy(x, 0.01, LIB)
        assert info["iterations"] >= 1
        ours.append(np.sqrt(np.mean((coef - truth) ** 2)))
        ols_coef, _ = fit_coefficients(x, 0.01, GalerkinRegressor(LIB), LIB)
        ols.append(np.sqrt(np.mean((ols_coef - truth) ** 2)))
    assert np.median(ours) < np.median(ols), (ours, ols)
    clean, _ = fit_wendy(ds.trajectories, 0.01, LIB)
    assert np.abs(clean - truth).max() < 1e-5


def test_wendy_falls_back_to_the_ordinary_weak_fit_on_coarse_data():
    """At dt = 0.1 (about 7 samples per oscillation) fourth differences cannot tell noise from
    signal, so WENDy returns the ordinary weak-form (Galerkin) fit unchanged and says so; the
    same noisy data at dt = 0.01 are re-weighted (at least one generalised least-squares pass)."""
    ds = simulate("lorenz63", n=4, dt=0.1, seed=3)
    x = add_noise(ds.trajectories, 0.01, seed=1)
    coef, info = fit_wendy(x, 0.1, LIB)
    assert info["wendy"].startswith("skipped") and info["iterations"] == 0
    ols, _ = fit_coefficients(x, 0.1, GalerkinRegressor(LIB), LIB)
    np.testing.assert_array_equal(coef, ols)
    fine = add_noise(simulate("lorenz63", n=2, dt=0.01, seed=3).trajectories, 0.01, seed=1)
    fine_coef, fine_info = fit_wendy(fine, 0.01, LIB)
    assert "wendy" not in fine_info and fine_info["iterations"] >= 1
    ols_fine, _ = fit_coefficients(fine, 0.01, GalerkinRegressor(LIB), LIB)
    assert not np.array_equal(fine_coef, ols_fine)
