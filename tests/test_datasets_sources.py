"""Every source notebook 02 takes (`datasets.sources.candidate_folder`), offline."""

import zipfile

import cv2
import pytest
from test_datasets_met import API_PATH, make_fixture_api, write_records

from toonemo_lib.datasets import met
from toonemo_lib.datasets.crawl import content_name
from toonemo_lib.datasets.fixture_site import serve_folder
from toonemo_lib.datasets.sources import candidate_folder, extract_images
from toonemo_lib.datasets.synthetic import draw_cartoon_face


def png_bytes(seed):
    ok, data = cv2.imencode(".png", draw_cartoon_face("Sad", 64, seed=seed))
    assert ok
    return data.tobytes()


def test_a_folder_or_the_gallery_is_used_as_it_is(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.png").write_bytes(png_bytes(0))
    folder, described = candidate_folder(str(tmp_path / "mine"), tmp_path / "work")
    assert folder == tmp_path / "mine" and "1 files" in described
    folder, described = candidate_folder("gallery", tmp_path / "work", gallery=tmp_path / "mine")
    assert folder == tmp_path / "mine" and "gallery" in described
    with pytest.raises(ValueError, match="gallery="):
        candidate_folder("gallery", tmp_path / "work")
    with pytest.raises(FileNotFoundError, match="neither 'gallery' nor 'met'"):
        candidate_folder(str(tmp_path / "nothing.zip"), tmp_path / "work")


def test_a_zip_gives_its_images_flat_and_by_content(tmp_path):
    archive = tmp_path / "faces.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("set/one/a.png", png_bytes(1))
        zf.writestr("../../escape.png", png_bytes(2))       # an archive path never decides where a file goes
        zf.writestr("set/__MACOSX/._a.png", b"\x00\x05\x16\x07")
        zf.writestr("set/readme.txt", "not an image")
        zf.writestr("set/copy.png", png_bytes(1))            # same content: stored once
    folder, described = candidate_folder(str(archive), tmp_path / "work")
    assert folder == tmp_path / "work" / "source"
    assert sorted(p.name for p in folder.iterdir()) == sorted([content_name(png_bytes(1), ".png"),
                                                               content_name(png_bytes(2), ".png")])
    assert not (tmp_path / "escape.png").exists() and "2 files" in described
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("notes.txt", "no pictures here")
    with pytest.raises(ValueError, match="holds no image files"):
        extract_images(empty, tmp_path / "out")


def test_a_url_list_and_the_met_are_downloaded(tmp_path, monkeypatch):
    site = tmp_path / "site"
    records = make_fixture_api(site)
    with serve_folder(site) as base:
        write_records(site, records, base)
        urls = tmp_path / "urls.txt"
        urls.write_text(f"# my faces\n{base}img/6.png\n{base}img/missing.png\n")
        folder, described = candidate_folder(str(urls), tmp_path / "work", progress=False)
        assert folder == tmp_path / "work" / "source" and len(list(folder.glob("*.png"))) == 1
        assert "'downloaded': 1" in described and "'failed': 1" in described

        monkeypatch.setattr(met, "MET_API", base + API_PATH)
        monkeypatch.setattr(met, "API_DELAY", 0)
        folder, described = candidate_folder("met", tmp_path / "work", met_images=2, progress=False)
        assert folder == tmp_path / "work" / "met" and (folder / "credits.csv").exists()
        assert described.startswith("1 public-domain portraits of The Met (CC0")  # the second one's image is gone
