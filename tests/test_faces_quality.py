"""Detection-quality frames and scoring: known faces where they were pasted, and honest counts."""

import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.faces.quality import (FRAME, detection_markdown, detection_table, drifting_face_frames, faceless_frames, matches,
                                       pasted_face_frames, score_detector)


def test_drifting_frames_move_and_grow_the_face():
    pairs = drifting_face_frames(count=10)
    assert len(pairs) == 10
    for frame, (x, y, w, h) in pairs:
        assert frame.shape == (*FRAME, 3) and frame.dtype == np.uint8
        assert 0 <= x and 0 <= y and x + w <= FRAME[1] and y + h <= FRAME[0]
    boxes = np.array([truth for _, truth in pairs])
    assert np.all(np.diff(boxes[:, 0]) > 0) and np.all(np.diff(boxes[:, 2]) >= 0)  # drifts right, grows
    assert boxes[0, 2] == pytest.approx(93 * 300 / 512) and boxes[-1, 2] == pytest.approx(93 * 358 / 512)


def test_pasted_faces_sit_in_their_true_boxes():
    face = load_sample("faces/lfw_00.png")
    pairs = pasted_face_frames([face] * 3, sides=(64, 96, 144))
    for (frame, (x, y, w, h)), side in zip(pairs, (64, 96, 144)):
        assert w == h == side
        pasted = frame[y:y + h, x:x + w].astype(int)
        assert abs(pasted.mean() - face.mean()) < 10  # the face, not the scene


def test_faceless_frames_have_no_truth_and_differ():
    pairs = faceless_frames(6)
    assert all(truth is None and frame.shape == (*FRAME, 3) for frame, truth in pairs)
    assert len({frame.tobytes() for frame, _ in pairs}) == 6


def test_matching_is_about_finding_the_face_not_framing_it():
    truth = (100, 100, 80, 80)
    assert matches((105, 95, 90, 90), truth)
    assert not matches((300, 300, 80, 80), truth)  # elsewhere
    assert not matches((60, 60, 200, 200), truth)  # far too big
    assert not matches((130, 130, 30, 30), truth)  # far too small


def test_scores_count_found_faces_and_false_detections():
    pairs = [(np.zeros((*FRAME, 3), np.uint8), (100, 100, 80, 80)), (np.zeros((*FRAME, 3), np.uint8), None)]

    def perfect(frame):
        return [(100, 100, 80, 80)] if frame is pairs[0][0] else []

    def wrong(_frame):
        return [(400, 300, 50, 50)]

    assert score_detector(perfect, pairs) | {"ms/frame": 0} == {
        "frames": 2, "faces": 1, "found": 1, "recall": 1.0, "false detections": 0, "ms/frame": 0}
    scored = score_detector(wrong, pairs)
    assert scored["found"] == 0 and scored["false detections"] == 2
    table = detection_table({"perfect": perfect, "wrong": wrong}, {"set": pairs})
    assert list(table.index) == [("set", "perfect"), ("set", "wrong")]
    assert table.loc[("set", "wrong"), "recall"] == 0.0


def test_detection_markdown_says_each_count():
    pairs = [(np.zeros((*FRAME, 3), np.uint8), (100, 100, 80, 80)), (np.zeros((*FRAME, 3), np.uint8), None)]
    table = detection_table({"A": lambda f: [(100, 100, 80, 80)], "B": lambda f: []},
                            {"faces": pairs, "no face": pairs[1:]})
    text = detection_markdown(table)
    assert text.splitlines()[0].startswith("* **faces** (2 frames): A found 1 of 1, 1 false")
    assert "B found 0 of 1, 0 false" in text and "* **no face** (1 frames): A no face to find, 1 false" in text
