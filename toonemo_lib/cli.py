"""The ``toonemo`` command: each package registers its own sub-commands here.

    toonemo list
    toonemo run [--profile smoke|cpu|gpu] [--only 01,04] [--out reports/]
    toonemo dataset SRC_DIR OUT_DIR --resolution 256 [--align] [--format tfrecords|zip]
    toonemo crawl --urls FILE | --page URL | --video FILE --every N  --out DIR
    toonemo emotion IMAGE [IMAGE ...] [--json]

Exit status: 0 success, 1 a failure while working, 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

import pandas as pd

from .config import NOTEBOOKS_DIR, PROFILES, get_profile
from .course import notebook_table, run_course
from .datasets import cli as datasets_cli
from .emotion import cli as emotion_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toonemo", description="Toonify + emotion recognition, as a course.")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="print the notebook table")
    listing.set_defaults(func=_cmd_list)

    run = commands.add_parser("run", help="execute the notebooks with papermill")
    run.add_argument("--profile", default="cpu", help=f"one of {', '.join(PROFILES)} (default: cpu)")
    run.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 01,04")
    run.add_argument("--out", default="reports", type=Path, help="output folder (default: reports/)")
    run.add_argument("--notebooks", default=NOTEBOOKS_DIR, type=Path, help="folder of the notebooks")
    run.set_defaults(func=_cmd_run)

    datasets_cli.add_commands(commands)  # `toonemo dataset ...` and `toonemo crawl ...`
    emotion_cli.add_commands(commands)  # `toonemo emotion IMAGE ...`
    return parser


def _cmd_list(args) -> int:
    with pd.option_context("display.max_colwidth", 70, "display.width", 200):
        print(notebook_table().to_string(index=False))
    return 0


def _cmd_run(args) -> int:
    try:
        get_profile(args.profile)
        only = args.only.split(",") if args.only else None
        summary = run_course(args.profile, args.out, only, args.notebooks)
    except (ValueError, FileNotFoundError) as err:
        print(f"toonemo run: {err}", file=sys.stderr)
        return 2
    with pd.option_context("display.max_colwidth", 100, "display.width", 200):
        print(summary.to_string(index=False))
    print(f"executed notebooks and HTML in {args.out / args.profile}")
    return 0 if (summary["status"] == "ok").all() else 1


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)



if __name__ == "__main__":
    sys.exit(main())
