"""Every command against every class of bad input (issue 14).

Hypothesis: whatever a user passes (badly typed meta, containers that are not what they claim,
sizes beyond the machine, numbers that are not numbers, outputs that exist or cannot be
written, data that does not match), every command answers with exit status 2, exactly one line
on stderr starting ``error:``, no traceback, and every file that existed before is
byte-identical afterwards (and no new file, temporary or not, is left behind).

Commands run in-process through :func:`chaosgan.cli.main` (an escaping exception fails the test,
so "no traceback" is enforced); a few run as real processes to see everything on stderr.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chaosgan import simulate
from chaosgan.cli import main
from chaosgan.dataset import META_SCHEMA, check_comparable, load
from chaosgan.errors import ChaosganError
from chaosgan.gan.checkpoint import checkpoint_path

TINY_TOML = (
    "latent_dim = 8\ng_width = 16\nd_width = 8\nbatch_size = 4\nsample_every = 100\nepochs = 1\n"
)


# --- assets: tiny datasets and a one-epoch run, made once --------------------------------------
@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    real = simulate("lorenz63", n=8, dt=0.1, seed=0)
    real.save(root / "real.npz")
    simulate("lorenz63", n=8, dt=0.1, seed=1).save(root / "real_b.npz")
    simulate("lorenz63", n=4, steps=64, dt=0.1, seed=0).save(root / "short.npz")
    (root / "tiny.toml").write_text(TINY_TOML)
    (root / "report").mkdir()
    (root / "report" / "report.json").write_text("{}\n")
    argv = ["train", str(root / "real.npz"), "--out", str(root / "run"), "--device", "cpu"]
    assert main([*argv, "--config", str(root / "tiny.toml")]) == 0
    return root


def snapshot(*roots: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``roots`` (hidden ones too) with its bytes."""
    seen: dict[str, bytes | None] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames:
                seen[os.path.join(dirpath, name)] = None
            for name in filenames:
                path = os.path.join(dirpath, name)
                seen[path] = Path(path).read_bytes()
    return seen


