"""A test clip the project makes itself: a real face moving and growing, with stretches without it.

``face_clip`` pastes the shipped astronaut portrait over a natural scene, moving it across
the frame and zooming it in and out, leaves it out during ``faceless`` stretches, and
adds a quiet tone as the sound track, so the video pipeline can be run and checked
offline against the true face box of every frame.
"""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..faces.quality import ASTRONAUT_FACE, backgrounds
from .streams import VideoWriter


def write_tone(path, seconds: float, rate: int = 16000, hz: float = 440.0) -> Path:
    """A mono 16-bit WAV of a soft sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.2 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return Path(path)


def face_path(t: float, size=(640, 480), sides=(0.6, 0.95)) -> tuple[int, int, int]:
    """Where the portrait is at time ``t`` in [0, 1]: (x, y, side) - a slow figure of eight, zooming.

    ``sides``: the portrait's smallest and largest side, as fractions of the frame's height.
    """
    width, height = size
    small, large = (s * height for s in sides)
    side = round(small + (large - small) * (0.5 - 0.5 * np.cos(2 * np.pi * t)))
    x = round((width - side) * (0.5 + 0.45 * np.sin(2 * np.pi * t)))
    y = round((height - side) * (0.5 + 0.4 * np.sin(4 * np.pi * t)))
    return x, y, side


def face_clip(path, seconds: float = 3.0, fps: float = 25.0, size=(640, 480), faceless=((0.4, 0.6),),
              audio: bool = True) -> pd.DataFrame:
    """Write the clip to ``path`` (.mp4); return its true face box per frame.

    size: (width, height).  faceless: (start, end) stretches, as fractions of the clip, where
    only the scene is shown.  The table has one row per frame: frame, time, face (bool) and
    the face's x, y, w, h (NaN without one).
    """
    from skimage import data

    photo = data.astronaut()  # the shipped sample faces/astronaut.png
    width, height = size
    scene = backgrounds((height, width))[0]
    count = int(round(seconds * fps))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tone = write_tone(Path(tmp) / "tone.wav", seconds) if audio else None
        with VideoWriter(path, fps, audio_from=tone) as writer:
            for i in range(count):
                t = i / count
                frame = scene.copy()
                row = {"frame": i, "time": i / fps, "face": False, "x": np.nan, "y": np.nan, "w": np.nan,
                       "h": np.nan}
                if not any(start <= t < end for start, end in faceless):
                    x, y, side = face_path(t, size)
                    frame[y:y + side, x:x + side] = cv2.resize(photo, (side, side), interpolation=cv2.INTER_AREA)
                    fx, fy, fw, fh = (v * side / photo.shape[0] for v in ASTRONAUT_FACE)
                    row.update(face=True, x=x + fx, y=y + fy, w=fw, h=fh)
                writer.write(frame)
                rows.append(row)
    return pd.DataFrame(rows)
