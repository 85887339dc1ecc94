"""`toonemo list` and `toonemo run`: the course's notebooks, listed and executed with papermill."""

from __future__ import annotations

from pathlib import Path

from ..config import NOTEBOOKS_DIR, PROFILES, get_profile
from .options import UsageError, check_usage, output_error


def add_commands(commands) -> None:
    """Register `toonemo list` and `toonemo run`."""
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
    run.add_argument("--dry-run", action="store_true",
                     help="gpu only: run on this machine at full resolution, with format-exact stand-ins of the "
                          "downloads and every count cut to the minimum, into OUT/gpu-dry-run/ with a table of "
                          "time and peak memory (see toonemo_lib/dry_run.py)")
    run.set_defaults(func=_cmd_run)


def _cmd_list(args) -> int:
    from ..course import notebook_listing

    print(notebook_listing())
    return 0


def _cmd_run(args) -> int:
    import pandas as pd

    from ..course import find_notebooks, run_course

    try:  # the arguments first: a usage error must not wait for a notebook
        get_profile(args.profile)
    except ValueError as err:  # an unknown profile
        raise UsageError(str(err)) from None
    only = None if args.only is None else [n for n in args.only.split(",") if n.strip()]
    check_usage(f"--only {args.only!r} names no notebook (e.g. --only 01,04)" if only == [] else None,
                "--dry-run is a dry run of the gpu profile: add --profile gpu"
                if args.dry_run and args.profile != "gpu" else None,
                output_error("--out", args.out, folder=True))
    try:
        found = find_notebooks(args.notebooks, only)
    except ValueError as err:  # an unknown notebook number
        raise UsageError(str(err)) from None
    if not found:
        raise FileNotFoundError(f"no NN_*.ipynb notebooks in {args.notebooks}")
    summary = run_course(args.profile, args.out, only, args.notebooks, dry_run=args.dry_run)
    with pd.option_context("display.max_colwidth", 100, "display.width", 200):
        print(summary.to_string(index=False))
    print(f"executed notebooks and HTML in {args.out / ('gpu-dry-run' if args.dry_run else args.profile)}")
    return 0 if (summary["status"] == "ok").all() else 1
