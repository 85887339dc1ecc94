"""Time the emotion recogniser: classification throughput and whole-frame latency.

    python benchmarks/bench_emotion.py [--runs 15] [--model PATH] [--quick]

1. The model call alone at batch 1 and 32: `model.predict`, eager `model(x)`, the
   `tf.function` of the recogniser's "tensorflow" backend and the LiteRT interpreter
   of its default "lite" backend (why that is the default).
2. `EmotionRecognizer.classify` in faces per second (crops of mixed sizes, so the
   preprocessing is included) at batch 1 and 32, with and without flip TTA.
3. `detect_and_classify` in frames per second on a 640 x 480 RGB frame holding one face
   (the shipped astronaut photo, resized to 480 x 480, on a gray background), and
   the same frame (in BGR, as OpenCV-based `fer` expects) through the `fer` package's
   `FER().detect_emotions` when it is
   installed (an optional, benchmark-only dependency), with the speed-up.  The two are
   timed alternately so that other load on the machine hits both alike.
4. Face detection quality and speed of a few settings on 100 frames (640 x 480) each
   holding one real face (scikit-image's bundled LFW subset, 56-180 px, pasted on
   natural backgrounds) and 100 face-free frames (its non-face patches on the same
   backgrounds): faces found, false detections, median ms per frame.  "fer-like" is
   what `fer` does (full resolution, default cascade, step 1.1, 5 neighbours, 50 px).
   --quick skips it.

Every figure is the median of --runs timed runs after a warm-up.  No network access.
"""

import argparse
import logging
import statistics
import time
import warnings

import cv2
import numpy as np

import toonemo_lib  # noqa: F401  (sets TF_ENABLE_ONEDNN_OPTS before TensorFlow loads)
from toonemo_lib.datasets.samples import list_samples, load_sample
from toonemo_lib.emotion.recognize import SHIPPED_MODEL, EmotionRecognizer
from toonemo_lib.images import to_gray


