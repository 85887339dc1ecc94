"""Recognise facial expressions: find the faces in a photo and classify each one.

    from toonemo_lib.emotion.recognize import EmotionRecognizer
    from toonemo_lib.images import read_image

    recognizer = EmotionRecognizer()                  # the shipped data/models/emotion_mini_xception.keras
    recognizer.detect_and_classify(read_image("me.jpg"))   # an RGB image, like every image in the library
    # [{"rect": [x, y, w, h], "label": "Happy", "probs": {"Angry": 0.01, ..., "Neutral": 0.05}}]
    recognizer.classify([crop1, crop2])               # (2, 7) probabilities in EMOTIONS order

and on the command line (`toonemo emotion --help`):

    toonemo emotion photo.jpg --json                  # every face the detector finds
    toonemo emotion face.png --whole-image            # the whole image is one face crop

Design choices, each measured or checked rather than assumed:

* Preprocessing is `preprocess_faces`, the very function training used (gray, resized,
  scaled to [-1, 1]); the model's input side is read from the model, not hard-coded.
* One model call per image (or per `classify` batch).  By default (`backend="auto"`)
  the call goes to the model converted to TFLite on the LiteRT interpreter
  (`emotion.lite`, converted once and cached by the model file's sha256): about 0.4 ms
  for one face, where the `tf.function` of `backend="tensorflow"` costs about 2.5 ms a
  call whatever the batch, `model.predict` tens of milliseconds and eager `model(x)`
  ten times the `tf.function` (see benchmarks/bench_emotion.py).  Both backends give
  the same probabilities to about 1e-6.
* Test-time augmentation (`flip_tta`, on by default): each face and its mirror image go
  through the network in the same batch and their probabilities are averaged.  Training
  mirrored faces at random, so both views are in-distribution; the average is also
  exactly symmetric: a face and its mirror get the same answer.
* Face detection is BlazeFace by default (``detector="blazeface"``, see
  `toonemo_lib.faces.blazeface`): MediaPipe's full-range detector on LiteRT, about
  3 ms for a 640 x 480 frame on two threads, with six keypoints per face (eyes, nose,
  mouth, ears) that the records carry.  Its box frames the face from the brows to the
  chin, tighter than FER2013's faces, so the classifier's crop is the square that
  FER2013's framing gives around it (`BlazeFace.fer_crop`: measured on PublicTest faces
  pasted into frames, the FER2013 square is 1.15 times BlazeFace's box and centred 0.04
  of it higher).  BlazeFace was trained on whole heads: on tight face crops pasted into
  a scene (FER2013's, LFW's) it finds under a third of the faces where the Haar cascade
  finds 69-91 % (the detection table of benchmarks/bench_emotion.py and notebook 05).
  So by default (``detector="auto"``, i.e. "blazeface+haar") the cascade looks at the
  images where BlazeFace finds nothing: a frame with a face costs BlazeFace alone, a
  tight crop is still found, and the cascade's setting below adds no false detection
  on the face-free frames.
* ``detector="haar"`` (and the only detector when BlazeFace's model files or LiteRT are
  missing) is an OpenCV Haar cascade (offline, any CPU) run on a grayscale copy
  whose longer side is at most `detect_side` (320) pixels; the boxes are scaled back to
  full-resolution coordinates.  The cascade's cost is set by how many windows (20-24 px)
  it scans, so the copy's size (the smallest face found is about a tenth of the frame's
  shorter side, 48 px in a 640 x 480 frame, like `fer`'s 50 px) and the pyramid step
  `scale_factor` (1.2) decide the speed.  A coarser pyramid gives each face fewer
  overlapping hits, so the vote threshold `min_neighbors` is 3; with the "alt2" frontal
  cascade that keeps false detections at zero where the "default" one produces many.
  Measured on 100 real faces (scikit-image's LFW subset, 56-180 px, pasted on natural
  backgrounds in 640 x 480 frames) and 100 face-free frames, see
  benchmarks/bench_emotion.py: 92 % found, no false detection, ~4x faster than `fer`'s
  full-resolution detection (default cascade, step 1.1: 95 % found, but 208 false
  detections in the 200 frames).  No histogram equalisation: on frames with large plain areas it cost
  a third of the faces.  Small images are enlarged to 160 pixels first, like
  `toonemo_lib.faces.detect`, so that a face filling a 25 x 25 crop is still found.
* The crop given to the classifier is the detected box itself, cut from the
  full-resolution grayscale image, with no extra margin: FER2013's faces were registered
  so that the face is centred and fills most of the 48 x 48 image, about as a Haar box
  frames it, and that is what the model learnt from.
* `probs` is a dict emotion -> probability in the canonical `EMOTIONS` order (JSON keeps
  the order), so a record read on its own says which number is which.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import DATA_DIR, EMOTIONS
from ..faces.blazeface import KEYPOINTS, BlazeFace, Face, blazeface_available
from ..faces.detect import detect_faces, load_cascade
from ..images import draw_boxes, draw_points, to_gray

# `.pipeline` (preprocess_faces) imports TensorFlow, so it is imported where it is
# used: registering the `emotion` command must stay instant.

SHIPPED_MODEL = DATA_DIR / "models" / "emotion_mini_xception.keras"
# An independent second recogniser (models.SECOND_RECIPE: a small ResNet at 32x32, another seed),
# for measurements that must not be judged by the model they were fitted with.
SECOND_MODEL = DATA_DIR / "models" / "emotion_resnet_32.keras"
CASCADE = "haarcascade_frontalface_alt2.xml"  # one of OpenCV's bundled cascades
BACKENDS = ("auto", "lite", "tensorflow")
DETECTORS = ("auto", "blazeface", "haar", "blazeface+haar")

TRAIN_HINT = ("train and export one with `toonemo emotion-train --data fer2013.csv "
              "--out runs/shipped --export MODEL.keras`, or pass another model's path")


def _check_model_file(path: Path) -> None:
    """Clear errors for a missing model file or a folder, before anything reads it."""
    if not path.exists():
        raise FileNotFoundError(f"no emotion model at {path}: {TRAIN_HINT}")
    if not path.is_file():
        raise ValueError(f"the emotion model {path} is not a file (expected a Keras .keras file)")


def _load_model(path: Path):
    """The Keras model at `path`, with clear errors for a missing file or a non-model."""
    import textwrap

    _check_model_file(path)  # before Keras (and TensorFlow) load: a wrong path fails at once
    import keras

    try:
        return keras.saving.load_model(str(path), compile=False)
    except Exception as err:  # Keras raises many types (ValueError, BadZipFile, OSError, ...)
        reason = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), "")
        reason = textwrap.shorten(reason, 200, placeholder=" ...")  # whole words only
        raise ValueError(f"{path} is not a loadable Keras model ({type(err).__name__}: {reason})") from None


def _check_contract(model, path) -> tuple[int, int]:
    """(height, width) of a model that takes (None, H, W, 1) and outputs 7 classes.

    `model` is the Keras model or its `LiteClassifier` (both have `input_shape` and
    `output_shape`, the batch being None or -1); the softmax is checked by a probe call.
    """
    try:
        shape, out = model.input_shape, model.output_shape
    except (AttributeError, RuntimeError, ValueError):  # e.g. an unbuilt subclassed model
        raise ValueError(f"the emotion model {path} has no defined input and output shape") from None
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[-1] == 1
            and isinstance(shape[1], int) and shape[1] == shape[2]):
        raise ValueError(f"the emotion model {path} must take (None, S, S, 1) square grayscale batches; "
                         f"its input shape is {shape}")
    if not (isinstance(out, tuple) and len(out) == 2 and out[-1] == len(EMOTIONS)):
        raise ValueError(f"the emotion model {path} must output {len(EMOTIONS)} class probabilities "
                         f"({', '.join(EMOTIONS)}); its output shape is {out}")
    return shape[1], shape[2]


class EmotionRecognizer:
    """Facial-expression recogniser: a face detector + a mini-Xception classifier.

    model_path   a Keras model taking (None, H, W, 1) in [-1, 1] with a 7-way softmax in
                 `EMOTIONS` order (default: the shipped `SHIPPED_MODEL`)
    flip_tta     average each face's probabilities with its mirror image's
    backend      "lite" (the model converted to TFLite, on LiteRT), "tensorflow" (a
                 `tf.function` of the Keras model) or "auto": lite when a LiteRT
                 interpreter is installed
    detector     "blazeface" (MediaPipe's detector on LiteRT, with keypoints), "haar"
                 (OpenCV's cascade), "blazeface+haar" (the cascade only where BlazeFace
                 finds no face) or "auto": "blazeface+haar" when BlazeFace's model files
                 and LiteRT are installed, else "haar"
    blazeface    BlazeFace's model, "full" or "short" (see `toonemo_lib.faces.blazeface`)
    min_score    BlazeFace's face-score threshold (default: MediaPipe's)
    detect_side  Haar: longer side of the copy faces are searched in: smaller is faster,
                 but the smallest face found is 24 px of the copy (48 px of a 640 x 480
                 frame)
    cascade, scale_factor, min_neighbors, min_size
                 Haar: the bundled OpenCV cascade file, its pyramid step, its vote
                 threshold, and the smallest face as a fraction of the copy's shorter side
                 (at least 24 px)

    All faces of a `classify` call, and the faces of one image, go through the model in
    one batch; `flip_tta`, `detect_side` and the detection settings may be changed on
    the instance between calls.
    """

    def __init__(self, model_path=None, flip_tta: bool = True, *, backend: str = "auto",
                 detector: str = "auto", blazeface: str = "full", min_score: float | None = None,
                 detect_side: int = 320, cascade: str = CASCADE, scale_factor: float = 1.2,
                 min_neighbors: int = 3, min_size: float = 0.1):
        from .lite import lite_available

        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        if detector not in DETECTORS:
            raise ValueError(f"unknown detector {detector!r}; use one of {', '.join(DETECTORS)}")
        self.backend = ("lite" if lite_available() else "tensorflow") if backend == "auto" else backend
        if detector == "auto":
            detector = "blazeface+haar" if blazeface_available() else "haar"
        self.detector = detector
        self._blazeface = BlazeFace(blazeface, min_score=min_score) if "blazeface" in detector else None
        self.model_path = Path(model_path) if model_path is not None else SHIPPED_MODEL
        _check_model_file(self.model_path)
        self._model = None  # the Keras model, loaded only when needed (see `model`)
        self.flip_tta = bool(flip_tta)
        self.detect_side = int(detect_side)
        self.cascade_name = cascade
        load_cascade(cascade)  # fail now, not at the first image, if the cascade is missing
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = float(min_size)
        # The LiteRT backend checks the contract on the interpreter: with the conversion
        # cached, neither Keras nor TensorFlow is imported (a second or more saved per start).
        if self.backend == "lite":
            self._forward = self._lite_forward()
            self.input_size = _check_contract(self._forward, self.model_path)
        else:
            self.input_size = _check_contract(self.model, self.model_path)
            self._forward = self._tensorflow_forward()
        probe = self._predict(np.zeros((1, *self.input_size, 1), np.float32))  # also warms the trace up
        if not (np.all(probe >= -1e-6) and abs(float(probe.sum()) - 1.0) < 1e-3):
            raise ValueError(f"the emotion model {self.model_path} does not output probabilities "
                             f"(its last layer should be a softmax)")

    def _lite_forward(self):
        from .lite import LiteClassifier, cached_tflite, tflite_path

        cached = tflite_path(self.model_path)
        if not cached.exists():  # converted once per model file; only this needs the Keras model
            _check_contract(self.model, self.model_path)
            cached = cached_tflite(self.model_path, self.model)
        return LiteClassifier(cached)

    def _tensorflow_forward(self):
        import tensorflow as tf

        model = self.model
        spec = tf.TensorSpec((None, *self.input_size, 1), tf.float32)
        # One trace serves every batch size; about 10x faster than eager at batch 1.
        return tf.function(lambda x: model(x, training=False), input_signature=[spec])

    @property
    def model(self):
        """The Keras model, loaded at first use: the LiteRT backend runs without it."""
        if self._model is None:
            self._model = _load_model(self.model_path)
        return self._model

    @property
    def resolution(self) -> int:
        return self.input_size[0]

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._forward(batch), dtype=np.float64)

    def classify(self, faces) -> np.ndarray:
        """Face crops -> (N, 7) probabilities in `EMOTIONS` order, rows summing to 1.

        `faces` is a list of crops (each gray (H, W) or RGB (H, W, 3), any size), an
        (N, H, W) or (N, H, W, C) array, or one face (a 2-D gray or H x W x 3 RGB array).
        All faces (and, with `flip_tta`, their mirror images) go through the model in one
        call.  Invalid crops raise ValueError.
        """
        if isinstance(faces, np.ndarray) and faces.ndim == 3 and faces.shape[-1] in (3, 4):
            faces = [faces]  # one RGB(A) face, not a stack of 3-pixel-wide gray ones
        from .pipeline import predict_with_flip, preprocess_faces

        x = preprocess_faces(faces, self.resolution)
        if len(x) == 0:
            return np.zeros((0, len(EMOTIONS)))
        probs = predict_with_flip(self._predict, x) if self.flip_tta else self._predict(x)
        return probs / probs.sum(axis=1, keepdims=True)

    def detect(self, image: np.ndarray) -> list[Face]:
        """The faces in an RGB (or gray) image, largest first; Haar's have no score or keypoints."""
        faces = self._blazeface(image) if self._blazeface is not None else []
        if faces or self.detector == "blazeface":
            return faces
        boxes = detect_faces(to_gray(image), cascade=self.cascade_name, scale_factor=self.scale_factor,
                             min_neighbors=self.min_neighbors, min_size=self.min_size,
                             max_side=self.detect_side, equalize=False)
        return [Face(box, None, None) for box in boxes]

    def find_faces(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Faces in an RGB (or gray) image, as full-resolution (x, y, w, h), largest first."""
        return [face.box for face in self.detect(image)]

    def classifier_box(self, face: Face, shape) -> tuple[int, int, int, int]:
        """The (x, y, w, h) crop the classifier sees for ``face``: FER2013's framing, in the image."""
        if face.keypoints is None:
            return face.box  # a Haar box frames a face about as FER2013 does
        return self._blazeface.fer_crop(face, shape)

    def detect_and_classify(self, image: np.ndarray, detect_face: bool = True) -> list[dict]:
        """One record per face, largest first: {"rect": [x, y, w, h], "label": ..., "probs": {...}}.

        `image` is RGB uint8 (H, W, 3) or gray (H, W).  With `detect_face` every face the
        detector finds is classified (none found: []); without it the whole image is one
        face with rect [0, 0, W, H].  See `recognise` for the records.
        """
        gray = to_gray(image)  # checks the image before any detector sees it
        if detect_face:
            faces = self.detect(image)
        else:
            height, width = gray.shape
            faces = [Face((0, 0, width, height), None, None)]
        return self.recognise(gray, faces)

    def recognise(self, image: np.ndarray, faces: list[Face]) -> list[dict]:
        """One record per face of ``faces`` (from `detect`, maybe on another frame of the same size).

        `probs` maps each of `EMOTIONS`, in order, to a Python float; `label` is the most
        probable one.  BlazeFace's records also have "score" and "keypoints"
        ({"right_eye": [x, y], ...}, see `KEYPOINTS`).  All faces go through the model in one batch.
        """
        if not faces:
            return []
        gray = to_gray(image)
        crops = [self.classifier_box(face, gray.shape) for face in faces]
        probs = self.classify([gray[y:y + h, x:x + w] for x, y, w, h in crops])
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
