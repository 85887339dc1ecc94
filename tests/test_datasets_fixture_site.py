"""The fixture gallery: what it plants, serving it on 127.0.0.1, crawling it, and the video."""

import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from PIL import Image

from toonemo_lib.datasets.crawl import capture_video_frames, crawl_pages
from toonemo_lib.datasets.curate import curate, dhash, hamming
from toonemo_lib.datasets.fixture_site import (
    EXPECTED,
    HIDDEN_RGB,
    distinct_scenes,
    make_fixture_site,
    make_fixture_video,
    outcomes,
    serve_folder,
)


@pytest.fixture
def no_proxy_env(monkeypatch):
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def test_site_plants_every_kind(tmp_path):
    site = make_fixture_site(tmp_path / "site", n_faces=8, side=64, pages=2)
    assert set(site.items["kind"]) == set(EXPECTED)
    assert site.items["path"].is_unique
    assert set(site.items["page"]) == {"gallery-1.html", "gallery-2.html"}
    assert (site.folder / site.start_page).is_file()
    # Files that must exist do, the broken link does not.
    for item in site.items.itertuples():
        assert (site.folder / item.path).is_file() == (item.kind != "broken link"), item.path
    files = {kind: site.folder / site.items.loc[site.items["kind"] == kind, "path"].iloc[0] for kind in EXPECTED}
    with Image.open(files["cartoon (RGBA PNG)"]) as im:
        rgba = np.asarray(im)
        assert im.mode == "RGBA"
    transparent = rgba[..., 3] == 0
    assert 0.1 < transparent.mean() < 0.9 and (rgba[transparent][:, :3] == HIDDEN_RGB).all()
    with Image.open(files["cartoon (palette PNG)"]) as im:
        assert im.mode == "P"
    assert files["not an image (.jpg)"].read_bytes().startswith(b"<!DOCTYPE html>")
    assert files["exact copy"].read_bytes() == (site.folder / site.items.at[2, "path"]).read_bytes()
    html = (site.folder / "gallery-1.html").read_text()
    assert 'rel="next" href="gallery-2.html"' in html


def test_scenes_are_distinct_and_seeded():
    scenes = distinct_scenes(10, 64, seed=3, min_distance=12)
    hashes = [dhash(image) for image, _ in scenes]
    assert min(hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:]) > 12
    again = distinct_scenes(10, 64, seed=3, min_distance=12)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(scenes, again))


def test_serve_folder_serves_locally_and_stops(tmp_path, no_proxy_env):
    (tmp_path / "hello.txt").write_text("hi")
    with serve_folder(tmp_path) as base:
        assert base.startswith("http://127.0.0.1:") and base.endswith("/")
        with urllib.request.urlopen(base + "hello.txt", timeout=5) as resp:
            assert resp.read() == b"hi"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "missing.png", timeout=5)
        assert err.value.code == 404
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "hello.txt", timeout=2)


def test_serve_folder_needs_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        with serve_folder(tmp_path / "nope"):
            pass


def test_crawl_and_curate_meet_every_trap_as_planned(tmp_path, no_proxy_env):
    site = make_fixture_site(tmp_path / "site", n_faces=8, side=64)
    with serve_folder(site.folder) as base:
        crawled = crawl_pages(site.url(base), tmp_path / "raw", max_pages=5, delay=0.0, retries=0,
                              timeout=5, progress=False)
    assert crawled["page"].nunique() == 2
    decisions = curate(tmp_path / "raw", min_side=32, progress=False)
    fate = outcomes(site, base, crawled, decisions).set_index("kind")
    assert fate["as planned"].all(), fate[~fate["as planned"]]
    assert fate.at["broken link", "reason"].startswith("HTTP 404")
    assert fate.at["not an image (.jpg)", "reason"].startswith("not an image")
    assert fate.at["truncated PNG", "reason"].startswith("unreadable")


def test_video_shots_give_near_duplicate_frames(tmp_path):
    video = make_fixture_video(tmp_path / "v.avi", n_faces=3, side=64, frames_per_face=10)
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    capture.release()
    frames = capture_video_frames(video, tmp_path / "frames", every=5, progress=False)
    assert len(frames) == 6
    decisions = curate(tmp_path / "frames", min_side=32, progress=False)
    assert decisions["kept"].sum() == 3
    assert decisions.loc[~decisions["kept"], "reason"].str.startswith("near-duplicate").all()
