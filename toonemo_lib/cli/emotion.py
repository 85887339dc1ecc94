"""The `toonemo emotion` command, and `toonemo emotion-train`, the training command of the shipped model.

    toonemo emotion photo.jpg [more.jpg ...] [--whole-image] [--json]
    toonemo emotion-train [--data fer2013.csv] --out runs/shipped [--recipe shipped|resnet|second]
                          [--epochs N] [--learning-rate LR] [--export MODEL.keras]
    toonemo emotion-train --resume runs/shipped [--epochs N]

`emotion-train` switches oneDNN off before TensorFlow loads on AVX-512 CPUs, where it
crashed training these networks (toonemo_lib/cpu.py).

Exit status (both): 0 success, 1 a failure (an image, the model or the data could not be
used), 2 a usage error (argparse).  Nothing heavy is imported at module level: the
`toonemo` command registers this one on every start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Optional

from .options import positive_float, positive_int, run_command

CLI_DESCRIPTION = """\
Recognise the facial expression of every face in each IMAGE with the shipped
mini-Xception model.

Faces are found with BlazeFace, or OpenCV's Haar cascade where BlazeFace finds
none (--detector chooses), and classified largest first; BlazeFace's records also
carry its "score" and six "keypoints" (right_eye, left_eye, nose_tip, mouth,
right_ear, left_ear).  An image
without a detected face gets no records.  With --whole-image each image is taken to be
one face crop and classified whole (its rect is the whole image).  --detect-face, the
default, is accepted for old scripts.

--json prints one JSON list with an entry per image, whatever the number of images:
  [{"image": "photo.jpg",
    "faces": [{"rect": [x, y, w, h], "label": "Happy",
               "probs": {"Angry": 0.01, "Disgust": 0.0, "Fear": 0.02, "Happy": 0.9,
                         "Sad": 0.02, "Surprise": 0.01, "Neutral": 0.04}}]},
   {"image": "missing.jpg", "error": "no such file"}]
probs are probabilities (0..1) in FER2013's order.  Without --json a table is printed.

