"""dlib's 68 facial landmarks, the points NVIDIA's FFHQ recipe aligns faces with.

This needs the optional extra ``pip install "toonemo[align]"``: `dlib-bin` (prebuilt
dlib wheels) and `face-recognition-models`, whose ~100 MB
``shape_predictor_68_face_landmarks.dat`` is dlib's 68-point predictor.  That predictor
was trained on the iBUG 300-W data set, whose licence excludes commercial use: use it
for study and research only.  Set ``$TOONEMO_LANDMARKS_MODEL`` to use another copy of
the .dat file.  Without the extra, `landmarks_available()` is False and
`faces.align.align_best` falls back to the Haar-cascade eyes.

Points are (x, y) floats in the pixels of the image passed in (pixel centres are
integers), numbered as in iBUG 300-W: 0-16 jaw, 17-26 brows, 27-35 nose, 36-41 the
eye on the image's left, 42-47 the other eye, 48-67 mouth (48 and 54 its corners).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import cv2
import numpy as np

MODEL_ENV = "TOONEMO_LANDMARKS_MODEL"
INSTALL_HINT = (
    'install the optional extra: pip install "toonemo[align]" (dlib-bin and face-recognition-models, '
    "whose ~100 MB 68-point predictor was trained on iBUG 300-W: not for commercial use)"
)

# Detection runs on a copy whose longer side is at most this (dlib's HOG detector is slow on big photos).
DETECT_MAX_SIDE = 800

LEFT_EYE = slice(36, 42)       # the eye on the image's left (the person's right eye)
RIGHT_EYE = slice(42, 48)
MOUTH_LEFT, MOUTH_RIGHT = 48, 54


class LandmarksUnavailable(ImportError):
    """dlib or the 68-point predictor is not installed."""


def _import_dlib():
    try:
        import dlib
    except ImportError as error:
        raise LandmarksUnavailable(f"dlib is not installed; {INSTALL_HINT}") from error
    return dlib


def predictor_path() -> Path:
    """The 68-point predictor: ``$TOONEMO_LANDMARKS_MODEL`` or the one in face-recognition-models."""
    if os.environ.get(MODEL_ENV):
        path = Path(os.environ[MODEL_ENV])
        if not path.is_file():
            raise LandmarksUnavailable(f"${MODEL_ENV} points at {path}, which is not a file")
        return path
    try:
        import face_recognition_models
    except ImportError as error:
        raise LandmarksUnavailable(f"the 68-point predictor is not installed; {INSTALL_HINT}") from error
    path = Path(face_recognition_models.pose_predictor_model_location())
    if not path.is_file():
        raise LandmarksUnavailable(f"face-recognition-models has no predictor at {path}; {INSTALL_HINT}")
    return path


def landmarks_available() -> bool:
    """Whether dlib and the 68-point predictor are installed (nothing is loaded)."""
    try:
        _import_dlib()
        predictor_path()
    except LandmarksUnavailable:
        return False
    return True


@functools.lru_cache(maxsize=None)
def _models():
    """dlib's frontal face detector and the 68-point shape predictor, loaded once."""
    from ..unreadable import read_or_report

    dlib = _import_dlib()
    # dlib's error for a cut-short or foreign .dat ("Unexpected version found while
    # deserializing") names no file
    predictor = read_or_report(predictor_path(), lambda path: _read_predictor(dlib, path), "dlib 68-point predictor")
    return dlib, dlib.get_frontal_face_detector(), predictor


def _read_predictor(dlib, path: Path):
    try:
        return dlib.shape_predictor(str(path))
    except RuntimeError as err:  # dlib raises its own deserialisation errors as RuntimeError
        raise ValueError(str(err)) from None


def _rgb_uint8(img) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8 or not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise ValueError(f"expected an H x W x 3 RGB, H x W x 4 RGBA or H x W gray uint8 image, "
                         f"got shape {img.shape} dtype {img.dtype}")
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3])


def detect_face_dlib(img, *, upsample: int = 1, max_side: int = DETECT_MAX_SIDE):
    """The largest face dlib's HOG detector finds, as (x, y, w, h) in `img`'s pixels, or None."""
    dlib, detector, _ = _models()
    rgb = _rgb_uint8(img)
    scale = min(1.0, max_side / max(rgb.shape[:2]))
    if scale < 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rects = detector(rgb, upsample)
    if len(rects) == 0:
        return None
    r = max(rects, key=lambda r: r.width() * r.height())
    x0, y0 = r.left() / scale, r.top() / scale
    return (int(round(x0)), int(round(y0)), int(round(r.width() / scale)), int(round(r.height() / scale)))


def face_landmarks(img, box=None) -> np.ndarray:
    """The 68 landmarks of the largest face in an RGB (RGBA, gray) uint8 image, as a 68 x 2 float array.

    `box` (x, y, w, h), e.g. from `faces.detect.largest_face`, skips dlib's face detector;
    the predictor works best on boxes like dlib's own (brows to chin), and a Haar box is
    close enough for frontal faces.  Raises ValueError when no face is found and
    `LandmarksUnavailable` (an ImportError) without the ``toonemo[align]`` extra.
    """
    dlib, _, predictor = _models()
    rgb = _rgb_uint8(img)
    if box is None:
        box = detect_face_dlib(rgb)
        if box is None:
            raise ValueError(f"dlib's face detector found no face in the image (shape {rgb.shape}); "
                             "pass box=(x, y, w, h) to place the landmarks in a known face")
    x, y, w, h = (int(round(v)) for v in box)
    if w < 2 or h < 2:
        raise ValueError(f"the face box must be at least 2 x 2 pixels, got {box}")
    shape = predictor(rgb, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def eyes_and_mouth(landmarks):
    """(left eye centre, right eye centre, left mouth corner, right mouth corner) as FFHQ takes them."""
    lm = np.asarray(landmarks, float)
    if lm.shape != (68, 2):
        raise ValueError(f"expected 68 x 2 landmarks, got shape {lm.shape}")
    return lm[LEFT_EYE].mean(axis=0), lm[RIGHT_EYE].mean(axis=0), lm[MOUTH_LEFT], lm[MOUTH_RIGHT]
