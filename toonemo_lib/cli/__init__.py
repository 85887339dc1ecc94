"""The ``toonemo`` command: one module of this package per feature registers its sub-commands.

    toonemo list
    toonemo run [--profile smoke|cpu|gpu] [--only 01,04] [--out reports/]
    toonemo dataset SRC_DIR OUT_DIR --resolution 256 [--align] [--format tfrecords|zip]
    toonemo crawl --urls FILE | --page URL | --video FILE --every N  --out DIR
    toonemo emotion IMAGE [IMAGE ...] [--whole-image] [--json]
    toonemo train --data DATASET --out RUN_DIR [--cfg auto] [--resume PKL] [--kimg N] ...
    toonemo video IN.mp4 OUT.mp4 [--every 10] [--profile smoke|cpu|gpu] [--no-toonify] [--emoji DIR]
    toonemo webcam [--camera 0 | --source FILE] [--emoji DIR] [--headless --max-frames N]
    toonemo emoji PHOTO OUT_DIR [--profile smoke|cpu|gpu] [--base PKL --toon PKL] [--strength S]
    toonemo toonify PHOTO OUT.png [--profile smoke|cpu|gpu] [--base PKL --toon PKL] [--all-faces] ...

Exit status, the same for every sub-command: 0 success; 1 a failure while working (a
missing or unreadable input, a failed notebook, nothing written or downloaded, a model
that cannot be loaded); 2 a usage error (an unknown option or sub-command, a missing or
malformed argument, a value outside its allowed set), reported before any work starts.
Ctrl-C ends any of them with one line and status 130.

Each module reads the typed settings of its feature (`config.VideoSettings` ...), checks its
arguments before any work, and leaves the exit status to `options.run_command`.  Nothing heavy
is imported at the top of a module: each sub-command imports what it needs when it runs, so
that ``toonemo emotion`` starts without pandas, papermill or TensorFlow's Keras.
"""

from __future__ import annotations

import argparse
from typing import Optional

from . import course, datasets, emoji, emotion, toonify, train, video
from .options import run_command

EPILOG = "exit status: 0 success, 1 a failure while working, 2 a usage error"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toonemo", description="Toonify + emotion recognition, as a course.",
                                     epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", required=True)
    course.add_commands(commands)  # `toonemo list` and `toonemo run`
    datasets.add_commands(commands)  # `toonemo dataset ...` and `toonemo crawl ...`
    emotion.add_commands(commands)  # `toonemo emotion IMAGE ...` and `toonemo emotion-train`
    train.add_commands(commands)  # `toonemo train --data ... --out ...`
    video.add_commands(commands)  # `toonemo video IN OUT` and `toonemo webcam`
    emoji.add_commands(commands)  # `toonemo emoji PHOTO OUT_DIR`
    toonify.add_commands(commands)  # `toonemo toonify PHOTO OUT.png`
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Run one sub-command; returns its exit status (argparse exits with 2 on a usage error).

    `options.run_command` turns how the command ended into its status and one line on
    stderr; Ctrl-C ends it with one line and 130, after its own clean-up (the commands write
    to temporary names and rename when complete)."""
    args = build_parser().parse_args(argv)
    from ..environment import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's and LiteRT's native start-up chatter stays off the terminal
    return run_command(args.command, args.func, args)
