"""The real-time demo of seed 000's first design: camera in, expressions out, a personal emoji over each face.

    toonemo webcam [--camera 0] [--emoji DIR]          # a window; q quits
    toonemo webcam --source clip.mp4 --headless --max-frames 100 --out drawn.mp4

No Toonify here: projecting a face takes seconds, so the seed gave up toonifying in real
time (notebook 06 measures it); the emoji stands in for the toon.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

from .overlay import draw_overlays, emoji_set
from .pipeline import detect_faces, face_rows, recognise_emotions
from .streams import VideoWriter, open_capture, read_frames

WINDOW = "toonemo webcam (q quits)"


def has_display() -> bool:
    """Whether a window can be opened (an X or Wayland display on Linux; assumed elsewhere)."""
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class FpsMeter:
    """Frames per second, smoothed over the last frames (an exponential moving average of frame times)."""

    def __init__(self, smoothing: float = 0.9):
        self.smoothing, self.mean, self.last = smoothing, None, None

    def tick(self) -> float:
        now = time.perf_counter()
        if self.last is not None:
            dt = now - self.last
            self.mean = dt if self.mean is None else self.smoothing * self.mean + (1 - self.smoothing) * dt
        self.last = now
        return 1.0 / self.mean if self.mean else 0.0


def draw_fps(frame: np.ndarray, fps: float) -> np.ndarray:
    """The frame with an "NN fps" tab in its top-left corner."""
    from ..images import draw_label

    return draw_label(frame, f"{fps:.0f} fps", (4, 4 + max(18, frame.shape[0] // 20)), "black")


def run_webcam(source=0, *, emoji="builtin", recognizer=None, detector=None, headless: bool = False,
               max_frames: int | None = None, output=None) -> pd.DataFrame:
    """Camera (or video file) in, each face's expression and emoji drawn, until q or ``max_frames``.

    detector: the `FaceDetector` that finds the faces (default: the recogniser's).  headless:
    no window (tests, notebooks, servers); ``output`` keeps the drawn frames as an .mp4.
    Returns the pipeline's table (one row per frame and face) with the measured frames per
    second in ``attrs["fps"]``.
    """
    import cv2

    if not headless and not has_display():
        raise RuntimeError("no display to open a window on: run with --headless (and --out FILE to keep the video)")
    capture, info = open_capture(source)  # fails now, clearly, when there is no camera
    capture.release()
    if recognizer is None:
        from ..emotion.recognize import EmotionRecognizer

        recognizer = EmotionRecognizer()
    detector = recognizer.detector if detector is None else detector
    emoji = emoji_set(None if emoji == "builtin" else emoji) if emoji is not None else None
    writer = VideoWriter(output, info.fps) if output is not None else None
    meter, rows, fps = FpsMeter(), [], 0.0
    try:
        for index, frame in read_frames(info.source, max_frames):
            records = recognise_emotions(frame, detect_faces(frame, detector), recognizer)
            fps = meter.tick()
            drawn = draw_fps(draw_overlays(frame, records, emoji), fps)
            rows += face_rows(index, info.fps, records, False)
            if writer is not None:
                writer.write(drawn)
            if not headless:
                cv2.imshow(WINDOW, cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    break
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        if not headless:
            cv2.destroyAllWindows()
    if writer is not None:
        writer.close()
    table = pd.DataFrame(rows)
    table.attrs.update(fps=fps, frames=int(table["frame"].nunique()) if len(table) else 0)
    return table
