"""Crawling against a local http.server on 127.0.0.1: checks, retries, logs, idempotence, video frames.

No test here touches the internet.
"""

import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from toonemo_lib.datasets.crawl import (
    ERROR_LOG,
    capture_video_frames,
    crawl_pages,
    download_images,
    largest_srcset_candidate,
    page_links,
    read_url_list,
    retry_error_log,
)

HASH_NAME = re.compile(r"^[0-9a-f]{16}\.(png|jpg)$")
FAST = dict(delay=0.0, retries=0, timeout=2.0, progress=False)


def png(seed, size=16):
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return cv2.imencode(".png", img)[1].tobytes()


def jpg(seed, size=16):
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", img)[1].tobytes()


class Site:
    """What the local server serves, and the paths it was asked for."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.stop = threading.Event()
        self.base = ""

    def add(self, path, body=b"", content_type="image/png", status=200, delay=0.0, fail_times=0,
            send_length=True, headers=(), trickle=0.0):
        self.routes[path] = dict(body=body, content_type=content_type, status=status, delay=delay,
                                 fail_times=fail_times, send_length=send_length, headers=dict(headers),
                                 trickle=trickle)

    def url(self, path):
        return self.base + path

    def count(self, path):
        return self.requests.count(path)


def handler_for(site):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            site.requests.append(self.path)
            route = site.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            if route["fail_times"] > 0:
                route["fail_times"] -= 1
                self.send_error(503, "Busy")
                return
            if route["delay"]:
                site.stop.wait(route["delay"])
            self.send_response(route["status"])
            self.send_header("Content-Type", route["content_type"])
            for key, value in route["headers"].items():
                self.send_header(key, value)
            if route["send_length"]:
                self.send_header("Content-Length", str(len(route["body"])))
            self.end_headers()
            try:
                if route["trickle"]:  # 100 bytes at a time, `trickle` seconds apart
                    for i in range(0, len(route["body"]), 100):
                        self.wfile.write(route["body"][i:i + 100])
                        self.wfile.flush()
                        if site.stop.wait(route["trickle"]):
                            break
                else:
                    self.wfile.write(route["body"])
            except OSError:  # the client gave up (timeout or size cap)
                pass

        def log_message(self, *args):  # keep pytest's output clean
            pass

    return Handler


@pytest.fixture
def site(monkeypatch):
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield site
    site.stop.set()
    server.shutdown()
    server.server_close()


def row(results, url):
    return results.set_index("url").loc[url]


def assert_only_hash_named_images(folder):
    images = [p for p in folder.iterdir() if p.suffix in (".png", ".jpg")]
    assert all(HASH_NAME.match(p.name) for p in images), [p.name for p in images]
    assert all(cv2.imread(str(p)) is not None for p in images)
    return images


def test_download_checks_every_response(site, tmp_path):
    site.add("/a.png", png(1))
    site.add("/b.jpg", jpg(2), "image/jpeg")
    site.add("/c.png", png(3))
    site.add("/old-c", status=302, headers={"Location": "/c.png"})
    site.add("/html-as-jpeg.jpg", b"<!DOCTYPE html><p>hotlinking forbidden</p>", "image/jpeg")
    site.add("/page.jpg", b"<html>a page with an image name</html>", "text/html")
    site.add("/big.png", png(4, size=64))                       # ~12 KB with Content-Length
    site.add("/big-no-length.png", png(5, size=64), send_length=False)
    site.add("/a-copy.png", png(1))
    site.add("/x/..%2F..%2Fescape.png", png(6))
    out = tmp_path / "out"
    urls = [site.url(p) for p in ["/a.png", "/b.jpg", "/old-c", "/missing.jpg", "/html-as-jpeg.jpg", "/page.jpg",
                                  "/big.png", "/big-no-length.png", "/a-copy.png", "/x/..%2F..%2Fescape.png"]]
    urls += ["file:///etc/passwd", urls[0]]                     # a local file, and a repeated URL

    results = download_images(urls, out, max_bytes=4000, **FAST)

    assert list(results.columns) == ["url", "file", "status", "reason"]
    assert len(results) == len(urls) - 1                        # the repeat is dropped
    assert row(results, site.url("/a.png"))["status"] == "downloaded"
    assert row(results, site.url("/b.jpg"))["file"].endswith(".jpg")
    assert row(results, site.url("/old-c"))["status"] == "downloaded"       # redirect followed
    assert row(results, site.url("/missing.jpg"))["reason"] == "HTTP 404 Not Found"
    assert row(results, site.url("/html-as-jpeg.jpg"))["reason"].startswith("not an image: content starts with")
    assert row(results, site.url("/page.jpg"))["reason"] == "not an image: content-type text/html"
    assert row(results, site.url("/big.png"))["reason"].startswith("too large")
    assert row(results, site.url("/big-no-length.png"))["reason"].startswith("too large")
    copy = row(results, site.url("/a-copy.png"))
    assert copy["status"] == "present" and copy["file"] == row(results, site.url("/a.png"))["file"]
    assert row(results, "file:///etc/passwd")["reason"].startswith("not an http(s) URL")
    assert row(results, site.url("/x/..%2F..%2Fescape.png"))["status"] == "downloaded"

    # Content-hash names only, nothing written outside the output folder.
    assert len(assert_only_hash_named_images(out)) == 4          # a, b, c (via the redirect), escape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    failed = results[results["status"] == "failed"]
    assert read_url_list(out / ERROR_LOG) == failed["url"].tolist()
    assert len(failed) == 6


def test_rerun_requests_nothing_and_retry_log_fetches_only_failures(site, tmp_path):
    site.add("/a.png", png(1))
    site.add("/b.png", png(2))
    urls = [site.url("/a.png"), site.url("/b.png"), site.url("/later.png")]
    first = download_images(urls, tmp_path, **FAST)
    assert first["status"].tolist() == ["downloaded", "downloaded", "failed"]
    asked = len(site.requests)

    second = download_images(urls, tmp_path, **FAST)
    assert second["status"].tolist() == ["present", "present", "failed"]
    assert site.requests[asked:] == ["/later.png"]             # only the failure was asked again

    site.add("/later.png", png(3))                              # the server is fixed
    retry = download_images(read_url_list(tmp_path / ERROR_LOG), tmp_path, **FAST)
    assert retry["url"].tolist() == [site.url("/later.png")]
    assert retry["status"].tolist() == ["downloaded"]
    assert read_url_list(tmp_path / ERROR_LOG) == []
    assert len(assert_only_hash_named_images(tmp_path)) == 3


def test_timeouts_and_retries_with_backoff(site, tmp_path):
    site.add("/slow.png", png(1), delay=3.0)                   # no answer within the timeout
    site.add("/trickle.png", png(4, size=32), trickle=0.05)     # each read is quick, the whole is not
    site.add("/flaky.png", png(2), fail_times=2)
    site.add("/gone.png", status=410)
    options = dict(FAST, retries=2, backoff=0.01, timeout=0.3)

    start = time.monotonic()
    results = download_images([site.url("/slow.png")], tmp_path, **dict(options, retries=1))
    assert results["reason"].iloc[0] == "timed out after 0.3 s"
    # Without the timeout the two attempts would take 2 x 3 s; the margin is for a loaded machine.
    assert site.count("/slow.png") == 2 and time.monotonic() - start < 5.0

    results = download_images([site.url("/trickle.png")], tmp_path, **dict(options, retries=0))
    assert results["reason"].iloc[0] == "timed out: transfer took more than 0.3 s"

    results = download_images([site.url("/flaky.png"), site.url("/gone.png")], tmp_path, **options)
    assert results["status"].tolist() == ["downloaded", "failed"]
    assert site.count("/flaky.png") == 3                       # two 503s, then success
    assert site.count("/gone.png") == 1                        # 4xx is not retried


def test_polite_delay_between_requests_to_one_host(site, tmp_path):
    for i in range(3):
        site.add(f"/{i}.png", png(i))
    start = time.monotonic()
    download_images([site.url(f"/{i}.png") for i in range(3)], tmp_path, **dict(FAST, delay=0.2))
    assert time.monotonic() - start >= 0.4


GALLERY = {
    "/gallery/1.html": """<html><head><title>1</title></head><body>
        <img src="/img/p1.png"> <img src="data:image/png;base64,iVBORw0KGgo=">
        <img srcset="/img/small.png 1x, /img/large.png 2x">
        <a href="/img/full.jpg"><img data-src="/img/lazy.png"></a>
        <a href="http://elsewhere.invalid/2.html" rel="next">other host</a>
        <a rel="next" href="2.html">more</a></body></html>""",
    "/gallery/2.html": """<html><head><link rel="next" href="/gallery/3.html"></head>
        <body><img src="../img/p2.png"><img src="/img/p1.png"></body></html>""",
    "/gallery/3.html": """<body><img src="/img/p3.png"><a href="/missing.png">broken</a>
        <a href="/gallery/4.html">Next page &rsaquo;</a></body>""",
    "/gallery/4.html": """<body><img src="/img/p4.png"></body>""",
}


def test_crawl_pages_follows_pagination_up_to_the_limit(site, tmp_path):
    for path, html in GALLERY.items():
        site.add(path, html.encode(), "text/html; charset=utf-8")
    for i, name in enumerate(["p1.png", "large.png", "lazy.png", "p2.png", "p3.png", "p4.png"]):
        site.add(f"/img/{name}", png(10 + i))
    site.add("/img/full.jpg", jpg(20), "image/jpeg")

    results = crawl_pages([site.url("/gallery/1.html"), site.url("/nope.html")], tmp_path,
                          max_pages=4, next_pattern=r"next", **FAST)

    pages_asked = [p for p in site.requests if p.endswith(".html")]
    assert pages_asked == ["/gallery/1.html", "/nope.html", "/gallery/2.html", "/gallery/3.html"]  # limit 4
    images = results[results["status"] != "page-failed"].set_index("url")
    expected = ["/img/p1.png", "/img/large.png", "/img/full.jpg", "/img/lazy.png", "/img/p2.png",
                "/img/p3.png", "/missing.png"]
    assert sorted(images.index) == sorted(site.url(p) for p in expected)
    assert images.loc[site.url("/img/p2.png"), "page"] == site.url("/gallery/2.html")
    assert images.loc[site.url("/missing.png"), "status"] == "failed"
    assert (images["status"] == "downloaded").sum() == 6
    page_failed = results[results["status"] == "page-failed"]
    assert page_failed["url"].tolist() == [site.url("/nope.html")]
    assert read_url_list(tmp_path / ERROR_LOG) == [site.url("/missing.png")]   # images only


def test_an_unreachable_page_is_logged_and_retried(site, tmp_path):
    with socket.socket() as s:  # a port where nothing listens: the connection is refused
        s.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{s.getsockname()[1]}/gallery.html"
    site.add("/img/a.png", png(1))
    results = crawl_pages([unreachable, site.url("/later.html")], tmp_path, **FAST)
    assert results["status"].tolist() == ["page-failed", "page-failed"]
    assert results.iloc[0]["reason"].startswith("connection failed")
    log = tmp_path / ERROR_LOG
    assert read_url_list(log, kind="page") == [unreachable, site.url("/later.html")]
    assert read_url_list(log) == []                                 # no image to retry as an image

    site.add("/later.html", b'<img src="/img/a.png"><img src="/img/missing.png">', "text/html")
    retried = retry_error_log(log, tmp_path, **FAST)
    status = retried.set_index("url")["status"]
    assert status[site.url("/img/a.png")] == "downloaded" and status[site.url("/img/missing.png")] == "failed"
    assert status[unreachable] == "page-failed"
    assert read_url_list(log, kind="page") == [unreachable]         # what still fails, and only that
    assert read_url_list(log) == [site.url("/img/missing.png")]


def test_an_old_error_log_without_kinds_is_read_as_images(tmp_path):
    log = tmp_path / ERROR_LOG
    log.write_text("url,reason\nhttp://h/a.png,HTTP 404 Not Found\n")
    assert read_url_list(log) == ["http://h/a.png"] and read_url_list(log, kind="page") == []


def test_page_links_parsing():
    images, next_pages = page_links(
        '<base href="http://h/dir/"><img src="a.png#x"><a href="javascript:void(0)">x</a>'
        '<a href="p?page=2">Older &raquo;</a><a href="img/b.JPG">b</a>',
        "http://h/start.html", next_pattern=r"older")
    assert images == ["http://h/dir/a.png", "http://h/dir/img/b.JPG"]
    assert next_pages == ["http://h/dir/p?page=2"]
    assert largest_srcset_candidate("a.png 320w, b.png 1280w, c.png 640w") == "b.png"
    assert largest_srcset_candidate("") is None


def write_video(path, frames=25, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), i * 9, np.uint8)
        cv2.putText(frame, str(i), (5, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(frame)
    writer.release()


def test_video_frames_every_n(tmp_path):
    video = tmp_path / "cartoon.avi"
    write_video(video)
    out = tmp_path / "frames"
    first = capture_video_frames(video, out, every=10, progress=False)
    assert first["url"].tolist() == [f"{video}#frame={i}" for i in (0, 10, 20)]
    assert first["status"].tolist() == ["saved"] * 3
    assert all(HASH_NAME.match(Path(f).name) for f in first["file"])
    assert cv2.imread(first["file"].iloc[0]).shape == (48, 64, 3)

    again = capture_video_frames(video, out, every=10, progress=False)
    assert again["status"].tolist() == ["present"] * 3
    assert len(list(out.iterdir())) == 3

    limited = capture_video_frames(video, out, every=3, start=5, max_frames=2, progress=False)
    assert limited["url"].tolist() == [f"{video}#frame={i}" for i in (5, 8)]


def test_video_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        capture_video_frames(tmp_path / "none.mp4", tmp_path)
    (tmp_path / "fake.mp4").write_text("not a video")
    with pytest.raises(ValueError, match="cannot open"):
        capture_video_frames(tmp_path / "fake.mp4", tmp_path)
    with pytest.raises(ValueError, match="every"):
        capture_video_frames(tmp_path / "fake.mp4", tmp_path, every=0)
