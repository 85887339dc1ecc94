"""The image contract's building blocks (toonemo_lib.images): read, write, gray, uint8, draw.

The colour paths through the rest of the library are tested in test_image_contract.py.
"""

import cv2
import numpy as np
import pytest
from PIL import Image

from toonemo_lib.images import (
    ImageError,
    ImageNotFoundError,
    array_to_rgb,
    array_to_rgba,
    as_uint8,
    draw_boxes,
    draw_label,
    draw_points,
    parse_color,
    read_image,
    to_gray,
    write_image,
)

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


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


def test_missing_file_is_an_image_error_and_a_file_not_found_error(tmp_path):
    with pytest.raises(ImageError, match="no such file") as info:
        read_image(tmp_path / "nope.png")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ImageNotFoundError)
    assert str(tmp_path / "nope.png") in str(info.value)


def test_a_directory_is_named_as_such(tmp_path):
    with pytest.raises(ImageError, match="is a directory") as info:
        read_image(tmp_path)
    assert not isinstance(info.value, FileNotFoundError)


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


def test_exif_orientation_is_applied(phone_jpeg):
    out = read_image(phone_jpeg)
    assert out.shape == (40, 20, 3)         # now portrait
    assert out[:15].mean() > 200 and out[-15:].mean() < 50   # the white half is on top


def test_array_inputs():
    assert array_to_rgb(np.full((2, 2), 1.0)).max() == 255                 # float in 0..1
    assert array_to_rgb(np.zeros((2, 2, 1), np.uint8)).shape == (2, 2, 3)
    with pytest.raises(ValueError):
        array_to_rgb(np.zeros((2, 2, 5), np.uint8))



