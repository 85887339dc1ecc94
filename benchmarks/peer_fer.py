"""The peer: time the `fer` package's `FER().detect_emotions` on frames saved by bench_emotion.py.

    PYTHON_WITH_FER benchmarks/peer_fer.py FRAMES.npz --runs 5

Runs in an environment that has `fer` (it needs opencv-contrib-python, torch and
moviepy<2, which clash with the project's own packages).  FRAMES.npz holds `frames`,
an (N, H, W, 3) uint8 array in BGR order, as OpenCV-based `fer` reads frames.  Prints
one JSON object: the median ms per frame of each round, and the boxes found in each
frame of the last round.  Uses no network.
"""

import argparse
import json
import logging
import statistics
import time
import warnings

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames", help="npz with an (N, H, W, 3) uint8 BGR array 'frames'")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds over all frames")
    args = parser.parse_args()
    frames = np.load(args.frames)["frames"]
    warnings.simplefilter("ignore")
    logging.getLogger("fer").setLevel(logging.WARNING)
    try:
        from fer import FER
    except ImportError:
        from fer.fer import FER  # fer 25.x no longer exports FER from the package
    detector = FER()
    detector.detect_emotions(frames[0])  # warm-up: the model's first call builds it
    rounds, boxes = [], []
    for _ in range(args.runs):
        times, boxes = [], []
        for frame in frames:
            start = time.perf_counter()
            found = detector.detect_emotions(frame)
            times.append((time.perf_counter() - start) * 1e3)
            boxes.append([[int(v) for v in face["box"]] for face in found])
        rounds.append(statistics.median(times))
    import fer
    print(json.dumps({"fer": getattr(fer, "__version__", "?"), "ms_per_frame": rounds, "boxes": boxes}))


if __name__ == "__main__":
    main()
