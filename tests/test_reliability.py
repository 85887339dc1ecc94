"""Every numeric option of every command is finite and in range, checked before any work.

A bad value (nan, inf, -inf, a negative or zero where none is allowed, a value past its limit)
is a usage error: exit status 2, one ``... error: ...`` line on stderr naming the option, no
traceback, and nothing written: no output file or folder is created.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toonemo_lib import cli
from toonemo_lib.cli import options as cli_options
from toonemo_lib.cli.options import finite_float, number, output_error, positive_float, positive_int, range_error
from toonemo_lib.cli import emotion as emotion_cli
from toonemo_lib.images import write_image
from toonemo_lib.runs import PAUSE_ENV
from toonemo_lib.stylegan2.dataset import load_training_images
from toonemo_lib.video.streams import VideoWriter, video_info


def _base(command, tmp):
    """A command line that would do work (or fail for want of input) but for the bad option, and
    the paths it would create."""
    if command == "train":
        return ["train", "--data", str(tmp / "data.zip"), "--out", str(tmp / "run")], [tmp / "run"]
    if command == "crawl":
        return ["crawl", "--video", str(tmp / "clip.mp4"), "--out", str(tmp / "raw")], [tmp / "raw"]
    if command == "dataset":
        return ["dataset", str(tmp / "src"), str(tmp / "set")], [tmp / "set"]
    if command == "emoji":
        return ["emoji", str(tmp / "photo.png"), str(tmp / "emoji"), "--profile", "smoke"], [tmp / "emoji"]
    if command == "toonify":
        return ["toonify", str(tmp / "photo.png"), str(tmp / "toon.png"), "--profile", "smoke"], [tmp / "toon.png"]
    if command == "video":
        return ["video", str(tmp / "in.mp4"), str(tmp / "out.mp4"), "--no-toonify"], [tmp / "out.mp4"]
    if command == "webcam":
        return ["webcam", "--headless", "--out", str(tmp / "cam.mp4")], [tmp / "cam.mp4"]
    if command == "emotion-train":  # python -m toonemo_lib.emotion.train
        return ["--data", str(tmp / "fer2013.csv"), "--out", str(tmp / "emotion_run")], [tmp / "emotion_run"]
    raise ValueError(command)


NON_FINITE = ("nan", "inf", "-inf")
BAD = {  # command: {option: bad values}
    "train": {"--kimg": (*NON_FINITE, "0", "-1"), "--tick-kimg": (*NON_FINITE, "0", "-4"),
              "--snap": ("0", "-1", "nan"), "--batch": ("0", "-8", "inf"), "--gamma": (*NON_FINITE, "-1"),
              "--p": (*NON_FINITE, "-0.1", "1.5"), "--freezed": ("-1", "nan"), "--seed": ("-1", str(2**32), "nan"),
              "--keep-last": ("-1", "inf"), "--keep": ("nan", "inf", "-1", "4,x")},
    "crawl": {"--every": ("0", "-1", "nan"), "--max-pages": ("0", "inf"), "--delay": (*NON_FINITE, "-1", "1e9"),
              "--timeout": (*NON_FINITE, "0", "-1", "1e12"), "--retries": ("-1", "nan"),
              "--max-mb": (*NON_FINITE, "0", "-1")},
    "dataset": {"--resolution": ("nan", "0", "100"), "--min-side": ("0", "-1", "nan"),
                "--max-distance": ("-1", "inf")},
    "emoji": {"--strength": (*NON_FINITE, "1e9", "-1e9")},
    "toonify": {"--steps": ("0", "-1", "nan"), "--blend-resolution": ("0", "12", "nan")},
    "video": {"--every": ("0", "-1", "nan")},
    "webcam": {"--camera": ("-1", "nan"), "--max-frames": ("0", "-1", "inf")},
    "emotion-train": {"--epochs": ("0", "-1", "nan"), "--learning-rate": (*NON_FINITE, "0", "-0.1")},
}
CASES = [(command, option, value) for command, options in BAD.items()
         for option, values in options.items() for value in values]


def _exit_status(command, argv):
    """The exit status of one in-process run, whether argparse exits or the command returns."""
    try:
        return emotion_cli.train_main(argv) if command == "emotion-train" else cli.main(argv)
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize("command, option, value", CASES, ids=[f"{c} {o}={v}" for c, o, v in CASES])
def test_a_bad_numeric_option_is_a_usage_error_before_any_work(command, option, value, tmp_path, capsys):
    argv, outputs = _base(command, tmp_path)
    status = _exit_status(command, [*argv, f"{option}={value}"])  # --opt=VALUE: argparse takes "-inf" too
    err = capsys.readouterr().err
    assert status == 2, f"exit {status}: {err}"
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and option in lines[0], err
    assert "Traceback" not in err
    assert not any(path.exists() for path in outputs), [p for p in outputs if p.exists()]


@pytest.mark.parametrize("command, option", [("train", "--kimg"), ("crawl", "--max-mb"), ("emoji", "--strength")])
def test_a_negative_infinity_after_a_space_is_a_usage_error_too(command, option, tmp_path, capsys):
    """``--opt -inf`` looks like an option to argparse: still exit 2, with the option named."""
    argv, outputs = _base(command, tmp_path)
    assert _exit_status(command, [*argv, option, "-inf"]) == 2
    assert option in capsys.readouterr().err
    assert not any(path.exists() for path in outputs)


def test_the_console_command_says_one_line_and_no_traceback(tmp_path):
    """The brief's case: `toonemo emoji --strength nan` wrote seven black PNGs with exit 0."""
    done = subprocess.run([sys.executable, "-m", "toonemo_lib.cli", "emoji", str(tmp_path / "photo.png"),
                           str(tmp_path / "out"), "--strength", "nan"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("toonemo emoji: error: argument --strength:")
    assert not (tmp_path / "out").exists()


def test_valid_values_parse_as_before():
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--data", "d.zip", "--out", "r", "--kimg", "0.064", "--tick-kimg", "0.016",
                              "--snap", "1", "--batch", "8", "--gamma", "0", "--aug", "fixed", "--p", "1",
                              "--freezed", "0", "--seed", "2020", "--keep-last", "0", "--keep", "12,16"])
    assert (args.kimg, args.tick_kimg, args.gamma, args.p, args.seed) == (0.064, 0.016, 0.0, 1.0, 2020)
    from toonemo_lib.cli.train import _usage_errors

    args.metrics = "none"
    assert _usage_errors(args) == [] and args.keep == [12.0, 16.0]
    args = parser.parse_args(["crawl", "--page", "http://x", "--out", "o", "--delay", "0", "--timeout", "2.5",
                              "--max-mb", "0.5", "--retries", "0", "--max-pages", "3"])
    assert (args.delay, args.timeout, args.max_mb, args.retries, args.max_pages) == (0.0, 2.5, 0.5, 0, 3)
    args = parser.parse_args(["emoji", "p.png", "out", "--strength", "-2.5"])
    assert args.strength == -2.5
    assert parser.parse_args(["emoji", "p.png", "out", "--strength", "0"]).strength == 0.0
    args = parser.parse_args(["webcam", "--camera", "0", "--max-frames", "1"])
    assert (args.camera, args.max_frames) == (0, 1)


