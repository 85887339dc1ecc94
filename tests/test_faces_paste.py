"""FFHQ's oriented quad, alignment that keeps its quad, and pasting a crop back.

The quad arithmetic is checked against values worked out by hand; alignment and
paste-back run on the shipped astronaut photo (data/samples/faces/astronaut.png).
"""

import cv2
import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.faces.align import (
    EYE_DISTANCE,
    AlignedFace,
    align_face,
    align_face_with_quad,
    align_to_quad,
    crop_quad,
    estimate_mouth,
    paste_back,
    quad_from_eyes_mouth,
    quad_mask,
    quad_matrix,
    transform_points,
)

SIZE = 256


@pytest.fixture(scope="module")
def astronaut():
    return load_sample("faces/astronaut.png")


@pytest.fixture(scope="module")
def aligned(astronaut):
    return align_face_with_quad(astronaut, SIZE)


def crop_corners(width, height=None):
    height = width if height is None else height
    return np.array([(-0.5, -0.5), (-0.5, height - 0.5), (width - 0.5, height - 0.5), (width - 0.5, -0.5)])


# ------------------------------------------------------------------------- quad arithmetic


def test_quad_of_a_symmetric_face_by_hand():
    # Eyes 20 apart at y=50, mouth 22 below their midpoint.  x = (20 + 22, 0), normalised,
    # times max(2 * 20, 1.8 * 22 = 39.6) = 40; y = (0, 40); c = (50, 50 + 2.2).
    quad = quad_from_eyes_mouth((40, 50), (60, 50), (42, 72), (58, 72))
    assert np.allclose(quad, [(10, 12.2), (10, 92.2), (90, 92.2), (90, 12.2)])
    # Mouth 30 below: now 1.8 * 30 = 54 beats 40, and c = (50, 53).
    quad = quad_from_eyes_mouth((40, 50), (60, 50), (45, 80), (55, 80))
    assert np.allclose(quad, [(-4, -1), (-4, 107), (104, 107), (104, -1)])


def test_quad_turns_with_the_face():
    points = np.array([(40, 50), (60, 50), (42, 72), (58, 72)], float)
    turn = np.array([[0.0, -1.0], [1.0, 0.0]])            # 90 degrees clockwise on screen (y down)
    quad = quad_from_eyes_mouth(*points)
    turned = quad_from_eyes_mouth(*(points @ turn.T))
    assert np.allclose(turned, quad @ turn.T)             # same corners, same order, turned


def test_mouth_estimate_and_its_framing():
    mouth_left, mouth_right = estimate_mouth((40, 50), (60, 50))
    assert np.allclose((mouth_left + mouth_right) / 2, (50, 72))   # 1.1 eye distances below
    quad = quad_from_eyes_mouth((40, 50), (60, 50), mouth_left, mouth_right)
    assert np.allclose(quad, [(10, 12.2), (10, 92.2), (90, 92.2), (90, 12.2)])
    # In the crop the eyes are EYE_DISTANCE of the side apart, midpoint at 0.4725 height.
    eyes = transform_points(quad_matrix(quad, 200), [(40, 50), (60, 50)]) + 0.5
    assert np.allclose(eyes, [(200 * (0.5 - EYE_DISTANCE / 2), 94.5), (200 * (0.5 + EYE_DISTANCE / 2), 94.5)])


def test_quad_matrix_and_crop_quad_are_inverse():
    quad = quad_from_eyes_mouth((140, 95), (190, 105), (150, 160), (180, 165))
    matrix = quad_matrix(quad, 300, 200)
    assert np.allclose(transform_points(matrix, quad), crop_corners(300, 200))
    assert np.allclose(crop_quad(matrix, 300, 200), quad)


def test_every_aligned_face_carries_its_quad(astronaut):
    old = align_face(astronaut, 128)                       # the original API, method "eyes"
    assert old.method == "eyes" and old.quad.shape == (4, 2) and old.box == old.face_box
    assert np.allclose(transform_points(old.matrix, old.quad), crop_corners(128))


# ------------------------------------------------------------------------- alignment


def test_astronaut_is_aligned_from_haar_eyes(aligned):
    assert isinstance(aligned, AlignedFace) and aligned.method == "eyes"
    assert aligned.image.shape == (SIZE, SIZE, 3) and aligned.image.dtype == np.uint8
    assert aligned.quad.shape == (4, 2) and aligned.matrix.shape == (2, 3)
    x, y, w, h = aligned.box
    # FFHQ order: top-left, bottom-left, bottom-right, top-right; around the face box.
    tl, bl, br, tr = aligned.quad
    assert tl[1] < bl[1] and bl[0] < br[0] and tr[1] < br[1] and tl[0] < tr[0]
    assert tl[0] < x and tl[1] < y and br[0] > x + w and br[1] > y + h
    eyes = transform_points(aligned.matrix, aligned.eyes) + 0.5
    assert np.allclose(eyes[1] - eyes[0], [SIZE * EYE_DISTANCE, 0], atol=1e-6)
    assert np.allclose(eyes.mean(axis=0), [SIZE * 0.5, SIZE * 0.4725], atol=1e-6)
    # Same framing as align_face, up to the 0.47 -> 0.4725 eye height.
    assert np.abs(aligned.quad - align_face(load_sample("faces/astronaut.png"), SIZE).quad).max() < 1


