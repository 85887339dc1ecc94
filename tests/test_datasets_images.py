"""Normalisation of every kind of input image to square 8-bit RGB (toonemo_lib.datasets.images)."""

import cv2
import numpy as np
import pytest
from PIL import Image

from toonemo_lib.datasets.images import (
    ImageError,
    array_to_rgb,
    read_image,
    make_square,
    normalize_image,
    parse_color,
)


def noise(h, w, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def jpeg_bytes(img):
    return cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))[1].tobytes()


# ---------------------------------------------------------------- bad inputs


def bad_files(folder):
    """The broken files a crawl brings back, by kind."""
    png = bytearray(cv2.imencode(".png", noise(40, 40))[1].tobytes())
    for i in range(60, len(png) - 20, 7):  # damage the compressed pixel data, keep the header
        png[i] ^= 0x55
    jpeg = jpeg_bytes(noise(64, 64))
    files = {
        "zero-byte.png": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "page.jpg": b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
        "corrupt.png": bytes(png),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


@pytest.mark.parametrize(
    "name, words",
    [
        ("zero-byte.png", "empty file"),
        ("truncated.jpg", "truncated"),
        ("page.jpg", "not an image"),
        ("corrupt.png", "cannot decode"),
    ],
)
def test_bad_file_raises_image_error_naming_it(tmp_path, name, words):
    path = bad_files(tmp_path)[name]
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value) and words in info.value.reason


def test_missing_file_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_pixel_limit_guards_against_decompression_bombs(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (300, 200)).save(path)  # compresses to a few hundred bytes
    with pytest.raises(ImageError, match="decompression bomb"):
        read_image(path, max_pixels=300 * 200 - 1)
    assert read_image(path, max_pixels=300 * 200).shape == (200, 300, 3)


# ---------------------------------------------------------------- modes


def test_rgba_is_composited_on_the_background_not_stripped(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)       # colour hidden under full transparency
    rgba[0, :, 3] = 255                # opaque row
    rgba[1, :, 3] = 128                # half transparent row
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    white = read_image(path)
    assert white.shape == (4, 4, 3) and white.dtype == np.uint8
    assert (white[0] == (10, 20, 30)).all()
    assert (white[2] == 255).all()     # transparent: background, not the hidden colour
    expected = [(c * 128 + 255 * 127 + 127) // 255 for c in (10, 20, 30)]
    assert (white[1] == expected).all()
    assert (read_image(path, background="#00ff00")[3] == (0, 255, 0)).all()


def test_gray_alpha_and_palette_transparency(tmp_path):
    la = np.zeros((2, 2, 2), np.uint8)
    la[..., 0], la[0, :, 1] = 50, 255
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    out = read_image(tmp_path / "la.png", background="black")
    assert (out[0] == 50).all() and (out[1] == 0).all()

    palette = Image.new("P", (2, 2), 1)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.putpixel((0, 0), 0)
    palette.save(tmp_path / "p.png", transparency=0)    # palette entry 0 (red) is transparent
    out = read_image(tmp_path / "p.png", background="white")
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[1, 1]) == (0, 0, 255)

    palette.save(tmp_path / "p-opaque.png")
    assert tuple(read_image(tmp_path / "p-opaque.png")[0, 0]) == (255, 0, 0)


def test_16_bit_gray_png_is_scaled_not_clipped(tmp_path):
    a = np.array([[0, 257 * 100, 65535, 32768]], np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), a)
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    out = read_image(tmp_path / "g16.png")
    assert out.shape == (1, 4, 3)
    assert out[0, :, 0].tolist() == [0, 100, 255, 128]
    assert (out[..., 0] == out[..., 2]).all()


def test_grayscale_becomes_rgb(tmp_path):
    Image.fromarray(np.full((3, 5), 77, np.uint8), "L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (3, 5, 3) and (out == 77).all()


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255                       # white left half of a landscape image
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = 6                        # "rotate 90 degrees clockwise to display"
    pil.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    out = read_image(tmp_path / "phone.jpg")
    assert out.shape == (40, 20, 3)         # now portrait
    assert out[:15].mean() > 200 and out[-15:].mean() < 50   # the white half is on top


def test_array_inputs():
    assert array_to_rgb(np.full((2, 2), 1.0)).max() == 255                 # float in 0..1
    assert array_to_rgb(np.zeros((2, 2, 1), np.uint8)).shape == (2, 2, 3)
    with pytest.raises(ValueError):
        array_to_rgb(np.zeros((2, 2, 5), np.uint8))


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
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_bytes(noise(300, 500)))
    for size in (4, 64, 512):               # down and up
        out = normalize_image(path, size)
        assert out.shape == (size, size, 3) and out.dtype == np.uint8
    flat = normalize_image(np.full((30, 50, 3), 100, np.uint8), 64)
    assert (flat == 100).all()              # no ringing or shift on a flat image
    for bad in (100, 2, 0):
        with pytest.raises(ValueError, match="power of two"):
            normalize_image(path, bad)


def test_parse_color():
    assert parse_color("white") == (255, 255, 255)
    assert parse_color("#102030") == (16, 32, 48)
    assert parse_color((1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ValueError):
        parse_color("not-a-colour")
