"""The start of every notebook: quiet TensorFlow, the versions that matter, and whether a GPU is there.

Importing this module does not import TensorFlow, so ``quiet_tensorflow()`` can run first.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import platform
import re
import select
import sys
import threading
from ctypes.util import find_library
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Severities, as TF_CPP_MIN_LOG_LEVEL counts them: 0 INFO, 1 WARNING, 2 ERROR, 3 FATAL.
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
# A line of Abseil's C++ log, the format of TensorFlow, XLA and LiteRT (before Abseil is
# initialised the clock reads "00:00:<seconds since 1970>"):
# "I0000 00:00:1796087074.524767    6063 cudart_stub.cc:31] Could not find cuda drivers ..."
_ABSL_LINE = re.compile(rb"^([IWEF])\d{4} \d\d:\d\d:\d+(?:\.\d+)? +\d+ [\w.+-]+:\d+\] ")
# Abseil prints this once per library copy before its first message when nobody called
# absl::InitializeLog() (TensorFlow never does); the messages after it say what matters.
_ABSL_NOTICE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# LiteRT's minimal logger: "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
_LITE_INFO = re.compile(rb"^(?:INFO|VERBOSE): (?:.*TensorFlow Lite|.*LiteRT|TfLite)")
# With no NVIDIA driver, TensorFlow's CUDA build still asks for one and logs this at ERROR level.
_NO_DRIVER_ERROR = b"failed call to cuInit"

_native_filter: "_StderrFilter | None" = None


def min_log_level() -> int:
    """TensorFlow's ``TF_CPP_MIN_LOG_LEVEL`` as a number (0 = show everything)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


