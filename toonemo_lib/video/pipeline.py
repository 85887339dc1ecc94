"""The video pipeline: faces, expressions, Toonify every N-th frame and overlays, one frame at a time.

    table = process_video("in.mp4", "out.mp4")                          # expressions only
    table = process_video("in.mp4", "out.mp4", toonifier=VideoToonifier(base_G, toon_G, every=10))

Each stage is a plain function, usable alone on one frame:

    faces   = detect_faces(frame, recognizer.detector)      # a FaceDetector: BlazeFace boxes and keypoints
    records = recognise_emotions(frame, faces, recognizer)  # {"rect", "label", "probs", ...} per face
    keys    = toonify_keyframes(source, quads, toonifier)   # W+ latents of every N-th frame
    drawn   = draw_overlays(frame, records, emoji)          # label, probability bars and emoji

`process_video` streams the video: frames are read, drawn and written one by one, so its
memory does not grow with the clip's length (the table does, by one row a frame).  With a
toonifier it reads the file three times: faces and quads first (so the quads can be
smoothed over time), then the keyframes to project, then every frame to draw.

The table has one row per frame and face, and one row for a frame without a face: frame,
time (s), face (its number in the frame, largest first; -1 for none), x, y, w, h, score,
keypoints, emotion, the seven probabilities, and toonified.  With ``recognise_on="both"``
the expression on the original frame is in ``emotion_original`` and ``same_on_toon`` says
whether Toonify kept it.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pandas as pd

from ..config import EMOTIONS
from . import RECOGNISE_ON
from .keyframes import VideoToonifier, face_quad, latent_cache, smooth_quads, toonify_keyframes
from .overlay import draw_overlays, emoji_set
from .streams import VideoWriter, read_frames, video_info


__all__ = ["RECOGNISE_ON", "detect_faces", "draw_overlays", "face_rows", "process_video", "recognise_emotions",
           "toonify_keyframes"]


def detect_faces(frame: np.ndarray, detector) -> list:
    """The faces of one RGB frame, largest first.

    ``detector`` is a `faces.detector.FaceDetector` (by default BlazeFace, Haar where it
    finds none), or a recogniser, whose detector is used.
    """
    return getattr(detector, "detector", detector).detect(frame)  # a recogniser: its FaceDetector


def recognise_emotions(frame: np.ndarray, faces: list, recognizer) -> list[dict]:
    """One expression record per face of ``faces`` (found on this frame, or on the original of a toon frame)."""
    return recognizer.recognise(frame, faces)


def face_rows(index: int, fps: float, records: list[dict], toonified: bool,
              original: list[dict] | None = None) -> list[dict]:
    """The table's rows for one frame: one per record, or one face-less row."""
    base = {"frame": index, "time": index / fps}
    if not records:
        row = {**base, "face": -1, "x": np.nan, "y": np.nan, "w": np.nan, "h": np.nan, "score": np.nan,
               "keypoints": None, "emotion": None, **{name: np.nan for name in EMOTIONS}, "toonified": toonified}
        if original is not None:
            row.update(emotion_original=None, same_on_toon=None)
        return [row]
    rows = []
    for number, record in enumerate(records):
        x, y, w, h = record["rect"]
        row = {**base, "face": number, "x": x, "y": y, "w": w, "h": h, "score": record.get("score", np.nan),
               "keypoints": record.get("keypoints"), "emotion": record["label"], **record["probs"],
               "toonified": toonified and number == 0}
        if original is not None:
            row.update(emotion_original=original[number]["label"],
                       same_on_toon=original[number]["label"] == record["label"])
        rows.append(row)
    return rows


class StageClock:
    """Seconds spent per stage, summed over frames."""

    def __init__(self):
        self.seconds = defaultdict(float)

    def __call__(self, stage: str, function, *args, **kwargs):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        self.seconds[stage] += time.perf_counter() - start
        return result


def _find_faces(source, detector, max_frames, clock, progress) -> dict[int, list]:
    """Pass 1 of a toonified run: every frame's faces."""
    from tqdm.auto import tqdm

    return {index: clock("detect", detect_faces, frame, detector)
            for index, frame in tqdm(read_frames(source, max_frames), desc="finding faces", disable=not progress,
                                     leave=False)}


