"""chaosgan: generate and judge data from chaotic dynamical systems.

The library in a few lines::

    from chaosgan import simulate, load_dataset
    ds = simulate("lorenz63", n=100, dt=0.1, seed=0)   # a Dataset: trajectories (100, 1024, 3)
    ds.save("data/lorenz.npz")
    ds = load_dataset("data/lorenz.npz")                # validated, no pickle
"""

__version__ = "0.1.0"

from chaosgan.dataset import Dataset, make_dataset  # noqa: E402
from chaosgan.dataset import load as load_dataset  # noqa: E402
from chaosgan.errors import ChaosganError  # noqa: E402
from chaosgan.simulate import simulate  # noqa: E402
from chaosgan.systems import SYSTEMS, get_system  # noqa: E402

__all__ = [
    "SYSTEMS",
    "ChaosganError",
    "Dataset",
    "__version__",
    "get_system",
    "load_dataset",
    "make_dataset",
    "simulate",
]
