"""A small image gallery served on 127.0.0.1, so crawling can be taught and tested offline.

The capstone crawled its emoji from an image search.  Real galleries are messy, so
the fixture site plants the usual traps among synthetic cartoon faces and the
shipped real faces:

* gallery pages linked by ``rel="next"`` pagination;
* RGBA PNGs whose transparent pixels hold a garish colour (dropping the alpha
  channel instead of compositing reveals it), a palette (mode "P") PNG, JPEGs;
* an exact copy of one image at a second URL (the crawler stores it once) and a
  shrunk JPEG re-encoding of another (curation's perceptual hash catches it);
* a tiny image, a truncated PNG (right magic bytes, undecodable), a broken link
  (HTTP 404) and an HTML error page served under a ``.jpg`` name.

`make_fixture_site` writes the site and returns a table of every planted item;
`serve_folder` serves any folder on a free port of 127.0.0.1 for the duration of a
``with`` block; `outcomes` joins the planted items with what the crawler and
`curate` made of them.  `make_fixture_video` writes a short video of cartoon faces
for `capture_video_frames`.
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import shutil
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from ..config import EMOTIONS, SEED
from .curate import dhash, hamming
from .samples import list_samples, sample_path
from .synthetic import cartoon_foreground, draw_cartoon_face

ITEM_COLUMNS = ["path", "page", "kind", "expected", "copy_of"]
# What each kind of planted item should become; `outcomes` checks it.
EXPECTED = {
    "cartoon (RGB PNG)": "kept",
    "cartoon (JPEG)": "kept",
    "cartoon (RGBA PNG)": "kept",
    "cartoon (palette PNG)": "kept",
    "real photo": "kept",
    "real photo (tiny)": "curate: too small",
    "tiny image": "curate: too small",
    "exact copy": "crawl: same content",
    "re-encoded copy": "curate: near-duplicate",
    "truncated PNG": "curate: unreadable",
    "broken link": "crawl: HTTP 404",
    "not an image (.jpg)": "crawl: not an image",
}
HIDDEN_RGB = (255, 0, 255)   # what the transparent pixels of the RGBA faces hold
MIN_DISTANCE = 9             # dhash bits between any two distinct scenes (curate merges <= 6)


# ----------------------------------------------------------------------------
# Pictures.


def cartoon_scene(index: int, side: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(RGB image, face mask) of a cartoon face on a gradient, in a non-square frame of about `side`."""
    h, w = int(side * rng.uniform(1.0, 1.3)), int(side * rng.uniform(1.0, 1.6))
    c0, c1 = rng.integers(120, 256, 3), rng.integers(40, 256, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    t = ((xx / w - 0.5) * np.cos(angle) + (yy / h - 0.5) * np.sin(angle) + 0.5)[..., None]
    canvas = (c0 * (1 - t) + c1 * t).clip(0, 255).astype(np.uint8)
    size = max(16, int(min(h, w) * rng.uniform(0.6, 0.95)))
    face = draw_cartoon_face(EMOTIONS[index % len(EMOTIONS)], size, seed=int(rng.integers(2**31)))
    mask = cartoon_foreground(face)  # all but the face's own plain background
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)).astype(bool)
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    full_mask = np.zeros((h, w), bool)
    canvas[y:y + size, x:x + size][mask] = face[mask]
    full_mask[y:y + size, x:x + size] = mask
    return canvas, full_mask