def process_video(source, output=None, *, recognizer=None, detector=None, toonifier: VideoToonifier | None = None,
                  recognise_on: str = "toon", emoji=None, overlay: bool = True, max_frames: int | None = None,
                  cache_dir=None, progress: bool = True) -> pd.DataFrame:
    """Run the pipeline on a video file (or camera index, without a toonifier); see the module docstring.

    output       the .mp4 to write (None: only the table); same fps, size and frame count as
                 the source, with its sound
    recognizer   an `EmotionRecognizer` (default: the shipped model with BlazeFace)
    detector     the `FaceDetector` that finds the faces (default: the recogniser's)
    toonifier    a `VideoToonifier`, or None to leave the faces as they are
    recognise_on "toon" (the seed's choice), "original", or "both"; without a toonifier
                 every frame is an original
    emoji        expression -> RGBA emoji, a folder of them, or None for no emoji ("builtin"
                 for the project's own set)
    overlay      draw boxes, labels and probability bars (else the frames are only toonified)
    cache_dir    where keyframe latents are cached (None: not cached)

    The table's ``attrs`` hold "fps", "frames", "output", "stage_seconds" (detect, toonify,
    render, recognise, overlay, write) and "keyframes" (a `Keyframes`, or None).
    """
    from tqdm.auto import tqdm

    if recognise_on not in RECOGNISE_ON:
        raise ValueError(f"recognise_on must be one of {', '.join(RECOGNISE_ON)}, got {recognise_on!r}")
    info = video_info(source)
    if toonifier is not None and isinstance(info.source, int):
        raise ValueError("toonifying needs a video file: it reads the video three times (a camera cannot rewind)")
    if recognizer is None:
        from ..emotion.recognize import EmotionRecognizer

        recognizer = EmotionRecognizer()
    detector = recognizer.detector if detector is None else detector
    emoji = None if emoji is None else emoji_set(None if emoji == "builtin" else emoji)
    clock = StageClock()
    faces, keys, quads = {}, None, {}
    if toonifier is not None:
        faces = _find_faces(info.source, detector, max_frames, clock, progress)
        quads = smooth_quads({index: face_quad(found[0]) for index, found in faces.items() if found})
        cache = latent_cache(cache_dir, info.source, toonifier) if cache_dir is not None else None
        keys = clock("toonify", toonify_keyframes, info.source, quads, toonifier, cache=cache, progress=progress)

    writer = VideoWriter(output, info.fps, audio_from=None if isinstance(info.source, int) else info.source) \
        if output is not None else None
    rows, frames = [], 0
    try:
        total = info.frame_count if max_frames is None else min(max_frames, info.frame_count or max_frames)
        for index, frame in tqdm(read_frames(info.source, max_frames), total=total, desc="video",
                                 disable=not progress, leave=False):
            found = faces[index] if toonifier is not None else clock("detect", detect_faces, frame, detector)
            latent = keys.latent_at(index, toonifier.interpolate) if keys is not None and index in quads else None
            toon = clock("render", toonifier.render, frame, latent, quads[index]) if latent is not None else frame
            shown = toon if recognise_on != "original" else frame
            records = clock("recognise", recognise_emotions, shown, found, recognizer)
            original = (clock("recognise", recognise_emotions, frame, found, recognizer)
                        if recognise_on == "both" else None)
            rows += face_rows(index, info.fps, records, latent is not None, original)
            drawn = clock("overlay", draw_overlays, toon, records, emoji) if overlay else toon
            if writer is not None:
                clock("write", writer.write, drawn)
            frames = index + 1
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        clock("write", writer.close)
    table = pd.DataFrame(rows)
    table.attrs.update(fps=info.fps, frames=frames, output=None if output is None else str(output),
                       stage_seconds=dict(clock.seconds), keyframes=keys)
    return table


def toon_agreement(table: pd.DataFrame) -> float:
    """The fraction of toonified faces whose expression on the toon equals the one on the original."""
    if "same_on_toon" not in table:
        raise ValueError('the table has no toon-vs-original comparison: run with recognise_on="both"')
    rows = table[table["toonified"] & table["emotion"].notna()]
    return float(rows["same_on_toon"].astype(bool).mean()) if len(rows) else float("nan")


def stage_table(table: pd.DataFrame) -> pd.DataFrame:
    """Milliseconds per frame and share of the time for each stage of a `process_video` run."""
    seconds = pd.Series(table.attrs["stage_seconds"], name="seconds")
    frames = max(1, table.attrs["frames"])
    return pd.DataFrame({"ms/frame": 1e3 * seconds / frames, "share": seconds / seconds.sum()})

