"""Time the emotion recogniser: classification throughput and whole-frame latency.

    python benchmarks/bench_emotion.py [--runs 15] [--model PATH] [--quick]

1. The model call alone at batch 1 and 32: `model.predict`, eager `model(x)`, the
   `tf.function` of the recogniser's "tensorflow" backend and the LiteRT interpreter
   of its default "lite" backend (why that is the default).
2. `EmotionRecognizer.classify` in faces per second (crops of mixed sizes, so the
   preprocessing is included) at batch 1 and 32, with and without flip TTA.
3. `detect_and_classify` on the 30 frames of `faces.quality.drifting_face_frames`
   (640 x 480, the astronaut portrait drifting and growing, its face 55-65 px): faces
   found and ms per frame with the default detector, BlazeFace alone and the Haar
   cascade, on LiteRT and on TensorFlow, and the `fer` package's `FER().detect_emotions` on the same frames (in
   BGR, as OpenCV-based `fer` reads them), with the speed-up and each stage's share.
   `fer` runs in its own environment (it needs opencv-contrib-python, torch and
   moviepy<2): set TOONEMO_FER_PYTHON to that environment's python (benchmarks/peer_fer.py
   runs there); our rounds are timed before and after it, so both meet the same machine.
4. Face detection quality and speed (`faces.quality.detection_table`): recall and false
   detections of toonemo's default (BlazeFace, the cascade where it finds nothing),
   BlazeFace alone (full and short range), toonemo's Haar setting and what
   `fer` does (full resolution, default cascade, step 1.1, 5 neighbours, 50 px), on the
   drifting astronaut, on 100 LFW faces (scikit-image's bundled subset, 56-180 px) and
   500 FER2013 PublicTest faces (64-280 px; when --fer2013 or a found copy is at hand)
   pasted into natural scenes, and on 100 face-free views of the same scenes.
   --quick skips it.

Every figure is the median of --runs timed runs after a warm-up.  No network access.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from toonemo_lib.cpu import describe_cpu  # (the package's TensorFlow settings before TensorFlow loads)
from toonemo_lib.datasets.samples import list_samples, load_sample
from toonemo_lib.emotion.recognize import SHIPPED_MODEL, EmotionRecognizer
from toonemo_lib.faces.quality import (detection_table, drifting_face_frames, faceless_frames, matches,
                                       pasted_face_frames)
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


def face_crops(count: int) -> list[np.ndarray]:
    """`count` RGB face crops of mixed sizes: the astronaut's face and the shipped LFW faces."""
    astronaut = load_sample("faces/astronaut.png")
    crops = [astronaut[60:170, 170:280]] + [load_sample(n) for n in list_samples("faces") if "lfw" in n]
    return [crops[i % len(crops)] for i in range(count)]


def fer_python():
    """The Python that has `fer`: $TOONEMO_FER_PYTHON, or this one when fer is installed here; else None."""
    if os.environ.get("TOONEMO_FER_PYTHON"):
        return os.environ["TOONEMO_FER_PYTHON"]
    return sys.executable if importlib.util.find_spec("fer") else None