def test_the_shared_rules():
    import argparse

    assert finite_float("1e-3") == 0.001 and positive_int("7") == 7 and positive_float("0.5") == 0.5
    for parse, text in [(finite_float, "nan"), (finite_float, "-inf"), (finite_float, "1e400"),
                        (positive_float, "0"), (positive_int, "1.5"), (positive_int, "0"),
                        (number(float, minimum=0, maximum=1), "1.01")]:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)
    assert range_error("--x", None, above=0) is None and range_error("--x", 3, minimum=1) is None
    assert range_error("--x", float("nan"), above=0) == "--x must be a finite number, got nan"
    assert range_error("--x", 0.0, above=0) == "--x must be greater than 0, got 0"
    assert range_error("--x", 5, minimum=0, maximum=4) == "--x must be between 0 and 4, got 5"


def test_a_colour_that_is_not_one_is_a_usage_error_before_any_work(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["dataset", str(src), str(tmp_path / "out"), "--background", "notacolour"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--background" in err and "not a colour" in err and not (tmp_path / "out").exists()


def test_empty_selections_are_errors_not_silent_successes(tmp_path, capsys):
    urls = tmp_path / "urls.txt"
    urls.write_text("# nothing yet\n\n")
    assert cli.main(["crawl", "--urls", str(urls), "--out", str(tmp_path / "raw")]) == 1
    assert "lists no URL" in capsys.readouterr().err
    assert cli.main(["run", "--only", "", "--out", str(tmp_path / "reports")]) == 2
    assert "names no notebook" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


# ----------------------------------------------------------------------------
# Paths checked before any work: a file where a folder goes, a folder where a file goes.


PATH_CASES = {  # name: the command line, given the test's folder t (t/"a_file" is a file, t/"a_folder.mp4" a folder)
    "dataset OUT_DIR is a file": lambda t: ["dataset", t / "src", t / "a_file"],
    "dataset OUT_DIR inside a file": lambda t: ["dataset", t / "src", t / "a_file" / "set"],
    "emoji OUT_DIR is a file": lambda t: ["emoji", t / "photo.png", t / "a_file", "--profile", "smoke"],
    "crawl --out is a file": lambda t: ["crawl", "--video", t / "in.mp4", "--out", t / "a_file"],
    "toonify OUT inside a file": lambda t: ["toonify", t / "photo.png", t / "a_file" / "toon.png"],
    "video OUT is a folder": lambda t: ["video", t / "in.mp4", t / "a_folder.mp4", "--no-toonify"],
    "video --table inside a file": lambda t: ["video", t / "in.mp4", t / "out.mp4", "--table", t / "a_file" / "t.csv"],
    "video --cache is a file": lambda t: ["video", t / "in.mp4", t / "out.mp4", "--cache", t / "a_file"],
    "webcam --out is not an .mp4": lambda t: ["webcam", "--headless", "--source", t / "in.mp4", "--out", t / "w.avi"],
    "webcam --out is a folder": lambda t: ["webcam", "--headless", "--source", t / "in.mp4", "--out", t / "a_folder.mp4"],
    "run --out is a file": lambda t: ["run", "--only", "01", "--out", t / "a_file"],
    "train --out is a file": lambda t: ["train", "--data", t / "data.zip", "--out", t / "a_file"],
}


@pytest.mark.parametrize("case", PATH_CASES)
def test_an_unusable_output_path_is_a_usage_error_before_any_work(case, tmp_path, capsys):
    (tmp_path / "a_file").write_text("mine")
    (tmp_path / "a_folder.mp4").mkdir()
    argv = [str(arg) for arg in PATH_CASES[case](tmp_path)]
    status = _exit_status(argv[0], argv)
    err = capsys.readouterr().err
    assert status == 2, f"exit {status}: {err}"
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and lines[0].startswith(f"toonemo {argv[0]}: error:"), err
    assert (tmp_path / "a_file").read_text() == "mine" and not list((tmp_path / "a_folder.mp4").iterdir())


def test_a_read_only_output_folder_is_a_usage_error(tmp_path, monkeypatch, capsys):
    """Simulated: root (as in many containers) may write into any folder, whatever its mode says."""
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    monkeypatch.setattr(cli_options.os, "access", lambda path, mode: Path(path) != read_only)
    assert cli.main(["dataset", str(tmp_path / "src"), str(read_only / "set")]) == 2
    assert f"cannot be written: {read_only} is read-only" in capsys.readouterr().err
    assert output_error("OUT", tmp_path / "elsewhere" / "x.mp4", folder=False) is None


# ----------------------------------------------------------------------------
# Outputs written whole: an interrupted rebuild leaves the old data set as it was.


def _images(folder, count, start=0, side=40):
    folder.mkdir(exist_ok=True)
    for i in range(start, start + count):
        pixels = np.random.default_rng(i).integers(0, 256, (side, side, 3), dtype=np.uint8)
        write_image(folder / f"img{i:02d}.png", pixels)


def _contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def test_an_interrupted_rebuild_leaves_the_old_data_set_whole(tmp_path):
    src, out = tmp_path / "src", tmp_path / "set"
    _images(src, 6)
    assert cli.main(["dataset", str(src), str(out), "--resolution", "32"]) == 0
    before = _contents(out)
    assert "set-r05.tfrecords" in before and "set-decisions.csv" in before

    _images(src, 6, start=6)  # the rebuild: twelve images at 16x16, killed after writing three
    env = {**os.environ, PAUSE_ENV: "dataset-write:3"}
    writer = subprocess.Popen([sys.executable, "-m", "toonemo_lib.cli", "dataset", str(src), str(out),
                               "--resolution", "16"], stderr=subprocess.PIPE, text=True, env=env)
    paused = any("paused at dataset-write:3" in line for line in writer.stderr)  # ends at the pause, or at exit
    writer.kill()
    writer.wait()
    assert paused
    assert _contents(out) == before

    assert cli.main(["dataset", str(src), str(out), "--resolution", "16"]) == 0  # a full rebuild
    assert sorted(path.name for path in out.iterdir()) == ["set-contact-sheet.png", "set-decisions.csv",
                             "set-r02.tfrecords", "set-r03.tfrecords", "set-r04.tfrecords"]  # r05 went; no staging
    assert load_training_images(out).shape == (12, 16, 16, 3)


def test_a_build_that_keeps_nothing_changes_nothing(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "set"
    _images(src, 3)
    assert cli.main(["dataset", str(src), str(out), "--resolution", "32"]) == 0
    before = _contents(out)
    assert cli.main(["dataset", str(src), str(out), "--resolution", "128"]) == 1  # every image is too small
    assert "no image in" in capsys.readouterr().err and _contents(out) == before


def test_one_tiny_image_is_dropped_not_fatal(tmp_path):
    src, out = tmp_path / "src", tmp_path / "set"
    _images(src, 3)
    write_image(src / "one_pixel.png", np.zeros((1, 1, 3), np.uint8))
    assert cli.main(["dataset", str(src), str(out), "--resolution", "16", "--format", "zip"]) == 0
    decisions = pd.read_csv(out / "set-decisions.csv").set_index("file")
    assert decisions.loc[str(src / "one_pixel.png"), "reason"].startswith("too small: 1x1")
    assert decisions["kept"].sum() == 3


def test_a_truncated_video_is_said_not_silently_shortened(tmp_path, capsys):
    clip, out = tmp_path / "clip.mp4", tmp_path / "out.mp4"
    with VideoWriter(clip, 25) as writer:
        for i in range(40):
            writer.write(np.random.default_rng(i).integers(0, 256, (48, 48, 3), dtype=np.uint8))
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    assert cli.main(["video", str(clip), str(out), "--no-toonify"]) == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warning) == 1 and warning[0].startswith("toonemo video: warning: the video")
    assert "lists 40 frames but only" in warning[0]
    assert 0 < video_info(out).frame_count < 40


def test_a_video_crawl_that_fails_leaves_no_folder(tmp_path, capsys):
    not_a_video = tmp_path / "clip.mp4"
    not_a_video.write_bytes(b"not a video at all")
    assert cli.main(["crawl", "--video", str(not_a_video), "--out", str(tmp_path / "frames")]) == 1
    assert "clip.mp4" in capsys.readouterr().err and not (tmp_path / "frames").exists()
