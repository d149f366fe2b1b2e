"""Dataset format and the command line: round trips, validation, and one-line errors."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from chaosgan import load_dataset
from chaosgan.cli import main
from chaosgan.errors import ChaosganError


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_save_load_round_trip(lorenz_small, tmp_path):
    path = lorenz_small.save(tmp_path / "a.npz")
    back = load_dataset(path)
    assert np.array_equal(back.trajectories, lorenz_small.trajectories)
    assert np.array_equal(back.images, lorenz_small.images)
    assert back.meta == lorenz_small.meta
    assert back.meta["kind"] == "real" and back.meta["system"] == "lorenz63"


def test_existing_file_is_not_overwritten_without_force(lorenz_small, tmp_path):
    path = tmp_path / "a.npz"
    path.write_bytes(b"precious")
    with pytest.raises(ChaosganError, match="--force"):
        lorenz_small.save(path)
    assert path.read_bytes() == b"precious"
    lorenz_small.save(path, force=True)
    assert load_dataset(path).n_series == 40


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def good_arrays(ds):
    return {"trajectories": ds.trajectories, "meta": np.array(json.dumps(ds.meta))}


def test_loader_names_each_problem(lorenz_small, tmp_path):
    cases = {}
    arrays = good_arrays(lorenz_small)
    cases["no such file"] = None
    cases["shape"] = {**arrays, "trajectories": arrays["trajectories"][0]}
    nan = arrays["trajectories"].copy()
    nan[3, 5, 1] = np.nan
    cases["NaN"] = {**arrays, "trajectories": nan}
    cases["float64"] = {**arrays, "trajectories": arrays["trajectories"].astype(np.float32)}
    meta = dict(lorenz_small.meta)
    del meta["dt"]
    cases["lacks dt"] = {**arrays, "meta": np.array(json.dumps(meta))}
    cases["pickled"] = {**arrays, "meta": np.array([{"a": 1}], dtype=object)}
    cases["images must have shape"] = {**arrays, "images": np.zeros((2, 3, 32, 32), np.float32)}
    for i, (message, content) in enumerate(cases.items()):
        path = tmp_path / f"bad{i}.npz"
        if content is not None:
            write_npz(path, **content)
        with pytest.raises(ChaosganError, match=message):
            load_dataset(path)


def test_a_pickle_file_is_refused_not_executed(tmp_path):
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"trajectories": 1}))
    with pytest.raises(ChaosganError, match="not a readable .npz|pickle"):
        load_dataset(path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--n", "-3"], "argument --n: -3 is not >= 1"),
        (["simulate", "--dt", "-0.1"], "argument --dt: -0.1 is not in [1e-09, 1e+06]"),
        (["simulate", "--system", "duffing"], "valid: chen, lorenz63"),
        (["simulate", "--param", "gamma=1"], "valid: beta, rho, sigma"),
        (["simulate", "--param", "rho=abc"], "not a number"),
        (["simulate", "--system", "lorenz96", "--param", "N=2.5"], "integer"),
        (["info", "missing.npz"], "no such file"),
    ],
)
def test_bad_input_gives_one_line_error(capsys, tmp_path, argv, message):
    argv = [a if a != "missing.npz" else str(tmp_path / a) for a in argv]
    if argv[0] == "simulate":
        argv += ["--n", "4", "--steps", "8"] if "--n" not in argv else ["--steps", "8"]
        argv += ["--out", str(tmp_path / "x.npz")]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "x.npz").exists()


def test_simulate_cli_writes_dataset_plots_and_json(capsys, tmp_path):
    out_path = tmp_path / "d.npz"
    code, out, _ = run(
        capsys,
        "simulate",
        "--n",
        "6",
        "--dt",
        "0.1",
        "--seed",
        "2",
        "--param",
        "rho=35",
        "--out",
        str(out_path),
        "--plots",
        str(tmp_path / "plots"),
        "--json",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["params"]["rho"] == 35.0 and summary["n"] == 6 and summary["images"]
    names = ["attractor.png", "time_series.png", "images.png"]
    assert len(summary["plots"]) == 3
    assert all((tmp_path / "plots" / name).exists() for name in names)
    ds = load_dataset(out_path)
    assert ds.meta["params"]["rho"] == 35.0 and ds.meta["seed"] == 2
    code, _, err = run(capsys, "simulate", "--n", "6", "--out", str(out_path))
    assert code == 2 and "--force" in err


def test_existing_output_and_corrupt_file_exit_without_traceback(tmp_path):
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    proc = subprocess.run(
        [sys.executable, "-m", "chaosgan.cli", "info", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
