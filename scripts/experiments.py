"""Shared parts of the experiment scripts (``orbit_ablation.py``, ``leaderboard.py``): the
``chaosgan`` command line as a subprocess, real datasets simulated once, and resumable training
runs of the small model. Import it from a script in this folder (``import experiments``).

Every stage is skipped when its output exists, and a training run that was interrupted resumes
from its last checkpoint, so the scripts survive the end of a session.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = ROOT / "scripts" / "demo_gan.toml"  # the small model: minutes per run on 2 CPU cores


def chaosgan(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``chaosgan ARGS`` with this interpreter from the repository root; stderr is captured
    (it holds the one-line ``error: ...`` of a refused command)."""
    cmd = [sys.executable, "-m", "chaosgan.cli", *args]
    print("$ chaosgan " + " ".join(args), flush=True)
    return subprocess.run(cmd, check=check, cwd=ROOT, stderr=subprocess.PIPE, text=True)


def simulate_real(path: Path, seed: int, n: int = 1000) -> None:
    """A real Lorenz-63 set (1024 samples at dt = 0.1, ``n`` series) at ``path`` unless there:
    what ``chaosgan simulate --n N --dt 0.1 --seed S`` writes, without a process per set."""
    if not path.exists():
        from chaosgan import simulate

        path.parent.mkdir(parents=True, exist_ok=True)
        simulate("lorenz63", n=n, dt=0.1, seed=seed).save(path)
        print(f"simulated {path}: {n} Lorenz-63 series, dt = 0.1, seed {seed}", flush=True)


def parse_set(items: list[str]) -> dict:
    """``--set key=value`` items as config overrides (values parsed as JSON, else strings)."""
    from chaosgan.errors import ChaosganError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ChaosganError(f"--set takes key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def write_config(path: Path, overrides: dict) -> Path:
    """A TOML file of config ``overrides`` (JSON values are valid TOML for these types)."""
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in overrides.items()))
    return path


def train(
    folder: Path,
    data: Path,
    overrides: dict,
    seed: int,
    epochs: int,
    preset: str | None = None,
) -> float:
    """Train (or resume) the small model on ``data`` in ``folder/run``; the seconds it took.

    ``folder/trained.json`` records the training time once the run is complete (the
    checkpoint's, summed across resumes; ``resumed: true`` when a checkpoint from before that
    was recorded leaves only the part after an interruption), and a later call
    returns that time without training again. The config is the small model
    (:data:`SIZE`), then ``preset``, then ``overrides`` (written to ``folder/config.toml``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "trained.json"
    if done.exists():
        return float(json.loads(done.read_text())["seconds"])
    config = write_config(folder / "config.toml", overrides)
    run = folder / "run"
    common = ["--epochs", str(epochs), "--seed", str(seed), "--device", "cpu"]
    start = time.perf_counter()
    resumed = (run / "checkpoints" / "last.pt").exists()
    if resumed:
        chaosgan("train", str(data), "--out", str(run), "--resume", *common)
    else:
        recipe = ["--preset", preset] if preset else []
        configs = ["--config", str(SIZE), "--config", str(config)]
        chaosgan("train", str(data), "--out", str(run), *recipe, *configs, "--force", *common)
    seconds = round(time.perf_counter() - start, 1)
    # the checkpoint counts the run's training time across resumes; a run from before it did
    # has only its last part's time: say so
    from chaosgan.gan.checkpoint import load_checkpoint

    recorded = load_checkpoint(run).get("train_seconds")
    partial = resumed and not recorded
    if recorded:
        seconds = round(float(recorded), 1)
    done.write_text(json.dumps({"seconds": seconds, "epochs": epochs, "resumed": partial}))
    return seconds
