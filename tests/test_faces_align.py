"""Haar-cascade detection and FFHQ-style alignment on real faces from scikit-image.

skimage.data.astronaut() is a 512 x 512 public-domain portrait.  lfw_subset() holds
100 LFW faces (25 x 25 gray, tightly cropped) followed by 100 non-faces; at that size
the face cascade (24 x 24 window) finds nothing, so detection enlarges small images.
"""

import math

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from toonemo_lib.faces.align import EYE_DISTANCE, EYE_POSITION, align_face, transform_points
from toonemo_lib.faces.detect import detect_faces, find_eyes, largest_face
from toonemo_lib.images import to_gray

SIZE = 256
TARGET_LEFT = (SIZE * (EYE_POSITION[0] - EYE_DISTANCE / 2), SIZE * EYE_POSITION[1])
TARGET_RIGHT = (SIZE * (EYE_POSITION[0] + EYE_DISTANCE / 2), SIZE * EYE_POSITION[1])


@pytest.fixture(scope="module")
def astronaut():
    return skdata.astronaut()


@pytest.fixture(scope="module")
def lfw():
    return (skdata.lfw_subset() * 255).round().astype(np.uint8)


def rotated(img, degrees, center=(223, 110)):
    """The image turned counter-clockwise by `degrees` about the astronaut's face."""
    matrix = cv2.getRotationMatrix2D(center, degrees, 1.0)
    return cv2.warpAffine(img, matrix, img.shape[1::-1], borderMode=cv2.BORDER_REFLECT)


def redetected_eyes(img):
    face = largest_face(img)
    assert face is not None, "no face in the aligned image"
    eyes = find_eyes(img, face)
    assert eyes is not None, "no eyes in the aligned image"
    return eyes


def test_astronaut_face_and_eyes_are_found(astronaut):
    x, y, w, h = largest_face(astronaut)
    assert 150 < x < 200 and 50 < y < 90 and 80 < w < 110          # the face, not the flag or the shuttle
    (lx, ly), (rx, ry) = find_eyes(astronaut, (x, y, w, h))
    assert x < lx < x + w / 2 < rx < x + w and abs(ly - ry) < 8


@pytest.mark.parametrize("degrees", [0, 12, -12])
def test_alignment_levels_and_places_the_eyes(astronaut, degrees):
    result = align_face(rotated(astronaut, degrees), SIZE)
    assert result.method == "eyes"
    assert result.image.shape == (SIZE, SIZE, 3) and result.image.dtype == np.uint8
    # The astronaut's eye line tilts ~4 degrees; turning the image counter-clockwise by
    # `degrees` lowers that by as much.
    assert abs(result.angle - (4 - degrees)) < 5
    # By construction the detected eyes are mapped onto the targets...
    mapped = transform_points(result.matrix, result.eyes)
    assert np.allclose(mapped, [TARGET_LEFT, TARGET_RIGHT], atol=1e-6)
    # ...and detecting again in the output finds them level and there.
    (lx, ly), (rx, ry) = redetected_eyes(result.image)
    assert abs(math.degrees(math.atan2(ry - ly, rx - lx))) < 4
    assert np.allclose([lx, ly, rx, ry], [*TARGET_LEFT, *TARGET_RIGHT], atol=SIZE * 0.03)


def test_large_source_is_shrunk_without_aliasing(astronaut):
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    small, large = align_face(astronaut, SIZE), align_face(big, SIZE)
    assert large.method == "eyes"
    assert np.abs(small.image.astype(int) - large.image).mean() < 12


def test_face_box_fallback_is_an_unrotated_square(astronaut):
    result = align_face(rotated(astronaut, 12), SIZE, eye_cascades=())   # no eye search: the fallback
    assert result.method == "face-box" and result.eyes is None and result.angle == 0
    assert result.matrix[0, 1] == 0 and result.matrix[1, 0] == 0
    assert result.image.shape == (SIZE, SIZE, 3)
    assert largest_face(result.image) is not None


def test_no_face_gives_a_centre_crop_marked_none():
    texture = cv2.resize(np.random.default_rng(0).integers(0, 256, (8, 12, 3), dtype=np.uint8), (120, 80))
    result = align_face(texture, 64)
    assert result.method == "none" and result.face_box is None
    assert np.abs(result.image.astype(int) - cv2.resize(texture[:, 20:100], (64, 64))).mean() < 8


def test_gray_input(astronaut):
    gray = to_gray(astronaut)
    result = align_face(gray, 64)
    assert result.method == "eyes" and result.image.shape == (64, 64)
    assert detect_faces(gray) == detect_faces(astronaut)         # RGB is made gray the same way


def test_detection_refuses_a_bad_image_clearly():
    with pytest.raises(ValueError, match=r"got shape \(40, 40, 2\)"):
        detect_faces(np.zeros((40, 40, 2), np.uint8))
    assert find_eyes(np.zeros((40, 40, 3), np.uint8), (39, 39, 1, 1)) is None   # a box too small for eyes


def test_tiny_lfw_faces(lfw):
    """What works at 25 x 25: measured 81/100 faces, 71 eye pairs, 0/100 false faces."""
    faces = [largest_face(img) for img in lfw]
    found = sum(f is not None for f in faces[:100])
    false = sum(f is not None for f in faces[100:])
    pairs = [find_eyes(lfw[i], faces[i]) for i in range(100) if faces[i] is not None]
    pairs = [p for p in pairs if p is not None]
    assert found >= 70 and false <= 3 and len(pairs) >= 60, (found, false, len(pairs))
    # LFW crops are aligned, so true eyes sit at the same place in every image.
    left_eyes = np.array([p[0] for p in pairs])
    assert np.all(np.abs(np.median(left_eyes, axis=0) - (6.5, 9.0)) < 2)
    assert np.percentile(np.abs(left_eyes - np.median(left_eyes, axis=0)), 90) < 4

    methods = [align_face(img, 64).method for img in lfw[:8]]
    assert set(methods) <= {"eyes", "face-box", "none"} and methods.count("eyes") >= 4


def test_detect_faces_orders_by_size(astronaut):
    small = np.pad(cv2.resize(astronaut, (256, 256)), ((0, 256), (0, 0), (0, 0)))
    boxes = detect_faces(np.hstack([astronaut, small]))
    assert len(boxes) >= 2 and boxes[0][2] > boxes[1][2]


def test_quad_from_box_is_the_square_the_eyes_rule_gives_for_level_box_eyes():
    from toonemo_lib.faces.align import (BOX_EYE_DISTANCE, EYE_TO_MOUTH, box_eyes, estimate_mouth, quad_from_box,
                                         quad_from_eyes_mouth)

    box = (40, 30, 100, 120)
    left, right = box_eyes(box)
    assert left[1] == right[1] and right[0] - left[0] == pytest.approx(BOX_EYE_DISTANCE * 100)
    quad = quad_from_box(box)
    np.testing.assert_allclose(quad, quad_from_eyes_mouth(left, right, *estimate_mouth(left, right, EYE_TO_MOUTH)))
    sides = np.diff(np.vstack([quad, quad[:1]]), axis=0)
    assert np.allclose(np.hypot(*sides.T), np.hypot(*sides[0]))  # a square ...
    assert sides[0][0] == pytest.approx(0) and sides[1][1] == pytest.approx(0)  # ... with level sides
