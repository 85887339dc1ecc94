"""The Met's Open Access portraits (`datasets.met`) against a copy of its API served on 127.0.0.1.

The API's two endpoints are written as files, as its documentation lays them out
(``search`` and ``objects/<id>``, JSON); the server ignores the query string, as a fixed
answer to the one search the course makes.
"""

import json

import cv2
import pandas as pd
import pytest

from toonemo_lib.datasets.crawl import FetchError, Fetcher
from toonemo_lib.datasets.fixture_site import serve_folder
from toonemo_lib.datasets.met import LICENCE, credit_row, met_portraits, met_search
from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.datasets.synthetic import draw_cartoon_face

API_PATH = "public/collection/v1"


def record(object_id, public=True, image=None):
    return {"objectID": object_id, "isPublicDomain": public, "primaryImage": image or "",
            "primaryImageSmall": image or "", "title": f"Portrait {object_id}", "artistDisplayName": "A. Painter",
            "objectDate": "1650", "objectURL": f"https://www.metmuseum.org/art/collection/search/{object_id}"}


def make_fixture_api(folder, search_ids=(1, 2, 3, 4, 5, 6, 7)):
    """Objects: 1 and 6 public with an image; 2 not public; 3 without image; 4 missing (404);
    5 public but its image is gone (404); 7 public with an image, after the ones asked for."""
    api = folder / API_PATH
    (api / "objects").mkdir(parents=True)
    (folder / "img").mkdir()
    (api / "search").write_text(json.dumps({"total": len(search_ids), "objectIDs": list(search_ids) or None}))
    cv2.imwrite(str(folder / "img" / "1.jpg"), cv2.cvtColor(load_sample("faces/astronaut.png"), cv2.COLOR_RGB2BGR))
    for object_id in (6, 7):
        face = draw_cartoon_face("Happy", 96, seed=object_id)
        cv2.imwrite(str(folder / "img" / f"{object_id}.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    records = {1: record(1, image="{base}img/1.jpg"), 2: record(2, public=False, image="{base}img/1.jpg"),
               3: record(3), 5: record(5, image="{base}img/gone.jpg"), 6: record(6, image="{base}img/6.png"),
               7: record(7, image="{base}img/7.png")}
    return records


def write_records(folder, records, base):
    for object_id, data in records.items():
        data = {k: v.format(base=base) if isinstance(v, str) else v for k, v in data.items()}
        (folder / API_PATH / "objects" / str(object_id)).write_text(json.dumps(data))


def test_credit_row_keeps_only_public_domain_objects_with_an_image():
    assert credit_row(record(1, image="http://x/1.jpg"))["licence"] == LICENCE
    assert credit_row(record(2, public=False, image="http://x/1.jpg")) is None
    assert credit_row(record(3)) is None


def test_met_portraits_downloads_the_public_domain_images_with_their_credits(tmp_path):
    site = tmp_path / "site"
    records = make_fixture_api(site)
    with serve_folder(site) as base:
        write_records(site, records, base)
        api = base + API_PATH
        credits = met_portraits(tmp_path / "met", 3, api=api, progress=False, delay=0, retries=0)
        assert list(credits["object_id"]) == [1, 5, 6]  # stops at n, before 7
        assert list(credits["status"]) == ["downloaded", "failed", "downloaded"]
        assert "404" in credits.loc[credits["object_id"] == 5, "reason"].iloc[0]
        assert credits.attrs["skipped"] == {"not public domain or no image": 2, "record unreadable": 1}
        saved = pd.read_csv(tmp_path / "met" / "credits.csv")
        assert list(saved.columns[:7]) == ["object_id", "title", "artist", "date", "page", "url", "licence"]
        assert saved["title"].tolist() == ["Portrait 1", "Portrait 5", "Portrait 6"]
        images = sorted(p.suffix for p in (tmp_path / "met").iterdir() if p.suffix in (".jpg", ".png"))
        assert images == [".jpg", ".png"]
        again = met_portraits(tmp_path / "met", 3, api=api, progress=False, delay=0, retries=0)
        assert list(again["status"]) == ["present", "failed", "present"]  # a rerun fetches no image twice


def test_met_search_and_met_portraits_say_what_went_wrong(tmp_path):
    empty = tmp_path / "empty"
    make_fixture_api(empty, search_ids=())
    private = tmp_path / "private"
    make_fixture_api(private, search_ids=(2,))
    write_records(private, {2: record(2, public=False, image="http://x/1.jpg")}, "")
    page = tmp_path / "page" / API_PATH
    page.mkdir(parents=True)
    (page / "search").write_text("<html><body>Access denied</body></html>")
    with serve_folder(tmp_path) as base:
        fetcher = Fetcher(delay=0, retries=0)
        with pytest.raises(ValueError, match="found no objects"):
            met_portraits(tmp_path / "a", 2, api=f"{base}empty/{API_PATH}", progress=False, delay=0, retries=0)
        with pytest.raises(ValueError, match="none of the 1 objects"):
            met_portraits(tmp_path / "b", 2, api=f"{base}private/{API_PATH}", progress=False, delay=0, retries=0)
        with pytest.raises(FetchError, match="not JSON"):
            met_search("portrait", fetcher=fetcher, api=f"{base}page/{API_PATH}")
    with pytest.raises(ValueError, match="n must be"):
        met_portraits(tmp_path / "c", 0)
