"""Files that are there but cannot be read: truncated, empty, damaged or of another kind.

One error names such a file (`UnreadableFile`, a ValueError, so every command reports it in
one line); one warning says a damaged file was skipped or a damaged cache is rebuilt
(`UnreadableFileWarning`, which the ``toonemo`` command prints as one line).  Caches go
through `load_or_rebuild`: a cached file that fails to load is deleted and made again once.

    classifier = load_or_rebuild(tflite_path, LiteClassifier, convert, "TFLite cache")
"""

from __future__ import annotations

import pickle
import re
import textwrap
import warnings
import zipfile
import zlib
from pathlib import Path

# What numpy, zipfile, pickle and json raise on a damaged file: a truncated zip is a
# BadZipFile, an empty .npz an EOFError, a missing entry a KeyError, a short array an
# IndexError; OSError covers a file that vanished or is unreadable.
READ_ERRORS = (OSError, ValueError, EOFError, KeyError, IndexError, zipfile.BadZipFile, zlib.error,
               pickle.UnpicklingError)


class UnreadableFile(ValueError):
    """A file that exists but cannot be read; the message names it and says why."""

    def __init__(self, path, reason: str, what: str = "file", message: str | None = None):
        self.path, self.reason = Path(path), reason
        super().__init__(message or f"{path} is not a readable {what} ({reason})")


class UnreadableFileWarning(UserWarning):
    """A damaged file was skipped, or a damaged cache is made again; the message names it."""


def describe(err: BaseException, path=None) -> str:
    """Why a file failed to read, in a few words ('empty file', 'truncated or damaged zip: ...')."""
    if path is not None and Path(path).is_file() and Path(path).stat().st_size == 0:
        return "empty file"
    if isinstance(err, UnreadableFile):
        return err.reason
    if isinstance(err, zipfile.BadZipFile):
        text = f"truncated or damaged zip: {err}"
    elif isinstance(err, EOFError):
        text = f"ends too early: {err}" if str(err) else "ends too early"
    elif isinstance(err, KeyError):
        text = f"no entry {err}"
    elif type(err) is ValueError:  # the plain kind: its message says all
        text = str(err)
    else:
        text = f"{type(err).__name__}: {err}"
    if path is not None:  # the reason goes beside the path: a reader's message need not repeat it
        text = re.sub(re.escape(str(path)) + r"(?::| is)?\s*", "", text)
    # TensorFlow's messages start with "{{function_node ...}}", end with "[Op:...] name:" and
    # may span lines: the first line of what is left, cut at a word
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\].*", "", text)
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return textwrap.shorten(first, 160, placeholder=" ...")


def read_or_report(path, load, what: str = "file"):
    """`load(path)`; a reading error becomes an `UnreadableFile` that names `path`.

    A missing file stays a FileNotFoundError; a reader's message that names the file
    already is kept as it is.
    """
    try:
        return load(path)
    except (UnreadableFile, FileNotFoundError):
        raise
    except READ_ERRORS as err:
        reason = describe(err, path)
        message = str(err) if str(path) in str(err) and "\n" not in str(err) else None
        raise UnreadableFile(path, reason, what, message) from None


def read_cached(path, load, what: str = "cache"):
    """`load(path)`, or None when there is no file there or it cannot be read.

    An unreadable file is deleted (with an `UnreadableFileWarning` naming it), so that the
    caller makes it again as if it had never been there.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return load(path)
    except READ_ERRORS as err:
        warnings.warn(f"the {what} {path} is unreadable ({describe(err, path)}): making it again",
                      UnreadableFileWarning, stacklevel=2)
    path.unlink(missing_ok=True)
    return None


def load_or_rebuild(path, load, build, what: str = "cache"):
    """`load(path)` of a cached file, made first by `build(path)` when missing or unreadable.

    The file is rebuilt once: when the fresh one does not load either, `UnreadableFile`
    names it (the cache cannot be made good by trying again).
    """
    found = read_cached(path, load, what)
    if found is not None:
        return found
    build(path)
    return read_or_report(path, load, what)
