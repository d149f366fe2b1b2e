"""Image codec: exact float round trip, bounded 8-bit quantisation, time order preserved."""

import numpy as np
import pytest

from chaosgan.encoding import Normalisation, apply_layout, decode, encode, load_png, save_png
from chaosgan.errors import ChaosganError


def test_float_round_trip_is_exact_to_1e6_of_range(lorenz_small):
    norm = lorenz_small.normalisation
    back = decode(encode(lorenz_small.trajectories, norm), norm)
    span = np.subtract(norm.maximum, norm.minimum)
    err = np.abs(back - lorenz_small.trajectories).max(axis=(0, 1)) / span
    assert err.max() < 1e-6


def test_images_are_in_unit_range_and_row_major_in_time(lorenz_small):
    images = lorenz_small.images
    assert images.shape == (40, 3, 32, 32) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    norm = lorenz_small.normalisation
    # sample t = 33 sits at row 1, column 1; channel 2 is z
    z = lorenz_small.trajectories[0, 33, 2]
    scaled = 2 * (z - norm.minimum[2]) / (norm.maximum[2] - norm.minimum[2]) - 1
    assert images[0, 2, 1, 1] == pytest.approx(scaled, abs=1e-6)


def test_png_round_trip_error_is_at_most_half_a_level(lorenz_small, tmp_path):
    norm = lorenz_small.normalisation
    image = lorenz_small.images[3]
    save_png(image, tmp_path / "x.png")
    back = load_png(tmp_path / "x.png")
    traj = decode(back[None], norm)[0]
    span = np.subtract(norm.maximum, norm.minimum)
    err = np.abs(traj - lorenz_small.trajectories[3]).max(axis=0)
    assert np.all(err <= span / 510 + 1e-9)
    assert np.all(err > 0)  # quantisation is real, so the bound is not vacuous


def test_constant_coordinate_cannot_be_normalised():
    with pytest.raises(ChaosganError, match="constant"):
        Normalisation.fit(np.ones((2, 1024, 3)))


def test_wrong_shape_is_rejected():
    norm = Normalisation((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    with pytest.raises(ChaosganError, match="1024"):
        encode(np.zeros((1, 1000, 3)), norm)


@pytest.mark.parametrize("layout", ["snake", "hilbert"])
def test_layouts_make_consecutive_samples_neighbouring_pixels(layout):
    import torch

    time_index = np.arange(1024.0).reshape(1, 1, 32, 32)  # raster: t at row t // 32
    laid = apply_layout(time_index, layout)[0, 0]
    where = np.argsort(laid.ravel())  # flat pixel of each t
    steps = np.abs(np.diff(where // 32)) + np.abs(np.diff(where % 32))
    assert np.all(steps == 1)  # every t -> t + 1 is one pixel away
    raster = np.argsort(apply_layout(time_index, "raster")[0, 0].ravel())
    raster_steps = np.abs(np.diff(raster // 32)) + np.abs(np.diff(raster % 32))
    assert raster_steps.max() == 32  # raster: t = 32k + 31 -> 32k + 32 jumps across the image
    back = apply_layout(apply_layout(time_index, layout), layout, inverse=True)
    assert np.array_equal(back, time_index)
    as_torch = apply_layout(torch.from_numpy(time_index), layout).numpy()
    assert np.array_equal(as_torch, apply_layout(time_index, layout))
    assert apply_layout(time_index, "raster") is time_index
    with pytest.raises(ChaosganError, match="unknown image layout"):
        apply_layout(time_index, "spiral")


def test_hilbert_quadrants_hold_contiguous_stretches_of_time():
    laid = apply_layout(np.arange(1024).reshape(32, 32), "hilbert")
    for quadrant in (laid[:16, :16], laid[:16, 16:], laid[16:, :16], laid[16:, 16:]):
        values = np.sort(quadrant.ravel())
        assert values[-1] - values[0] == 255  # 256 consecutive steps
    snake = apply_layout(np.arange(1024).reshape(32, 32), "snake")
    assert snake[1, 0] == 63 and snake[1, 31] == 32
