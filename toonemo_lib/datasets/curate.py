"""Choose the usable images of a folder, and say why every other one was left out.

The capstone's three training sets were chosen by eye.  `curate` makes the routine
part of that choice repeatable: it drops files that do not decode, images that are
too small, near-duplicates (by perceptual hash) and, optionally, images without a
detectable face.  It never deletes or moves anything: the result is a table of
decisions (and, if asked, a contact sheet PNG to check them at a glance).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..faces.detect import largest_face
from ..images import DEFAULT_MAX_PIXELS, ImageError, read_image, to_gray, write_image
from .crawl import CREDITS, ERROR_LOG, IMAGE_SUFFIXES, MANIFEST

DECISION_COLUMNS = ["file", "kept", "reason", "width", "height", "hash"]


# ----------------------------------------------------------------------------
# Perceptual hashes: 64-bit integers that change little when an image is resized,
# recompressed or slightly edited, so that the Hamming distance between two hashes
# measures how different two images look.


def _small_gray(img: np.ndarray, width: int, height: int) -> np.ndarray:
    return cv2.resize(to_gray(img), (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def _bits_to_int(bits: np.ndarray) -> int:
    return int("".join("1" if b else "0" for b in bits.ravel()), 2)


def dhash(img: np.ndarray, size: int = 8) -> int:
    """Difference hash: is each pixel of a (size+1) x size thumbnail brighter than its right neighbour?"""
    small = _small_gray(img, size + 1, size)
    return _bits_to_int(small[:, :-1] > small[:, 1:])


def phash(img: np.ndarray, size: int = 8) -> int:
    """Perceptual hash: signs of the lowest size x size DCT frequencies of a 4x larger thumbnail, against their median."""
    small = _small_gray(img, 4 * size, 4 * size)
    low = cv2.dct(small)[:size, :size]
    return _bits_to_int(low > np.median(low))


HASHES = {"dhash": dhash, "phash": phash}


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits in each uint64 of an array (np.bitwise_count needs NumPy 2)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    return np.unpackbits(words.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


class HashIndex:
    """The hashes of the images kept so far, searched all at once with NumPy."""

    def __init__(self):
        self._codes = np.zeros(64, np.uint64)   # grows by doubling
        self.names: list[str] = []

    def add(self, code: int, name: str) -> None:
        if len(self.names) == len(self._codes):
            self._codes = np.concatenate([self._codes, np.zeros_like(self._codes)])
        self._codes[len(self.names)] = code
        self.names.append(name)

    def nearest(self, code: int) -> tuple[str, int] | None:
        """(name, Hamming distance) of the closest hash, or None while empty."""
        if not self.names:
            return None
        distances = popcount(self._codes[: len(self.names)] ^ np.uint64(code))
        best = int(np.argmin(distances))
        return self.names[best], int(distances[best])


# ----------------------------------------------------------------------------
# The decisions.


def list_files(folder) -> list[Path]:
    """The visible files directly inside `folder`, sorted by name, less the crawler's logs."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    files = sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name not in (ERROR_LOG, MANIFEST, CREDITS)
    )
    if not files:
        raise ValueError(f"the folder {folder} has no files to curate")
    return files


def curate(
    src_dir,
    *,
    min_side: int = 256,
    hash: str = "dhash",
    max_distance: int = 6,
    require_face: bool = False,
    contact_sheet=None,
    background="white",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
) -> pd.DataFrame:
    """Decide, for every file in `src_dir`, whether it is kept and why.

    Checks, in order: a known image extension, decodable (`read_image`), shorter side
    >= `min_side`, not within `max_distance` bits of an image kept before it (files
    are visited in name order, so the first copy is kept), and a Haar-cascade face if
    `require_face`.  Returns a DataFrame with columns file, kept, reason, width,
    height, hash (16 hex digits).  `contact_sheet`, a path, also writes a PNG of the
    kept and rejected images labelled with the reasons.
    """
    if hash not in HASHES:
        raise ValueError(f"hash must be one of {sorted(HASHES)}, got {hash!r}")
    hasher = HASHES[hash]
    rows = []
    thumbs: dict[int, np.ndarray | None] = {}   # only the tiles the sheet will draw
    shown = {True: 0, False: 0}
    kept = HashIndex()
    for path in tqdm(list_files(src_dir), desc="curate", unit="img", disable=not progress):
        row = {"file": str(path), "kept": False, "reason": "", "width": 0, "height": 0, "hash": ""}
        img = _decide(path, row, hasher, min_side, max_distance, require_face, kept,
                      background=background, max_pixels=max_pixels)
        if row["kept"]:
            kept.add(int(row["hash"], 16), path.name)
        if contact_sheet is not None and shown[row["kept"]] < MAX_TILES:
            shown[row["kept"]] += 1
            thumbs[len(rows)] = thumbnail(img) if img is not None else None
        rows.append(row)
    decisions = pd.DataFrame(rows, columns=DECISION_COLUMNS)
    if contact_sheet is not None:
        write_contact_sheet(decisions, thumbs, contact_sheet)
    return decisions


