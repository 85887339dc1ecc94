"""The peer: time the `fer` package's `Video.analyze` on a clip made by bench_video.py.

    PYTHON_WITH_FER benchmarks/peer_fer_video.py CLIP.mp4 --runs 3

Runs in an environment that has `fer` (it needs opencv-contrib-python, torch and
moviepy<2, which clash with the project's own packages).  Analyses every frame
(frequency 1) with fer's default detector, writes its annotated video, saves no frame
JPEGs and zips nothing, as close to toonemo's `process_video` as fer allows.  Prints one
JSON object: frames per second of each run and the rows of fer's table.  No network.
"""

import argparse
import json
import logging
import tempfile
import time
import warnings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", help="the video file")
    parser.add_argument("--runs", type=int, default=3, help="timed runs")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import cv2

    try:
        from fer import FER, Video
    except ImportError:  # fer 25.x no longer exports them from the package
        from fer.classes import Video
        from fer.fer import FER
    import fer

    frames = int(cv2.VideoCapture(args.clip).get(cv2.CAP_PROP_FRAME_COUNT))
    detector = FER()
    fps, rows = [], 0
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as out:
            video = Video(args.clip, outdir=out)
            start = time.perf_counter()
            table = video.analyze(detector, display=False, frequency=1, save_frames=False, save_video=True,
                                  annotate_frames=True, zip_images=False, output="pandas")
            fps.append(frames / (time.perf_counter() - start))
            rows = len(table)
    print(json.dumps({"fer": getattr(fer, "__version__", "?"), "fps": fps, "rows": rows, "frames": frames}))


if __name__ == "__main__":
    main()
