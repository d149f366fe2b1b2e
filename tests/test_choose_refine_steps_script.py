"""scripts/choose_refine_steps.py: the rule that picks a sampling count from validation values
only, read from scorecards laid out as conditional_eval.py writes them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaosgan.errors import ChaosganError

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
import choose_refine_steps  # noqa: E402


def scorecard(ratios: tuple[float, float, float], w1: tuple[float, float, float]) -> dict:
    return {
        "lyapunov_ratio": {
            "generated": {c: {"value": r} for c, r in zip("xyz", ratios, strict=True)}
        },
        "wasserstein_over_std": {"generated": list(w1)},
    }


def lay_out(out: Path, trained: int, reports: dict[tuple[int, float], dict]) -> None:
    (out / "run").mkdir(parents=True)
    (out / "run" / "config.json").write_text(json.dumps({"refine_steps": trained}))
    for (n, rho), metrics in reports.items():
        path = choose_refine_steps.report_of(out, rho, n, trained)
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"metrics": metrics}))


def test_margin_is_the_worst_coordinate_against_the_target_edge():
    # z's ratio 0.85 is 0.75 of the way to the edge; y's W1/std 0.09 is 0.9 of it
    assert choose_refine_steps.margin(
        scorecard((1.0, 1.02, 0.85), (0.01, 0.09, 0.05))
    ) == pytest.approx(0.9)
    assert choose_refine_steps.margin(scorecard((1.3, 1.0, 1.0), (0.0, 0.0, 0.0))) == (
        pytest.approx(1.5)
    )


def test_the_count_with_the_best_worst_value_wins_and_ties_go_to_the_trained_count(tmp_path):
    good = ((1.0, 1.0, 1.0), (0.02, 0.02, 0.02))  # margin 0.2
    edge = ((1.1, 1.0, 1.0), (0.02, 0.02, 0.02))  # margin 0.5
    bad = ((1.0, 1.0, 1.0), (0.15, 0.02, 0.02))  # margin 1.5
    reports = {
        (20, 28.0): scorecard(*good),  # 20: good at 28 but outside the target at 35
        (20, 35.0): scorecard(*bad),
        (30, 28.0): scorecard(*edge),  # 30 (trained): 0.5 at both
        (30, 35.0): scorecard(*edge),
        (40, 28.0): scorecard(*edge),  # 40: as good as 30, loses the tie
        (40, 35.0): scorecard(*good),
    }
    lay_out(tmp_path, 30, reports)
    table = choose_refine_steps.scores(tmp_path, [28.0, 35.0], [20, 30, 40], trained=30)
    assert table[20][35.0] == pytest.approx(1.5)
    assert table[30] == {28.0: pytest.approx(0.5), 35.0: pytest.approx(0.5)}
    assert choose_refine_steps.choose(table, trained=30) == 30
    table[40][28.0] = 0.4  # now 40 is better at its worst value
    assert choose_refine_steps.choose(table, trained=30) == 40
    # the trained count's reports are the run's own folders, the others' are labelled
    assert (tmp_path / "rho_28" / "report" / "report.json").exists()
    assert (tmp_path / "rho_35_refine40" / "report" / "report.json").exists()


def test_a_missing_report_or_a_run_without_a_layer_is_a_clear_error(tmp_path):
    lay_out(tmp_path, 30, {(30, 28.0): scorecard((1.0,) * 3, (0.0,) * 3)})
    with pytest.raises(ChaosganError, match="--refine-steps 35"):
        choose_refine_steps.scores(tmp_path, [28.0], [30, 35], trained=30)
    plain = tmp_path / "plain"
    lay_out(plain, 0, {})
    with pytest.raises(ChaosganError, match="no refinement layer"):
        choose_refine_steps.trained_steps(plain)
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "choose_refine_steps.py"),
            str(plain),
            "--values",
            "28",
            "--steps",
            "30",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
