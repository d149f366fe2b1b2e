"""`chaosgan info` on a good dataset, and the 8-bit PNG export of images and figures."""

import json

import numpy as np
import pytest
from PIL import Image

from chaosgan.cli import main
from chaosgan.encoding import load_png, save_png, to_uint8
from chaosgan.errors import ChaosganError
from chaosgan.plots import preview

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_info_summarises_a_valid_dataset(capsys, lorenz_small_path, lorenz_small):
    assert main(["info", str(lorenz_small_path)]) == 0
    out = capsys.readouterr().out
    assert "real dataset of 40 series x 1024 samples x 3 coordinates" in out
    assert "system lorenz63" in out and "dt=0.1" in out and "images: yes" in out
    assert main(["info", str(lorenz_small_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["shape"] == [40, 1024, 3] and summary["images"] is True
    assert summary["meta"] == lorenz_small.meta


def test_info_gives_each_coordinates_spread_in_data_units(capsys, lorenz_small_path, lorenz_small):
    assert main(["info", str(lorenz_small_path), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)["coordinates"]
    assert list(stats) == ["x", "y", "z"]
    z = lorenz_small.trajectories[..., 2]
    assert stats["z"]["mean"] == pytest.approx(z.mean())
    assert stats["z"]["std"] == pytest.approx(z.std())
    # 1% of the samples lie below p1 and 1% above p99 (to the sampling grain)
    for i, name in enumerate(stats):
        c = lorenz_small.trajectories[..., i]
        assert np.mean(c < stats[name]["p1"]) == pytest.approx(0.01, abs=1e-3)
        assert np.mean(c > stats[name]["p99"]) == pytest.approx(0.01, abs=1e-3)
    assert 0 < stats["z"]["p1"] < stats["z"]["mean"] < stats["z"]["p99"]  # Lorenz's z > 0
    assert main(["info", str(lorenz_small_path)]) == 0
    out = capsys.readouterr().out
    assert f"z: mean {stats['z']['mean']:.4g}, std {stats['z']['std']:.4g}" in out


def test_png_export_holds_exactly_the_8_bit_levels(lorenz_small, tmp_path):
    image = lorenz_small.images[5]
    save_png(image, tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(tmp_path / "a.png") as img:
        assert img.mode == "RGB" and img.size == (32, 32)
        pixels = np.asarray(img)
    assert np.array_equal(pixels, to_uint8(image))  # lossless: exactly the rounded levels
    assert pixels[..., 0].std() > 10  # a real picture, not a constant
    back = load_png(tmp_path / "a.png")
    assert np.abs(back - image).max() <= 1 / 255 + 1e-6  # half a level of the [-1, 1] range
    Image.new("RGB", (16, 16)).save(tmp_path / "small.png")
    with pytest.raises(ChaosganError, match="32x32"):
        load_png(tmp_path / "small.png")


def test_preview_figures_are_png_files(lorenz_small, tmp_path):
    paths = preview(lorenz_small, tmp_path / "plots")
    assert [p.name for p in paths] == ["attractor.png", "time_series.png", "images.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        with Image.open(path) as img:
            assert min(img.size) > 100
            assert np.asarray(img.convert("L")).std() > 5  # something was drawn
