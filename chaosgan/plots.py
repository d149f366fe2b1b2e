"""Preview figures of a dataset: the attractor in 3D, a few time series, a grid of images.

Figures are written atomically as PNG. They are built with matplotlib's object API
(``matplotlib.figure.Figure``, rendered by its Agg canvas on ``savefig``), never through
``pyplot``, so importing chaosgan never switches the user's backend or opens a window.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from chaosgan.atomic import write_atomic
from chaosgan.dataset import Dataset
from chaosgan.encoding import to_uint8


def save_figure(fig: Figure, path: Path) -> Path:
    """Save ``fig`` as PNG atomically; a figure made through ``pyplot`` is also closed."""
    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
    return path


def plot_attractor(ds: Dataset, path: Path, n_series: int = 5, title: str = "") -> Path:
    """The first three coordinates of a few series in 3D."""
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot(projection="3d")
    names = ds.coordinate_names
    for traj in ds.trajectories[:n_series]:
        ax.plot(traj[:, 0], traj[:, 1], traj[:, min(2, traj.shape[1] - 1)], lw=0.4, alpha=0.8)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[min(1, len(names) - 1)])
    ax.set_zlabel(names[min(2, len(names) - 1)])
    ax.set_title(title or f"{ds.meta.get('system')} ({ds.meta['kind']}), {n_series} series")
    return save_figure(fig, path)


def plot_time_series(ds: Dataset, path: Path, n_series: int = 3, max_coords: int = 3) -> Path:
    """Each coordinate against time (time units) for a few series."""
    d = min(ds.trajectories.shape[2], max_coords)
    fig = Figure(figsize=(9, 1.9 * d))
    axes = fig.subplots(d, 1, sharex=True, squeeze=False)
    t = np.arange(ds.trajectories.shape[1]) * ds.dt
    names = ds.coordinate_names
    for c in range(d):
        ax = axes[c, 0]
        for traj in ds.trajectories[:n_series]:
            ax.plot(t, traj[:, c], lw=0.6)
        ax.set_ylabel(names[c])
    axes[-1, 0].set_xlabel("time (time units)")
    axes[0, 0].set_title(f"{n_series} series, dt = {ds.dt}")
    return save_figure(fig, path)


def plot_image_grid(images: np.ndarray, path: Path, cols: int = 8, title: str = "") -> Path:
    """Images ``(N, 3, 32, 32)`` in [-1, 1] as a grid (R, G, B = the three coordinates)."""
    n = len(images)
    rows = max(1, int(np.ceil(n / cols)))
    fig = Figure(figsize=(cols * 1.1, rows * 1.1))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_uint8(images[i]), interpolation="nearest")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def preview(ds: Dataset, folder: str | Path) -> list[Path]:
    """Write the standard preview figures of ``ds`` into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        plot_attractor(ds, folder / "attractor.png"),
        plot_time_series(ds, folder / "time_series.png"),
    ]
    if ds.images is not None:
        paths.append(plot_image_grid(ds.images[:32], folder / "images.png"))
    return paths
