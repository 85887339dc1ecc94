"""Face and eye detection with the Haar cascades that ship inside OpenCV.

The cascades work offline and on any CPU, which is why the course uses them; they
are also easily fooled.  So the helpers here are conservative: `find_eyes` only
returns a pair of eyes that is plausible for the face it belongs to, and callers
fall back to the face box (or to nothing) rather than trust a doubtful pair.

Images are H x W x 3 RGB (or RGBA) or H x W gray uint8 arrays, made gray by
`toonemo_lib.images.to_gray`; boxes are (x, y, w, h) in the pixel coordinates of the
image passed in; points are (x, y) floats.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from ..images import to_gray

FACE_CASCADE = "haarcascade_frontalface_default.xml"
EYE_CASCADES = ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml")

# Detection runs on a copy whose longer side lies in this range: large photos are
# shrunk for speed, and small crops are enlarged because the face cascade's smallest
# window is 24 x 24 pixels, so a face that fills a 25 x 25 image is never found.
DETECT_MIN_SIDE = 160
DETECT_MAX_SIDE = 800


@functools.lru_cache(maxsize=None)
def load_cascade(name: str) -> cv2.CascadeClassifier:
    """One of OpenCV's bundled cascades, by file name, loaded once."""
    path = cv2.data.haarcascades + name
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise FileNotFoundError(f"OpenCV could not load the cascade {path}")
    return cascade


def detection_scale(shape, max_side: int = DETECT_MAX_SIDE) -> float:
    """The factor that brings an image's longer side into [DETECT_MIN_SIDE, max_side]."""
    longer = max(shape[:2])
    if longer < DETECT_MIN_SIDE:
        return DETECT_MIN_SIDE / longer
    if longer > max_side:
        return max_side / longer
    return 1.0


def detect_faces(img: np.ndarray, *, min_neighbors: int = 5, min_size: float = 0.1, cascade: str = FACE_CASCADE,
                 scale_factor: float = 1.1, max_side: int = DETECT_MAX_SIDE,
                 equalize: bool = True) -> list[tuple[int, int, int, int]]:
    """Frontal faces as (x, y, w, h) boxes in `img`'s pixels, largest first.

    The search runs on a gray copy whose longer side is at most `max_side` (smaller is
    faster); `min_size` is the smallest face side as a fraction of the copy's shorter
    side; `cascade`, `scale_factor` and `min_neighbors` are OpenCV's cascade, pyramid
    step and vote threshold.  `equalize` equalises the histogram first.
    """
    scale = detection_scale(img.shape, max_side)
    gray = to_gray(img, equalize=equalize)
    if scale != 1.0:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interpolation)
    smallest = max(24, int(min(gray.shape) * min_size))
    found = load_cascade(cascade).detectMultiScale(
        gray, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(smallest, smallest)
    )
    height, width = img.shape[:2]
    boxes = []
    for x, y, w, h in np.reshape(found, (-1, 4)):
        x0, y0 = max(0, round(x / scale)), max(0, round(y / scale))
        x1, y1 = min(width, round((x + w) / scale)), min(height, round((y + h) / scale))
        if x1 - x0 >= 2 and y1 - y0 >= 2:  # clipped to the image, never empty
            boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def largest_face(img: np.ndarray, **kwargs) -> tuple[int, int, int, int] | None:
    """The largest detected face box, or None."""
    faces = detect_faces(img, **kwargs)
    return faces[0] if faces else None


def detect_eyes(img: np.ndarray, face_box, cascade_name: str = EYE_CASCADES[0]) -> list[tuple[int, int, int, int]]:
    """Eye boxes inside the upper part of `face_box`, in image coordinates."""
    x, y, w, h = face_box
    # Eyes sit in the upper ~60% of a Haar face box; searching only there keeps the
    # nostrils and mouth, the usual false eyes, out of the results.
    top = img[max(y, 0):max(y + int(0.6 * h), 0), max(x, 0):max(x + w, 0)]
    if min(top.shape[:2]) < 2:  # a box at the image's edge, or too small to hold eyes
        return []
    # Resize the face so that its width is about 200 px: the eye cascade is trained on
    # 20 x 20 windows and works best when an eye spans 30-60 px.
    scale = 200.0 / max(w, 1)
    gray = to_gray(top, equalize=True)
    gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    found = load_cascade(cascade_name).detectMultiScale(
        gray, scaleFactor=1.05, minNeighbors=4, minSize=(20, 20), maxSize=(90, 90)
    )
    return [
        (int(round(ex / scale)) + x, int(round(ey / scale)) + y, int(round(ew / scale)), int(round(eh / scale)))
        for ex, ey, ew, eh in np.reshape(found, (-1, 4))
    ]


def box_center(box) -> tuple[float, float]:
    x, y, w, h = box
    return (x + w / 2.0, y + h / 2.0)


def plausible_eye_pair(left, right, face_box, max_angle: float = 30.0) -> bool:
    """Whether two eye boxes (left one first in the image) fit the face they are in.

    Each eye must lie on its own side of the face's centre line, in its upper part, the
    two at a sensible distance, of similar size, and tilted by at most `max_angle`.
    """
    fx, fy, fw, fh = face_box
    (lx, ly), (rx, ry) = box_center(left), box_center(right)
    middle = fx + fw / 2.0
    distance = math.hypot(rx - lx, ry - ly)
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    sizes = sorted([left[2], right[2]])
    return (
        lx < middle < rx
        and max(ly, ry) < fy + 0.6 * fh
        and 0.25 * fw <= distance <= 0.7 * fw
        and abs(angle) <= max_angle
        and sizes[1] <= 1.6 * sizes[0]
    )


def find_eyes(img: np.ndarray, face_box, cascades=EYE_CASCADES):
    """The centres ((x, y) left, (x, y) right) of a plausible pair of eyes, or None.

    "Left" is the eye on the left of the image (the person's right eye).  Each cascade
    is tried in turn; among plausible pairs the most level one wins.
    """
    for name in cascades:
        eyes = sorted(detect_eyes(img, face_box, name), key=lambda b: b[0])
        pairs = [
            (a, b)
            for i, a in enumerate(eyes)
            for b in eyes[i + 1:]
            if plausible_eye_pair(a, b, face_box)
        ]
        if pairs:
            left, right = min(pairs, key=lambda p: abs(box_center(p[0])[1] - box_center(p[1])[1]))
            return box_center(left), box_center(right)
    return None
