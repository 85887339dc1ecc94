"""The `toonemo emotion` command, and the training command of the shipped model.

    toonemo emotion photo.jpg [more.jpg ...] [--json]
    python -m toonemo_lib.emotion.train --data fer2013.csv --out runs/shipped --export MODEL.keras
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Optional

from toonemo_lib.emotion.recognize import EmotionRecognizer, read_image

CLI_DESCRIPTION = """\
Recognise the facial expression in each IMAGE with the shipped mini-Xception model.

Without --detect-face each image is taken to be a face crop and classified whole (its
rect is the whole image).  With --detect-face every frontal face OpenCV's Haar cascade
finds is classified, largest first; an image without a detected face gets no records.

--json prints one JSON list with an entry per image, whatever the number of images:
  [{"image": "photo.jpg",
    "faces": [{"rect": [x, y, w, h], "label": "Happy",
               "probs": {"Angry": 0.01, "Disgust": 0.0, "Fear": 0.02, "Happy": 0.9,
                         "Sad": 0.02, "Surprise": 0.01, "Neutral": 0.04}}]}]
probs are probabilities (0..1) in FER2013's order.  Without --json a table is printed.
An unreadable image or model is reported on stderr and the exit code is 2."""


def add_commands(subparsers) -> None:
    """Register `toonemo emotion` on an argparse sub-parsers object."""
    emotion = subparsers.add_parser(
        "emotion", help="recognise facial expressions in images",
        description=CLI_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    emotion.add_argument("images", metavar="IMAGE", nargs="+", help="image files (PNG, JPEG, ...)")
    emotion.add_argument("--detect-face", action="store_true",
                         help="find faces with the Haar cascade instead of classifying the whole image")
    emotion.add_argument("--model", default=None, metavar="PATH",
                         help="a Keras emotion model (default: data/models/emotion_mini_xception.keras)")
    emotion.add_argument("--json", action="store_true", help="print JSON instead of a table")
    emotion.set_defaults(func=run_emotion)


def _table(results: list[dict]) -> str:
    header = f"{'image':<32} {'rect (x, y, w, h)':<24} {'label':<9} {'p':>6}"
    lines = [header, "-" * len(header)]
    for entry in results:
        name = entry["image"] if len(entry["image"]) <= 32 else "..." + entry["image"][-29:]
        if not entry["faces"]:
            lines.append(f"{name:<32} {'no face found':<24}")
        for face in entry["faces"]:
            rect = "(" + ", ".join(str(v) for v in face["rect"]) + ")"
            lines.append(f"{name:<32} {rect:<24} {face['label']:<9} {face['probs'][face['label']]:>6.3f}")
    return "\n".join(lines)


def run_emotion(args: argparse.Namespace) -> int:
    try:
        for path in args.images:  # a mistyped name fails at once, before the model loads
            if not Path(path).exists():
                raise FileNotFoundError(f"no such image file: {path}")
        recognizer = EmotionRecognizer(args.model)
        results = [{"image": str(path),
                    "faces": recognizer.detect_and_classify(read_image(path), detect_face=args.detect_face)}
                   for path in args.images]
    except (FileNotFoundError, ValueError) as err:
        print(f"toonemo emotion: {err}", file=sys.stderr)
        return 2
    # one image per line: valid JSON that is still readable in a terminal
    print("[" + ",\n ".join(json.dumps(entry) for entry in results) + "]" if args.json else _table(results))
    return 0


def train_main(argv: Optional[list] = None) -> int:
    """``python -m toonemo_lib.emotion.train --data FER2013 --out runs/shipped [--export MODEL.keras]``."""
    parser = argparse.ArgumentParser(prog="python -m toonemo_lib.emotion.train",
                                     description="Train the shipped emotion model's recipe on FER2013 "
                                                 "(Training split; best epoch chosen on PublicTest).")
    parser.add_argument("--data", required=True, help="fer2013.csv, an image-folder root or the npz")
    parser.add_argument("--out", required=True, help="run folder (run again to resume)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs in all (default: the recipe's)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="peak of the cosine schedule (a continued run restarts the cosine from here)")
    parser.add_argument("--export", default=None, help="write the best model and its card here (.keras)")
    args = parser.parse_args(argv)

    from toonemo_lib.datasets.fer2013 import load_fer2013
    from toonemo_lib.emotion.card import export_run
    from toonemo_lib.emotion.models import SHIPPED_RECIPE
    from toonemo_lib.emotion.train import train

    config = dataclasses.replace(SHIPPED_RECIPE, epochs=args.epochs or SHIPPED_RECIPE.epochs,
                                 learning_rate=args.learning_rate or SHIPPED_RECIPE.learning_rate)
    data = load_fer2013(args.data)
    log = train(config, data, args.out, verbose=2)
    print(log.tail())
    if args.export:
        card = export_run(args.out, data, args.export)
        print(f"exported {args.export}: PublicTest accuracy {card['publictest']['accuracy_flip_tta']:.4f} "
              f"(flip TTA), {card['ms_per_face_batch32']:.3f} ms/face")
    return 0
