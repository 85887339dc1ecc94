"""build_dataset end to end, and the `dataset` / `crawl` argparse sub-commands."""

import argparse
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data as skdata

from toonemo_lib.cli.options import run_command
from toonemo_lib.datasets.build import build_dataset
from toonemo_lib.cli.datasets import add_commands
from toonemo_lib.datasets.images import normalize_image
from toonemo_lib.datasets.tfrecords import read_tfrecords, read_zip


def smooth_image(seed, height=80, width=100):
    small = np.random.default_rng(seed).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def source_folder(folder):
    folder.mkdir()
    for i in range(4):
        Image.fromarray(smooth_image(i)).save(folder / f"img{i}.png")
    Image.fromarray(smooth_image(0)).save(folder / "img0-again.jpg", quality=90)    # duplicate
    Image.fromarray(smooth_image(5, 10, 10)).save(folder / "tiny.png")
    rgba = np.dstack([smooth_image(6), np.full((80, 100), 0, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "transparent.png")                    # all background
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return folder


def parse(argv):
    parser = argparse.ArgumentParser(prog="toonemo")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run(args) -> int:
    """The exit status `toonemo` gives for the parsed command."""
    return run_command(args.command, args.func, args)


def test_build_tfrecords_end_to_end(tmp_path):
    src = source_folder(tmp_path / "raw")
    summary = build_dataset(src, tmp_path / "emoji", resolution=32, progress=False)

    assert [p.name for p in summary.outputs] == [f"emoji-r{k:02d}.tfrecords" for k in (5, 4, 3, 2)]
    assert (tmp_path / "emoji" / "emoji-contact-sheet.png").is_file()
    saved = pd.read_csv(tmp_path / "emoji" / "emoji-decisions.csv")
    assert len(saved) == 8 and saved["kept"].sum() == 5
    counts = summary.counts.to_dict()
    assert counts == {"files": 8, "written": 5, "rejected: near-duplicate": 1,
                      "rejected: too small": 1, "rejected: unreadable": 1}
    assert "written" in str(summary)

    # What was written is each kept file normalised, in the recorded (shuffled) order.
    stored = np.stack(list(read_tfrecords(tmp_path / "emoji").as_numpy_iterator()))
    kept = summary.decisions[summary.decisions["kept"]].sort_values("index")
    assert kept["index"].tolist() == list(range(5))
    assert kept["file"].tolist() != sorted(kept["file"])        # shuffled (seed 123)
    expected = np.stack([normalize_image(f, 32) for f in kept["file"]])
    assert (stored == expected).all()
    white = kept["file"].str.endswith("transparent.png").to_numpy()
    assert (stored[white] == 255).all()                           # alpha composited on white


def test_build_zip_with_padding_and_a_background(tmp_path):
    src = source_folder(tmp_path / "raw")
    summary = build_dataset(src, tmp_path / "out", resolution=16, fmt="zip", background="black",
                            square="pad", name="toons", min_side=32, shuffle=False, contact_sheet=False,
                            progress=False)
    assert [p.name for p in summary.outputs] == ["toons.zip"]
    assert not (tmp_path / "out" / "toons-contact-sheet.png").exists()
    with zipfile.ZipFile(summary.outputs[0]) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".png")]) == 5
    images = np.stack(list(read_zip(summary.outputs[0]).as_numpy_iterator()))
    assert images.shape == (5, 16, 16, 3)
    assert (images[:, 0] == 0).all()                  # padding rows of the 100x80 images are black
    assert (images[-1] == 0).all()                    # the transparent image, on black


def test_build_with_alignment(tmp_path):
    src = tmp_path / "faces"
    src.mkdir()
    Image.fromarray(skdata.astronaut()).save(src / "astronaut.png")
    Image.fromarray(smooth_image(7, 300, 300)).save(src / "texture.png")
    summary = build_dataset(src, tmp_path / "out", resolution=64, align=True, fmt="zip", progress=False)
    decisions = summary.decisions.set_index(summary.decisions["file"].map(lambda f: Path(f).name))
    assert decisions.loc["astronaut.png", "align"] == "eyes"
    assert decisions.loc["texture.png", "reason"] == "no face detected"
    assert summary.counts["aligned by eyes"] == 1 and summary.counts["written"] == 1


def test_build_refuses_bad_arguments(tmp_path):
    src = source_folder(tmp_path / "raw")
    with pytest.raises(ValueError, match="differ"):
        build_dataset(src, src, progress=False)
    with pytest.raises(ValueError, match="power of two"):
        build_dataset(src, tmp_path / "out", resolution=100, progress=False)
    with pytest.raises(ValueError, match="fmt"):
        build_dataset(src, tmp_path / "out", fmt="lmdb", progress=False)


def test_nothing_kept_writes_no_data_set(tmp_path):
    src = tmp_path / "raw"
    src.mkdir()
    (src / "broken.png").write_bytes(b"nope")
    with pytest.raises(ValueError, match=r"no image .* was kept \(1 files: 1 unreadable\)"):
        build_dataset(src, tmp_path / "out", resolution=8, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_failed_build_leaves_no_folder_of_its_own(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no files"):
        build_dataset(empty, tmp_path / "new" / "deeper" / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # new/deeper/out all removed

    existing = tmp_path / "existing"
    (existing / "out").mkdir(parents=True)
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="no files"):
        build_dataset(empty, existing / "out", progress=False)
    assert (existing / "out").is_dir() and (existing / "keep.txt").read_text() == "mine"


def test_dataset_command(tmp_path, capsys):
    src = source_folder(tmp_path / "raw")
    args = parse(["dataset", str(src), str(tmp_path / "out"), "--resolution", "16", "--format", "zip",
                  "--background", "#808080"])
    assert (args.resolution, args.fmt, args.align, args.background) == (16, "zip", False, "#808080")
    assert run(args) == 0
    assert (tmp_path / "out" / "out.zip").is_file()
    assert "written" in capsys.readouterr().out

    empty = tmp_path / "empty"
    empty.mkdir()
    args = parse(["dataset", str(empty), str(tmp_path / "out2")])
    assert run(args) == 1
    assert "no files" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()                      # no empty folder left behind


def test_crawl_command_video_and_url_list(tmp_path, capsys):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    for i in range(12):
        writer.write(np.full((32, 32, 3), i * 20, np.uint8))
    writer.release()
    args = parse(["crawl", "--video", str(video), "--every", "4", "--out", str(tmp_path / "frames")])
    assert run(args) == 0
    assert len(list((tmp_path / "frames").glob("*.png"))) == 3

    urls = tmp_path / "urls.txt"
    urls.write_text("# only URLs that cannot be fetched: no network in tests\nfile:///etc/hostname\n\n")
    args = parse(["crawl", "--urls", str(urls), "--out", str(tmp_path / "dl"), "--delay", "0"])
    assert run(args) == 1                                  # everything failed
    assert "download.error.log" in capsys.readouterr().out
    args = parse(["crawl", "--retry-log", str(tmp_path / "dl" / "download.error.log"), "--out", str(tmp_path / "dl")])
    assert args.retry_log and run(args) == 1

    with pytest.raises(SystemExit):                              # one source is required
        parse(["crawl", "--out", str(tmp_path)])
