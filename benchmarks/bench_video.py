"""Time the video pipeline: frames per second, each stage's share, and memory against clip length.

    python benchmarks/bench_video.py [--runs 3] [--seconds 4] [--memory-frames 300 3000] [--quick]

1. (a) expressions only: `process_video` without a toonifier on a 640 x 480 clip at 25 fps
   with one face in every frame (`video.clips.face_clip`): frames per second end to end
   (reading, BlazeFace, the classifier, overlays with emoji, H.264 writing), and of the
   per-frame work alone (detection + recognition + overlay), the median of --runs runs.
   Beside it, the `fer` package's `Video.analyze` on the same clip (frequency 1, its
   annotated video written, no frame JPEGs), in its own environment: fer needs
   opencv-contrib-python, torch and moviepy<2, which clash with the project's packages.
   Set TOONEMO_FER_PYTHON to that environment's python (benchmarks/peer_fer_video.py runs
   there); without it the column is skipped.
2. (b) with Toonify every 10th frame, on the small stand-in generators at 32 x 32 and at
   256 x 256 (untrained: the cost is the same as a trained network of that shape), with
   --steps cold and --warm-steps warm projection steps and the stand-in perceptual distance:
   frames per second and each stage's share (one run each: projections dominate).
3. Peak memory (the process's maximum resident set) of (a) on a --memory-frames[0]-frame
   and a --memory-frames[1]-frame clip, each in a fresh process: streaming keeps it flat.

--quick skips 2 and 3.  No network access.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from toonemo_lib.cpu import describe_cpu  # (the package's TensorFlow settings before TensorFlow loads)
from toonemo_lib.video.clips import face_clip
from toonemo_lib.video.pipeline import process_video, stage_table

WORK_STAGES = ("detect", "recognise", "overlay")


def expressions_only(clip: Path, out: Path, recognizer) -> dict:
    """One run of (a): end-to-end and per-frame-work frames per second, and the stage table."""
    start = time.perf_counter()
    table = process_video(clip, out, recognizer=recognizer, emoji="builtin", progress=False)
    seconds = time.perf_counter() - start
    frames = table.attrs["frames"]
    work = sum(table.attrs["stage_seconds"].get(stage, 0.0) for stage in WORK_STAGES)
    return {"fps": frames / seconds, "work_fps": frames / work, "stages": stage_table(table)}


def fer_video(clip: Path, runs: int):
    """fer's Video.analyze on the clip in its own environment: peer_fer_video.py's JSON, or None."""
    python = os.environ.get("TOONEMO_FER_PYTHON")
    if not python:
        return None
    script = Path(__file__).with_name("peer_fer_video.py")
    done = subprocess.run([python, str(script), str(clip), "--runs", str(runs)], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"fer failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def toonified(clip: Path, out: Path, recognizer, resolution: int, steps: int, warm_steps: int) -> dict:
    """One run of (b) at one generator resolution."""
    from toonemo_lib.stylegan2.blend import blend_generators
    from toonemo_lib.stylegan2.perceptual import perceptual_distance
    from toonemo_lib.toonify.models import small_models
    from toonemo_lib.video.keyframes import VideoToonifier

    models = small_models(resolution)
    toonifier = VideoToonifier(models.texture, blend_generators(models.structure, models.texture, min(32, resolution)),
                               every=10, steps=steps, warm_steps=warm_steps, w_avg_samples=1000,
                               distance=perceptual_distance("stand-in"))
    start = time.perf_counter()
    table = process_video(clip, out, recognizer=recognizer, toonifier=toonifier, emoji="builtin", progress=False)
    seconds = time.perf_counter() - start
    keys = table.attrs["keyframes"].table()
    return {"fps": table.attrs["frames"] / seconds, "stages": stage_table(table),
            "cold_s": float(keys.loc[~keys["warm start"], "seconds"].median()),
            "warm_s": float(keys.loc[keys["warm start"], "seconds"].median()) if keys["warm start"].any() else None}


MEMORY_CHILD = """
import resource, sys
from pathlib import Path
from toonemo_lib.video.clips import face_clip
from toonemo_lib.video.pipeline import process_video
clip, frames = Path(sys.argv[1]), int(sys.argv[2])
face_clip(clip, seconds=frames / 25, fps=25, faceless=())
process_video(clip, clip.with_name("out.mp4"), emoji="builtin", progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_memory_mb(frames: int) -> float:
    """Peak resident memory (MB) of a fresh process that makes a clip of ``frames`` frames and runs (a) on it."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(Path(tmp) / "clip.mp4"), str(frames)],
                              capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of (a); the median is printed")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the 25 fps clip")
    parser.add_argument("--steps", type=int, default=50, help="cold projection steps in (b)")
    parser.add_argument("--warm-steps", type=int, default=10, help="warm projection steps in (b)")
    parser.add_argument("--memory-frames", type=int, nargs=2, default=(300, 3000))
    parser.add_argument("--quick", action="store_true", help="only (a)")
    args = parser.parse_args()
    print(describe_cpu(), flush=True)

    from toonemo_lib.emotion.recognize import EmotionRecognizer

    recognizer = EmotionRecognizer()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        face_clip(clip, seconds=args.seconds, fps=25, faceless=())
        frames = round(args.seconds * 25)
        print(f"clip: {frames} frames, 640x480, 25 fps, one face in every frame\n")

        expressions_only(clip, Path(tmp) / "warm.mp4", recognizer)  # warm-up: conversions, traces, caches
        ours = [expressions_only(clip, Path(tmp) / "a.mp4", recognizer) for _ in range(args.runs)]
        peer = fer_video(clip, args.runs)
        fps = statistics.median(r["fps"] for r in ours)
        work_fps = statistics.median(r["work_fps"] for r in ours)
        print(f"(a) expressions only, median of {args.runs} runs")
        print(f"    end to end (read, detect, recognise, overlay, write): {fps:.1f} frames/s")
        print(f"    per-frame work (detect + recognise + overlay):       {work_fps:.1f} frames/s")
        if peer is None:
            print("    fer Video.analyze: skipped (set TOONEMO_FER_PYTHON to a python with fer)")
        else:
            peer_fps = statistics.median(peer["fps"])
            print(f"    fer {peer['fer']} Video.analyze, same clip: {peer_fps:.1f} frames/s "
                  f"-> toonemo is {fps / peer_fps:.1f}x faster end to end")
        print(ours[len(ours) // 2]["stages"].round(3).to_string(), "\n")

        if args.quick:
            return
        for resolution in (32, 256):
            result = toonified(clip, Path(tmp) / f"b{resolution}.mp4", recognizer, resolution, args.steps,
                               args.warm_steps)
            warm = f"{result['warm_s']:.2f} s" if result["warm_s"] is not None else "-"
            print(f"(b) Toonify every 10th frame, {resolution}x{resolution} stand-ins, {args.steps} cold / "
                  f"{args.warm_steps} warm steps: {result['fps']:.2f} frames/s; a keyframe {result['cold_s']:.2f} s "
                  f"cold, {warm} warm")
            print(result["stages"].round(3).to_string(), "\n")

    small, large = args.memory_frames
    print(f"peak memory of (a): {small} frames {peak_memory_mb(small):.0f} MB, "
          f"{large} frames {peak_memory_mb(large):.0f} MB")


if __name__ == "__main__":
    main()