def distinct_scenes(n: int, side: int, seed: int = SEED, min_distance: int = MIN_DISTANCE,
                    avoid=(), views=None, accept=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """`n` cartoon scenes (image, face mask) that no perceptual hash will take for copies.

    Every image in `views(image, mask)` (default: the scene, and its face on white, as
    curate sees an RGBA copy) differs by more than `min_distance` dhash bits from those
    of the other scenes and from the hashes in `avoid`, so that only planted copies
    look like duplicates.  `accept(image, mask)`, if given, must also hold.
    `scene_hashes` gives the hashes to avoid next time.
    """
    views = views or _default_views
    rng = np.random.default_rng(seed)
    scenes, hashes = [], list(avoid)
    for _ in range(50 * n):
        if len(scenes) == n:
            break
        image, mask = cartoon_scene(len(scenes), side, rng)
        codes = [dhash(view) for view in views(image, mask)]
        if all(hamming(c, h) > min_distance for c in codes for h in hashes) and (accept is None or accept(image, mask)):
            scenes.append((image, mask))
            hashes.extend(codes)
    if len(scenes) < n:
        raise RuntimeError(f"could only draw {len(scenes)} distinct scenes of {n}; lower min_distance")
    return scenes


def _default_views(image, mask):
    return [image, on_background(image, mask, "white")]


def scene_hashes(scenes, views=None) -> list[int]:
    """The dhashes of the views of `scenes` (pass them as `avoid` to draw more distinct ones)."""
    views = views or _default_views
    return [dhash(view) for image, mask in scenes for view in views(image, mask)]


def on_background(image: np.ndarray, mask: np.ndarray, color=(255, 255, 255)) -> np.ndarray:
    """The face of a scene on a flat colour (what an RGBA copy composited on it looks like)."""
    from ..images import parse_color

    out = np.empty_like(image)
    out[:] = parse_color(color)
    out[mask] = image[mask]
    return out


def rgba_with_hidden_colour(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGBA: the face opaque, the rest fully transparent with HIDDEN_RGB behind it."""
    rgba = np.empty((*image.shape[:2], 4), np.uint8)
    rgba[..., :3] = HIDDEN_RGB
    rgba[..., :3][mask] = image[mask]
    rgba[..., 3] = np.where(mask, 255, 0)
    return rgba


# ----------------------------------------------------------------------------
# The site.


@dataclass
class FixtureSite:
    """A generated gallery: its folder, start page and the planted items."""

    folder: Path
    start_page: str            # relative URL of the first gallery page
    items: pd.DataFrame        # path (relative URL), page, kind, expected, copy_of (for planted copies)
    hashes: list               # dhashes of its cartoon scenes: `avoid` them when drawing more

    def url(self, base_url: str, path: str | None = None) -> str:
        return base_url.rstrip("/") + "/" + (path or self.start_page)

    def crawled_files(self, base_url: str, crawled: pd.DataFrame, kind: str) -> list[Path]:
        """The files the crawler stored for the planted items of ``kind``, in the site's order.

        ``crawled`` is the table of :func:`~toonemo_lib.datasets.crawl.crawl_pages`; items the
        crawler did not store (a broken link, an error page, a second copy) are left out.
        """
        if kind not in set(self.items["kind"]):
            raise ValueError(f"the site has no items of kind {kind!r}; it has: {', '.join(dict.fromkeys(self.items['kind']))}")
        by_url = crawled.drop_duplicates("url").set_index("url")["file"]
        urls = [self.url(base_url, path) for path in self.items.loc[self.items["kind"] == kind, "path"]]
        files = [by_url.get(url) for url in urls]
        return [Path(f) for f in files if isinstance(f, (str, Path)) and str(f)]


def _save(folder: Path, name: str, image, **save_kwargs) -> str:
    path = folder / "img" / name
    image = image if isinstance(image, Image.Image) else Image.fromarray(image)
    image.save(path, **save_kwargs)
    return f"img/{name}"


def make_fixture_site(folder, n_faces: int = 12, seed: int = SEED, *, side: int = 128, pages: int = 2,
                      samples: bool = True) -> FixtureSite:
    """Write a gallery of `pages` HTML pages (rel="next" pagination) into `folder`.

    `n_faces` synthetic cartoon faces of about `side` pixels (every 4th an RGBA PNG,
    one a palette PNG, every 3rd a JPEG), the shipped real faces when `samples`, and
    one of each trap listed in the module docstring.  The folder is emptied first.
    """
    if n_faces < 4:
        raise ValueError(f"n_faces must be at least 4 (one of each picture kind), got {n_faces}")
    if pages < 1:
        raise ValueError(f"pages must be at least 1, got {pages}")
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "img").mkdir(parents=True)
    items = []

    def add(path, kind, copy_of=""):
        items.append({"path": path, "kind": kind, "expected": EXPECTED[kind], "copy_of": copy_of})

    scenes = distinct_scenes(n_faces, side, seed)
    for i, (image, mask) in enumerate(scenes):
        if i == 1:
            palette = Image.fromarray(image).quantize(colors=48, method=Image.Quantize.MEDIANCUT)
            add(_save(folder, f"face_{i:03d}.png", palette), "cartoon (palette PNG)")
        elif i % 4 == 0:
            add(_save(folder, f"face_{i:03d}.png", rgba_with_hidden_colour(image, mask)), "cartoon (RGBA PNG)")
        elif i % 3 == 0:
            add(_save(folder, f"face_{i:03d}.jpg", image, quality=92), "cartoon (JPEG)")
        else:
            add(_save(folder, f"face_{i:03d}.png", image), "cartoon (RGB PNG)")
    if samples:
        for name in list_samples("faces"):
            img = Image.open(sample_path(name))
            kind = "real photo (tiny)" if min(img.size) < 64 else "real photo"
            add(_save(folder, Path(name).name, img), kind)

    # The traps.
    shutil.copy(folder / items[2]["path"], folder / "img" / "copy_of_face_002.png")
    add("img/copy_of_face_002.png", "exact copy", items[2]["path"])
    image = scenes[3][0]
    smaller = cv2.resize(image, (image.shape[1] * 4 // 5, image.shape[0] * 4 // 5), interpolation=cv2.INTER_AREA)
    add(_save(folder, "face_003_small.jpg", smaller, quality=80), "re-encoded copy", items[3]["path"])
    add(_save(folder, "tiny.png", draw_cartoon_face("Happy", 20, seed=seed)), "tiny image")
    full = (folder / items[0]["path"]).read_bytes()
    (folder / "img" / "truncated.png").write_bytes(full[: max(100, len(full) // 3)])
    add("img/truncated.png", "truncated PNG")
    add("img/missing.png", "broken link")            # never written: the server answers 404
    (folder / "img" / "photo.jpg").write_text(
        "<!DOCTYPE html><html><body><h1>Image not found</h1></body></html>", encoding="utf-8")
    add("img/photo.jpg", "not an image (.jpg)")

    # Deal the items onto the pages in turn, so every page has faces and traps.
    names = [f"gallery-{p + 1}.html" for p in range(pages)]
    for i, item in enumerate(items):
        item["page"] = names[i % pages]
    for p, name in enumerate(names):
        links = []
        if p > 0:
            links.append(f'<a rel="prev" href="{names[p - 1]}">previous</a>')
        if p + 1 < pages:
            links.append(f'<link rel="next" href="{names[p + 1]}">')
            links.append(f'<a rel="next" href="{names[p + 1]}">next page</a>')
        figures = "\n".join(
            f'<figure><img src="{html.escape(it["path"])}" alt="{html.escape(it["kind"])}">'
            f"<figcaption>{html.escape(it['kind'])}</figcaption></figure>"
            for it in items if it["page"] == name
        )
        (folder / name).write_text(
            f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Cartoon gallery, page {p + 1}</title>"
            f"</head><body><h1>Cartoon gallery, page {p + 1} of {pages}</h1>\n{figures}\n"
            f"<nav>{' '.join(links)}</nav></body></html>\n", encoding="utf-8")
    (folder / "index.html").write_text(f'<meta http-equiv="refresh" content="0; url={names[0]}">\n', encoding="utf-8")
    return FixtureSite(folder, names[0], pd.DataFrame(items, columns=ITEM_COLUMNS), scene_hashes(scenes))


# ----------------------------------------------------------------------------
# Serving.


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log in notebooks and tests
        pass


@contextlib.contextmanager
def serve_folder(folder, host: str = "127.0.0.1", port: int = 0):
    """Serve `folder` over HTTP in a background thread; yields the base URL (ending in "/").

    Port 0 picks a free port.  While serving, `host` is added to no_proxy so that
    an HTTP proxy set in the environment is not asked for local pages.  The server
    is shut down and its port released when the block ends, even after an error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    saved = {k: os.environ.get(k) for k in ("no_proxy", "NO_PROXY")}
    for key, value in saved.items():
        os.environ[key] = ",".join(v for v in (value, host) if v)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ----------------------------------------------------------------------------
# What became of each planted item.


def _verdict(crawl_row, decision) -> str:
    if crawl_row is None:
        return "crawl: never requested"
    if crawl_row["status"] == "failed":
        reason = crawl_row["reason"]
        if reason.startswith("HTTP 404"):
            return "crawl: HTTP 404"
        if reason.startswith("not an image"):
            return "crawl: not an image"
        return f"crawl: {reason}"
    if crawl_row["status"] == "present" and "same content" in crawl_row["reason"]:
        return "crawl: same content"
    if decision is None:
        return "curate: not seen"
    if decision["kept"]:
        return "kept"
    return "curate: " + str(decision["reason"]).split(":")[0].split(" of ")[0].split(" (")[0]


def outcomes(site: FixtureSite, base_url: str, crawled: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """One row per planted item: its kind, the crawler's status and reason, curation's
    reason, the verdict, the reason behind it and whether it is the one expected."""
    by_url = crawled.drop_duplicates("url").set_index("url")
    by_file = decisions.assign(name=decisions["file"].map(lambda f: Path(f).name)).set_index("name")
    rows = []
    for item in site.items.itertuples(index=False):
        url = site.url(base_url, item.path)
        crawl_row = by_url.loc[url] if url in by_url.index else None
        decision = None
        if crawl_row is not None and crawl_row["file"]:
            name = Path(crawl_row["file"]).name
            decision = by_file.loc[name] if name in by_file.index else None
        verdict = _verdict(crawl_row, decision)
        crawl = "" if crawl_row is None else f"{crawl_row['status']} {crawl_row['reason']}".strip()
        cur = "" if decision is None else str(decision["reason"])
        rows.append({
            "item": item.path, "kind": item.kind, "crawl": crawl, "curate": cur,
            "verdict": verdict, "reason": crawl_row["reason"] if verdict.startswith("crawl") else cur,
            "as planned": verdict == item.expected,
        })
    table = pd.DataFrame(rows)
    # curate keeps the first of two near-duplicates in file-name order, and crawled files are
    # named by content hash: either the original or its re-encoded copy may be the one dropped.
    for copy in site.items.index[site.items["kind"] == "re-encoded copy"]:
        original = site.items.index[site.items["path"] == site.items.at[copy, "copy_of"]][0]
        pair = {table.at[copy, "verdict"], table.at[original, "verdict"]}
        table.loc[[copy, original], "as planned"] = pair == {"kept", "curate: near-duplicate"}
    return table


# ----------------------------------------------------------------------------
# A video.


def make_fixture_video(path, n_faces: int = 4, side: int = 128, *, frames_per_face: int = 12, fps: int = 12,
                       seed: int = SEED + 1, avoid=(), zoom: float = 0.03) -> Path:
    """Write an MJPG .avi of `n_faces` cartoon shots, each `frames_per_face` frames of a slow zoom.

    Frames are side x side * 4/3 (landscape); within a shot the picture zooms in by
    `zoom` (3 %), so frames of one shot are near-duplicates and frames of different
    shots are not (shots whose hash drifts within the shot are redrawn).  `avoid`: dhashes
    no frame may come near (e.g. `FixtureSite.hashes`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width = side * 4 // 3 // 2 * 2

    def shot(image, k):
        frame = cv2.resize(image, (width, side), interpolation=cv2.INTER_AREA)
        scale = 1.0 + zoom * k / max(1, frames_per_face - 1)
        matrix = cv2.getRotationMatrix2D((width / 2, side / 2), 0.0, scale)
        return cv2.warpAffine(frame, matrix, (width, side), borderMode=cv2.BORDER_REFLECT)

    def steady(image, mask):
        """Every frame of the shot within 4 dhash bits of every other (curate merges <= 6)."""
        codes = [dhash(shot(image, k)) for k in range(frames_per_face)]
        return max(hamming(a, b) for a in codes for b in codes) <= 4

    views = lambda image, mask: [shot(image, 0), shot(image, frames_per_face - 1)]  # noqa: E731
    scenes = distinct_scenes(n_faces, side, seed, avoid=avoid, views=views, accept=steady)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, side))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write the video {path}")
    try:
        for image, _ in scenes:
            for k in range(frames_per_face):
                writer.write(cv2.cvtColor(shot(image, k), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path
