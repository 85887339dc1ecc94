"""FFHQ-exact alignment from dlib's 68 landmarks, and the Haar fallback without them.

Runs on the shipped astronaut photo (data/samples/faces/astronaut.png).  The dlib tests
skip when the optional ``toonemo[align]`` extra (dlib-bin, face-recognition-models) is
not installed; the fallback tests run everywhere.
"""

import math

import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.faces import landmarks as lm_module
from toonemo_lib.faces.align import (
    AlignedFace,
    align_best,
    align_face_ffhq,
    paste_back,
    quad_from_eyes_mouth,
    quad_mask,
    transform_points,
)
from toonemo_lib.faces.detect import largest_face

SIZE = 256

needs_dlib = pytest.mark.skipif(
    not lm_module.landmarks_available(),
    reason='dlib and its 68-point predictor are not installed (pip install "toonemo[align]")',
)


@pytest.fixture(scope="module")
def astronaut():
    return load_sample("faces/astronaut.png")


@pytest.fixture(scope="module")
def landmarks(astronaut):
    return lm_module.face_landmarks(astronaut)


@pytest.fixture(scope="module")
def aligned(astronaut, landmarks):
    return align_face_ffhq(astronaut, SIZE, landmarks=landmarks)


def eye_mouth_fractions(points, matrix, size):
    """Eye centres and mouth corners mapped into a crop, as fractions of its side (edges at 0 and 1)."""
    return (transform_points(matrix, np.array(lm_module.eyes_and_mouth(points))) + 0.5) / size


@needs_dlib
def test_68_landmarks_lie_in_the_face_with_eyes_above_the_mouth(astronaut, landmarks):
    assert landmarks.shape == (68, 2) and landmarks.dtype == np.float64
    x, y, w, h = largest_face(astronaut)
    margin = 0.25 * w                                      # the chin reaches below a Haar box
    assert np.all((landmarks[:, 0] > x - margin) & (landmarks[:, 0] < x + w + margin))
    assert np.all((landmarks[:, 1] > y - margin) & (landmarks[:, 1] < y + h + margin))
    left, right, mouth_left, mouth_right = lm_module.eyes_and_mouth(landmarks)
    assert left[0] < right[0] and mouth_left[0] < mouth_right[0]
    assert max(left[1], right[1]) + 0.3 * (right[0] - left[0]) < min(mouth_left[1], mouth_right[1])
    # a Haar box instead of dlib's detector puts the points within a few pixels
    assert np.abs(lm_module.face_landmarks(astronaut, largest_face(astronaut)) - landmarks).max() < 4


@needs_dlib
def test_ffhq_alignment_puts_the_eyes_level_where_ffhq_does(astronaut, landmarks, aligned):
    assert isinstance(aligned, AlignedFace) and aligned.method == "dlib-68"
    assert aligned.image.shape == (SIZE, SIZE, 3) and aligned.image.dtype == np.uint8
    quad = quad_from_eyes_mouth(*lm_module.eyes_and_mouth(landmarks))
    assert np.allclose(aligned.quad, quad) and np.allclose(aligned.landmarks, landmarks)
    # the quad's own map: the astronaut's eyes are 2x their distance beyond 1.8x eye-to-mouth,
    # so FFHQ puts them 1/4 of the side apart around x = 0.5, at y = 0.5 - 0.1 |eye-to-mouth| / side
    (lx, ly), (rx, ry), _, _ = eye_mouth_fractions(landmarks, aligned.matrix, SIZE)
    assert abs((rx - lx) - 0.25) < 0.002 and abs((lx + rx) / 2 - 0.5) < 0.01 and abs(ry - ly) < 0.01
    assert 0.46 < (ly + ry) / 2 < 0.49
    # the pixels agree: dlib, run again on the crop, finds the eyes there within 1% of the side
    (dlx, dly), (drx, dry), _, _ = (np.array(lm_module.eyes_and_mouth(lm_module.face_landmarks(aligned.image))) + 0.5) / SIZE
    assert max(abs(dlx - lx), abs(dly - ly), abs(drx - rx), abs(dry - ry)) < 0.01
    assert abs(dry - dly) < 0.01


@needs_dlib
def test_paste_back_of_the_unchanged_crop_restores_the_photo(astronaut, aligned):
    out = paste_back(astronaut, aligned.image, aligned)
    diff = np.abs(out.astype(int) - astronaut.astype(int))
    outside = quad_mask(astronaut.shape, aligned.quad, feather=0) == 0
    assert np.array_equal(out[outside], astronaut[outside])
    inner = quad_mask(astronaut.shape, aligned.quad, feather=0.1) >= 1
    assert diff[inner].mean() < 6 and np.percentile(diff[inner], 90) < 12


@needs_dlib
def test_align_best_prefers_dlib_and_ffhq_pads_a_face_at_the_edge(astronaut, landmarks):
    assert align_best(astronaut, 64).method == "dlib-68"
    # crop the photo so the quad leaves it: FFHQ's blurred-reflection padding fills the rest
    top = int(landmarks[:, 1].min()) - 5
    cut = np.ascontiguousarray(astronaut[top:, :])
    result = align_face_ffhq(cut, 64, landmarks=landmarks - [0, top])
    assert result.image.shape == (64, 64, 3) and result.quad[:, 1].min() < 0
    assert result.image[:8].std() > 1                       # not a constant fill


def test_fallback_without_dlib_reports_haar_eyes_or_the_face_box(astronaut, monkeypatch):
    monkeypatch.setattr(lm_module, "landmarks_available", lambda: False)
    result = align_best(astronaut, 64)
    assert result.method == "eyes" and result.quad.shape == (4, 2) and result.landmarks is None
    assert align_best(astronaut, 64, eye_cascades=()).method == "face-box"
    with pytest.raises(ImportError, match=r"toonemo\[align\]"):
        align_best(astronaut, 64, landmarks=True)
    assert align_best(astronaut, 64, landmarks=False).method == "eyes"


def test_missing_dlib_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dlib(name, *args, **kwargs):
        if name == "dlib":
            raise ImportError("No module named 'dlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dlib)
    lm_module._models.cache_clear()
    try:
        assert not lm_module.landmarks_available()
        with pytest.raises(ImportError, match=r'pip install "toonemo\[align\]".*commercial'):
            lm_module.face_landmarks(np.zeros((32, 32, 3), np.uint8))
    finally:
        monkeypatch.undo()
        lm_module._models.cache_clear()


@needs_dlib
def test_no_face_is_a_clear_error():
    with pytest.raises(ValueError, match="no face"):
        lm_module.face_landmarks(np.full((120, 120, 3), 128, np.uint8))
    texture = np.full((120, 120, 3), 128, np.uint8)
    with pytest.raises(ValueError, match="no face"):
        align_best(texture, 32)                              # dlib and Haar both find none
    assert math.isfinite(align_best(texture, 32, face_box=(30, 10, 60, 60)).angle)