def median_ms(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def test_frame() -> np.ndarray:
    """640 x 480 RGB frame: the astronaut photo (one face) resized to 480 x 480, centred on gray."""
    astronaut = load_sample("faces/astronaut.png")
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[:, 80:560] = cv2.resize(astronaut, (480, 480), interpolation=cv2.INTER_AREA)
    return frame


def face_crops(count: int) -> list[np.ndarray]:
    """`count` RGB face crops of mixed sizes: the astronaut's face and the shipped LFW faces."""
    astronaut = load_sample("faces/astronaut.png")
    crops = [astronaut[60:170, 170:280]] + [load_sample(n) for n in list_samples("faces") if "lfw" in n]
    return [crops[i % len(crops)] for i in range(count)]


def load_fer():
    """fer's FER class, or None when the package is not installed."""
    try:
        from fer import FER
    except ImportError:
        try:
            from fer.fer import FER  # fer 25.x no longer exports FER from the package
        except ImportError:
            return None
    logging.getLogger("fer").setLevel(logging.WARNING)
    return FER


def bench_model_call(recognizer, by_tensorflow, runs):
    import tensorflow as tf

    model, side = recognizer.model, recognizer.resolution
    print("\nmodel call alone (ms, lower is better)")
    print(f"{'batch':>5} {'model.predict':>14} {'eager model(x)':>15} {'tf.function':>12} {'LiteRT':>8}")
    for batch in (1, 32):
        x = np.random.default_rng(0).uniform(-1, 1, (batch, side, side, 1)).astype(np.float32)
        predict = median_ms(lambda: model.predict(x, verbose=0), max(3, runs // 3))
        eager = median_ms(lambda: np.asarray(model(tf.constant(x), training=False)), runs)
        compiled = median_ms(lambda: by_tensorflow._predict(x), runs)
        lite = median_ms(lambda: recognizer._predict(x), runs) if recognizer.backend == "lite" else float("nan")
        print(f"{batch:>5} {predict:>14.2f} {eager:>15.2f} {compiled:>12.2f} {lite:>8.2f}")


def bench_classify(recognizer, runs):
    print("\nEmotionRecognizer.classify (faces per second, higher is better)")
    print(f"{'batch':>5} {'flip TTA':>9} {'ms/call':>8} {'faces/s':>9}")
    for batch in (1, 32):
        crops = face_crops(batch)
        for tta in (False, True):
            recognizer.flip_tta = tta
            ms = median_ms(lambda: recognizer.classify(crops), runs)
            print(f"{batch:>5} {'on' if tta else 'off':>9} {ms:>8.2f} {batch / ms * 1e3:>9.0f}")
    recognizer.flip_tta = True


def bench_frames(recognizer, by_tensorflow, runs):
    frame = test_frame()
    bgr_frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)  # fer reads frames the way cv2.imread gives them
    found = recognizer.detect_and_classify(frame)
    print(f"\n640x480 frame with one face (flip TTA on, {recognizer.backend} backend): toonemo finds "
          f"{len(found)} face(s) {[f['rect'] for f in found]}")
    FER = load_fer()
    detector = None
    if FER is None:
        print("fer not installed: pip install fer")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detector = FER()
            boxes = [list(map(int, f["box"])) for f in detector.detect_emotions(bgr_frame)]
        print(f"fer FER().detect_emotions finds {len(boxes)} face(s) {boxes}")

    ours, no_tta, tensorflow, theirs, ratios = [], [], [], [], []

    def timed(fn, into, image=frame):
        start = time.perf_counter()
        fn(image)
        into.append((time.perf_counter() - start) * 1e3)

    for _ in range(2):  # warm-up
        recognizer.detect_and_classify(frame)
        by_tensorflow.detect_and_classify(frame)
        if detector is not None:
            detector.detect_emotions(bgr_frame)
    for _ in range(runs):
        recognizer.flip_tta = False
        timed(recognizer.detect_and_classify, no_tta)
        recognizer.flip_tta = True
        timed(recognizer.detect_and_classify, ours)
        timed(by_tensorflow.detect_and_classify, tensorflow)
        if detector is not None:
            timed(detector.detect_emotions, theirs, bgr_frame)
            ratios.append(theirs[-1] / ours[-1])
    print(f"{'pipeline':<40} {'ms/frame':>9} {'frames/s':>9}")
    for label, times in [(f"toonemo detect_and_classify ({recognizer.backend})", ours),
                         ("  the same without flip TTA", no_tta),
                         ("  the same on the tensorflow backend", tensorflow),
                         ("fer FER().detect_emotions", theirs)]:
        if times:
            print(f"{label:<40} {statistics.median(times):>9.1f} {1e3 / statistics.median(times):>9.1f}")
    ms, ms_plain = statistics.median(ours), statistics.median(no_tta)
    if detector is not None:
        ms_fer = statistics.median(theirs)
        print(f"speed-up over fer: {ms_fer / ms:.1f}x (ratio of medians), "
              f"{statistics.median(ratios):.1f}x (median of paired runs); "
              f"{ms_fer / ms_plain:.1f}x without flip TTA")


def detection_frames(seed=1):
    """(frame, true box or None) pairs: 100 LFW faces and 100 non-face patches on backgrounds."""
    from skimage import data

    lfw = np.round(data.lfw_subset() * 255).astype(np.uint8)  # 100 faces, then 100 non-faces
    backgrounds = [cv2.resize(to_gray(img), (640, 480))
                   for img in (data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field(),
                               data.coins(), data.brick(), data.grass())]
    rng = np.random.default_rng(seed)
    frames = []
    for i, patch in enumerate(lfw):
        size = (56, 80, 120, 180)[i % 4]
        frame = backgrounds[i % len(backgrounds)].copy()
        x, y = int(rng.integers(0, 640 - size)), int(rng.integers(0, 480 - size))
        frame[y:y + size, x:x + size] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_CUBIC)
        # an LFW crop is a little wider than the face: the face is its central ~80 %
        frames.append((frame, (x + 0.1 * size, y + 0.1 * size, 0.8 * size) if i < 100 else None))
    return frames


def _matches(box, truth) -> bool:
    x, y, w, h = box
    tx, ty, side = truth
    return (abs(x + w / 2 - tx - side / 2) < 0.4 * side and abs(y + h / 2 - ty - side / 2) < 0.4 * side
            and 0.5 < w / side < 2)


def bench_detection(recognizer, runs):
    from toonemo_lib.faces.detect import load_cascade

    fer_like = load_cascade("haarcascade_frontalface_default.xml")
    settings = [
        ("fer-like: full res, default, 1.1, 5", lambda g: [tuple(b) for b in np.reshape(
            fer_like.detectMultiScale(g, scaleFactor=1.1, minNeighbors=5, minSize=(50, 50)), (-1, 4))]),
    ]
    variants = [("320 px, default, 1.1, 5", dict(cascade="haarcascade_frontalface_default.xml",
                                                  scale_factor=1.1, min_neighbors=5)),
                ("320 px, alt2, 1.1, 5", dict(scale_factor=1.1, min_neighbors=5)),
                ("320 px, alt2, 1.2, 3 (toonemo)", {}),
                ("320 px, alt2, 1.25, 3", dict(scale_factor=1.25)),
                ("256 px, alt2, 1.2, 3", dict(detect_side=256, scale_factor=1.2))]
    for label, changes in variants:
        settings.append((label, EmotionRecognizer(recognizer.model_path, **changes).find_faces))
    frames = detection_frames()
    print("\nface detection on 100 frames with one face + 100 without (640x480)")
    print(f"{'setting (side, cascade, step, neighbours)':<42} {'found':>6} {'false':>6} {'ms/frame':>9}")
    for label, find in settings:
        found = false = 0
        times = []
        for frame, truth in frames:
            start = time.perf_counter()
            boxes = find(frame)
            times.append((time.perf_counter() - start) * 1e3)
            hits = [truth is not None and _matches(b, truth) for b in boxes]
            found += any(hits)
            false += hits.count(False)
        print(f"{label:<42} {found:>5}% {false:>6} {statistics.median(times):>9.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per measurement")
    parser.add_argument("--quick", action="store_true", help="skip the detection-quality table")
    parser.add_argument("--model", default=None, help=f"Keras emotion model (default: {SHIPPED_MODEL.name})")
    args = parser.parse_args()
    import tensorflow as tf

    recognizer = EmotionRecognizer(args.model)
    by_tensorflow = EmotionRecognizer(args.model, backend="tensorflow")
    print(f"TensorFlow {tf.__version__}, OpenCV {cv2.__version__}, CPU, model {recognizer.model_path.name} "
          f"(input {recognizer.resolution}x{recognizer.resolution}), {recognizer.backend} backend, "
          f"median of {args.runs} runs")
    bench_model_call(recognizer, by_tensorflow, args.runs)
    bench_classify(recognizer, args.runs)
    bench_frames(recognizer, by_tensorflow, args.runs)
    if not args.quick:
        bench_detection(recognizer, args.runs)


if __name__ == "__main__":
    main()