The model is loaded once for all images.  An image that cannot be read gets an "error"
entry instead of "faces" (a line of the table) and a message on stderr; the others are
still recognised.  Exit status: 0 all images recognised, 1 an image or the model could
not be used, 2 a usage error."""


TRAIN_DESCRIPTION = ("Train an emotion model's recipe (the shipped one by default) on FER2013 (Training split; "
                     "best epoch chosen on PublicTest), into a run folder that the same command resumes.")


def add_commands(subparsers) -> None:
    """Register `toonemo emotion` on an argparse sub-parsers object."""
    emotion = subparsers.add_parser(
        "emotion", help="recognise facial expressions in images",
        description=CLI_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    emotion.add_argument("images", metavar="IMAGE", nargs="+", help="image files (PNG, JPEG, ...)")
    mode = emotion.add_mutually_exclusive_group()
    mode.add_argument("--whole-image", action="store_true",
                      help="classify each image whole, as one face crop, instead of finding faces")
    mode.add_argument("--detect-face", action="store_true",
                      help="find every face (the default; kept for old scripts)")
    emotion.add_argument("--model", default=None, metavar="PATH",
                         help="a Keras emotion model (default: data/models/emotion_mini_xception.keras)")
    emotion.add_argument("--detector", choices=("auto", "blazeface", "haar", "blazeface+haar"), default="auto",
                         help="face detector: BlazeFace (with keypoints), OpenCV's Haar cascade, or the "
                              "cascade where BlazeFace finds none (auto, when BlazeFace is installed)")
    emotion.add_argument("--json", action="store_true", help="print JSON instead of a table")
    emotion.set_defaults(func=run_emotion)
    train = subparsers.add_parser("emotion-train", help="train an emotion recogniser on FER2013 (resumable)",
                                  description=TRAIN_DESCRIPTION,
                                  epilog="exit status: 0 trained, 1 the data or run folder could not be used, 2 a usage error")
    add_train_arguments(train)
    train.set_defaults(func=run_emotion_train)


def _table(results: list[dict]) -> str:
    header = f"{'image':<32} {'rect (x, y, w, h)':<24} {'label':<9} {'p':>6}"
    lines = [header, "-" * len(header)]
    for entry in results:
        name = entry["image"] if len(entry["image"]) <= 32 else "..." + entry["image"][-29:]
        if "error" in entry:
            lines.append(f"{name:<32} error: {entry['error']}")
        elif not entry["faces"]:
            lines.append(f"{name:<32} {'no face found':<24}")
        for face in entry.get("faces", ()):
            rect = "(" + ", ".join(str(v) for v in face["rect"]) + ")"
            lines.append(f"{name:<32} {rect:<24} {face['label']:<9} {face['probs'][face['label']]:>6.3f}")
    return "\n".join(lines)


def _recognise(recognizer, path: str, detect_face: bool) -> dict:
    """The entry of one image: its faces, or the reason it could not be used."""
    from toonemo_lib.images import ImageError, read_image

    try:
        image = read_image(path)
        return {"image": path, "faces": recognizer.detect_and_classify(image, detect_face=detect_face)}
    except ImageError as err:
        return {"image": path, "error": err.reason}
    except ValueError as err:  # e.g. an image too small to be a face crop
        return {"image": path, "error": str(err)}


def _recognise_all(model, paths, detect_face: bool, detector: str = "auto") -> list[dict]:
    """One entry per image; the model loads once.  A model that cannot be used raises."""
    from toonemo_lib.emotion.recognize import EmotionRecognizer

    recognizer = EmotionRecognizer(model, detector=detector)
    return [_recognise(recognizer, str(path), detect_face) for path in paths]


def run_emotion(args: argparse.Namespace) -> int:
    # A model that is missing, not a model or lacks its runtime ends the command (exit 1, one line).
    results = _recognise_all(args.model, args.images, detect_face=not args.whole_image, detector=args.detector)
    for entry in results:
        if "error" in entry:
            print(f"toonemo emotion: error: {entry['image']}: {entry['error']}", file=sys.stderr)
    # one image per line: valid JSON that is still readable in a terminal
    print("[" + ",\n ".join(json.dumps(entry) for entry in results) + "]" if args.json else _table(results))
    return 1 if any("error" in entry for entry in results) else 0


def _first_line(err: Exception) -> str:
    """The first non-empty line of an error's message (FER2013's carries download instructions)."""
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `toonemo emotion-train`."""
    parser.add_argument("--data", default=None,
                        help="FER2013: fer2013.csv, an image-folder root or the npz (default: the copy "
                             "TOONEMO_FER2013 or the cache names)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="a new run folder (the same command again resumes it)")
    where.add_argument("--resume", metavar="RUN_DIR",
                       help="continue the run in RUN_DIR with the recipe its config.json records")
    parser.add_argument("--recipe", choices=("shipped", "resnet", "second"), default="shipped",
                        help="the shipped mini-Xception's recipe, the ResNet candidate's, or the second "
                             "recogniser's (models.RECIPES)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="epochs in all (default: the recipe's)")
    parser.add_argument("--learning-rate", type=positive_float, default=None,
                        help="peak of the cosine schedule (a continued run restarts the cosine from here)")
    parser.add_argument("--export", default=None, help="write the best model and its card here (.keras)")


def run_config(args, prog: str):
    """The run folder and the `TrainConfig` the options ask for (a resumed run's from its config.json)."""
    from pathlib import Path

    from toonemo_lib import runs
    from toonemo_lib.emotion.models import RECIPES, TrainConfig

    if args.resume is not None:
        recorded = runs.read_json(Path(args.resume) / runs.CONFIG)
        if recorded is None:
            raise FileNotFoundError(f"{args.resume} holds no {runs.CONFIG}: not an emotion run folder")
        known = {field.name for field in dataclasses.fields(TrainConfig)}
        recipe = TrainConfig(**{k: v for k, v in recorded.items() if k in known})
        run_dir = args.resume
    else:
        recipe, run_dir = RECIPES[args.recipe], args.out
    config = dataclasses.replace(recipe, epochs=args.epochs or recipe.epochs,
                                 learning_rate=args.learning_rate or recipe.learning_rate)
    return run_dir, config


def run_emotion_train(args: argparse.Namespace, prog: str = "toonemo emotion-train") -> int:
    """Train (or continue) an emotion model's recipe on FER2013; exit 0 trained, 1 the data or run
    folder could not be used."""
    from toonemo_lib.cpu import apply_onednn_setting

    apply_onednn_setting(emotion_training=True)  # before TensorFlow loads (toonemo_lib/cpu.py)
    from toonemo_lib.datasets.fer2013 import load_fer2013, require_fer2013

    try:  # the data and the run folder first: a wrong path fails before TensorFlow loads
        data = load_fer2013(require_fer2013(args.data))
        run_dir, config = run_config(args, prog)
    except (FileNotFoundError, ValueError, TypeError) as err:
        print(f"{prog}: error: {_first_line(err)}", file=sys.stderr)
        return 1

    from toonemo_lib.emotion.card import export_run
    from toonemo_lib.emotion.train import train

    log = train(config, data, run_dir, verbose=1)  # Keras' progress bar per epoch
    print(log.tail())
    if args.export:
        card = export_run(run_dir, data, args.export)
        print(f"exported {args.export}: PublicTest accuracy {card['publictest']['accuracy_flip_tta']:.4f} "
              f"(flip TTA), {card['ms_per_face_batch32']:.3f} ms/face")
    return 0


def train_main(argv: Optional[list] = None) -> int:
    """`toonemo emotion-train` on its own (tests, scripts): parse `argv` and train."""
    parser = argparse.ArgumentParser(prog="toonemo emotion-train", description=TRAIN_DESCRIPTION)
    add_train_arguments(parser)
    return run_command("emotion-train", run_emotion_train, parser.parse_args(argv))
