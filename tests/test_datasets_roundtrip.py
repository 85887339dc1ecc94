"""Reading a written data set back (`tfrecords.roundtrip_report`) and finding what the crawler
stored for a planted kind of the fixture site (`FixtureSite.crawled_files`): notebook 02's proofs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toonemo_lib.datasets.fixture_site import make_fixture_site
from toonemo_lib.datasets.tfrecords import roundtrip_report, write_tfrecords, write_zip


def _images(n=3, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def test_an_exact_tfrecords_set_reads_back_at_every_level(tmp_path):
    images = _images()
    write_tfrecords(images, tmp_path / "set", name="set")
    report = roundtrip_report(tmp_path / "set", (img for img in images))  # a generator is enough
    assert report.index.tolist() == [16, 8, 4]
    assert (report["format"] == "tfrecords").all()
    assert report["images read"].tolist() == [3, 3, 3] and report["images expected"].tolist() == [3, 3, 3]
    assert report["max |read - expected|"].tolist() == [0, 0, 0]


def test_a_changed_pixel_shows_at_the_levels_it_reaches(tmp_path):
    images = _images()
    write_tfrecords(images, tmp_path / "set", name="set")
    expected = [img.copy() for img in images]
    expected[1][0, 0, 0] ^= 0x80  # 128 grey levels off in one pixel of one image
    report = roundtrip_report(tmp_path / "set", expected)
    diff = report["max |read - expected|"]
    assert diff[16] == 128 and diff[8] in (31, 32, 33)  # a quarter of it in the 2x2 average, rounded
    assert diff[4] <= 9


def test_missing_or_extra_images_are_reported(tmp_path):
    images = _images(4)
    write_tfrecords(images, tmp_path / "set", name="set")
    fewer = roundtrip_report(tmp_path / "set", images[:3])
    assert fewer["images read"].tolist() == [4, 4, 4] and fewer["images expected"].tolist() == [3, 3, 3]
    assert (fewer["max |read - expected|"] == -1).all()
    more = roundtrip_report(tmp_path / "set", images + _images(1, seed=9))
    assert (more["max |read - expected|"] == -1).all()


def test_a_zip_is_compared_at_full_size(tmp_path):
    images = _images(size=8)
    path = write_zip(images, tmp_path / "set.zip")
    report = roundtrip_report(path, images)
    assert report.index.tolist() == [8] and report.at[8, "format"] == "zip"
    assert report.at[8, "max |read - expected|"] == 0 and report.at[8, "images read"] == 3
    other = [img[::-1].copy() for img in images]  # upside down: not what was written
    assert roundtrip_report(path, other).at[8, "max |read - expected|"] > 0


def test_one_level_file_and_an_empty_folder(tmp_path):
    images = _images(size=8)
    files = write_tfrecords(images, tmp_path / "set", name="set")
    report = roundtrip_report(files[0], images)
    assert report.index.tolist() == [8] and report.at[8, "max |read - expected|"] == 0
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no NAME-rXX.tfrecords"):
        roundtrip_report(tmp_path / "empty", images)


def test_crawled_files_follow_the_site_order_and_skip_what_was_not_stored(tmp_path):
    site = make_fixture_site(tmp_path / "site", n_faces=8, side=64, samples=False)
    base = "http://127.0.0.1:8000/"
    rows = [{"url": site.url(base, item.path), "file": "" if item.kind == "broken link" else str(tmp_path / f"{i}.png")}
            for i, item in enumerate(site.items.itertuples())]
    crawled = pd.DataFrame(rows)
    rgba = site.items.index[site.items["kind"] == "cartoon (RGBA PNG)"]
    assert site.crawled_files(base, crawled, "cartoon (RGBA PNG)") == [tmp_path / f"{i}.png" for i in rgba]
    assert site.crawled_files(base, crawled, "broken link") == []
    assert site.crawled_files(base, crawled.iloc[:0], "cartoon (JPEG)") == []  # nothing crawled yet
    with pytest.raises(ValueError, match="no items of kind 'emoji'"):
        site.crawled_files(base, crawled, "emoji")
    assert all(isinstance(p, Path) for p in site.crawled_files(base, crawled, "cartoon (JPEG)"))
