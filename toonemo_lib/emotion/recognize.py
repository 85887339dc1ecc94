"""Recognise facial expressions: find the faces in a photo and classify each one.

    from toonemo_lib.emotion.recognize import EmotionRecognizer
    from toonemo_lib.images import read_image

    recognizer = EmotionRecognizer()                  # the shipped data/models/emotion_mini_xception.keras
    recognizer.detect_and_classify(read_image("me.jpg"))   # an RGB image, like every image in the library
    # [{"rect": [x, y, w, h], "label": "Happy", "probs": {"Angry": 0.01, ..., "Neutral": 0.05}}]
    recognizer.classify([crop1, crop2])               # (2, 7) probabilities in EMOTIONS order

    EmotionRecognizer(detector="haar")                # or detector=FaceDetector("blazeface", blazeface="short")

and on the command line (`toonemo emotion --help`):

    toonemo emotion photo.jpg --json                  # every face the detector finds
    toonemo emotion face.png --whole-image            # the whole image is one face crop

The recogniser is two parts put together: a `faces.detector.FaceDetector` finds the
faces and says how to crop each one as FER2013 frames faces (`FaceDetector.fer_box`),
and the `emotion.classifier.EmotionClassifier` it extends classifies the crops, all
faces of an image in one batch.  The crop is cut from the full-resolution grayscale
image.  `probs` is a dict emotion -> probability in the canonical `EMOTIONS` order
(JSON keeps the order), so a record read on its own says which number is which.
"""

from __future__ import annotations

import numpy as np

from ..config import EMOTIONS
from ..faces.blazeface import KEYPOINTS, Face
from ..faces.detector import FaceDetector
from ..images import as_uint8, check_image_shape, draw_boxes, draw_points
from .classifier import SECOND_MODEL, SHIPPED_MODEL, EmotionClassifier

__all__ = ["EMOTION_COLOURS", "SECOND_MODEL", "SHIPPED_MODEL", "EmotionRecognizer", "draw_emotions"]


class EmotionRecognizer(EmotionClassifier):
    """Facial-expression recogniser: a `FaceDetector` in front of an `EmotionClassifier`.

    model_path, flip_tta, backend
                 the classifier's (see `EmotionClassifier`)
    detector     a `FaceDetector`, or the kind of one to build with its default settings:
                 "auto" (BlazeFace, Haar where it finds nothing; Haar alone without
                 LiteRT or BlazeFace's model files), "blazeface", "haar" or "blazeface+haar"

    It extends the classifier rather than holding one, so what callers read of the
    classifier (`model`, `resolution`, `backend`, `flip_tta`) stays on the recogniser.
    """

    def __init__(self, model_path=None, flip_tta: bool = True, *, backend: str = "auto",
                 detector: FaceDetector | str = "auto"):
        # the detector first: an unknown kind is refused before the model loads
        self.detector = detector if isinstance(detector, FaceDetector) else FaceDetector(detector)
        super().__init__(model_path, flip_tta, backend=backend)

    def detect(self, image: np.ndarray) -> list[Face]:
        """The faces in an RGB (or gray) image, largest first; Haar's have no score or keypoints."""
        return self.detector.detect(image)

    def find_faces(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Faces in an RGB (or gray) image, as full-resolution (x, y, w, h), largest first."""
        return self.detector.find_faces(image)

    def classifier_box(self, face: Face, shape) -> tuple[int, int, int, int]:
        """The (x, y, w, h) crop the classifier sees for ``face``: FER2013's framing, in the image."""
        return self.detector.fer_box(face, shape)

    def detect_and_classify(self, image: np.ndarray, detect_face: bool = True) -> list[dict]:
        """One record per face, largest first: {"rect": [x, y, w, h], "label": ..., "probs": {...}}.

        `image` is RGB uint8 (H, W, 3) or gray (H, W).  With `detect_face` every face the
        detector finds is classified (none found: []); without it the whole image is one
        face with rect [0, 0, W, H].  See `recognise` for the records.
        """
        height, width = check_image_shape(image).shape[:2]  # before any detector sees it
        faces = self.detect(image) if detect_face else [Face((0, 0, width, height), None, None)]
        return self.recognise(image, faces)

    def recognise(self, image: np.ndarray, faces: list[Face]) -> list[dict]:
        """One record per face of ``faces`` (from `detect`, maybe on another frame of the same size).

        `probs` maps each of `EMOTIONS`, in order, to a Python float; `label` is the most
        probable one.  BlazeFace's records also have "score" and "keypoints"
        ({"right_eye": [x, y], ...}, see `KEYPOINTS`).  All faces go through the model in one batch.
        """
        if not faces:
            return []
        image = as_uint8(check_image_shape(image))  # the frame's range, not each crop's, decides a float's scale
        crops = [self.classifier_box(face, image.shape) for face in faces]
        # only the crops become gray (`classify`): the whole frame's conversion would cost more
        probs = self.classify([image[y:y + h, x:x + w] for x, y, w, h in crops])
        records = []
        for face, p in zip(faces, probs):
            record = {"rect": [int(v) for v in face.box],
                      "label": EMOTIONS[int(np.argmax(p))],
                      "probs": {name: float(v) for name, v in zip(EMOTIONS, p)}}
            if face.keypoints is not None:
                record["score"] = float(face.score)
                record["keypoints"] = {name: [round(float(x), 1), round(float(y), 1)]
                                       for name, (x, y) in zip(KEYPOINTS, face.keypoints)}
            records.append(record)
        return records


# One colour per expression (RGB), shared by every figure and video overlay.
EMOTION_COLOURS = {"Angry": (220, 40, 40), "Disgust": (120, 160, 30), "Fear": (150, 60, 200),
                   "Happy": (250, 190, 0), "Sad": (40, 110, 220), "Surprise": (250, 120, 20),
                   "Neutral": (150, 150, 150)}


def draw_emotions(image: np.ndarray, records: list[dict]) -> np.ndarray:
    """A copy of an RGB (or gray) ``image`` with each face's box, "label probability" and keypoints drawn."""
    labels = [record["label"] for record in records]
    drawn = draw_boxes(image, [record["rect"] for record in records],
                       color=[EMOTION_COLOURS[label] for label in labels],
                       labels=[f"{label} {record['probs'][label]:.2f}" for label, record in zip(labels, records)])
    for label, record in zip(labels, records):
        if record.get("keypoints"):
            drawn = draw_points(drawn, list(record["keypoints"].values()), EMOTION_COLOURS[label])
    return drawn
