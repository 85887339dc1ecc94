"""From a folder of images to a StyleGAN2 training set: curate -> normalise -> (align) -> write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .curate import curate
from ..images import DEFAULT_MAX_PIXELS, ImageError, read_image
from ..runs import pause_point, staged_outputs
from .images import check_resolution, make_square, resize_square

FORMATS = ("tfrecords", "zip")
# The first words of curate's reasons, used to count rejections by kind.
_REASON_KINDS = r"^(ok|not an image file name|unreadable|too small|near-duplicate|no face detected)"


@dataclass
class BuildSummary:
    """What build_dataset did: one row per source file, counts, and the files written."""

    decisions: pd.DataFrame
    counts: pd.Series
    outputs: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{key:>28}: {value}" for key, value in self.counts.items()]
        lines += [f"{'wrote':>28}: {path}" for path in self.outputs]
        return "\n".join(lines)


def build_dataset(
    src_dir,
    out_dir,
    resolution: int = 256,
    align: bool = False,
    fmt: str = "tfrecords",
    background="white",
    name: str | None = None,
    *,
    square: str = "crop",
    min_side: int | None = None,
    hash: str = "dhash",
    max_distance: int = 6,
    require_face: bool | None = None,
    shuffle: bool = True,
    seed: int = 123,
    contact_sheet: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
) -> BuildSummary:
    """Turn the images in `src_dir` into a `fmt` data set of resolution x resolution RGB images.

    Writes to `out_dir`: NAME-rXX.tfrecords (or NAME.zip), NAME-decisions.csv and
    NAME-contact-sheet.png; NAME defaults to the folder name of `out_dir`.

    `min_side` defaults to resolution // 2, so no image is enlarged more than twice.
    With `align`, faces are aligned FFHQ-style instead of centre-cropped, and images
    without a detectable face are rejected unless `require_face=False`.  `shuffle`
    writes the images in a random (seeded) order, as NVIDIA's tool did, so that a
    reader's bounded shuffle buffer still mixes the whole set.

    The files are written to a staging folder and renamed into `out_dir` when all are
    complete, replacing an earlier build's files whole: a build that fails or is killed
    leaves the earlier data set as it was (and removes the folders it created).
    """
    resolution = check_resolution(resolution)
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    if out_dir.resolve() == src_dir.resolve():
        raise ValueError("out_dir must differ from src_dir: the outputs would be curated on the next run")
    name = name or out_dir.resolve().name
    # Files of an earlier build of this data set that a new build may not overwrite.
    stale = (f"{name}-r??.tfrecords", f"{name}-rxx.labels", f"{name}.zip")
    with staged_outputs(out_dir, stale, label=name) as stage:
        decisions = curate(
            src_dir,
            min_side=resolution // 2 if min_side is None else min_side,
            hash=hash,
            max_distance=max_distance,
            require_face=align if require_face is None else require_face,
            contact_sheet=stage / f"{name}-contact-sheet.png" if contact_sheet else None,
            background=background,
            max_pixels=max_pixels,
            progress=progress,
        )
        decisions["index"] = -1          # position in the written data set
        decisions["align"] = ""          # "eyes" / "face-box" / "none" when align=True
        order = np.flatnonzero(decisions["kept"].to_numpy())
        if not len(order):
            raise ValueError(f"no image in {src_dir} was kept ({_rejections(decisions)}); "
                             f"nothing in {out_dir} was changed")
        if shuffle:
            order = np.random.default_rng(seed).permutation(order)

        images = _prepared_images(decisions, order, resolution, align, square, background, max_pixels)
        images = tqdm(images, total=len(order), desc="write", unit="img", disable=not progress)
        if fmt == "tfrecords":
            from .tfrecords import write_tfrecords  # TensorFlow loads only when writing

            written = write_tfrecords(images, stage, name)
        else:
            from .tfrecords import write_zip

            written = [write_zip(images, stage / f"{name}.zip")]
        decisions.to_csv(stage / f"{name}-decisions.csv", index=False)
    outputs = [out_dir / path.name for path in written]
    return BuildSummary(decisions, count_decisions(decisions, align), outputs)


def _prepared_images(decisions, order, resolution, align, square, background, max_pixels):
    """Yield each kept image ready to write, recording its index (and alignment) in `decisions`."""
    if align:
        from ..faces.align import align_face

    written = 0
    for row in order:
        path = decisions.at[row, "file"]
        try:
            img = read_image(path, background=background, max_pixels=max_pixels)
        except ImageError as err:  # the file changed since curate read it
            decisions.loc[row, ["kept", "reason"]] = [False, f"unreadable: {err.reason}"]
            continue
        if align:
            aligned = align_face(img, resolution, background=background)
            img = aligned.image
            decisions.at[row, "align"] = aligned.method
        else:
            img = resize_square(make_square(img, square, background), resolution)
        decisions.at[row, "index"] = written
        written += 1
        yield img
        pause_point(f"dataset-write:{written}")  # the writer has taken `written` images


def _rejections(decisions: pd.DataFrame) -> str:
    """'3 files: 2 too small, 1 unreadable'."""
    counts = count_decisions(decisions)
    reasons = [f"{n} {key.removeprefix('rejected: ')}" for key, n in counts.items() if key.startswith("rejected")]
    return f"{counts['files']} files: " + ", ".join(reasons)


def count_decisions(decisions: pd.DataFrame, align: bool = False) -> pd.Series:
    """Files seen, images written, rejections by kind (and alignment methods)."""
    kinds = decisions["reason"].str.extract(_REASON_KINDS, expand=False).fillna("other")
    rejected = kinds[~decisions["kept"]].value_counts()
    counts = {"files": len(decisions), "written": int((decisions["index"] >= 0).sum())}
    counts.update({f"rejected: {kind}": int(n) for kind, n in rejected.items()})
    if align:
        methods = decisions.loc[decisions["index"] >= 0, "align"].value_counts()
        counts.update({f"aligned by {method}": int(n) for method, n in methods.items()})
    return pd.Series(counts, dtype="int64")
