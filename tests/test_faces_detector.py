"""FaceDetector: each kind finds real faces, "auto" chooses as documented, bad kinds and images are refused."""

import cv2
import numpy as np
import pytest

from toonemo_lib import lite_runtime
from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.faces.blazeface import MODELS, Face, blazeface_available, fer_square
from toonemo_lib.faces.detector import KINDS, FaceDetector
from toonemo_lib.faces.quality import ASTRONAUT_FACE, matches

needs_blazeface = pytest.mark.skipif(not blazeface_available(), reason="BlazeFace's model files or LiteRT missing")


@pytest.fixture(scope="module")
def astronaut():
    return load_sample("faces/astronaut.png")


@pytest.fixture(scope="module")
def detectors():
    kinds = ("blazeface", "haar", "blazeface+haar") if blazeface_available() else ("haar",)
    return {kind: FaceDetector(kind) for kind in kinds}


@pytest.mark.parametrize("kind", ["auto", "blazeface", "haar", "blazeface+haar"])
def test_every_kind_finds_the_astronaut(kind, astronaut):
    if "blazeface" in kind and not blazeface_available():
        pytest.skip("BlazeFace's model files or LiteRT missing")
    detector = FaceDetector(kind)
    (face,) = detector.detect(astronaut)
    assert matches(face.box, ASTRONAUT_FACE), face.box
    assert all(type(v) is int for v in face.box)
    with_keypoints = "blazeface" in detector.kind  # BlazeFace finds her, so the cascade is never asked
    assert (face.keypoints is not None) == with_keypoints and (face.score is not None) == with_keypoints


def test_find_faces_gives_the_boxes_and_gray_works_too(detectors, astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    for kind, detector in detectors.items():
        boxes = detector.find_faces(astronaut)
        assert boxes == [face.box for face in detector.detect(astronaut)], kind
        (from_gray,) = detector.find_faces(gray)
        assert matches(from_gray, ASTRONAUT_FACE), kind


@needs_blazeface
def test_auto_is_blazeface_with_haar_behind_it():
    detector = FaceDetector()
    assert detector.kind == "blazeface+haar" and detector.blazeface is not None
    tight = load_sample("faces/lfw_01.png")  # a 25 x 25 crop: no head around the face for BlazeFace
    assert FaceDetector("blazeface").detect(tight) == []
    (face,) = detector.detect(tight)
    assert face.keypoints is None and face.score is None  # the cascade's face


def test_auto_is_haar_without_litert(monkeypatch, astronaut):
    monkeypatch.setattr(lite_runtime, "interpreter_class", lambda: None)
    detector = FaceDetector()
    assert detector.kind == "haar" and detector.blazeface is None
    (box,) = detector.find_faces(astronaut)
    assert matches(box, ASTRONAUT_FACE)


def test_faces_come_largest_first(detectors, astronaut):
    head = astronaut[20:270, 100:350]  # 250 x 250 around her face, and beside it the same at 180 x 180
    small = cv2.resize(head, (180, 180), interpolation=cv2.INTER_AREA)
    image = np.hstack([head, np.pad(small, ((0, 70), (0, 0), (0, 0)), constant_values=128)])
    for kind, detector in detectors.items():
        boxes = detector.find_faces(image)
        assert len(boxes) == 2 and boxes[0][2] > boxes[1][2] and boxes[1][0] >= 250, (kind, boxes)


def test_no_face_no_boxes(detectors):
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for kind, detector in detectors.items():
        assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == [], kind
        assert detector.detect(noise) == [], kind


def test_an_unknown_kind_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown detector 'mtcnn'; use one of auto, blazeface, haar, "
                                         r"blazeface\+haar"):
        FaceDetector("mtcnn")
    assert KINDS == ("auto", "blazeface", "haar", "blazeface+haar")
    with pytest.raises(ValueError, match="unknown BlazeFace model 'tiny'; use one of short, full"):
        FaceDetector("haar", blazeface="tiny")


@pytest.mark.parametrize("shape", [(4, 4, 4, 4), (60, 60, 2), (60, 60, 5), (60,)])
def test_a_wrong_image_shape_is_a_clear_error(detectors, shape):
    for detector in detectors.values():
        with pytest.raises(ValueError, match=r"an image must be gray \(H, W\) or \(H, W, 1\), RGB \(H, W, 3\)"):
            detector.detect(np.zeros(shape, np.uint8))


def test_a_one_pixel_image_is_a_clear_error(detectors):
    for detector in detectors.values():
        with pytest.raises(ValueError, match="at least 2x2"):
            detector.detect(np.zeros((1, 1, 3), np.uint8))


def test_fer_box_keeps_a_haar_box_and_squares_a_blazeface_one():
    detector = FaceDetector("haar", blazeface="short")
    assert detector.fer_box(Face((10, 20, 30, 40), None, None), (100, 100)) == (10, 20, 30, 40)
    blaze = Face((100, 100, 80, 80), 0.9, np.zeros((6, 2), np.float32))
    x, y, w, h = detector.fer_box(blaze, (480, 640))
    assert (x, y, w, h) == fer_square(blaze.box, MODELS["short"], (480, 640))  # the detector's model frames it
    assert w == h > 80 and y + h / 2 < 140  # larger than the box, centred above it


@needs_blazeface
def test_the_fer_box_of_the_astronaut_holds_her_whole_face(astronaut):
    detector = FaceDetector("blazeface")
    (face,) = detector.detect(astronaut)
    x, y, w, h = detector.fer_box(face, astronaut.shape)
    assert w == h and w > face.box[2]
    for px, py in face.keypoints[:4]:  # eyes, nose and mouth inside the crop
        assert x <= px <= x + w and y <= py <= y + h
