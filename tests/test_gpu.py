"""CUDA checks, for a machine with a GPU: ``pytest -m gpu``. Skipped by default and without CUDA."""

import numpy as np
import pytest
import torch

from chaosgan import simulate
from chaosgan.gan.config import load_config
from chaosgan.gan.train import train
from chaosgan.lyapunov.from_data import RosensteinParams
from chaosgan.lyapunov.rosenstein import rosenstein_batch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_cuda_simulation_matches_numpy():
    cpu = simulate("lorenz63", n=64, steps=64, dt=0.1, seed=0).trajectories
    gpu = simulate("lorenz63", n=64, steps=64, dt=0.1, seed=0, device="cuda").trajectories
    np.testing.assert_allclose(gpu[:, :21], cpu[:, :21], atol=1e-8)  # t <= 2: chaos is slow


def test_cuda_rosenstein_matches_cpu():
    x = simulate("lorenz63", n=16, dt=0.1, seed=1).trajectories[:, :, 0]
    kwargs = RosensteinParams().in_samples(0.1)
    cpu = rosenstein_batch(x, tau=0.1, **kwargs)
    gpu = rosenstein_batch(x, tau=0.1, device="cuda", **kwargs)
    np.testing.assert_allclose(gpu, cpu, atol=1e-6)


@pytest.mark.parametrize("fast", [False, True])
def test_cuda_training_runs(tmp_path, fast):
    data = simulate("lorenz63", n=128, dt=0.1, seed=0)
    cfg = load_config("study", overrides={"epochs": 2, "bf16": fast, "compile": fast})
    run = train(data, tmp_path / "run", cfg, device="cuda")
    assert run.step > 0 and np.isfinite(run.history["g_loss"][-1])
