"""scripts/conditional_eval.py's spread table: each coordinate's crossings of the real mean per
time unit, real / generated, read from the scored folders (here two simulated datasets)."""

from __future__ import annotations

import sys
from pathlib import Path

from chaosgan import simulate
from chaosgan.evaluate import metrics

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
import conditional_eval  # noqa: E402


def test_the_spread_table_shows_wing_switches_of_real_and_generated(tmp_path):
    """Stand-ins at rho = 26: real orbits of 26, 'generated' ones of 37, which switch wings
    more often. The x row's last column is x's crossings of the real mean (band 0.3 real std)
    per time unit, the real value first; a value without a report is left out."""
    folder = conditional_eval.folder_of(tmp_path, 26.0)
    (folder / "report").mkdir(parents=True)
    (folder / "report" / "report.json").write_text("{}")
    real = simulate("lorenz63", n=8, steps=1024, dt=0.1, seed=0, params={"rho": 26.0})
    gen = simulate("lorenz63", n=8, steps=1024, dt=0.1, seed=1, params={"rho": 37.0})
    real.save(folder / "real.npz")
    gen.save(folder / "generated.npz")

    text = conditional_eval.spread_table(tmp_path, [26.0, 30.0])
    assert "crossings of the real mean per time unit" in text
    rows = [line for line in text.splitlines() if line.startswith("| 26 |")]
    assert [row.split("|")[2].strip() for row in rows] == ["x", "y", "z"]
    assert not any(line.startswith("| 30 |") for line in text.splitlines())
    real_rate, gen_rate = (float(v) for v in rows[0].split("|")[-2].split("/"))
    x = real.trajectories[..., 0]
    expected = metrics.crossing_rate(x, x.mean(), 0.3 * x.std(), 0.1).mean()
    assert abs(real_rate - expected) < 0.006  # printed to two decimals
    assert gen_rate > real_rate + 0.05  # rho = 37 switches wings more often than 26
