"""Does Toonify keep the face, and do the personal emoji read as intended? Two measures of the toon pair's cards.

    python benchmarks/bench_toonify.py [--fer2013 PATH] [--per-class 15] [--photos 10] [--profile cpu]
                                       [--base PKL --toon PKL] [--steps N] [--out DIR]

1. **Toonify keeps the face.** `--per-class` FER2013 PublicTest faces of each of the seven
   classes (105 by default), each enlarged to 96-160 px (bicubic, grey as RGB) and pasted at a
   random place into a 320 x 256 photo of a soft colour gradient. Each photo goes through
   `toonemo toonify`'s path (`toonify.toonifier.Toonifier`: align, project, draw, paste), with
   the pair and the steps of the profile's `ToonifySettings` (or two official pickles). Per
   class: the share whose face the aligner finds, the share whose toonified photo the detector
   finds a face in again where the face was pasted (IoU at least 0.3), and the share whose toon
   the shipped recogniser gives the photo's label (target: at least 40 % overall); beside it,
   the recogniser on the photo itself, the ceiling the toon is measured against.
2. **Expression emoji.** `--photos` PublicTest Neutral faces pasted the same way each get the
   personal emoji set (`toonemo emoji`'s path: `toonify.expressions.personal_emoji_set`, with
   the profile's `EmojiSettings`); the judge, the independent second recogniser
   (`emotion_resnet_32`), reads each of the seven toon faces. Per photo: how many it reads as
   the intended expression (top-1). Target: a median of at least 4 of 7.

No network access; FER2013 is found as the emotion notebooks find it (or give --fer2013).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from toonemo_lib.cpu import describe_cpu  # (the package's TensorFlow settings before TensorFlow loads)
from toonemo_lib.config import EMOTIONS, get_profile
from toonemo_lib.datasets.fer2013 import load_fer2013, require_fer2013
from toonemo_lib.emotion.recognize import SECOND_MODEL, EmotionRecognizer
from toonemo_lib.toonify.expressions import (classify_generated, expression_models, load_or_fit_directions,
                                             personal_emoji_set)
from toonemo_lib.toonify.models import toon_pair
from toonemo_lib.toonify.toonifier import Toonifier

PHOTO_SIZE = (256, 320)  # H, W
MIN_IOU = 0.3


def pasted_photo(face: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A 48x48 grey FER2013 face enlarged and pasted into a gradient photo; (photo, its box x, y, w, h)."""
    import cv2

    height, width = PHOTO_SIZE
    top, bottom = rng.uniform(60, 220, 3), rng.uniform(60, 220, 3)
    ramp = np.linspace(0, 1, height)[:, None, None]
    photo = (top * (1 - ramp) + bottom * ramp) * np.ones((1, width, 1))
    photo = np.clip(photo + rng.normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    side = int(rng.integers(96, 161))
    x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    photo[y:y + side, x:x + side] = np.repeat(big[:, :, None], 3, axis=2)
    return photo, (x, y, side, side)


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / float(aw * ah + bw * bh - w * h)


def label_at(recognizer: EmotionRecognizer, photo: np.ndarray, box) -> str | None:
    """The recogniser's label of the face found where ``box`` is, or None when no face is found there."""
    faces = [face for face in recognizer.detect(photo) if iou(face.box, box) >= MIN_IOU]
    if not faces:
        return None
    return recognizer.recognise(photo, faces[:1])[0]["label"]


def keeps_the_face(faces, labels, toonifier: Toonifier, recognizer: EmotionRecognizer, seed: int) -> pd.DataFrame:
    """One row per photo: its label, what the recogniser says of the photo and of the toon, and where it failed."""
    rng = np.random.default_rng(seed)
    rows = []
    for face, label in tqdm(list(zip(faces, labels)), desc="toonify", unit="photo"):
        photo, box = pasted_photo(face, rng)
        row = {"label": EMOTIONS[label], "photo_label": label_at(recognizer, photo, box), "aligned": True,
               "found_again": False, "toon_label": None}
        try:
            result = toonifier.toonify(photo, progress=False)
        except ValueError:  # the aligner found no face
            row["aligned"] = False
        else:
            row["toon_label"] = label_at(recognizer, result.pasted, box)
            row["found_again"] = row["toon_label"] is not None
        rows.append(row)
    return pd.DataFrame(rows)


def keeps_the_face_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per class and overall: n, the shares aligned, found again, labelled as the photo (toon, and photo)."""
    rows = rows.assign(toon_right=rows["toon_label"] == rows["label"], photo_right=rows["photo_label"] == rows["label"])
    columns = {"aligned": "aligned", "found_again": "found again", "toon_right": "toon keeps the label",
               "photo_right": "recogniser right on the photo"}
    table = rows.groupby("label", sort=False)[list(columns)].mean().reindex(EMOTIONS)
    table.loc["all"] = rows[list(columns)].mean()
    table = table.rename(columns=columns)
    table.insert(0, "n", rows.groupby("label").size().reindex(EMOTIONS).tolist() + [len(rows)])
    return table


def emoji_hits(photos, settings, models, directions, judge, fitted) -> pd.DataFrame:
    """Per photo: how many of the seven toon faces the judge (and the fitting recogniser) read as intended."""
    rows = []
    for i, photo in enumerate(tqdm(photos, desc="emoji sets", unit="photo")):
        emoji = personal_emoji_set(photo, models.base_G, models.toon_G, directions, strength=settings.strength,
                                   steps=settings.projection_steps, size=settings.emoji_size, seed=i, progress=False)
        faces = np.stack([emoji.toon_faces[e] for e in EMOTIONS])
        row = {"photo": i}
        for name, recognizer in (("judge", judge), ("fitting recogniser", fitted)):
            read = np.argmax(classify_generated(faces, recognizer, settings.framing), axis=1)
            row[name] = int((read == np.arange(len(EMOTIONS))).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer2013", help="FER2013 copy (default: where the notebooks find it)")
    parser.add_argument("--per-class", type=int, default=15)
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--profile", default="cpu", help="whose ToonifySettings and EmojiSettings (default: cpu)")
    parser.add_argument("--base", help="the face model's official pickle (with --toon)")
    parser.add_argument("--toon", help="the toon model's official pickle, blended from --base")
    parser.add_argument("--steps", type=int, help="projection steps (default: the profile's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="folder for the per-photo tables (CSV)")
    args = parser.parse_args()
    print(describe_cpu(), flush=True)
    pd.set_option("display.width", 200)

    profile = get_profile(args.profile)
    toonify_settings, emoji_settings = profile.toonify, profile.emoji
    steps = args.steps or toonify_settings.projection_steps
    pair = toon_pair(toonify_settings.use_ffhq, toonify_settings.blend_resolution,
                     toonify_settings.generator_resolution, args.base, args.toon)
    print(f"pair: {pair.description}\nprojection: {steps} steps", flush=True)

    val_faces, val_labels = load_fer2013(require_fer2013(args.fer2013))["val"]
    rng = np.random.default_rng(args.seed)
    chosen = np.concatenate([rng.permutation(np.flatnonzero(val_labels == k))[:args.per_class]
                             for k in range(len(EMOTIONS))])
    toonifier = Toonifier(pair.base_G, pair.toon_G, steps=steps, w_avg_samples=toonify_settings.w_avg_samples,
                          seed=args.seed)
    recognizer = EmotionRecognizer()
    began = time.perf_counter()
    rows = keeps_the_face(val_faces[chosen], val_labels[chosen], toonifier, recognizer, args.seed)
    print(f"\n1. Toonify keeps the face ({len(rows)} PublicTest faces pasted into photos, "
          f"{time.perf_counter() - began:.0f} s):")
    print(keeps_the_face_table(rows).round(3).to_string())

    models = expression_models(emoji_settings, args.base, args.toon)
    directions = load_or_fit_directions(models.base_G, models.directions_file, recognizer,
                                        samples=emoji_settings.samples, layer_samples=emoji_settings.layer_samples)
    neutral = rng.permutation(np.flatnonzero(val_labels == EMOTIONS.index("Neutral")))[:args.photos]
    photos = [pasted_photo(face, rng)[0] for face in val_faces[neutral]]
    began = time.perf_counter()
    hits = emoji_hits(photos, emoji_settings, models, directions, EmotionRecognizer(SECOND_MODEL), recognizer)
    print(f"\n2. Expression emoji ({len(photos)} photos, strength {emoji_settings.strength:g}, "
          f"{time.perf_counter() - began:.0f} s): emoji of 7 read as intended, per photo")
    print(hits.to_string(index=False))
    print(f"median: judge {hits['judge'].median():g} of 7 (target at least 4), "
          f"fitting recogniser {hits['fitting recogniser'].median():g}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        rows.to_csv(args.out / "toonify_keeps_the_face.csv", index=False)
        hits.to_csv(args.out / "toonify_emoji_hits.csv", index=False)
        print(f"wrote the per-photo tables to {args.out}")


if __name__ == "__main__":
    main()