@functools.lru_cache(maxsize=None)
def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA driver (Linux, WSL2), i.e. whether CUDA errors mean something."""
    if any(Path(p).exists() for p in ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/dxg")):
        return True
    return find_library("cuda") is not None


def is_noise(line: bytes, level: int | None = None, driver: bool | None = None) -> bool:
    """Whether a line that native code wrote to stderr is start-up noise at log level ``level``.

    Noise: Abseil-format lines below ``level`` (TensorFlow's own filter misses those logged
    before Abseil is initialised, e.g. "Could not find cuda drivers"), Abseil's notice about
    that, LiteRT's INFO lines ("Created TensorFlow Lite XNNPACK delegate"), and the
    "failed call to cuInit" error on a machine that has no NVIDIA driver at all.  Level 0
    (a user who asked for everything) keeps every line.
    """
    level = min_log_level() if level is None else level
    if level <= 0:
        return False
    line = line.rstrip(b"\r\n")
    if line == _ABSL_NOTICE or _LITE_INFO.match(line):
        return True
    match = _ABSL_LINE.match(line)
    if match is None:
        return False
    if _SEVERITY[match.group(1)] < level:
        return True
    if _NO_DRIVER_ERROR in line:
        return not (nvidia_driver_present() if driver is None else driver)
    return False


class _StderrFilter:
    """Native writes to a file descriptor go through a pipe; a thread drops the noise lines.

    Python's own ``sys.stderr`` in a Jupyter kernel does not use the descriptor at all; in a
    terminal program it does, and passes through unchanged.  A partial line is held back
    only while it could still become a noise line, and at most 0.2 s.
    """

    HOLD_SECONDS = 0.2

    def __init__(self, fd: int = 2, noise=is_noise):
        self.fd, self.noise = fd, noise
        self.target = os.dup(fd)  # where the kept output goes: whatever fd pointed at before
        read, write = os.pipe()
        self.pipe_inode = os.fstat(read).st_ino
        os.dup2(write, fd)
        os.close(write)
        self.read = read
        self.stopped = False
        self.thread = threading.Thread(target=self._pump, name="toonemo-stderr-filter", daemon=True)
        self.thread.start()
        atexit.register(self.stop)

    @staticmethod
    def _may_become_noise(partial: bytes) -> bool:
        return partial[:1] in (b"I", b"W", b"E", b"F", b"V") and len(partial) < 4096

    def _write(self, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(self.target, data):]
            except OSError:  # the target is gone (its reader closed): nothing more to do
                return

    def _pump(self) -> None:
        try:
            self._filter_until_closed()
        except Exception:  # never leave writers blocked on a pipe nobody reads
            self._restore()
            raise
        finally:
            os.close(self.read)

    def _filter_until_closed(self) -> None:
        poller = select.poll()  # not select(): it fails on descriptors above 1023
        poller.register(self.read, select.POLLIN)
        pending = b""
        while True:
            if pending and not poller.poll(self.HOLD_SECONDS * 1000):
                self._write(pending)  # a partial line waited long enough: let it through
                pending = b""
                continue
            chunk = os.read(self.read, 65536)
            if not chunk:
                break
            pending += chunk
            cut = max(pending.rfind(b"\n"), pending.rfind(b"\r")) + 1
            complete, pending = pending[:cut], pending[cut:]
            kept = b"".join(line for line in complete.splitlines(keepends=True) if not self.noise(line))
            if pending and not self._may_become_noise(pending):
                kept, pending = kept + pending, b""
            self._write(kept)
        self._write(pending)

    def _restore(self) -> None:
        """Point the descriptor at its old target again, unless someone else re-pointed it meanwhile."""
        try:
            if os.fstat(self.fd).st_ino == self.pipe_inode:
                os.dup2(self.target, self.fd)  # closes our pipe's write end: the thread sees the end
        except OSError:
            pass

    def stop(self) -> None:
        """Send the descriptor straight to its old target again and let the thread drain the pipe."""
        if self.stopped:
            return
        self.stopped = True
        for stream in (sys.stderr, sys.__stderr__):
            try:
                stream.flush()
            except Exception:  # a closed or odd stream at interpreter exit
                pass
        self._restore()
        self.thread.join(timeout=2)
        os.close(self.target)


def quiet_tensorflow(native: bool = True) -> None:
    """Keep TensorFlow's start-up noise out of notebooks and terminals; real warnings still show.

    Call it before TensorFlow is imported (``course.start`` does).  It

    * sets ``TF_CPP_MIN_LOG_LEVEL=2`` (TensorFlow's C++ INFO and WARNING lines off), unless the
      user set it: a user's own value always wins, and ``0`` turns all of this off;
    * drops the INFO records of TensorFlow's Python logger (a SavedModel export or a TFLite
      conversion logs "Assets written to ..."); its warnings and errors still show;
    * with ``native=True`` (POSIX only), filters what native code writes to stderr: the lines
      TensorFlow's own filter misses because they are logged before Abseil is initialised
      ("Could not find cuda drivers", Abseil's "All log messages before absl::InitializeLog()"),
      LiteRT's "Created TensorFlow Lite XNNPACK delegate", and "failed call to cuInit" on a
      machine without an NVIDIA driver (with a driver that error is real and stays).

    ``native=False`` leaves stderr alone: the variable (inherited by child processes such as
    notebook kernels) and the logger filter only.
    Safe to call more than once.
    """
    global _native_filter
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf_logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _TensorFlowInfoFilter) for f in tf_logger.filters):
        tf_logger.addFilter(_TensorFlowInfoFilter())
    if native and _native_filter is None and os.name == "posix" and min_log_level() > 0:
        _native_filter = _StderrFilter(2)


class _TensorFlowInfoFilter(logging.Filter):
    """TensorFlow's Python logger logs at INFO in Jupyter; keep its warnings and errors only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or min_log_level() <= 0


def gpu_devices() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def check_environment(profile: str = "cpu") -> pd.DataFrame:
    """A table of the versions that matter; warns when the ``gpu`` profile runs without a GPU."""
    import cv2
    import keras
    import pandas as pd  # here, not at the top: `toonemo emotion` imports this module for quiet_tensorflow
    import tensorflow as tf

    from . import __version__
    from .config import cache_dir, get_profile

    get_profile(profile)
    gpus = gpu_devices()
    if profile == "gpu" and not gpus:
        print("No GPU is visible. On Colab: Runtime > Change runtime type > GPU, then run the notebook again. "
              "Elsewhere, use PROFILE='cpu'.")
    return pd.DataFrame(
        {
            "python": [platform.python_version()],
            "toonemo": [__version__],
            "tensorflow": [tf.__version__],
            "keras": [keras.__version__],
            "opencv": [cv2.__version__],
            "GPU": [", ".join(gpus) or "none (CPU)"],
            "profile": [profile],
            "cache": [str(cache_dir())],
        }
    ).T.rename(columns={0: ""})
