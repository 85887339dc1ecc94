"""The ``toonemo`` command: each package registers its own sub-commands here.

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

Nothing heavy is imported here: each sub-command imports what it needs when it runs, so
that ``toonemo emotion`` starts without pandas, papermill or TensorFlow's Keras.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from .cli_options import UsageError, check_usage, output_error, run_command
from .config import NOTEBOOKS_DIR, PROFILES, get_profile
from . import expressions_cli, stylegan2_cli, toonify_cli
from .datasets import cli as datasets_cli
from .emotion import cli as emotion_cli
from .video import cli as video_cli

EPILOG = "exit status: 0 success, 1 a failure while working, 2 a usage error"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toonemo", description="Toonify + emotion recognition, as a course.",
                                     epilog=EPILOG)
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="print the notebook table")
    listing.set_defaults(func=_cmd_list)

    run = commands.add_parser(
        "run", help="execute the notebooks with papermill",
        description="Execute the course's notebooks in order into OUT/PROFILE/ (executed .ipynb, HTML, "
                    "figures); a notebook running longer than a minute prints its elapsed time and section.",
        epilog="exit status: 0 every notebook ran, 1 a notebook failed or the notebook folder is missing, "
               "2 a usage error (unknown profile or notebook number)")
    run.add_argument("--profile", default="cpu", help=f"one of {', '.join(PROFILES)} (default: cpu)")
    run.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 01,04")
    run.add_argument("--out", default="reports", type=Path, help="output folder (default: reports/)")
    run.add_argument("--notebooks", default=NOTEBOOKS_DIR, type=Path, help="folder of the notebooks")
    run.set_defaults(func=_cmd_run)

    datasets_cli.add_commands(commands)  # `toonemo dataset ...` and `toonemo crawl ...`
    emotion_cli.add_commands(commands)  # `toonemo emotion IMAGE ...`
    stylegan2_cli.add_commands(commands)  # `toonemo train --data ... --out ...`
    video_cli.add_commands(commands)  # `toonemo video IN OUT` and `toonemo webcam`
    expressions_cli.add_commands(commands)  # `toonemo emoji PHOTO OUT_DIR`
    toonify_cli.add_commands(commands)  # `toonemo toonify PHOTO OUT.png`
    return parser


def _cmd_list(args) -> int:
    from .course import notebook_listing

    print(notebook_listing())
    return 0


def _cmd_run(args) -> int:
    import pandas as pd

    from .course import find_notebooks, run_course

    try:  # the arguments first: a usage error must not wait for a notebook
        get_profile(args.profile)
    except ValueError as err:  # an unknown profile
        raise UsageError(str(err)) from None
    only = None if args.only is None else [n for n in args.only.split(",") if n.strip()]
    check_usage(f"--only {args.only!r} names no notebook (e.g. --only 01,04)" if only == [] else None,
                output_error("--out", args.out, folder=True))
    try:
        found = find_notebooks(args.notebooks, only)
    except ValueError as err:  # an unknown notebook number
        raise UsageError(str(err)) from None
    if not found:
        raise FileNotFoundError(f"no NN_*.ipynb notebooks in {args.notebooks}")
    summary = run_course(args.profile, args.out, only, args.notebooks)
    with pd.option_context("display.max_colwidth", 100, "display.width", 200):
        print(summary.to_string(index=False))
    print(f"executed notebooks and HTML in {args.out / args.profile}")
    return 0 if (summary["status"] == "ok").all() else 1


def main(argv: Optional[list[str]] = None) -> int:
    """Run one sub-command; returns its exit status (argparse exits with 2 on a usage error).

    `cli_options.run_command` turns how the command ended into its status and one line on
    stderr; Ctrl-C ends it with one line and 130, after its own clean-up (the commands write
    to temporary names and rename when complete)."""
    args = build_parser().parse_args(argv)
    from .environment import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's and LiteRT's native start-up chatter stays off the terminal
    return run_command(args.command, args.func, args)


if __name__ == "__main__":
    sys.exit(main())
