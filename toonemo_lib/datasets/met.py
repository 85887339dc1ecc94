"""Portraits from The Met's Open Access collection: the course's real, downloadable art faces.

    credits = met_portraits(work / "met", n=400)   # images + credits.csv in work/met

The Metropolitan Museum of Art publishes the images of its public-domain works under
Creative Commons Zero (CC0), with a documented, key-free JSON API
(https://metmuseum.github.io/): ``search`` lists the object IDs that match a query,
``objects/<id>`` describes one object, with ``isPublicDomain`` and the address of its
image. NVIDIA's MetFaces, the art faces StyleGAN2-ADA was fine-tuned on, came from the
same collection. Only objects marked public domain and having an image are kept; each
file's title, artist, date and page go into ``credits.csv`` beside the images, so a data
set built from them can say where every face came from.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
from tqdm.auto import tqdm

from .crawl import CREDITS, FetchError, Fetcher, download_images

MET_API = "https://collectionapi.metmuseum.org/public/collection/v1"
EUROPEAN_PAINTINGS = 11  # the department whose portraits look most like MetFaces
LICENCE = "CC0 1.0 (The Met Open Access)"
# The API allows 80 requests a second; one every 0.1 s stays far below that.
API_DELAY = 0.1
MAX_BYTES = 40 * 2**20  # the full-size scans of paintings run to tens of MB


def met_search(query: str, department_id: int | None = EUROPEAN_PAINTINGS, *, fetcher: Fetcher,
               api: str = MET_API) -> list[int]:
    """IDs of the objects with an image that match ``query`` (in the department, if one is given)."""
    params = {"hasImages": "true", "q": query}
    if department_id is not None:
        params["departmentId"] = department_id
    answer = fetcher.get_json(f"{api}/search?{urlencode(params)}")
    if not isinstance(answer, dict) or "objectIDs" not in answer:
        raise ValueError(f"the Met API's search answered without objectIDs: {str(answer)[:120]}")
    return [int(i) for i in answer["objectIDs"] or ()]


def credit_row(record: dict) -> dict | None:
    """The credits of one object's record, or None when it is not public domain or has no image."""
    image = record.get("primaryImage") or record.get("primaryImageSmall")  # full size first: faces for 1024 px
    if not record.get("isPublicDomain") or not image:
        return None
    return {"object_id": int(record["objectID"]), "title": record.get("title", ""),
            "artist": record.get("artistDisplayName", ""), "date": record.get("objectDate", ""),
            "page": record.get("objectURL", ""), "url": image, "licence": LICENCE}


def met_portraits(out_dir, n: int = 400, *, query: str = "portrait", department_id: int | None = EUROPEAN_PAINTINGS,
                  api: str | None = None, progress: bool = True, fetcher: Fetcher | None = None,
                  **fetch_options) -> pd.DataFrame:
    """Download up to ``n`` public-domain images that match ``query`` into ``out_dir``.

    Returns their credits (object_id, title, artist, date, page, url, licence) joined with
    each download's file, status and reason (`crawl.download_images`), and writes them to
    ``out_dir/credits.csv``. Objects whose record cannot be read are skipped and counted
    in the result's ``attrs["skipped"]``. ``api`` defaults to `MET_API`.
    """
    api = api or MET_API
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fetcher = fetcher or Fetcher(**{"delay": API_DELAY, "max_bytes": MAX_BYTES, **fetch_options})
    ids = met_search(query, department_id, fetcher=fetcher, api=api)
    if not ids:
        raise ValueError(f"the Met API found no objects with images for {query!r} in department {department_id}")
    rows, skipped = [], {"not public domain or no image": 0, "record unreadable": 0}
    with tqdm(total=n, desc="Met records", unit="image", disable=not progress) as bar:
        for object_id in ids:
            try:
                row = credit_row(fetcher.get_json(f"{api}/objects/{object_id}"))
            except FetchError:
                skipped["record unreadable"] += 1
                continue
            if row is None:
                skipped["not public domain or no image"] += 1
                continue
            rows.append(row)
            bar.update()
            if len(rows) == n:
                break
    if not rows:
        raise ValueError(f"none of the {len(ids)} objects found for {query!r} is public domain with an image")
    credits = pd.DataFrame(rows)
    downloads = download_images(credits["url"], out_dir, fetcher=fetcher, progress=progress)
    credits = credits.merge(downloads, on="url", how="left")
    credits.to_csv(out_dir / CREDITS, index=False)
    credits.attrs["skipped"] = skipped
    return credits