def test_parse_color():
    assert parse_color("white") == (255, 255, 255)
    assert parse_color("#102030") == (16, 32, 48)
    assert parse_color((1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ValueError):
        parse_color("not-a-colour")


# ---------------------------------------------------------------- alpha kept


def test_alpha_true_keeps_the_alpha_channel(tmp_path):
    rgba = noise(5, 6, 4)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    kept = read_image(tmp_path / "rgba.png", alpha=True)
    assert kept.shape == (5, 6, 4) and kept.dtype == np.uint8
    np.testing.assert_array_equal(kept, rgba)      # hidden colours too: nothing composited
    Image.fromarray(rgba[..., :3], "RGB").save(tmp_path / "rgb.png")
    opaque = read_image(tmp_path / "rgb.png", alpha=True)
    np.testing.assert_array_equal(opaque[..., :3], rgba[..., :3])
    assert (opaque[..., 3] == 255).all()           # no alpha in the file: opaque


def test_array_to_rgba():
    out = array_to_rgba(np.full((2, 2, 2), 7, np.uint8))            # gray + alpha
    assert out.shape == (2, 2, 4) and (out == 7).all()
    assert (array_to_rgba(np.zeros((2, 2), np.uint8))[..., 3] == 255).all()


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_png_round_trip_is_exact(tmp_path, channels):
    image = noise(7, 9, channels or 1)
    image = image[..., 0] if channels is None else image
    path = write_image(tmp_path / "out.png", image)
    back = read_image(path, alpha=channels == 4)
    expected = image if channels in (3, 4) else np.repeat(image.reshape(7, 9, 1), 3, axis=2)
    np.testing.assert_array_equal(back, expected)


def test_jpeg_round_trip_is_close_and_in_rgb_order(tmp_path):
    image = np.zeros((32, 32, 3), np.uint8)
    image[:, :16] = RED
    image[:, 16:] = BLUE
    back = read_image(write_image(tmp_path / "out.jpg", image))
    # JPEG blurs colour at the edge between the halves; away from it the colours hold.
    assert np.abs(back[:, :12].astype(int) - RED).max() <= 8
    assert np.abs(back[:, 20:].astype(int) - BLUE).max() <= 8
    small = read_image(write_image(tmp_path / "low.jpg", image, quality=10))
    assert small.shape == image.shape


def test_write_creates_folders_and_returns_the_path(tmp_path):
    path = tmp_path / "a" / "b" / "img.PNG"
    assert write_image(path, noise(3, 3)) == path and path.is_file()


@pytest.mark.parametrize("image, words", [
    (np.zeros((4, 4, 3), np.float32), "uint8"),
    (np.zeros((4, 4, 2), np.uint8), "shape"),
    (np.zeros((4,), np.uint8), "shape"),
    (np.zeros((0, 4, 3), np.uint8), "shape"),
])
def test_write_rejects_bad_arrays_clearly(tmp_path, image, words):
    path = tmp_path / "bad.png"
    with pytest.raises(ValueError, match=words):
        write_image(path, image)
    assert not path.exists()


def test_write_rejects_unknown_extensions_and_alpha_in_jpeg(tmp_path):
    with pytest.raises(ValueError, match="unknown image file extension '.xyz'"):
        write_image(tmp_path / "img.xyz", noise(4, 4))
    with pytest.raises(ValueError, match="unknown image file extension"):
        write_image(tmp_path / "no-extension", noise(4, 4))
    with pytest.raises(ValueError, match="JPEG"):
        write_image(tmp_path / "rgba.jpg", noise(4, 4, 4))
    assert not (tmp_path / "rgba.jpg").exists()     # encoded in memory first: no partial file


# ---------------------------------------------------------------- gray


def test_to_gray_uses_the_standard_weights_on_rgb():
    image = np.array([[RED, GREEN], [BLUE, (255, 255, 255)]], np.uint8)
    gray = to_gray(image)
    expected = [[round(0.299 * 255), round(0.587 * 255)], [round(0.114 * 255), 255]]
    assert gray.dtype == np.uint8 and gray.tolist() == expected == [[76, 150], [29, 255]]
    # The same pixels in BGR order are other colours, with other gray values.
    assert to_gray(image[..., ::-1]).tolist() == [[29, 150], [76, 255]]


def test_to_gray_takes_gray_rgba_and_float_images():
    gray = noise(5, 6, 1)
    np.testing.assert_array_equal(to_gray(gray), gray[..., 0])
    np.testing.assert_array_equal(to_gray(gray[..., 0]), gray[..., 0])
    rgb = noise(5, 6)
    rgba = np.dstack([rgb, np.zeros((5, 6), np.uint8)])
    np.testing.assert_array_equal(to_gray(rgba), to_gray(rgb))         # alpha ignored
    np.testing.assert_array_equal(to_gray(rgb / 255.0), to_gray(rgb))  # floats in [0, 1]
    assert to_gray(np.ones((4, 4), np.float32)).max() == 255


def test_to_gray_equalize_spreads_the_histogram():
    dim = np.tile(np.arange(100, 116, dtype=np.uint8), (4, 1))
    out = to_gray(dim, equalize=True)
    assert out.min() < 20 and out.max() == 255
    np.testing.assert_array_equal(dim, np.tile(np.arange(100, 116, dtype=np.uint8), (4, 1)))  # untouched


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4, 2), np.uint8), r"got shape \(4, 4, 2\)"),
    (np.zeros(10, np.uint8), r"got shape \(10,\)"),
    (np.zeros((2, 4, 4, 3), np.uint8), r"got shape \(2, 4, 4, 3\)"),
    (np.zeros((1, 9), np.uint8), "at least 2x2"),
    (np.zeros((9, 1, 3), np.uint8), "at least 2x2"),
])
def test_to_gray_rejects_bad_shapes_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        to_gray(bad)


def test_as_uint8():
    assert as_uint8(np.array([0.0, 0.5, 1.0])).tolist() == [0, 128, 255]      # [0, 1]
    assert as_uint8(np.array([0.0, 127.6, 300.0])).tolist() == [0, 128, 255]  # [0, 255], clipped
    assert as_uint8(np.array([0, 65535, 32768], np.uint16)).tolist() == [0, 255, 128]
    assert as_uint8(np.array([True, False])).tolist() == [255, 0]
    same = np.zeros(3, np.uint8)
    assert as_uint8(same) is same
    assert as_uint8(np.zeros((0, 3), np.float32)).shape == (0, 3)


# ---------------------------------------------------------------- drawing


