"""The image contract, end to end: one red / blue image through every path that touches colour.

The left half of the test image is pure red (255, 0, 0) and the right half pure blue
(0, 0, 255).  An RGB / BGR mix-up anywhere turns one into the other, and in gray the
two are far apart (76 and 29 with the standard 0.299 R + 0.587 G + 0.114 B), so each
path must give back exactly these colours, or these gray values, on the right side.
"""

import json

import cv2
import numpy as np
import pytest

from toonemo_lib import cli
from toonemo_lib.config import EMOTIONS
from toonemo_lib.images import draw_boxes, read_image, to_gray, write_image

RED, BLUE = (255, 0, 0), (0, 0, 255)
RED_GRAY, BLUE_GRAY = 76, 29          # round(0.299 * 255), round(0.114 * 255)
HEIGHT, WIDTH = 96, 128


def red_blue() -> np.ndarray:
    image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    image[:, :WIDTH // 2] = RED
    image[:, WIDTH // 2:] = BLUE
    return image


def assert_red_blue(image, margin=0):
    """Red on the left and blue on the right, `margin` columns either side of the middle left out."""
    middle = image.shape[1] // 2
    assert (image[:, :middle - margin] == RED).all(), "the left half is not pure red"
    assert (image[:, middle + margin:] == BLUE).all(), "the right half is not pure blue"


@pytest.fixture
def png(tmp_path):
    return write_image(tmp_path / "red-blue.png", red_blue())


@pytest.fixture(scope="module")
def recognizer():
    from toonemo_lib.emotion.recognize import EmotionRecognizer

    return EmotionRecognizer()


def test_read_write_read_is_exact_for_png(png, tmp_path):
    first = read_image(png)
    assert first.shape == (HEIGHT, WIDTH, 3) and first.dtype == np.uint8
    assert_red_blue(first)
    again = read_image(write_image(tmp_path / "copy.png", first))
    np.testing.assert_array_equal(again, red_blue())
    # The file really is RGB: OpenCV, which reads BGR, sees blue on the left.
    assert tuple(cv2.imread(str(png))[0, 0]) == (0, 0, 255)


def test_to_gray_gives_the_standard_weights():
    gray = to_gray(red_blue())
    assert gray.shape == (HEIGHT, WIDTH)
    assert (gray[:, :WIDTH // 2] == RED_GRAY).all() and (gray[:, WIDTH // 2:] == BLUE_GRAY).all()
    np.testing.assert_array_equal(gray, cv2.cvtColor(red_blue(), cv2.COLOR_RGB2GRAY))
    swapped = to_gray(red_blue()[..., ::-1])       # what a BGR image passed as RGB would give
    assert swapped[0, 0] == BLUE_GRAY and swapped[0, -1] == RED_GRAY


def test_recogniser_reads_rgb(recognizer):
    image = red_blue()
    probs = recognizer.classify(image)
    assert probs.shape == (1, len(EMOTIONS))
    np.testing.assert_array_equal(probs, recognizer.classify(to_gray(image)))
    whole = recognizer.detect_and_classify(image, detect_face=False)[0]
    np.testing.assert_allclose(list(whole["probs"].values()), probs[0], atol=1e-12)
    # In gray, the BGR-swapped image is the mirror image of the RGB one, and flip TTA
    # gives a face and its mirror the same answer by design; so the swap is compared
    # without TTA, where a mix-up must change the probabilities.
    recognizer.flip_tta = False
    try:
        plain = recognizer.classify(image)
        assert np.abs(plain - recognizer.classify(image[..., ::-1])).max() > 1e-3
        np.testing.assert_array_equal(plain, recognizer.classify(to_gray(image)))
    finally:
        recognizer.flip_tta = True


def test_find_faces_runs_on_it_and_finds_none(recognizer):
    assert recognizer.find_faces(red_blue()) == []
    assert recognizer.detect_and_classify(red_blue()) == []


def test_drawing_keeps_red_and_blue_away_from_the_drawing():
    from toonemo_lib.emotion.recognize import EMOTION_COLOURS, draw_emotions

    image = red_blue()
    rect = [40, 60, 48, 30]                         # across the middle, in the lower half
    record = {"rect": rect, "label": "Happy", "probs": {name: 1 / 7 for name in EMOTIONS}}
    for out, colour in [(draw_emotions(image, [record]), EMOTION_COLOURS["Happy"]),
                        (draw_boxes(image, [rect], color="lime", labels=["label"]), (0, 255, 0))]:
        np.testing.assert_array_equal(image, red_blue())        # the input is never drawn on
        assert (out[:, :36] == RED).all()                       # left of the box and its tab: red
        assert (out[60:, 92:] == BLUE).all()                    # right of the box: blue
        assert (out[:36] == image[:36]).all()                   # above the label's tab: both
        assert tuple(out[75, 40]) == colour and tuple(out[75, 87]) == colour   # the box, in RGB
        assert (out[68:84, 46:60] == RED).all() and (out[68:84, 68:82] == BLUE).all()  # inside it


def test_dataset_build_keeps_red_left_and_blue_right(png, tmp_path):
    from toonemo_lib.datasets.build import build_dataset
    from toonemo_lib.datasets.tfrecords import read_zip

    summary = build_dataset(png.parent, tmp_path / "out", resolution=32, fmt="zip",
                            contact_sheet=False, progress=False)
    (zip_path,) = summary.outputs
    (stored,) = [img.numpy() for img in read_zip(zip_path)]
    assert stored.shape == (32, 32, 3)
    assert_red_blue(stored)     # the centre crop of 96 x 128 keeps 48 columns of each, 16 after resizing


def test_normalize_and_align_keep_the_colours(png):
    from toonemo_lib.datasets.images import normalize_image
    from toonemo_lib.faces.align import align_face

    assert_red_blue(normalize_image(png, 32))
    aligned = align_face(read_image(png), 32)
    assert aligned.method == "none"                  # no face: a centre crop
    assert_red_blue(aligned.image, margin=2)         # bicubic blends only next to the edge


def test_cli_whole_image_json_matches_the_recogniser(png, recognizer, capsys):
    assert cli.main(["emotion", str(png), "--whole-image", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    (face,) = entry["faces"]
    assert face["rect"] == [0, 0, WIDTH, HEIGHT]
    expected = recognizer.classify(read_image(png))[0]
    np.testing.assert_allclose([face["probs"][name] for name in EMOTIONS], expected, atol=1e-6)
    assert face["label"] == EMOTIONS[int(np.argmax(expected))]
