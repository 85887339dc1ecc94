"""The LiteRT (TensorFlow Lite) runtime: an interpreter for a ``.tflite`` model, made quietly.

    interpreter = make_interpreter("model.tflite", num_threads=2)   # tensors allocated

The emotion classifier (`emotion.lite`) and BlazeFace (`faces.blazeface`) both run on it,
so it lives on the bottom floor and imports nothing of the package.  The interpreter
comes from ``ai-edge-litert`` (the package TensorFlow now points to) where it is
installed, else from ``tf.lite`` (deprecated there, still present in 2.21).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

# LiteRT's minimal logger: "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
_LITE_INFO = re.compile(r"^(?:INFO|VERBOSE): ")


def interpreter_class():
    """LiteRT's ``Interpreter`` class, or None when neither ai-edge-litert nor tf.lite has one."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        import tensorflow as tf
        return getattr(getattr(tf, "lite", None), "Interpreter", None)


def lite_available() -> bool:
    return interpreter_class() is not None


def one_line(text, width: int = 200) -> str:
    """``text`` on one line, cut at a word boundary to at most ``width`` characters."""
    return textwrap.shorten(str(text), width, placeholder=" ...")


@contextlib.contextmanager
def _without_lite_info():
    """Run the block with file descriptor 2 captured; write back all but LiteRT's INFO lines.

    LiteRT's C++ runtime prints its INFO lines straight to descriptor 2 (``sys.stderr``
    cannot catch them), and no interpreter option or environment variable turns them off.
    Errors and warnings it prints are written back after the block.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a detached process): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _LITE_INFO.match(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def make_interpreter(model, num_threads: int = 1, alternative: str = ""):
    """A LiteRT interpreter for ``model`` (a ``.tflite`` path or its bytes), its tensors allocated.

    LiteRT announces its XNNPACK delegate on stderr at the first allocation of the
    process: allocating here, with that line filtered out, keeps it out of notebooks.
    ``alternative`` is what the error for a missing LiteRT suggests instead.
    """
    interpreter = interpreter_class()
    if interpreter is None:
        raise ImportError("no LiteRT interpreter: pip install ai-edge-litert" + (f", or {alternative}" if alternative else ""))
    source = None if isinstance(model, (bytes, bytearray)) else Path(model)
    content = model if source is None else source.read_bytes()
    where = "" if source is None else f"{source} is "  # a damaged file is named: it may be a cache to delete
    if not content:  # LiteRT's own message would ask for a model_path
        raise ValueError(f"{where}not a TFLite model (empty)")
    with warnings.catch_warnings(), _without_lite_info():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter warns that it moved to ai-edge-litert
        try:
            made = interpreter(model_content=bytes(content), num_threads=num_threads)
            made.allocate_tensors()
        except (ValueError, RuntimeError) as err:  # not a flatbuffer, or one whose tensors do not fit
            raise ValueError(f"{where}not a TFLite model ({one_line(err)})") from None
    return made
