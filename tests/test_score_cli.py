"""`chaosgan score` on any generator's files: formats, identical JSON, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chaosgan import Dataset, simulate
from chaosgan.cli import build_parser, main
from chaosgan.evaluate import load_series

N = 16  # small: these tests are about files and plumbing, the numbers are checked elsewhere


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Our .npz for real, generated, floor and train, and the generated set as bare arrays."""
    folder = tmp_path_factory.mktemp("score")
    sets = {
        name: simulate("lorenz63", n=N, dt=0.1, seed=seed)
        for name, seed in [("real", 0), ("gen", 1), ("floor", 2), ("train", 3)]
    }
    paths = {}
    for name, ds in sets.items():
        paths[name] = folder / f"{name}.npz"
        ds.save(paths[name])
    x = sets["gen"].trajectories
    np.save(folder / "gen.npy", x)
    np.savez(folder / "gen_named.npz", trajectories=x)
    n, t, d = x.shape
    rows = np.column_stack(
        [np.repeat(np.arange(n), t), np.tile(np.arange(t) * 0.1, n), x.reshape(-1, d)]
    )
    rows = rows[np.random.default_rng(0).permutation(len(rows))]  # any row order
    np.savetxt(folder / "gen.csv", rows, delimiter=",", header="series,time,x,y,z", comments="")
    paths.update(npy=folder / "gen.npy", named=folder / "gen_named.npz", csv=folder / "gen.csv")
    paths["folder"] = folder
    return sets, paths


