"""The `dataset` and `crawl` sub-commands of the `toonemo` command line.

`add_commands(subparsers)` registers both on an argparse sub-parsers object; each
sets `func`, which takes the parsed arguments and returns an exit code: 0 success, 1 a
failure while working (a missing source, nothing written, nothing downloaded), 2 a
usage error (argparse, or arguments that contradict each other):

    toonemo crawl --page https://example.org/gallery --out data/raw/emoji --max-pages 5
    toonemo crawl --retry-log data/raw/emoji/download.error.log --out data/raw/emoji
    toonemo crawl --video cartoon.mp4 --every 48 --out data/raw/baby
    toonemo dataset data/raw/emoji data/datasets/emoji --resolution 256 --format zip
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import check_usage, colour, non_negative_int, number, output_error, positive_float, positive_int

SECONDS_MAX = 86400  # --timeout and --delay: a day at most (time.sleep and sockets refuse far larger values)


def _resolution(text: str) -> int:
    """argparse type: a StyleGAN2 resolution (a power of two, at least 4)."""
    from ..datasets.images import check_resolution

    try:
        return check_resolution(int(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


EXIT_STATUS = "exit status: 0 success, 1 a failure while working, 2 a usage error"


def add_commands(subparsers) -> None:
    """Register the `dataset` and `crawl` sub-commands."""
    dataset = subparsers.add_parser(
        "dataset",
        help="curate a folder of images and write a StyleGAN2 training set",
        description="Curate SRC_DIR (drop unreadable, small, duplicate images), make every image a square "
        "RESOLUTION x RESOLUTION RGB image and write NVIDIA TFRecords or a stylegan2-ada zip to OUT_DIR.",
        epilog="exit status: 0 a data set was written, 1 a failure (SRC_DIR missing or empty, no image kept; "
        "an OUT_DIR made by a failed run is removed), 2 a usage error",
    )
    dataset.add_argument("src_dir", metavar="SRC_DIR", help="folder of candidate images (not searched recursively)")
    dataset.add_argument("out_dir", metavar="OUT_DIR", help="folder for the data set, decisions CSV and contact sheet")
    dataset.add_argument("--resolution", type=_resolution, default=256,
                         help="output side, a power of two (default 256)")
    dataset.add_argument("--align", action="store_true", help="align faces FFHQ-style (drops images without a face)")
    dataset.add_argument("--format", dest="fmt", choices=["tfrecords", "zip"], default="tfrecords")
    dataset.add_argument("--background", type=colour, default="white",
                         help="colour behind transparent pixels: a name or #rrggbb (default white)")
    dataset.add_argument("--square", choices=["crop", "pad"], default="crop", help="centre-crop or pad to a square")
    dataset.add_argument("--min-side", type=positive_int, default=None,
                         help="smallest accepted side (default RESOLUTION/2)")
    dataset.add_argument("--max-distance", type=non_negative_int, default=6,
                         help="Hamming distance that counts as a duplicate")
    dataset.add_argument("--name", default=None, help="data set name (default: the name of OUT_DIR)")
    dataset.set_defaults(func=run_dataset)

    crawl = subparsers.add_parser(
        "crawl",
        help="collect candidate images from URLs, web pages or a video",
        description="Download images (checked, hashed, never overwritten) into --out; failures (images, and "
        "pages that could not be fetched) go to download.error.log there, which --retry-log takes back.",
        epilog="exit status: 0 something was collected (some failures are normal when crawling), "
        "1 everything failed or the source is missing, 2 a usage error",
    )
    source = crawl.add_mutually_exclusive_group(required=True)
    source.add_argument("--urls", metavar="FILE", help="text file with one image URL per line")
    source.add_argument("--page", metavar="URL", action="append", help="page whose images to download (repeatable)")
    source.add_argument("--video", metavar="FILE", help="video file whose frames to save")
    source.add_argument("--retry-log", metavar="FILE", help="a download.error.log: retry only its URLs")
    crawl.add_argument("--out", required=True, metavar="DIR", help="folder for the images")
    crawl.add_argument("--every", type=positive_int, default=30,
                       help="with --video: keep every N-th frame (default 30)")
    crawl.add_argument("--max-pages", type=positive_int, default=10,
                       help="with --page: pages to visit in all (default 10)")
    crawl.add_argument("--next-pattern", default=None, help="with --page: regex for next-page links (URL or text)")
    crawl.add_argument("--delay", type=number(float, minimum=0, maximum=SECONDS_MAX), default=1.0,
                       help="seconds between requests to one host (default 1)")
    crawl.add_argument("--timeout", type=number(float, above=0, maximum=SECONDS_MAX), default=30.0,
                       help="seconds per request (default 30)")
    crawl.add_argument("--retries", type=non_negative_int, default=2, help="retries of transient failures (default 2)")
    crawl.add_argument("--max-mb", type=positive_float, default=20.0,
                       help="largest file to download in MB (default 20)")
    crawl.set_defaults(func=run_crawl)


def run_dataset(args: argparse.Namespace) -> int:
    from ..datasets.build import build_dataset

    check_usage("OUT_DIR must differ from SRC_DIR" if Path(args.src_dir).resolve() == Path(args.out_dir).resolve()
                else None, output_error("OUT_DIR", args.out_dir, folder=True))
    summary = build_dataset(
        args.src_dir, args.out_dir, resolution=args.resolution, align=args.align, fmt=args.fmt,
        background=args.background, name=args.name, square=args.square, min_side=args.min_side,
        max_distance=args.max_distance,
    )
    print(summary)
    return 0


def run_crawl(args: argparse.Namespace) -> int:
    from ..datasets import crawl

    fetch = dict(timeout=args.timeout, delay=args.delay, retries=args.retries, max_bytes=int(args.max_mb * 2**20))
    check_usage(output_error("--out", args.out, folder=True))
    if args.video:
        results = crawl.capture_video_frames(args.video, args.out, every=args.every)
    elif args.page:
        results = crawl.crawl_pages(args.page, args.out, max_pages=args.max_pages,
                                    next_pattern=args.next_pattern, **fetch)
    elif args.retry_log:
        results = crawl.retry_error_log(args.retry_log, args.out, max_pages=args.max_pages,
                                        next_pattern=args.next_pattern, **fetch)
    else:
        urls = crawl.read_url_list(args.urls)
        if not urls:
            raise ValueError(f"{args.urls} lists no URL (one per line; # starts a comment)")
        results = crawl.download_images(urls, args.out, **fetch)
    print(results["status"].value_counts().to_string())
    failed = results[results["status"].str.endswith("failed")]
    if len(failed):
        print(f"{len(failed)} failed; see {args.out}/{crawl.ERROR_LOG}" if not args.video else f"{len(failed)} failed")
    # Some failures are normal when crawling; only getting nothing at all is an error.
    return 0 if len(failed) < len(results) or not len(results) else 1
