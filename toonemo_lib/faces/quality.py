"""How well a face detector finds faces: test frames with known faces, and a recall table.

    frames = {"astronaut drifting": drifting_face_frames(),
              "FER2013 faces pasted": pasted_face_frames(fer_faces),
              "no face": faceless_frames()}
    detection_table({"BlazeFace": FaceDetector("blazeface").find_faces,
                     "Haar": FaceDetector("haar").find_faces}, frames)

Every frame is 640 x 480 RGB and comes with its true face box (x, y, w, h), or None
for a frame without a face.  A detection matches the true face when its centre lies
within 0.4 of the face's side of the true centre and its size is between half and
twice the true one: detectors frame a face differently (BlazeFace from brows to chin,
Haar a little wider), and the test is whether the face was found, not how tightly.
Any other detection is a false one.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pandas as pd

from ..images import array_to_rgb

FRAME = (480, 640)  # height, width
# Where OpenCV's cascades put the face in the 512 x 512 astronaut photo (skimage.data.astronaut).
ASTRONAUT_FACE = (177, 67, 93, 93)


def backgrounds(size=FRAME) -> list[np.ndarray]:
    """Natural RGB scenes from scikit-image's bundled data, resized to ``size`` (no people in them)."""
    from skimage import data

    scenes = (data.coffee(), data.rocket(), data.hubble_deep_field(), data.coins(), data.brick(),
              data.grass(), data.coffee()[:, ::-1])
    return [cv2.resize(array_to_rgb(scene), size[::-1], interpolation=cv2.INTER_AREA) for scene in scenes]


def drifting_face_frames(count: int = 30, sides=(300, 358), seed: int = 0):
    """``count`` frames of the astronaut portrait drifting across a scene and growing.

    The 512 x 512 photo is pasted at a side growing from ``sides[0]`` to ``sides[1]`` pixels,
    its position moving left to right and bobbing up and down, as a webcam user might.
    Returns (frame, true face box) pairs.
    """
    from skimage import data

    # the same photo as the shipped sample faces/astronaut.png, read from scikit-image so that
    # faces/ stays below datasets/ in the floors
    photo = data.astronaut()
    scene = backgrounds()[0]
    rng = np.random.default_rng(seed)
    height, width = FRAME
    pairs = []
    for i in range(count):
        t = i / max(1, count - 1)
        side = round(sides[0] + t * (sides[1] - sides[0]))
        x = round(t * (width - side))
        y = round((height - side) * (0.5 + 0.5 * np.sin(2 * np.pi * t + rng.uniform(-0.2, 0.2))))
        frame = scene.copy()
        frame[y:y + side, x:x + side] = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
        fx, fy, fw, fh = (v * side / photo.shape[0] for v in ASTRONAUT_FACE)
        pairs.append((frame, (x + fx, y + fy, fw, fh)))
    return pairs


def pasted_face_frames(faces, sides=(64, 96, 144, 200, 280), seed: int = 1):
    """Frames with one face crop each (gray or RGB), pasted at a random place at one of ``sides``.

    Sides cycle through ``sides``; backgrounds cycle through `backgrounds`.  The true box
    is the pasted square: FER2013's faces fill their 48 x 48 image.
    """
    scenes = backgrounds()
    rng = np.random.default_rng(seed)
    height, width = FRAME
    pairs = []
    for i, face in enumerate(faces):
        side = sides[i % len(sides)]
        x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
        frame = scenes[i % len(scenes)].copy()
        frame[y:y + side, x:x + side] = cv2.resize(array_to_rgb(face), (side, side), interpolation=cv2.INTER_CUBIC)
        pairs.append((frame, (x, y, side, side)))
    return pairs


def faceless_frames(count: int = 30, seed: int = 2):
    """Frames without a face: random 640 x 480 views of the scenes, some mirrored or zoomed."""
    scenes = backgrounds()
    rng = np.random.default_rng(seed)
    height, width = FRAME
    pairs = []
    for i in range(count):
        scene = scenes[i % len(scenes)]
        zoom = rng.uniform(1.0, 2.0)
        big = cv2.resize(scene, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR)
        x, y = int(rng.integers(0, big.shape[1] - width + 1)), int(rng.integers(0, big.shape[0] - height + 1))
        view = big[y:y + height, x:x + width]
        pairs.append((np.ascontiguousarray(view[:, ::-1] if i % 2 else view), None))
    return pairs


def matches(box, truth) -> bool:
    """Whether a detected (x, y, w, h) box finds the true face box (see the module's docstring)."""
    x, y, w, h = box
    tx, ty, tw, th = truth
    side = (tw + th) / 2
    return (abs(x + w / 2 - tx - tw / 2) < 0.4 * side and abs(y + h / 2 - ty - th / 2) < 0.4 * side
            and 0.5 < (w + h) / 2 / side < 2)


def score_detector(find_faces, pairs) -> dict:
    """Faces found, false detections and the median ms per frame of ``find_faces`` on ``pairs``."""
    found = false = 0
    times = []
    for frame, truth in pairs:
        start = time.perf_counter()
        boxes = find_faces(frame)
        times.append((time.perf_counter() - start) * 1e3)
        hits = [truth is not None and matches(box, truth) for box in boxes]
        found += any(hits)
        false += hits.count(False)
    with_faces = sum(truth is not None for _, truth in pairs)
    return {"frames": len(pairs), "faces": with_faces, "found": found,
            "recall": found / with_faces if with_faces else float("nan"),
            "false detections": false, "ms/frame": float(np.median(times)) if times else float("nan")}


def detection_table(detectors: dict, frame_sets: dict) -> pd.DataFrame:
    """One row per (frame set, detector): frames, faces, found, recall, false detections, ms/frame.

    ``detectors`` maps a name to a function image -> list of (x, y, w, h); ``frame_sets`` maps
    a name to (frame, true box or None) pairs.
    """
    rows = [{"frame set": set_name, "detector": name, **score_detector(find, pairs)}
            for set_name, pairs in frame_sets.items() for name, find in detectors.items()]
    return pd.DataFrame(rows).set_index(["frame set", "detector"])


def detection_markdown(table: pd.DataFrame) -> str:
    """One line per frame set of a `detection_table`: each detector's count and speed."""
    lines = []
    for set_name, rows in table.groupby(level=0, sort=False):
        parts = []
        for (_, detector), row in rows.iterrows():
            count = f"found {int(row['found'])} of {int(row['faces'])}" if row["faces"] else "no face to find"
            parts.append(f"{detector} {count}, {int(row['false detections'])} false, "
                         f"{row['ms/frame']:.1f} ms a frame")
        lines.append(f"* **{set_name}** ({int(rows['frames'].iloc[0])} frames): " + "; ".join(parts) + ".")
    return "\n".join(lines)
