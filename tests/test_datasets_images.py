"""The data-set steps after reading: square crop or pad, power-of-two resize (toonemo_lib.datasets.images).

Reading itself (every kind of file, mode and error) is tested in test_images.py.
"""

import numpy as np
import pytest
from PIL import Image

from toonemo_lib.datasets.images import make_square, normalize_image
from toonemo_lib.images import write_image


def noise(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


# ---------------------------------------------------------------- square and size


def test_square_crop_and_pad():
    img = np.zeros((10, 30, 3), np.uint8)
    img[:, 10:20] = 200
    crop = make_square(img, "crop")
    assert crop.shape == (10, 10, 3) and (crop == 200).all()
    pad = make_square(img, "pad", background="black")
    assert pad.shape == (30, 30, 3)
    assert (pad[:10] == 0).all() and (pad[10:20, 10:20] == 200).all()
    with pytest.raises(ValueError):
        make_square(img, "stretch")


def test_normalize_to_a_power_of_two(tmp_path):
    path = write_image(tmp_path / "photo.jpg", noise(300, 500))
    for size in (4, 64, 512):               # down and up
        out = normalize_image(path, size)
        assert out.shape == (size, size, 3) and out.dtype == np.uint8
    flat = normalize_image(np.full((30, 50, 3), 100, np.uint8), 64)
    assert (flat == 100).all()              # no ringing or shift on a flat image
    for bad in (100, 2, 0):
        with pytest.raises(ValueError, match="power of two"):
            normalize_image(path, bad)


def test_normalize_takes_pillow_images_upright_and_arrays_with_alpha(phone_jpeg):
    with Image.open(phone_jpeg) as opened:
        out = normalize_image(opened, 16, square="pad", background="black")
    assert out[:, :3].max() < 30 and out[:, -3:].max() < 30         # portrait: padded left and right
    assert out[:7, 5:11].min() > 200 and out[-7:, 5:11].max() < 50  # the white half on top

    rgba = np.zeros((8, 8, 4), np.uint8)    # fully transparent: only the background shows
    assert (normalize_image(rgba, 8, background="red") == (255, 0, 0)).all()
