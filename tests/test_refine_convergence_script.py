"""scripts/refine_convergence.py: the refinement steps restore a shrunken orbit's size, the more
steps the nearer, and bad input is one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chaosgan import simulate
from chaosgan.simulate import ParamDraw

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
import refine_convergence  # noqa: E402


def test_more_steps_bring_a_shrunken_orbit_nearer_the_real_marginals_and_the_flow():
    ds = simulate("lorenz63", n=8, steps=512, dt=0.1, seed=0)
    label, rows = refine_convergence.convergence_rows(ds, [0.6], [0, 40], physics="known")
    assert "true equations" in label  # the known model is named as such
    before, after = rows
    assert before["steps"] == 0 and after["steps"] == 40
    for b, a in zip(before["w1_over_std"], after["w1_over_std"], strict=True):
        assert b > 0.25 and a < b / 2  # the shrunken draw is far off; the steps restore it
    assert after["one_step_error"] < before["one_step_error"] / 3
    assert after["std"][0] > 1.4 * before["std"][0]  # x's spread comes back (shrunk by 0.6)


def run_script(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "refine_convergence.py"), str(path)],
        capture_output=True,
        text=True,
    )


def test_too_few_series_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "two.npz"
    simulate("lorenz63", n=2, steps=128, dt=0.1, seed=0).save(path)
    done = run_script(path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "at least 4 series" in done.stderr


def test_series_of_many_parameter_values_are_one_line_and_exit_2(tmp_path):
    path = tmp_path / "mixed.npz"
    simulate("lorenz63", n=6, steps=128, dt=0.1, seed=0, vary={"rho": ParamDraw(24.0, 40.0)}).save(
        path
    )
    done = run_script(path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "one parameter value" in done.stderr