def run_score(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["score", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def report(out) -> dict:
    return json.loads((out / "report.json").read_text())


def test_bare_arrays_score_exactly_like_our_format(capsys, files):
    """The .npy scorecard is byte-for-byte that of our .npz; the .csv and named-array .npz
    load as exactly the same dataset (so they score the same: score() is deterministic)."""
    sets, p = files
    common = ["--real", p["real"], "--floor", p["floor"], "--train", p["train"]]
    out = p["folder"]
    code, printed, _ = run_score(capsys, *common, "--generated", p["gen"], "--out", out / "npz")
    assert code == 0
    argv = [*common, "--generated", p["npy"], "--system", "lorenz63", "--dt", "0.1"]
    assert run_score(capsys, *argv, "--out", out / "npy")[0] == 0
    want = report(out / "npz")
    assert report(out / "npy") == want
    assert "memorisation_ratio" in want["metrics"] and want["warnings"] == []
    # the console prints every coordinate of a per-coordinate metric, not one reduction of it
    ratios = want["metrics"]["crossing_rate_ratio"]["generated"]
    line = next(row for row in printed.splitlines() if "crossing_rate_ratio" in row)
    assert ", ".join(f"{v:.4f}" for v in ratios) in line
    npy = load_series(p["npy"], dt=0.1, system="lorenz63")
    for other in (
        load_series(p["csv"], system="lorenz63"),
        load_series(p["named"], dt=0.1, system="lorenz63"),
    ):
        assert np.array_equal(other.trajectories, npy.trajectories)
        assert other.meta == npy.meta and other.dt == 0.1


def test_lyapunov_report_is_the_same_command(capsys, files):
    _, p = files
    argv = ["--real", p["real"], "--generated", p["gen"], "--no-metrics", "--json"]
    code, out, _ = run_score(capsys, *argv, "--out", p["folder"] / "s")
    assert code == 0
    capsys.readouterr()
    lyap = ["lyapunov", "report", *map(str, argv), "--out", str(p["folder"] / "l")]
    assert main(lyap) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(out)
    assert report(p["folder"] / "l") == report(p["folder"] / "s")
    parser = build_parser()
    a = parser.parse_args(["score", "--real", "r", "--generated", "g", "--out", "o"])
    b = parser.parse_args(["lyapunov", "report", "--real", "r", "--generated", "g", "--out", "o"])
    assert a.handler is b.handler  # one handler, and the same options with the same defaults
    assert {k: v for k, v in vars(a).items() if k != "command"} == {
        k: v for k, v in vars(b).items() if k not in ("command", "lyapunov_command")
    }


def test_no_metrics_gives_exponents_only(capsys, files):
    _, p = files
    out = p["folder"] / "nm"
    argv = ["--real", p["real"], "--generated", p["gen"], "--out", out, "--no-metrics"]
    assert run_score(capsys, *argv)[0] == 0
    rep = report(out)
    assert "metrics" not in rep and "floor" not in rep["inputs"]
    for c in rep["lyapunov"]["coordinates"].values():
        assert c["ratio"]["ci95"][0] <= 1.0 <= c["ratio"]["ci95"][1]
    assert rep["figures"] == [
        "exponents.png",
        "attractors.png",
        "time_series.png",
        "histograms.png",
        "maxima_maps.png",
    ]
    assert (out / "report.md").read_text().startswith("# Lyapunov exponents\n")
    code, _, err = run_score(capsys, *argv)
    assert code == 2 and "--force" in err


def test_training_set_found_through_the_generated_meta_and_verified(capsys, files):
    sets, p = files
    gen, train = sets["gen"], sets["train"]
    folder = p["folder"]
    recorded = {"path": "train.npz", "sha256": train.sha256()}  # relative: beside the file
    Dataset(gen.trajectories, {**gen.meta, "training_data": recorded}, gen.images).save(
        folder / "gen_meta.npz"
    )
    argv = ["--real", p["real"], "--floor", p["floor"], "--generated", folder / "gen_meta.npz"]
    assert run_score(capsys, *argv, "--out", folder / "m")[0] == 0
    memo = report(folder / "m")["metrics"]["memorisation_ratio"]
    assert memo["train"]["sha256"] == train.sha256() and 0.7 < memo["generated"] < 1.3
    wrong = {**recorded, "sha256": sets["floor"].sha256()}
    Dataset(gen.trajectories, {**gen.meta, "training_data": wrong}, gen.images).save(
        folder / "gen_wrong.npz"
    )
    argv[-1] = folder / "gen_wrong.npz"
    code, _, err = run_score(capsys, *argv, "--out", folder / "w")
    assert code == 2 and "not that of the data the generator was trained on" in err
    assert len(err.strip().splitlines()) == 1


def bad_inputs(folder, sets):
    x = sets["gen"].trajectories
    np.save(folder / "flat.npy", x[:, :, 0])
    np.save(folder / "nan.npy", np.where(np.arange(1024)[None, :, None] == 5, np.nan, x))
    np.save(folder / "one.npy", x[:1])
    np.save(folder / "pickle.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(folder / "text.npy", np.array([["a"]]))
    half = sets["gen"]
    Dataset(half.trajectories, {**half.meta, "dt": 0.05}, half.images).save(folder / "dt.npz")
    (folder / "bad.csv").write_text("series,time,x\n0,0,1\n0,0.1,2\n1,0,1\n")
    return [
        (["flat.npy", "--dt", "0.1"], "expected shape (N, T, D)"),
        (["nan.npy", "--dt", "0.1"], "NaN"),
        (["one.npy", "--dt", "0.1"], "1 series"),
        (["pickle.npy", "--dt", "0.1"], "pickle"),
        (["text.npy", "--dt", "0.1"], "real numbers"),
        (["flat.npy"], "pass --dt"),
        (["gen.npy"], "pass --dt"),
        (["dt.npz"], "dt = 0.05"),
        (["gen.npy", "--dt", "0.05"], "--dt 0.05 disagrees with its meta dt 0.1"),
        (["bad.csv"], "different numbers of samples"),
        (["missing.npy", "--dt", "0.1"], "no such file"),
        (["gen.npy", "--dt", "0.1", "--system", "duffing"], "--system duffing disagrees"),
    ]


def test_every_bad_input_exits_2_with_one_line(capsys, files):
    sets, p = files
    folder = p["folder"]
    for argv, message in bad_inputs(folder, sets):
        gen, *flags = argv
        code, out, err = run_score(
            capsys, "--real", p["real"], "--generated", folder / gen, *flags, "--out", folder / "x"
        )
        assert code == 2, argv
        assert err.startswith("error: ") and message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (folder / "x").exists()  # nothing written


def test_unknown_system_needs_a_floor_and_gets_an_identified_flow(capsys, files):
    sets, p = files
    folder = p["folder"]
    np.save(folder / "real.npy", sets["real"].trajectories)
    argv = ["--real", folder / "real.npy", "--generated", p["npy"], "--dt", "0.1"]
    code, _, err = run_score(capsys, *argv, "--out", folder / "u")
    assert code == 2 and "pass a second real dataset as the floor (--floor)" in err
    np.save(folder / "floor.npy", sets["floor"].trajectories)
    assert run_score(capsys, *argv, "--floor", folder / "floor.npy", "--out", folder / "u")[0] == 0
    rep = report(folder / "u")
    assert rep["metrics"]["one_step_error"]["flow"].startswith("model identified")
    assert rep["metrics"]["one_step_error"]["generated"]["median"] < 1e-3
    assert "reference_exponent" not in rep["lyapunov"]