def test_draw_boxes_draws_rgb_colours_on_a_copy():
    image = np.full((100, 120, 3), 90, np.uint8)
    before = image.copy()
    out = draw_boxes(image, [(20, 30, 40, 50)], color="red", thickness=2)
    np.testing.assert_array_equal(image, before)                    # never in place
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert tuple(out[30, 40]) == RED and tuple(out[79, 40]) == RED  # top and bottom edges
    assert tuple(out[50, 20]) == RED and tuple(out[50, 59]) == RED  # left and right edges
    assert (out[40:70, 30:50] == 90).all() and (out[:20] == 90).all()  # inside and far away untouched


def test_draw_boxes_colours_per_box_and_labels_on_tabs():
    image = np.zeros((200, 200, 3), np.uint8)
    out = draw_boxes(image, [(10, 60, 50, 50), (100, 0, 60, 60)], color=[GREEN, "#0000ff"],
                     labels=["Happy 0.90", "Sad 0.50"], thickness=1)
    assert tuple(out[60, 30]) == GREEN and tuple(out[30, 100]) == BLUE
    # Above the first box, a filled green tab with white (anti-aliased) text: red shows the text.
    tab = out[:60, 10:60]
    assert (tab == GREEN).all(axis=2).sum() > 100 and (tab[..., 0] > 128).sum() > 10
    second = out[:20, 100:160]                  # the second box touches the top: its tab is inside
    assert (second == BLUE).all(axis=2).sum() > 100 and (second[..., 0] > 128).sum() > 10
    with pytest.raises(ValueError, match="2 colours for 1 boxes"):
        draw_boxes(image, [(0, 0, 5, 5)], color=[GREEN, BLUE])
    with pytest.raises(ValueError, match="2 labels for 1 boxes"):
        draw_boxes(image, [(0, 0, 5, 5)], labels=["a", "b"])


def test_draw_on_gray_gives_rgb_and_rgba_stays_rgba():
    out = draw_boxes(np.zeros((40, 40), np.uint8), [(5, 5, 20, 20)], color=(255, 128, 0))
    assert out.shape == (40, 40, 3) and tuple(out[5, 10]) == (255, 128, 0)
    rgba = draw_boxes(np.zeros((40, 40, 4), np.uint8), [(5, 5, 20, 20)], color="blue")
    assert rgba.shape == (40, 40, 4) and tuple(rgba[5, 10]) == (0, 0, 255, 255)
    assert draw_boxes(np.zeros((8, 8, 3), np.uint8), []).sum() == 0
    with pytest.raises(ValueError, match="draw"):
        draw_boxes(np.zeros((8, 8, 2), np.uint8), [])


def test_draw_label_stays_inside_the_image():
    image = np.zeros((60, 80, 3), np.uint8)
    out = draw_label(image, "Surprise", (75, 5), "red", font_scale=0.4, thickness=1)
    assert image.sum() == 0 and (out == RED).all(axis=2).sum() > 50
    assert (out[:, :20] == 0).all()            # pushed left from the right edge, not wrapped
    assert (out[-20:] == 0).all()              # and down from the top, not below the corner


def test_draw_points_puts_ringed_dots_where_asked():
    image = np.zeros((60, 80, 3), np.uint8)
    out = draw_points(image, [(20, 30), (60.4, 10.6)], "red", radius=3)
    assert image.sum() == 0 and tuple(out[30, 20]) == RED and tuple(out[11, 60]) == RED
    assert (out[30, 16] > 200).all()           # the white ring just outside the dot
    assert (out[45:, :] == 0).all()            # nothing elsewhere
    np.testing.assert_array_equal(draw_points(image, []), image)


def test_decode_image_reads_bytes_as_read_image_reads_the_file(tmp_path):
    from toonemo_lib.images import ImageError, decode_image, read_image, write_image

    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 0], rgba[:3, ..., 3] = 200, 255  # half transparent: composited on the background
    path = write_image(tmp_path / "a.png", rgba)
    np.testing.assert_array_equal(decode_image(path.read_bytes(), "a.png"), read_image(path))
    with pytest.raises(ImageError, match="upload.png: not an image"):
        decode_image(b"not a picture", "upload.png")
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"", "empty.png")
