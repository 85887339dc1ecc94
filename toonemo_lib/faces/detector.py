"""The library's face detector: BlazeFace, OpenCV's Haar cascade, or the cascade behind BlazeFace.

    from toonemo_lib.faces.detector import FaceDetector

    detector = FaceDetector()                       # "auto": BlazeFace, Haar where it finds none
    faces = detector.detect(rgb)                    # [Face(box=(x, y, w, h), score, keypoints), ...]
    boxes = detector.find_faces(rgb)                # [(x, y, w, h), ...], largest first
    x, y, w, h = detector.fer_box(faces[0], rgb.shape)   # the crop an emotion classifier sees

The choice of detector, each measured (benchmarks/bench_emotion.py, notebook 05):

* ``"blazeface"`` is MediaPipe's full-range detector on LiteRT (`faces.blazeface`), about
  3 ms for a 640 x 480 frame on two threads, with six keypoints per face (eyes, nose,
  mouth, ears).  It was trained on whole heads: on tight face crops pasted into a scene
  (FER2013's, LFW's) it finds under a third of the faces where the Haar cascade finds
  69-91 %.
* ``"blazeface+haar"`` runs the cascade only on images where BlazeFace finds nothing: a
  frame with a face costs BlazeFace alone, a tight crop is still found, and the
  cascade's setting below adds no false detection on face-free frames.  ``"auto"`` is
  this when BlazeFace's model files and LiteRT are installed, else ``"haar"``.
* ``"haar"`` is an OpenCV Haar cascade (offline, any CPU) run on a grayscale copy whose
  longer side is at most ``detect_side`` (320) pixels; the boxes are scaled back to
  full-resolution coordinates.  The cascade's cost is set by how many windows (20-24 px)
  it scans, so the copy's size (the smallest face found is about a tenth of the frame's
  shorter side, 48 px in a 640 x 480 frame, like `fer`'s 50 px) and the pyramid step
  ``scale_factor`` (1.2) decide the speed.  A coarser pyramid gives each face fewer
  overlapping hits, so the vote threshold ``min_neighbors`` is 3; with the "alt2" frontal
  cascade that keeps false detections at zero where the "default" one produces many.
  Measured on 100 real faces (scikit-image's LFW subset, 56-180 px, pasted on natural
  backgrounds in 640 x 480 frames) and 100 face-free frames: 92 % found, no false
  detection, ~4x faster than `fer`'s full-resolution detection (default cascade, step
  1.1: 95 % found, but 208 false detections in the 200 frames).  No histogram
  equalisation: on frames with large plain areas it cost a third of the faces.  Small
  images are enlarged to 160 pixels first (`faces.detect`), so that a face filling a
  25 x 25 crop is still found.

The crop an emotion classifier trained on FER2013 should see (`fer_box`): a Haar box
frames a face about as FER2013's registration does, so it is the box itself.
BlazeFace's box runs from the brows to the chin, tighter than FER2013's faces, so its
crop is the square FER2013's framing gives around it (`blazeface.fer_square`: measured
on PublicTest faces pasted into frames, 1.15 times the box, centred 0.04 of it higher).
"""

from __future__ import annotations

import numpy as np

from ..images import check_image_shape, to_gray
from .blazeface import MODELS, BlazeFace, Face, blazeface_available, fer_square
from .detect import detect_faces, load_cascade

KINDS = ("auto", "blazeface", "haar", "blazeface+haar")
CASCADE = "haarcascade_frontalface_alt2.xml"  # one of OpenCV's bundled cascades


def resolve_kind(kind: str) -> str:
    """The detector ``kind`` names: "auto" becomes "blazeface+haar" where BlazeFace can run, else "haar"."""
    if kind not in KINDS:
        raise ValueError(f"unknown detector {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "auto":
        return "blazeface+haar" if blazeface_available() else "haar"
    return kind


class FaceDetector:
    """Faces in RGB (or gray, or RGBA) images, largest first; see the module docstring for the kinds.

    kind         "auto", "blazeface", "haar" or "blazeface+haar"; ``self.kind`` is the one
                 chosen ("auto" resolved)
    blazeface    BlazeFace's model, "full" or "short" (see `toonemo_lib.faces.blazeface`)
    min_score    BlazeFace's face-score threshold (default: MediaPipe's)
    detect_side  Haar: longer side of the copy faces are searched in: smaller is faster,
                 but the smallest face found is 24 px of the copy (48 px of a 640 x 480
                 frame)
    cascade, scale_factor, min_neighbors, min_size
                 Haar: the bundled OpenCV cascade file, its pyramid step, its vote
                 threshold, and the smallest face as a fraction of the copy's shorter side
                 (at least 24 px)

    The Haar settings may be changed on the instance between calls.
    """

    def __init__(self, kind: str = "auto", *, blazeface: str = "full", min_score: float | None = None,
                 detect_side: int = 320, cascade: str = CASCADE, scale_factor: float = 1.2,
                 min_neighbors: int = 3, min_size: float = 0.1):
        self.kind = resolve_kind(kind)
        if blazeface not in MODELS:  # checked for every kind: `fer_box` frames BlazeFace's faces with it
            raise ValueError(f"unknown BlazeFace model {blazeface!r}; use one of {', '.join(MODELS)}")
        self.blazeface_model = blazeface
        self.blazeface = BlazeFace(blazeface, min_score=min_score) if "blazeface" in self.kind else None
        self.cascade = cascade
        if "haar" in self.kind:
            load_cascade(cascade)  # fail now, not at the first image, if the cascade is missing
        self.detect_side = int(detect_side)
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = float(min_size)

    def __repr__(self):
        return f"FaceDetector({self.kind!r}, blazeface={self.blazeface_model!r})"

    def detect(self, image: np.ndarray) -> list[Face]:
        """The faces in an RGB (or gray, or RGBA) image, largest first; Haar's have no score or keypoints."""
        check_image_shape(image)  # before any detector sees it
        faces = self.blazeface(image) if self.blazeface is not None else []
        if faces or self.kind == "blazeface":
            return faces
        return [Face(box, None, None) for box in self._haar(to_gray(image))]

    def _haar(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        return detect_faces(gray, cascade=self.cascade, scale_factor=self.scale_factor,
                            min_neighbors=self.min_neighbors, min_size=self.min_size,
                            max_side=self.detect_side, equalize=False)

    def find_faces(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Faces in an RGB (or gray) image, as full-resolution (x, y, w, h), largest first."""
        return [face.box for face in self.detect(image)]

    def fer_box(self, face: Face, shape) -> tuple[int, int, int, int]:
        """The (x, y, w, h) crop framing ``face`` as FER2013's faces are framed, within an image of ``shape``."""
        if face.keypoints is None:
            return face.box  # a Haar box (or a whole image) frames a face about as FER2013 does
        return fer_square(face.box, MODELS[self.blazeface_model], shape)