def run_fer(frames, runs):
    """fer's detect_emotions on ``frames`` (RGB) in its own process: peer_fer.py's JSON, or None."""
    python = fer_python()
    if python is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.npz"
        np.savez(path, frames=np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames]))  # fer reads BGR
        done = subprocess.run([python, str(Path(__file__).with_name("peer_fer.py")), str(path), "--runs", str(runs)],
                              capture_output=True, text=True)
    if done.returncode:
        print(f"fer peer failed:\n{done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


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


def frame_rounds(fn, frames, runs):
    """The median ms per frame of ``fn`` over ``frames``, for each of ``runs`` rounds."""
    for frame in frames[:2]:
        fn(frame)
    rounds = []
    for _ in range(runs):
        times = []
        for frame in frames:
            start = time.perf_counter()
            fn(frame)
            times.append((time.perf_counter() - start) * 1e3)
        rounds.append(statistics.median(times))
    return rounds


def found_in(boxes_per_frame, pairs) -> int:
    return sum(any(matches(box, truth) for box in boxes) for boxes, (_, truth) in zip(boxes_per_frame, pairs))


def bench_frames(pipelines, runs):
    """detect + classify on the 30 drifting-astronaut frames, against fer on the same frames.

    ``pipelines`` maps a label to a recogniser; the first is timed again after fer.
    """
    pairs = drifting_face_frames()
    frames = [frame for frame, _ in pairs]
    print(f"\n{len(frames)} frames of 640x480, the astronaut drifting and growing (face 55-65 px), "
          f"detect + classify with flip TTA")
    results = {}
    for label, recognizer in pipelines.items():
        found = found_in([[r["rect"] for r in recognizer.detect_and_classify(f)] for f in frames], pairs)
        results[label] = (found, frame_rounds(recognizer.detect_and_classify, frames, runs))
    peer = run_fer(frames, runs)
    main_label = next(iter(pipelines))  # the first pipeline is the one compared with fer
    ours = pipelines[main_label]
    found, rounds = results[main_label]
    again = frame_rounds(ours.detect_and_classify, frames, runs)  # after fer: both see the same machine
    results[main_label] = (found, rounds + again)
    if peer is not None:
        results[f"fer {peer['fer']} FER().detect_emotions"] = (found_in(peer["boxes"], pairs), peer["ms_per_frame"])
    print(f"{'pipeline':<48} {'found':>6} {'ms/frame':>9} {'spread':>13} {'frames/s':>9}")
    for label, (found, rounds) in results.items():
        ms = statistics.median(rounds)
        print(f"{label:<48} {found:>3}/{len(frames)} {ms:>9.2f} {min(rounds):>6.2f}-{max(rounds):<6.2f} {1e3 / ms:>9.1f}")
    detect_ms = statistics.median(frame_rounds(ours.detect, frames, runs))
    total_ms = statistics.median(results[main_label][1])
    print(f"stages of toonemo's frame: detection {detect_ms:.2f} ms ({detect_ms / total_ms:.0%}), gray + crop + "
          f"classify {total_ms - detect_ms:.2f} ms ({1 - detect_ms / total_ms:.0%})")
    if peer is None:
        print("fer not available: set TOONEMO_FER_PYTHON to a Python with `pip install fer` (its own environment)")
    else:
        fer_ms = statistics.median(peer["ms_per_frame"])
        print(f"speed-up over fer: {fer_ms / total_ms:.1f}x (ratio of medians)")


def bench_detection(recognizer, fer2013):
    """Recall, false detections and speed of each detector on faces of known place and on faceless frames."""
    from skimage import data

    from toonemo_lib.faces.blazeface import BlazeFace
    from toonemo_lib.faces.detect import load_cascade
    from toonemo_lib.faces.detector import FaceDetector

    fer_like = load_cascade("haarcascade_frontalface_default.xml")
    full, short = BlazeFace("full"), BlazeFace("short")
    detectors = {
        "toonemo default: BlazeFace full, else Haar": recognizer.find_faces,
        "BlazeFace full": lambda image: [face.box for face in full(image)],
        "BlazeFace short": lambda image: [face.box for face in short(image)],
        "Haar alt2 320 px, 1.2, 3 (toonemo haar)": FaceDetector("haar").find_faces,
        "fer-like Haar: full res, default, 1.1, 5": lambda image: [tuple(b) for b in np.reshape(
            fer_like.detectMultiScale(to_gray(image), scaleFactor=1.1, minNeighbors=5, minSize=(50, 50)), (-1, 4))],
    }
    lfw_faces = np.round(data.lfw_subset()[:100] * 255).astype(np.uint8)  # 25 x 25 gray crops
    frame_sets = {"astronaut drifting": drifting_face_frames(),
                  "LFW faces pasted": pasted_face_frames(lfw_faces, sides=(56, 80, 120, 180))}
    if fer2013 is not None:
        frame_sets["FER2013 PublicTest pasted"] = pasted_face_frames(fer2013[:500])
    frame_sets["no face"] = faceless_frames(100)
    table = detection_table(detectors, frame_sets)
    print("\nface detection on 640x480 frames (found: the true face among the detections; false: any other)")
    with pd.option_context("display.width", 200, "display.max_columns", 10):
        print(table.round(3).to_string())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per measurement")
    parser.add_argument("--quick", action="store_true", help="skip the detection-quality table")
    parser.add_argument("--model", default=None, help=f"Keras emotion model (default: {SHIPPED_MODEL.name})")
    parser.add_argument("--fer2013", default=None, help="FER2013 copy for the pasted-faces set (default: found)")
    args = parser.parse_args()
    import tensorflow as tf

    recognizer = EmotionRecognizer(args.model)
    by_tensorflow = EmotionRecognizer(args.model, backend="tensorflow")
    print(describe_cpu())
    print(f"TensorFlow {tf.__version__}, OpenCV {cv2.__version__}, CPU, model {recognizer.model_path.name} "
          f"(input {recognizer.resolution}x{recognizer.resolution}), {recognizer.backend} backend, "
          f"median of {args.runs} runs")
    bench_model_call(recognizer, by_tensorflow, args.runs)
    bench_classify(recognizer, args.runs)
    pipelines = {"toonemo default (BlazeFace, else Haar; LiteRT)": recognizer,
                 "toonemo (BlazeFace only, LiteRT)": EmotionRecognizer(args.model, detector="blazeface"),
                 "toonemo default on TensorFlow": by_tensorflow,
                 "toonemo (Haar, LiteRT)": EmotionRecognizer(args.model, detector="haar")}
    bench_frames(pipelines, args.runs)
    if not args.quick:
        bench_detection(recognizer, publictest_faces(args.fer2013))


def publictest_faces(path):
    """FER2013 PublicTest faces, or None (with the reason) when no copy is at hand."""
    from toonemo_lib.datasets.fer2013 import load_fer2013, require_fer2013

    try:
        return load_fer2013(require_fer2013(path))["val"][0]
    except FileNotFoundError as err:
        print(f"no FER2013 pasted set: {str(err).splitlines()[0]}")
        return None


if __name__ == "__main__":
    main()
