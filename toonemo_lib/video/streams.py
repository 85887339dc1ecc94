"""Video in and out, one frame at a time: OpenCV reads, the ffmpeg of `imageio-ffmpeg` writes.

    info = video_info("clip.mp4")               # fps, size, frame count, audio or not
    for index, frame in read_frames("clip.mp4"):  # RGB uint8 frames, never the whole video
        ...
    with VideoWriter("out.mp4", info.fps, audio_from="clip.mp4") as writer:
        writer.write(frame)

What the writer chose, and why:
- H.264 (libx264) in MP4 with yuv420p pixels and the index at the front (``+faststart``):
  the one combination every browser, Jupyter and phone plays.  yuv420p needs an even
  width and height, so an odd-sized frame gets one replicated pixel row or column.
- the source's first audio track is copied into the output, re-encoded as AAC (what MP4
  players expect), so a toonified clip keeps its sound;
- the file is written under a hidden temporary name beside the output and renamed over it
  only when complete: a failure never leaves a half-written video where a good one was.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

DEFAULT_FPS = 25.0  # when a camera or a file does not say its frame rate


class VideoError(ValueError):
    """A video that cannot be opened, read or written."""


class VideoWarning(UserWarning):
    """A video that can be read only in part."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video source says about itself."""

    source: str | int
    fps: float
    width: int
    height: int
    frame_count: int | None  # as the container reports it; None for a camera
    has_audio: bool


def ffmpeg_exe() -> str:
    """The ffmpeg binary that the `imageio-ffmpeg` wheel ships."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def has_audio(path) -> bool:
    """Whether a media file has an audio stream (ffmpeg's own listing of the file's streams)."""
    listing = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return re.search(r"Stream #\d+:\d+.*: Audio:", listing.stderr) is not None


def _source(source) -> str | int:
    """A camera index as an int, a file as a checked path string."""
    if isinstance(source, (int, np.integer)) or (isinstance(source, str) and source.isdigit()):
        return int(source)
    path = Path(source).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no video file at {path}")
    return str(path)


def open_capture(source) -> tuple[cv2.VideoCapture, VideoInfo]:
    """An opened `cv2.VideoCapture` of a file or camera index, and its `VideoInfo`."""
    source = _source(source)
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        if isinstance(source, int):
            raise VideoError(f"no camera at index {source}: none is connected, or another program holds "
                             "it (in a notebook or on a server, give a video file instead)")
        raise VideoError(f"OpenCV cannot read the video {source}: not a video, or a codec it lacks")
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    info = VideoInfo(source=source, fps=float(fps) if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FPS,
                     width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                     frame_count=None if isinstance(source, int) or count <= 0 else count,
                     has_audio=False if isinstance(source, int) else has_audio(source))
    return capture, info


def video_info(source) -> VideoInfo:
    """fps, size, frame count and audio of a video file (or camera index)."""
    capture, info = open_capture(source)
    capture.release()
    return info


def read_frames(source, max_frames: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, RGB uint8 frame) for each frame of a video file or camera, one at a time.

    Raises VideoError when the source opens but gives no frame at all (a corrupt file),
    and warns when a file gives fewer frames than its container lists (a truncated one):
    the frames up to the damage are still yielded.
    """
    capture, info = open_capture(source)
    index = 0
    try:
        while max_frames is None or index < max_frames:
            ok, bgr = capture.read()
            if not ok:
                break
            yield index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()
    if index == 0 and max_frames != 0:
        raise VideoError(f"the video {info.source} has no frame OpenCV can decode (empty or corrupt)")
    expected = info.frame_count if max_frames is None else min(max_frames, info.frame_count or max_frames)
    if info.frame_count and index < expected:
        warnings.warn(f"the video {info.source} lists {info.frame_count} frames but only {index} could be "
                      "decoded: the file is truncated or damaged, so the output stops there", VideoWarning)


def _even(frame: np.ndarray) -> np.ndarray:
    """The frame with its last row/column repeated where its height/width is odd (yuv420p)."""
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_h or pad_w:
        frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frame


class VideoWriter:
    """An H.264 MP4 written frame by frame, renamed into place only when complete (see module docstring).

    path        the output .mp4
    fps         frames per second (the source's, to keep its timing)
    audio_from  a media file whose first audio track is copied in (nothing when it has none)
    crf         x264's quality: 18 looks lossless, 23 is its default; lower is larger
    """

    def __init__(self, path, fps: float, *, audio_from=None, crf: int = 20, preset: str = "veryfast"):
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise VideoError(f"the output must be an .mp4 file, not {self.path.name}")
        if not fps > 0:
            raise VideoError(f"fps must be positive, got {fps}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        self.audio_from = str(audio_from) if audio_from is not None and has_audio(audio_from) else None
        self.crf, self.preset = int(crf), preset
        self.partial = self.path.with_name(f".{self.path.stem}.partial.mp4")
        self.frames = 0
        self.size = None  # (width, height), fixed by the first frame
        self._encoder = None

    def _start(self, width: int, height: int):
        import imageio_ffmpeg

        output = ["-preset", self.preset, "-crf", str(self.crf), "-movflags", "+faststart"]
        if self.audio_from:  # the frames from the pipe, the sound from the source
            output += ["-map", "0:v:0", "-map", "1:a:0"]
        encoder = imageio_ffmpeg.write_frames(
            str(self.partial), (width + width % 2, height + height % 2), fps=self.fps, codec="libx264",
            pix_fmt_out="yuv420p", quality=None, macro_block_size=1, ffmpeg_log_level="error",
            output_params=output, audio_path=self.audio_from, audio_codec="aac" if self.audio_from else None)
        encoder.send(None)
        return encoder

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame; every frame must have the first one's size."""
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise VideoError(f"a video frame must be H x W x 3 RGB uint8, got shape {frame.shape} "
                             f"dtype {frame.dtype}")
        height, width = frame.shape[:2]
        if self._encoder is None:
            self.size = (width, height)
            self._encoder = self._start(width, height)
        elif (width, height) != self.size:
            raise VideoError(f"frame {self.frames} is {width}x{height}, the video is {self.size[0]}x{self.size[1]}")
        self._encoder.send(np.ascontiguousarray(_even(frame)))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path."""
        if self._encoder is None:
            raise VideoError(f"no frame was written to {self.path}")
        self._encoder.close()
        self._encoder = None
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        """Stop and remove the partial file; an earlier output at `path` stays as it was."""
        if self._encoder is not None:
            try:
                self._encoder.close()
            except Exception:  # noqa: BLE001 - the encoder may already be broken; the cleanup must go on
                pass
            self._encoder = None
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
