"""FFHQ-style face alignment from Haar-cascade eye positions.

FFHQ, the data set the StyleGAN2 face model was trained on, crops every photo the
same way: the image is rotated so the eyes are level, scaled so the distance between
the eyes is a fixed fraction of the output, and shifted so the point between the
eyes lands at a fixed place.  Toonify's blending swaps layers between two networks
that must agree on where the eyes are, so a fine-tuning set should be cropped alike.

FFHQ finds the eyes with dlib's 68 landmarks; here OpenCV's Haar cascades find them
offline.  The output has the eye distance at 1/4 of the side and the eye midpoint at
(0.5, 0.47) of the side, which is where FFHQ's recipe puts them for a typical face.

When no plausible pair of eyes is found the face box is cropped as a plain,
unrotated square of the same scale (method "face-box"); when no face is found the
image is centre-cropped (method "none").  `AlignedFace.method` always says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..images import parse_color
from .detect import EYE_CASCADES, find_eyes, largest_face

EYE_DISTANCE = 0.25            # distance between the eyes, as a fraction of the output side
EYE_POSITION = (0.5, 0.47)     # eye midpoint (x, y), as fractions of the output side

# Where the eyes sit inside an OpenCV frontal-face box, measured on skimage's astronaut
# and the LFW faces whose eyes were found: eye distance 0.41 (std 0.08) of the box
# width, eye midpoint at 0.47-0.50 of the width and 0.37 (std 0.03) of the height.
BOX_EYE_DISTANCE = 0.41
BOX_EYE_POSITION = (0.5, 0.37)

_BORDERS = {
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "constant": cv2.BORDER_CONSTANT,
}


@dataclass
class AlignedFace:
    """An aligned face crop and how it was made."""

    image: np.ndarray              # size x size x C uint8
    method: str                    # "eyes", "face-box" or "none"
    face_box: tuple | None         # (x, y, w, h) in the source image
    eyes: tuple | None             # ((x, y) left, (x, y) right) in the source image
    angle: float                   # degrees the eye line was tilted (clockwise positive)
    matrix: np.ndarray             # 2 x 3 affine map from source to output pixels


def similarity_matrix(center, angle_deg: float, scale: float, target) -> np.ndarray:
    """The 2x3 matrix that rotates by -angle and scales about `center`, then moves it to `target`."""
    theta = math.radians(angle_deg)
    c, s = math.cos(theta) * scale, math.sin(theta) * scale
    linear = np.array([[c, s], [-s, c]])
    offset = np.asarray(target, float) - linear @ np.asarray(center, float)
    return np.hstack([linear, offset[:, None]])


def eyes_matrix(left, right, size: int, eye_distance=EYE_DISTANCE, eye_position=EYE_POSITION) -> np.ndarray:
    """The map that makes the eyes level, `eye_distance * size` apart, centred on `eye_position`."""
    dx, dy = right[0] - left[0], right[1] - left[1]
    scale = eye_distance * size / math.hypot(dx, dy)
    middle = ((left[0] + right[0]) / 2.0, (left[1] + right[1]) / 2.0)
    target = (eye_position[0] * size, eye_position[1] * size)
    return similarity_matrix(middle, math.degrees(math.atan2(dy, dx)), scale, target)


def face_box_matrix(box, size: int, eye_distance=EYE_DISTANCE, eye_position=EYE_POSITION) -> np.ndarray:
    """An unrotated square crop of a face box at the scale the eyes path would use."""
    x, y, w, h = box
    middle = (x + BOX_EYE_POSITION[0] * w, y + BOX_EYE_POSITION[1] * h)
    scale = eye_distance * size / (BOX_EYE_DISTANCE * w)
    target = (eye_position[0] * size, eye_position[1] * size)
    return similarity_matrix(middle, 0.0, scale, target)


def center_crop_matrix(shape, size: int) -> np.ndarray:
    """The centre square of an image, scaled to size x size."""
    h, w = shape[:2]
    scale = size / min(h, w)
    return similarity_matrix((w / 2.0, h / 2.0), 0.0, scale, (size / 2.0, size / 2.0))


def warp(img: np.ndarray, matrix: np.ndarray, size: int, border: str = "reflect", background="white") -> np.ndarray:
    """Apply a similarity `matrix` to make a size x size image, without aliasing.

    warpAffine samples the source at one point per output pixel, which aliases when
    the image shrinks a lot; so the source is first shrunk with area averaging to the
    output scale, and the remaining rotation is done with bicubic interpolation.
    """
    if border not in _BORDERS:
        raise ValueError(f"border must be one of {sorted(_BORDERS)}, got {border!r}")
    scale = math.hypot(matrix[0, 0], matrix[0, 1])
    if scale < 1.0:
        h, w = img.shape[:2]
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)
        fx, fy = new_w / w, new_h / h
        # A source point p sits at p' = (p + 0.5) * f - 0.5 in the shrunk image, so the
        # matrix for the shrunk image is matrix(p) rewritten in terms of p'.
        linear = matrix[:, :2] @ np.diag([1 / fx, 1 / fy])
        offset = matrix[:, 2] + matrix[:, :2] @ np.array([0.5 / fx - 0.5, 0.5 / fy - 0.5])
        matrix = np.hstack([linear, offset[:, None]])
    fill = parse_color(background)[: img.shape[2]] if img.ndim == 3 else parse_color(background)[0]
    return cv2.warpAffine(
        img, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=_BORDERS[border], borderValue=fill
    )


def align_face(
    img: np.ndarray,
    size: int = 256,
    *,
    eye_distance: float = EYE_DISTANCE,
    eye_position=EYE_POSITION,
    face_box=None,
    eye_cascades=EYE_CASCADES,
    border: str = "reflect",
    background="white",
) -> AlignedFace:
    """Align the largest face of an RGB (or gray) uint8 image into a size x size crop.

    `face_box` skips face detection when the caller already has one; `eye_cascades=()`
    forces the face-box crop.
    """
    box = tuple(face_box) if face_box is not None else largest_face(img)
    eyes = find_eyes(img, box, eye_cascades) if box is not None else None
    if eyes is not None:
        (lx, ly), (rx, ry) = eyes
        matrix = eyes_matrix(eyes[0], eyes[1], size, eye_distance, eye_position)
        method, angle = "eyes", math.degrees(math.atan2(ry - ly, rx - lx))
    elif box is not None:
        matrix = face_box_matrix(box, size, eye_distance, eye_position)
        method, angle = "face-box", 0.0
    else:
        matrix = center_crop_matrix(img.shape, size)
        method, angle = "none", 0.0
    image = warp(img, matrix, size, border, background)
    return AlignedFace(image=image, method=method, face_box=box, eyes=eyes, angle=angle, matrix=matrix)


def transform_points(matrix: np.ndarray, points) -> np.ndarray:
    """Map (x, y) points with a 2x3 affine matrix."""
    pts = np.asarray(points, float).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]