def _decide(path, row, hasher, min_side, max_distance, require_face, kept: HashIndex, **load_kwargs):
    """Fill `row` with the decision for one file; return the decoded image, if any."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        row["reason"] = f"not an image file name ({path.suffix or 'no extension'})"
        return None
    try:
        img = read_image(path, **load_kwargs)
    except ImageError as err:
        row["reason"] = f"unreadable: {err.reason}"
        return None
    row["height"], row["width"] = img.shape[:2]
    if min(img.shape[:2]) < max(min_side, 2):  # a 1-pixel-wide image has no hash either
        row["reason"] = f"too small: {row['width']}x{row['height']}, shorter side < {max(min_side, 2)}"
        return img
    code = hasher(img)
    row["hash"] = f"{code:016x}"
    nearest = kept.nearest(code)
    if nearest is not None and nearest[1] <= max_distance:
        row["reason"] = f"near-duplicate of {nearest[0]} (distance {nearest[1]})"
        return img
    if require_face and largest_face(img) is None:
        row["reason"] = "no face detected"
        return img
    row["kept"], row["reason"] = True, "ok"
    return img


# ----------------------------------------------------------------------------
# The contact sheet.

THUMB = 128          # thumbnail side in pixels
MAX_TILES = 200      # tiles per section (kept / rejected) of the contact sheet
LABEL_LINES = 3      # text lines under each thumbnail
_FONT, _FONT_SCALE, _LINE = cv2.FONT_HERSHEY_SIMPLEX, 0.36, 12
_GREEN, _RED, _INK = (0, 130, 0), (200, 0, 0), (40, 40, 40)


def thumbnail(img: np.ndarray, side: int = THUMB) -> np.ndarray:
    """The image shrunk to fit a side x side square, centred on light gray."""
    h, w = img.shape[:2]
    scale = side / max(h, w)
    small = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    tile = np.full((side, side, 3), 235, np.uint8)
    top, left = (side - small.shape[0]) // 2, (side - small.shape[1]) // 2
    tile[top:top + small.shape[0], left:left + small.shape[1]] = small
    return tile


def _unreadable_tile(side: int = THUMB) -> np.ndarray:
    tile = np.full((side, side, 3), 90, np.uint8)
    cv2.line(tile, (12, 12), (side - 12, side - 12), (200, 200, 200), 3)
    cv2.line(tile, (side - 12, 12), (12, side - 12), (200, 200, 200), 3)
    return tile


def wrap_text(text: str, width: int, lines: int = LABEL_LINES) -> list[str]:
    """Break `text` into at most `lines` lines of at most `width` pixels."""
    out, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if cv2.getTextSize(candidate, _FONT, _FONT_SCALE, 1)[0][0] <= width or not current:
            current = candidate
        else:
            out.append(current)
            current = word
    out.append(current)
    out = [_fit(line, width) for line in out]
    if len(out) > lines:
        out = out[: lines - 1] + [_fit(" ".join(out[lines - 1:]), width)]
    return out


def _fit(line: str, width: int) -> str:
    """Shorten one line with an ellipsis until it fits."""
    while len(line) > 1 and cv2.getTextSize(line, _FONT, _FONT_SCALE, 1)[0][0] > width:
        line = line[:-2] + "~"
    return line


def _tile(thumb, name: str, label: str, color) -> np.ndarray:
    """A thumbnail with the file name and the decision written under it."""
    pad = 4
    tile = np.full((THUMB + (LABEL_LINES + 1) * _LINE + 2 * pad, THUMB + 2 * pad, 3), 255, np.uint8)
    tile[pad:pad + THUMB, pad:pad + THUMB] = thumb if thumb is not None else _unreadable_tile()
    y = pad + THUMB + _LINE
    cv2.putText(tile, _fit(name, THUMB), (pad, y), _FONT, _FONT_SCALE, _INK, 1, cv2.LINE_AA)
    for line in wrap_text(label, THUMB):
        y += _LINE
        cv2.putText(tile, line, (pad, y), _FONT, _FONT_SCALE, color, 1, cv2.LINE_AA)
    return tile


def _label(row) -> str:
    if row["kept"]:
        return f"kept {row['width']}x{row['height']}"
    return row["reason"]


def _grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * h, columns * w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    return grid


def _heading(text: str, width: int, color) -> np.ndarray:
    bar = np.full((30, width, 3), 255, np.uint8)
    cv2.putText(bar, text, (8, 21), _FONT, 0.6, color, 1, cv2.LINE_AA)
    return bar


def write_contact_sheet(decisions: pd.DataFrame, thumbs: dict, path, columns: int = 8) -> Path:
    """Save a PNG with a KEPT and a REJECTED section, each tile labelled with its decision.

    `thumbs[i]` is the thumbnail for row i (None for unreadable files).  At most
    MAX_TILES tiles per section are drawn; the heading says how many were left out.
    """
    sections = []
    tile_width = THUMB + 8
    width = columns * tile_width
    for kept, title, color in ((True, "KEPT", _GREEN), (False, "REJECTED", _RED)):
        index = [i for i, k in enumerate(decisions["kept"]) if bool(k) == kept]
        heading = f"{title} ({len(index)})"
        if len(index) > MAX_TILES:
            heading += f", first {MAX_TILES} shown"
        sections.append(_heading(heading, width, color))
        tiles = [
            _tile(thumbs.get(i), Path(decisions["file"].iloc[i]).name, _label(decisions.iloc[i]), color)
            for i in index[:MAX_TILES]
        ]
        if tiles:
            sections.append(_grid(tiles, columns))
    sheet = np.vstack(sections)
    return write_image(path, sheet)
