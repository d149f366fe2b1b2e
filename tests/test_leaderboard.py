"""scripts/leaderboard.py on a tiny budget: a complete table, resumable, rows not yet in the code
reported as not available."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import leaderboard  # noqa: E402

METRICS = 16  # every scorecard metric, with a training set given
ROW_INDEX = {row.name: i for i, row in enumerate(leaderboard.ROWS)}


def run_board(out: Path, rows: str, *extra: str) -> dict:
    assert leaderboard.main(["--budget", "tiny", "--out", str(out), "--rows", rows, *extra]) == 0
    return json.loads((out / "leaderboard.json").read_text())


def check_complete(board: dict, names: list[str]) -> dict[str, dict]:
    rows = {r["row"]: r for r in board["rows"]}
    assert list(rows) == names
    for name in names:
        assert rows[name]["status"] == "ok", rows[name]
        mean = rows[name]["mean"]
        assert len(mean) == METRICS and all(v is not None for v in mean.values()), name
    return rows


def test_tiny_leaderboard_of_reference_rows_and_the_esn(tmp_path, capsys):
    out = tmp_path / "board"
    names = ["floor", "shuffled", "esn"]
    rows = check_complete(run_board(out, ",".join(names)), names)
    md = (out / "leaderboard.md").read_text()
    assert md.count("\n| ") == len(names) + 1  # header + one line per row (and the rule)
    one_step = {n: rows[n]["mean"]["one_step_error"]["median"] for n in names}
    # real data follow the flow exactly; shuffled time order does not; the ESN lies between
    assert one_step["floor"] < 1e-6 < one_step["esn"] < 0.05 < one_step["shuffled"]
    assert rows["esn"]["train_seconds"] > 0
    # two seeds: the mean in the table, each seed below it
    esn = rows["esn"]["results"][0]
    w1 = [0.1, 0.3, 0.2]
    twice = [{**esn, "metrics": {**esn["metrics"], "wasserstein_over_std": w1}}, {**esn, "seed": 1}]
    md, js = leaderboard.table([leaderboard.ROWS[ROW_INDEX["esn"]]], {"esn": twice}, {
        "name": "tiny", "n": 32, "epochs": 1, "seeds": [0, 1], "samples": 32})  # fmt: skip
    worst = max(esn["metrics"]["wasserstein_over_std"])
    assert js["rows"][0]["mean"]["wasserstein_over_std"] == pytest.approx((0.3 + worst) / 2)
    assert "Each seed" in md and md.count("| echo-state network") == 3
    # resumable: a second run recomputes nothing
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("rows/*/result.json")}
    capsys.readouterr()
    run_board(out, ",".join(names))
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert "$ chaosgan" not in capsys.readouterr().out
    assert leaderboard.main(["--budget", "tiny", "--out", str(out), "--table"]) == 0
    assert "echo-state network" in capsys.readouterr().out


def test_rows_not_in_the_code_are_not_available_and_bad_rows_refused(tmp_path, capsys):
    row = leaderboard.Row("x", "x", "gan", overrides={"no_such_key": 1})
    with pytest.raises(leaderboard.NotAvailable, match="no_such_key"):
        leaderboard.check_available(row)
    with pytest.raises(leaderboard.NotAvailable):
        leaderboard.check_available(leaderboard.Row("y", "y", "gan", preset="no-such-preset"))
    assert isinstance(
        leaderboard.refused("error: sample: unrecognized arguments: --condition rho=28"),
        leaderboard.NotAvailable,
    )
    assert isinstance(leaderboard.refused("error: disk full"), leaderboard.StepFailed)
    assert leaderboard.main(["--budget", "tiny", "--out", str(tmp_path), "--rows", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown row 'nope'")


@pytest.mark.slow
def test_tiny_leaderboard_with_a_gan_and_the_identified_model(tmp_path):
    out = tmp_path / "board"
    names = ["floor", "identified", "noise5", "esn", "bce"]
    rows = check_complete(run_board(out, ",".join(names)), names)
    assert rows["bce"]["train_seconds"] > 0 and rows["identified"]["train_seconds"] > 0
    assert rows["bce"]["results"][0]["epochs"] == 1


def test_backfill_adds_a_later_metric_from_the_saved_series(tmp_path):
    """A row scored before a metric existed gets it from its saved series on the next run."""
    out = tmp_path / "lb"
    assert leaderboard.main(["--budget", "tiny", "--out", str(out), "--rows", "floor"]) == 0
    path = out / "rows" / "floor_s0" / "result.json"
    result = json.loads(path.read_text())
    later = ("grid_recurrence", "speed_factor", "crossing_rate_ratio", "return_map_ratio")
    expected = {key: result["metrics"].pop(key) for key in later}
    for key in later:
        result["floor"].pop(key)
    path.write_text(json.dumps(result))
    assert leaderboard.main(["--budget", "tiny", "--out", str(out), "--rows", "floor"]) == 0
    again = json.loads(path.read_text())
    for key in later:
        assert again["metrics"][key] == pytest.approx(expected[key])
        assert key in again["floor"]
    assert "backfilled" in again["notes"][-1]