def test_face_box_fallback_is_reported(astronaut):
    result = align_face_with_quad(astronaut, 64, eye_cascades=())
    assert result.method == "face-box" and result.eyes is None and result.angle == 0
    tl, bl, br, tr = result.quad
    assert tl[0] == bl[0] and tl[1] == tr[1] and np.isclose(br[0] - bl[0], br[1] - tr[1])


def test_no_face_is_a_clear_error():
    texture = cv2.resize(np.random.default_rng(0).integers(0, 256, (8, 12, 3), dtype=np.uint8), (120, 80))
    with pytest.raises(ValueError, match="no face found"):
        align_face_with_quad(texture)
    assert align_face_with_quad(texture, 32, face_box=(30, 10, 60, 60)).method == "face-box"


# ------------------------------------------------------------------------- paste-back


@pytest.mark.parametrize("face_size", [SIZE, 512, 96])
def test_unchanged_crop_pasted_back_reproduces_the_photo(astronaut, aligned, face_size):
    face = aligned.image if face_size == SIZE else cv2.resize(aligned.image, (face_size, face_size),
                                                               interpolation=cv2.INTER_AREA if face_size < SIZE
                                                               else cv2.INTER_CUBIC)
    out = paste_back(astronaut, face, aligned)
    assert out.shape == astronaut.shape and out.dtype == np.uint8 and out is not astronaut
    mask = quad_mask(astronaut.shape, aligned.quad)
    assert np.array_equal(out[mask == 0], astronaut[mask == 0])          # outside: bit-identical
    error = np.abs(out.astype(int) - astronaut)[mask == 1].mean()
    # measured: 2.38 grey levels for the 256 crop, 2.21 via 512, 4.72 via 96 (detail lost)
    assert error < (3.0 if face_size >= SIZE else 6.0), error


def test_rotated_photo_round_trip(astronaut):
    turned = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((223, 110), 12, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REFLECT)
    result = align_face_with_quad(turned, SIZE)
    assert result.method == "eyes" and abs(result.angle - (4 - 12)) < 5
    out = paste_back(turned, result.image, result.quad)
    mask = quad_mask(turned.shape, result.quad)
    assert np.array_equal(out[mask == 0], turned[mask == 0])
    assert np.abs(out.astype(int) - turned)[mask == 1].mean() < 3.0


def test_solid_face_changes_only_the_quad_with_a_soft_edge(astronaut, aligned):
    magenta = np.array([255, 0, 255], np.uint8)
    face = np.broadcast_to(magenta, (SIZE, SIZE, 3)).copy()
    out = paste_back(astronaut, face, aligned, feather=0.1)
    mask = quad_mask(astronaut.shape, aligned.quad, 0.1)
    changed = np.any(out != astronaut, axis=2)
    assert changed.any() and not changed[mask == 0].any()               # nothing outside the quad
    assert np.all(out[mask == 1] == magenta)                             # the full-strength middle
    rim = (mask > 0.2) & (mask < 0.8)
    between = np.all((out[rim] != magenta) & (out[rim] != astronaut[rim]), axis=1)
    assert rim.sum() > 1000 and between.mean() > 0.9                     # a gradual edge
    # With no feather the edge is hard: every pixel is either the photo's or the face's.
    hard = paste_back(astronaut, face, aligned.quad, feather=0)
    inside = quad_mask(astronaut.shape, aligned.quad, 0) > 0
    assert np.all(hard[inside] == magenta) and np.array_equal(hard[~inside], astronaut[~inside])


def test_quad_beyond_the_photo_is_clipped(astronaut):
    quad = np.array([(-60, -40), (-60, 100), (80, 100), (80, -40)], float)
    face = np.zeros((32, 32, 3), np.uint8)
    out = paste_back(astronaut, face, quad, feather=0.05)
    assert np.all(out[5:90, 5:70] == 0) and np.array_equal(out[110:, :], astronaut[110:, :])
    gone = paste_back(astronaut, face, quad + 1000)                      # entirely outside: unchanged
    assert np.array_equal(gone, astronaut)


def test_gray_photo_and_face(astronaut, aligned):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    crop = align_to_quad(gray, aligned.quad, 64)
    out = paste_back(gray, crop.image, crop)
    assert out.shape == gray.shape and np.array_equal(out[quad_mask(gray.shape, crop.quad) == 0],
                                                      gray[quad_mask(gray.shape, crop.quad) == 0])


def test_paste_back_refuses_bad_input_clearly(astronaut, aligned):
    face = aligned.image
    with pytest.raises(ValueError, match=r"face must be an H x W x 3 RGB.*\(8, 8, 4\)"):
        paste_back(astronaut, np.zeros((8, 8, 4), np.uint8), aligned)
    with pytest.raises(ValueError, match="photo must be .*float64"):
        paste_back(astronaut.astype(float), face, aligned)
    with pytest.raises(ValueError, match="must both be RGB or both gray"):
        paste_back(astronaut, face[..., 0], aligned)
    with pytest.raises(ValueError, match=r"4 x 2 .* got shape \(3, 2\)"):
        paste_back(astronaut, face, aligned.quad[:3])
    with pytest.raises(ValueError, match="not a parallelogram"):
        paste_back(astronaut, face, aligned.quad + [[0, 0], [0, 0], [30, 0], [0, 0]])
    with pytest.raises(ValueError, match="degenerate"):
        paste_back(astronaut, face, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="feather"):
        paste_back(astronaut, face, aligned, feather=0.7)
