"""The `toonemo video` and `toonemo webcam` commands.

    toonemo video IN.mp4 OUT.mp4 [--every 10] [--profile smoke|cpu|gpu] [--base PKL --toon PKL]
                  [--no-toonify] [--emoji DIR] [--recognise-on toon|original|both] [--table FILE]
    toonemo webcam [--camera 0 | --source FILE] [--emoji DIR] [--headless --max-frames N] [--out FILE]

Exit status: 0 success, 1 a failure while working (a missing or unreadable video, no
camera, a model that cannot be loaded), 2 a usage error.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..video import RECOGNISE_ON
from .options import (add_model_options, check_usage, model_options_error, non_negative_int, output_error,
                      positive_int, range_error)


def add_commands(subparsers) -> None:
    """Register `toonemo video` and `toonemo webcam`."""
    video = subparsers.add_parser(
        "video", help="toonify faces and recognise expressions in a video file",
        description="Recognise every face's expression in IN and write OUT (.mp4, H.264, the same fps, size, "
                    "frame count and sound), toonifying the largest face every --every frames. Without "
                    "--base/--toon the profile's small stand-in generators are used, as the output says.")
    video.add_argument("input", type=Path, metavar="IN", help="a video file OpenCV can read")
    video.add_argument("output", type=Path, metavar="OUT", help="the .mp4 to write")
    video.add_argument("--every", type=int, default=10, help="a keyframe every this many frames (default: 10)")
    add_model_options(video, "projection steps and stand-in generators")
    video.add_argument("--no-toonify", action="store_true", help="only recognise expressions")
    video.add_argument("--emoji", default=None, help='a folder of seven expression PNGs, or "builtin"')
    video.add_argument("--recognise-on", choices=RECOGNISE_ON, default="toon",
                       help="recognise on the toonified frames (the seed's choice), the originals, or both")
    video.add_argument("--table", type=Path, help="also write the per-frame table (.csv or .parquet)")
    video.add_argument("--cache", type=Path, help="a folder to cache keyframe latents in")
    video.set_defaults(func=_cmd_video)

    webcam = subparsers.add_parser(
        "webcam", help="expressions and emoji on a camera, in real time",
        description="Camera in, each face's expression and emoji drawn, an fps counter; q quits.")
    source = webcam.add_mutually_exclusive_group()
    source.add_argument("--camera", type=non_negative_int, default=0, help="camera index (default: 0)")
    source.add_argument("--source", type=Path, help="a video file instead of a camera")
    webcam.add_argument("--emoji", default="builtin", help='a folder of seven expression PNGs (default: "builtin")')
    webcam.add_argument("--headless", action="store_true", help="no window (with --out to keep the frames)")
    webcam.add_argument("--max-frames", type=positive_int, default=None, help="stop after this many frames")
    webcam.add_argument("--out", type=Path, help="write the drawn frames to this .mp4")
    webcam.set_defaults(func=_cmd_webcam)


def write_table(table, path: Path) -> None:
    """The per-frame table as CSV or Parquet, by the file's suffix, renamed into place when written."""
    part = path.with_name(f".{path.stem}.part{path.suffix}")
    if path.suffix.lower() == ".parquet":
        try:
            table.to_parquet(part)
        except ImportError:
            raise ValueError("writing Parquet needs pyarrow (pip install pyarrow); or give a .csv file") from None
    elif path.suffix.lower() == ".csv":
        table.to_csv(part, index=False)
    else:
        raise ValueError(f"the table must be a .csv or .parquet file, not {path.name}")
    os.replace(part, path)


TABLE_SUFFIXES = (".csv", ".parquet")


def video_usage_errors(args) -> list[str]:
    """What is wrong with `toonemo video`'s options, found before any frame is read."""
    errors = [range_error("--every", args.every, minimum=1), output_error("OUT", args.output, folder=False)]
    if args.output.suffix.lower() != ".mp4":
        errors.append(f"OUT must be an .mp4 file, not {args.output.name}")
    if args.output.resolve() == args.input.resolve():
        errors.append("OUT must differ from IN: the input video would be overwritten")
    errors.append(model_options_error(args))
    if args.table is not None:
        errors.append(output_error("--table", args.table, folder=False))
        if args.table.suffix.lower() not in TABLE_SUFFIXES:
            errors.append(f"--table must be a .csv or .parquet file, not {args.table.name}")
    if args.cache is not None:
        errors.append(output_error("--cache", args.cache, folder=True))
    return [error for error in errors if error]


def _cmd_video(args) -> int:
    check_usage(*video_usage_errors(args))
    from ..video.pipeline import process_video, stage_table

    toonifier = None
    if not args.no_toonify:
        from ..config import get_profile
        from ..video.keyframes import profile_toonifier

        toonifier, said = profile_toonifier(get_profile(args.profile).video, base_pickle=args.base,
                                            toon_pickle=args.toon, every=args.every)
        print(said)
    table = process_video(args.input, args.output, toonifier=toonifier, recognise_on=args.recognise_on,
                          emoji=args.emoji, cache_dir=args.cache)
    if args.table:
        write_table(table, args.table)
    faces = table[table["face"] >= 0]
    print(f"wrote {args.output}: {table.attrs['frames']} frames at {table.attrs['fps']:g} fps, "
          f"{faces['frame'].nunique()} with a face, {int(table['toonified'].sum())} toonified")
    print(stage_table(table).round(3).to_string())
    return 0


def _cmd_webcam(args) -> int:
    if args.out is not None:
        check_usage(output_error("--out", args.out, folder=False),
                    None if args.out.suffix.lower() == ".mp4" else f"--out must be an .mp4 file, not {args.out.name}")
    from ..video.webcam import run_webcam

    source = args.source if args.source is not None else args.camera
    table = run_webcam(source, emoji=args.emoji, headless=args.headless, max_frames=args.max_frames,
                       output=args.out)
    print(f"{table.attrs['frames']} frames, {table.attrs['fps']:.1f} fps")
    return 0