def refused(capsys, argv: list[str], *protect: Path) -> str:
    """Run ``argv``; assert the one-line refusal and untouched files; return the message."""
    before = snapshot(*protect)
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (argv, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    assert snapshot(*protect) == before, "files changed although the command failed"
    return lines[0]


# --- writing bad datasets ----------------------------------------------------------------------
def write_npz(path: Path, **arrays) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def with_meta(src: Path, dst: Path, **changes) -> Path:
    ds = load(src)
    meta = {**ds.meta, **changes}
    arrays = {"trajectories": ds.trajectories, "meta": np.array(json.dumps(meta))}
    if ds.images is not None:
        arrays["images"] = ds.images
    return write_npz(dst, **arrays)


def absurd_header(path: Path) -> Path:
    """A zip whose trajectories.npy header declares 3e14 float64 values but holds 24 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**7, 3)}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("trajectories.npy", header.getvalue() + b"\0" * 24)
        zf.writestr("meta.npy", header.getvalue()[:0] + _npy(np.array("{}")))
    return path


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def make_container(kind: str, src: Path, dst: Path) -> Path:
    """Files that claim to be datasets but are not."""
    if kind == "absurd header":
        return absurd_header(dst)
    if kind == ".npy renamed .npz":
        np.save(dst.with_suffix(".npy"), load(src).trajectories)
        dst.with_suffix(".npy").rename(dst)
        return dst
    if kind == "non-array member":
        shutil.copy(src, dst)
        with zipfile.ZipFile(dst, "a") as zf:
            zf.writestr("notes.txt", "hello")
        return dst
    if kind == "pickled member":
        ds = load(src)
        images = np.array([{"a": 1}], dtype=object)
        return write_npz(dst, trajectories=ds.trajectories, meta=np.array("{}"), images=images)
    if kind == "text file":
        dst.write_text("series,time,x\n0,0.0,1.0\n")
        return dst
    if kind == "folder":
        dst.mkdir()
        return dst
    if kind == "empty file":
        dst.write_bytes(b"")
        return dst
    if kind == "truncated":
        data = src.read_bytes()
        dst.write_bytes(data[: len(data) // 2])
        return dst
    if kind == "no meta":
        return write_npz(dst, trajectories=load(src).trajectories)
    if kind == "meta not JSON":
        ds = load(src)
        return write_npz(dst, trajectories=ds.trajectories, meta=np.array("{not json"))
    if kind == "meta a list":
        ds = load(src)
        return write_npz(dst, trajectories=ds.trajectories, meta=np.array("[1, 2]"))
    raise AssertionError(kind)


CONTAINERS = [
    "absurd header",
    ".npy renamed .npz",
    "non-array member",
    "pickled member",
    "text file",
    "folder",
    "empty file",
    "truncated",
    "no meta",
    "meta not JSON",
    "meta a list",
]
BAD_META = {
    "coordinates an int": {"coordinates": 5},
    "coordinates too few": {"coordinates": ["x"]},
    "params a string": {"params": "rho=28"},
    "params non-numeric": {"params": {"sigma": 10.0, "rho": "28", "beta": 2.6}},
    "params unknown key": {"params": {"sigma": 10.0, "rho": 28.0, "beta": 2.6, "zeta": 1.0}},
    "params missing key": {"params": {"sigma": 10.0}},
    "seed a string": {"seed": "zero"},
    "seed negative": {"seed": -3},
    "dt huge": {"dt": 1e300},
    "dt tiny": {"dt": 1e-300},
    "dt a string": {"dt": "0.1"},
    "dt NaN": {"dt": float("nan")},
    "dt true": {"dt": True},
    "steps wrong": {"steps": 7},
    "kind unknown": {"kind": "fake"},
    "format unknown": {"format": "other/2"},
    "system an int": {"system": 63},
    "burn_in huge": {"burn_in": 1e300},
    "substeps zero": {"substeps": 0},
    "normalisation strings": {"normalisation": {"min": ["a", "b", "c"], "max": [1, 2, 3]}},
    "normalisation equal": {"normalisation": {"min": [0, 0, 0], "max": [0, 1, 1]}},
    "normalisation short": {"normalisation": {"min": [0, 0], "max": [1, 1]}},
    "version a number": {"version": 1},
}


def dataset_readers(bad: Path, good: Path, tmp: Path) -> dict[str, list]:
    """Every command that reads a dataset, pointed at ``bad``."""
    return {
        "info": ["info", bad],
        "estimate": ["lyapunov", "estimate", bad],
        "identify": ["identify", bad, "--methods", "stlsq"],
        "train": ["train", bad, "--out", tmp / "run", "--device", "cpu"],
        "report real": [
            "lyapunov",
            "report",
            "--real",
            bad,
            "--generated",
            good,
            "--out",
            tmp / "r",
        ],
        "report generated": [
            "lyapunov",
            "report",
            "--real",
            good,
            "--generated",
            bad,
            "--out",
            tmp / "r",
        ],
        "score": ["score", "--real", good, "--generated", bad, "--out", tmp / "r"],
    }


READERS = [*dataset_readers(Path(), Path(), Path())]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", CONTAINERS)
def test_containers_that_are_not_datasets(assets, tmp_path, capsys, kind, reader):
    bad = make_container(kind, assets / "real.npz", tmp_path / "bad.npz")
    argv = dataset_readers(bad, assets / "real_b.npz", tmp_path)[reader]
    message = refused(capsys, argv, assets, tmp_path)
    assert "bad.npz" in message
    if kind in ("text file", "folder", "non-array member", "absurd header"):
        assert "pickle" not in message


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("case", list(BAD_META))
def test_badly_typed_meta_names_file_and_key(assets, tmp_path, capsys, case, reader):
    changes = BAD_META[case]
    bad = with_meta(assets / "real.npz", tmp_path / "bad.npz", **changes)
    argv = dataset_readers(bad, assets / "real_b.npz", tmp_path)[reader]
    message = refused(capsys, argv, assets, tmp_path)
    assert "bad.npz" in message and f"meta {next(iter(changes))}" in message


def test_absurd_header_is_refused_before_allocation(tmp_path):
    with pytest.raises(ChaosganError, match=r"declares shape \(10000000, 10000000, 3\)"):
        load(absurd_header(tmp_path / "a.npz"))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.sampled_from(sorted(META_SCHEMA)), value=JSON_VALUES)
# found by hypothesis: a parameter name with a control character that str.splitlines breaks on
@example(key="params", value={"\x1e": 0})
@example(key="series_params", value=["\x1e"])
def test_any_meta_value_is_accepted_or_refused_in_one_line(tmp_path_factory, key, value):
    """Property: any JSON value under any meta key gives exit 0 or one clean error, and a
    dataset that ``info`` accepts is one every later stage can trust (its meta re-validates and
    its numbers are finite)."""
    folder = tmp_path_factory.mktemp("h")
    ds = simulate("lorenz63", n=2, steps=16, dt=0.1, seed=0)
    meta = {**ds.meta, key: value}
    text = json.dumps(meta)  # NaN/Infinity included: Python's reader accepts them
    path = write_npz(folder / "d.npz", trajectories=ds.trajectories, meta=np.array(text))
    err = io.StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        code = main(["info", str(path), "--json"])
    finally:
        sys.stderr = old
    if code == 0:
        loaded = load(path)
        assert np.isfinite(loaded.dt) and loaded.dt > 0
        assert loaded.normalisation.maximum > loaded.normalisation.minimum or key != "normalisation"
    else:
        lines = err.getvalue().strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ")
        assert "d.npz" in lines[0]


# --- checkpoints -------------------------------------------------------------------------------
def bad_run(assets: Path, dst: Path, change) -> Path:
    shutil.copytree(assets / "run", dst)
    path = checkpoint_path(dst)
    ckpt = torch.load(path, weights_only=True)
    result = change(ckpt)
    if isinstance(result, bytes):
        path.write_bytes(result)
    else:
        torch.save(ckpt, path)
    return dst


PHYSICS = {  # the form of chaosgan.gan.physics.PhysicsModel.to_dict (a 3-D quadratic model)
    "coef": [[0.0] * 10] * 3,
    "degree": 2,
    "names": ["x", "y", "z"],
    "source": "identified",
    "diameter": 50.0,
    "info": {},
}


def _set(key, value):
    def change(ckpt):
        ckpt[key] = value

    return change


def _config(**kw):
    def change(ckpt):
        ckpt["config"].update(kw)

    return change


BAD_CHECKPOINTS = {
    "raw pickle": lambda c: pickle.dumps({"format": "chaosgan-checkpoint/1"}),
    "text": lambda c: b"hello\n",
    "truncated": lambda c: None,  # replaced below
    "config a list": _set("config", [1, 2]),
    "config nan lr": _config(lr_g=float("nan")),
    "config unknown key": _config(zeta=1),
    "config huge width": _config(g_width=10**9),
    "epoch a string": _set("epoch", "3"),
    "epoch negative": _set("epoch", -1),
    "history wrong": _set("history", {"d_loss": "x", "g_loss": []}),
    "history short": _set("history", {"d_loss": [], "g_loss": []}),
    "normalisation strings": _set("normalisation", {"min": ["a"] * 3, "max": [1, 2, 3]}),
    "normalisation equal": _set("normalisation", {"min": [1, 1, 1], "max": [1, 2, 3]}),
    "data_meta dt string": lambda c: c["data_meta"].update(dt="0.1"),
    "data_meta dt huge": lambda c: c["data_meta"].update(dt=1e300),
    "physics not a dict": _set("physics", 5),
    "physics coef strings": _set("physics", {**PHYSICS, "coef": [["a"] * 10] * 3}),
    "physics required": _config(physics="identified"),
    "series critic required": _config(series_weight=1.0),
    "training_data bad": _set("training_data", {"sha256": "abc", "path": None}),
    "format other": _set("format", "x"),
    "lacks generator": lambda c: c.pop("generator"),
}


@pytest.mark.parametrize("reader", ["sample", "resume"])
@pytest.mark.parametrize("case", list(BAD_CHECKPOINTS))
def test_bad_checkpoints(assets, tmp_path, capsys, case, reader):
    if case == "truncated":
        run = bad_run(assets, tmp_path / "run", lambda c: None)
        data = checkpoint_path(run).read_bytes()
        checkpoint_path(run).write_bytes(data[: len(data) // 2])
    else:
        run = bad_run(assets, tmp_path / "run", BAD_CHECKPOINTS[case])
    if reader == "sample":
        argv = ["sample", run, "--n", "4", "--out", tmp_path / "gen.npz", "--device", "cpu"]
    else:
        argv = ["train", assets / "real.npz", "--out", run, "--resume", "--device", "cpu"]
    message = refused(capsys, argv, assets, tmp_path)
    assert "last.pt" in message or str(run) in message


def test_checkpoint_may_carry_a_physics_model(assets, tmp_path, capsys):
    run = bad_run(assets, tmp_path / "run", _set("physics", PHYSICS))
    out = tmp_path / "gen.npz"
    assert main(["sample", str(run), "--n", "2", "--out", str(out), "--device", "cpu"]) == 0


# --- sizes, numbers, outputs: every command --------------------------------------------------
def argv_cases(a: Path, t: Path) -> dict[str, list]:
    sim = ["simulate", "--out", t / "new.npz"]
    spec = ["lyapunov", "spectrum", "--n", "2", "--time", "1"]
    sample = ["sample", a / "run", "--out", t / "gen.npz", "--device", "cpu"]
    train = ["train", a / "real.npz", "--out", t / "run", "--device", "cpu"]
    ident = ["identify", a / "short.npz"]
    esn = ["baseline", "esn", a / "real.npz", "--out", t / "esn.npz"]
    cases: dict[str, list] = {
        # sizes beyond the machine, or beyond an explicit --max-memory
        "simulate n 1e9": [*sim, "--n", "1000000000"],
        "simulate steps 1e9": [*sim, "--steps", "1000000000", "--n", "2"],
        "simulate substeps x steps": [*sim, "--n", "2", "--steps", "1000000", "--substeps", "5000"],
        "simulate burn-in at tiny dt": [*sim, "--n", "2", "--dt", "1e-9", "--burn-in", "1000"],
        "simulate max-memory": [*sim, "--n", "100", "--max-memory", "1K"],
        "sample n 1e12": [*sample, "--n", "1000000000000"],
        "sample max-memory": [*sample, "--n", "100", "--max-memory", "1K"],
        "spectrum n 1e12": ["lyapunov", "spectrum", "--n", "1000000000000"],
        "spectrum max-memory": [*spec, "--max-memory", "1K"],
        "spectrum steps": ["lyapunov", "spectrum", "--time", "1e6", "--step", "1e-9"],
        "spectrum step > time": ["lyapunov", "spectrum", "--time", "0.01", "--step", "0.1"],
        # not a memory size
        "max-memory words": [*sim, "--max-memory", "lots"],
        "max-memory negative": [*sim, "--max-memory", "-5G"],
        # numbers that are not numbers, or out of range
        "simulate param nan": [*sim, "--param", "rho=nan"],
        "simulate param inf": [*sim, "--param", "rho=inf"],
        "simulate param unknown": [*sim, "--param", "zeta=1"],
        "simulate unknown system": [*sim, "--system", "lorenz99"],
        "identify degree 0": [*ident, "--degree", "0"],
        "identify methods empty": [*ident, "--methods", ","],
        "identify methods unknown": [*ident, "--methods", "lasso,magic"],
        "identify noise negative": [*ident, "--noise", "-0.1"],
        "estimate jobs 0": ["lyapunov", "estimate", a / "short.npz", "--jobs", "0"],
        "estimate pool 0": ["lyapunov", "estimate", a / "short.npz", "--pool", "0"],
        "estimate pool eckmann": [
            *("lyapunov", "estimate", a / "short.npz", "--method", "eckmann", "--pool", "4")
        ],
        "train batch 0": [*train, "--batch-size", "0"],
        "spectrum param nan": [*spec, "--param", "rho=nan"],
        "path no such data": ["lyapunov", "path", a / "nothing.npz"],
        "path unknown system": ["lyapunov", "path", a / "short.npz", "--system", "lorenz99"],
        "path param unknown": ["lyapunov", "path", a / "short.npz", "--param", "zeta=1"],
        # outputs: existing without --force, unwritable, empty, not a folder
        "simulate out exists": ["simulate", "--n", "2", "--out", a / "real.npz"],
        "simulate plots exist": [*sim, "--n", "2", "--plots", a / "run"],
        "simulate out empty": ["simulate", "--out", ""],
        "simulate out in /proc": ["simulate", "--n", "2", "--steps", "16", "--out", "/proc/x.npz"],
        "simulate out under a file": ["simulate", "--n", "2", "--out", a / "real.npz" / "x.npz"],
        "simulate plots /proc": [*sim, "--n", "2", "--steps", "16", "--plots", "/proc/p"],
        "sample out exists": [*sample, "--n", "2", "--out", a / "real.npz"],
        "sample out in /proc": [*sample, "--n", "2", "--out", "/proc/x.npz"],
        "esn out exists": ["baseline", "esn", a / "real.npz", "--out", a / "real.npz"],
        "esn out in /proc": ["baseline", "esn", a / "real.npz", "--out", "/proc/x.npz"],
        "esn n 1e12": [*esn, "--n", "1000000000000"],
        "esn max-memory": [*esn, "--n", "100", "--max-memory", "1K"],
        "esn series too short": ["baseline", "esn", a / "short.npz", "--out", t / "esn.npz"],
        "esn no such data": ["baseline", "esn", a / "nothing.npz", "--out", t / "esn.npz"],
        "train run exists": ["train", a / "real.npz", "--out", a / "run", "--device", "cpu"],
        "train out a file": ["train", a / "real.npz", "--out", a / "real.npz", "--device", "cpu"],
        "train out not a run": ["train", a / "real.npz", "--out", a, "--force", "--device", "cpu"],
        "train out /proc": ["train", a / "real.npz", "--out", "/proc/run", "--device", "cpu"],
        "train no images": ["train", a / "short.npz", "--out", t / "run", "--device", "cpu"],
        "train resume nothing": [*train, "--resume"],
        "train resume other data": [
            "train",
            a / "real_b.npz",
            "--out",
            a / "run",
            "--resume",
            "--epochs",
            "2",
            "--device",
            "cpu",
        ],
        "report out exists": [
            "lyapunov",
            "report",
            "--real",
            a / "real.npz",
            "--generated",
            a / "real_b.npz",
            "--out",
            a / "report",
        ],
    }
    non_numbers = {
        "simulate": (sim, ["--n", "--steps", "--substeps", "--seed"], ["--dt", "--burn-in"]),
        "spectrum": (spec, ["--n", "--seed"], ["--time", "--step"]),
        "path": (["lyapunov", "path", a / "short.npz"], ["--substeps", "--max-series"], []),
        "identify": (ident, ["--degree", "--seed", "--max-series"], ["--noise"]),
        "train": (train, ["--epochs", "--seed", "--batch-size"], []),
        "sample": (sample, ["--n", "--seed"], []),
        "esn": (esn, ["--n", "--seed", "--reservoir", "--warmup"], []),
    }
    for cmd, (base, ints, floats) in non_numbers.items():
        for flag in ints:
            for value in ("-1", "1.5", "nan", "1e3x"):
                cases[f"{cmd} {flag} {value}"] = [*base, flag, value]
        for flag in floats:
            for value in ("nan", "inf", "-1", "1e999", "x"):
                cases[f"{cmd} {flag} {value}"] = [*base, flag, value]
    return cases


CASES = sorted(argv_cases(Path("a"), Path("t")))


@pytest.mark.parametrize("case", CASES)
def test_every_command_refuses_bad_arguments(assets, tmp_path, capsys, case):
    argv = argv_cases(assets, tmp_path)[case]
    refused(capsys, argv, assets, tmp_path)


@pytest.mark.parametrize(
    "key, value",
    [("lr_g", "nan"), ("noise_start", "inf"), ("zeta", "1"), ("latent_dim", "10000000")],
)
def test_config_files_with_bad_values(assets, tmp_path, capsys, key, value):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f"{key} = {value}\n")
    argv = ["train", assets / "real.npz", "--out", tmp_path / "run", "--config", cfg]
    message = refused(capsys, argv, assets, tmp_path)
    assert key in message and not (tmp_path / "run").exists()


# --- mismatches --------------------------------------------------------------------------------
def test_datasets_that_cannot_be_compared(assets):
    real = load(assets / "real.npz")
    cases = {
        "rossler": (
            simulate("rossler", n=4, dt=0.1, seed=0),
            "lorenz63 data but generated is rossler",
        ),
        "dt": (simulate("lorenz63", n=4, dt=0.05, seed=0), "dt"),
        "length": (load(assets / "short.npz"), "samples"),
        "one series": (simulate("lorenz63", n=1, dt=0.1, seed=0), "at least 2"),
    }
    for other, match in cases.values():
        with pytest.raises(ChaosganError, match=match):
            check_comparable(real, other)
    constant = load(assets / "real_b.npz")
    constant.trajectories[:, :, 1] = 3.0
    with pytest.raises(ChaosganError, match="constant"):
        check_comparable(real, constant)
    check_comparable(real, load(assets / "real_b.npz"))  # two independent real sets compare


def nan_losses():
    """The BCE losses with a generator loss that is NaN: training fails in its first epoch."""
    from chaosgan.gan import losses

    d_loss, g_loss = losses.LOSSES["bce"]
    return d_loss, lambda logits: g_loss(logits) * float("nan")


# --- the restart test --------------------------------------------------------------------------
def test_failed_force_restart_leaves_the_old_run_intact(assets, tmp_path, capsys, monkeypatch):
    """``train --force`` that fails in its first epoch (a non-finite loss, or a checkpoint that
    cannot be written) leaves the old run byte-identical; one that succeeds leaves a clean new
    run with none of the old run's files (old samples included) and no staging folder."""
    run = tmp_path / "run"
    shutil.copytree(assets / "run", run)
    (run / "samples").mkdir(exist_ok=True)  # the tiny run writes no figures itself
    (run / "samples" / "epoch_0999.png").write_bytes(b"an old sample")
    argv = ["train", assets / "real.npz", "--out", run, "--force", "--device", "cpu"]
    argv += ["--config", assets / "tiny.toml", "--seed", "5"]
    from chaosgan.gan import losses, train

    monkeypatch.setitem(losses.LOSSES, "bce", nan_losses())
    message = refused(capsys, argv, run, tmp_path)
    assert "non-finite" in message and "none was written yet" in message
    monkeypatch.undo()

    def disk_full(*args, **kwargs):
        raise ChaosganError("cannot write last.pt: No space left on device")

    monkeypatch.setattr(train, "save_checkpoint", disk_full)
    refused(capsys, argv, run, tmp_path)
    monkeypatch.undo()

    assert main([str(a) for a in argv]) == 0
    assert not (run / "samples" / "epoch_0999.png").exists()
    assert json.loads((run / "config.json").read_text())["seed"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folder left


def test_failed_fresh_run_creates_no_folder(assets, tmp_path, capsys, monkeypatch):
    from chaosgan.gan import losses

    monkeypatch.setitem(losses.LOSSES, "bce", nan_losses())
    argv = ["train", assets / "real.npz", "--out", tmp_path / "new", "--device", "cpu"]
    refused(capsys, [*argv, "--config", assets / "tiny.toml"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_resume_refuses_other_data_and_keeps_the_checkpoint(assets, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(assets / "run", run)
    argv = ["train", assets / "real_b.npz", "--out", run, "--resume", "--epochs", "2"]
    message = refused(capsys, [*argv, "--device", "cpu"], run)
    assert "trained on other data" in message


# --- outputs: permissions and strict JSON -----------------------------------------------------
def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        simulate("lorenz63", n=2, steps=16, seed=0).save(tmp_path / "d.npz")
        assert (
            main(
                [
                    "simulate",
                    "--n",
                    "2",
                    "--out",
                    str(tmp_path / "e.npz"),
                    "--plots",
                    str(tmp_path / "p"),
                ]
            )
            == 0
        )
    finally:
        os.umask(old)
    assert (tmp_path / "d.npz").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "p").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "p" / "attractor.png").stat().st_mode & 0o777 == 0o640


def test_json_is_strict_with_reasons():
    from chaosgan.jsonio import dumps

    text = dumps({"a": float("nan"), "b": [1.0, np.float32("inf")], "c": np.arange(2)})
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["a"] is None and data["b"] == [1.0, None] and data["c"] == [0, 1]
    assert set(data["nulls"]) == {"/a", "/b/1"} and "nan" in data["nulls"]["/a"]


def test_help_texts_have_no_doubled_percent(capsys):
    for argv in (["lyapunov", "estimate", "--help"], ["simulate", "--help"]):
        assert main(argv) == 0
        assert "%%" not in capsys.readouterr().out


# --- a few as real processes: nothing else reaches stderr (warnings included) ----------------
@pytest.mark.parametrize(
    "case", ["raw pickle checkpoint", pytest.param("text dataset", marks=pytest.mark.slow)]
)
def test_real_process_prints_one_line(assets, tmp_path, case):
    if case == "raw pickle checkpoint":
        bad = tmp_path / "last.pt"
        bad.write_bytes(pickle.dumps({"format": "chaosgan-checkpoint/1"}))
        argv = ["sample", str(bad), "--out", str(tmp_path / "g.npz"), "--device", "cpu"]
    else:
        bad = tmp_path / "d.npz"
        bad.write_text("x,y\n1,2\n")
        argv = ["info", str(bad)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "chaosgan.cli", *argv], capture_output=True, text=True, env=env
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
