"""Multi-scale AdaIN style transfer on the shipped real images."""

import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.lessons.style_transfer import (
    collapse_pyramid,
    cover_resize,
    laplacian_pyramid,
    pyramid_style_transfer,
    rgb_to_lab,
    scale_mixing,
)


@pytest.fixture(scope="module")
def images():
    content = cover_resize(load_sample("faces/astronaut.png"), (64, 64))
    style = load_sample("styles/hubble_deep_field.png")
    return content, style


def test_pyramid_inverts_exactly(images):
    lab = rgb_to_lab(images[0])
    bands = laplacian_pyramid(lab, 5)
    assert len(bands) == 5 and bands[-1].shape[:2] == (4, 4)
    np.testing.assert_allclose(collapse_pyramid(bands), lab, atol=1e-3)


def test_alpha_zero_returns_the_content(images):
    content, style = images
    out = pyramid_style_transfer(content, style, levels=4, alpha=0.0)
    assert out.shape == content.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - content).max() <= 1  # Lab round trip rounding only


def test_full_transfer_moves_colour_statistics_to_the_style(images):
    content, style = images
    out = pyramid_style_transfer(content, style, levels=4)
    def lowpass(img):
        return laplacian_pyramid(rgb_to_lab(cover_resize(img, (64, 64))), 4)[-1].mean(axis=(0, 1))
    before = np.abs(lowpass(content) - lowpass(style)).max()
    after = np.abs(lowpass(out) - lowpass(style)).max()
    assert after < 0.2 * before


def test_scale_mixing_differs_by_scale(images):
    content, style = images
    mixed = scale_mixing(content, style, levels=4)
    assert set(mixed) == {"coarse scales from style", "fine scales from style", "all scales from style"}
    coarse, fine = (mixed[k].astype(float) for k in ("coarse scales from style", "fine scales from style"))
    # restyling the coarse levels moves the mean colour far more than restyling the fine ones
    shift = lambda img: np.abs(img.mean(axis=(0, 1)) - content.mean(axis=(0, 1))).max()
    assert shift(coarse) > 5 * shift(fine)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((32, 32), np.uint8), r"RGB image of shape \(H, W, 3\)"),
        (np.zeros((32, 32, 4), np.uint8), r"RGB image of shape \(H, W, 3\)"),
        (np.zeros((32, 32, 3), np.float32), "must be uint8"),
        (np.zeros((4, 4, 3), np.uint8), "too small"),
    ],
)
def test_bad_images_get_clear_errors(images, bad, message):
    with pytest.raises(ValueError, match=message):
        pyramid_style_transfer(bad, images[1])


def test_bad_options_get_clear_errors(images):
    content, style = images
    with pytest.raises(ValueError, match="alpha"):
        pyramid_style_transfer(content, style, alpha=2)
    with pytest.raises(ValueError, match="use_levels needs 3"):
        pyramid_style_transfer(content, style, levels=3, use_levels=[True])
