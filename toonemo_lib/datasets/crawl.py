"""Collect candidate training images: from a list of URLs, from web pages, from a video.

The capstone crawled its emoji from an image search and captured its baby-character
faces by hand from animation videos.  These functions do the same, carefully:

* only http(s) URLs are fetched, with a timeout (per socket operation and for the
  whole transfer), a size cap, a polite delay between requests to the same host and
  a few retries with exponential back-off for transient failures (timeouts, 429, 5xx);
* a response is kept only if its Content-Type allows an image *and* its first bytes
  are those of a JPEG, PNG, GIF, WebP, BMP or TIFF file: servers often send an HTML
  error page with status 200 and an image name or type;
* files are named after a hash of their content, never after the URL, so a URL can
  neither escape the output folder nor overwrite another image, and the same image
  found at two URLs is stored once;
* every result is returned as a pandas DataFrame (url, file, status, reason), with
  status "downloaded" (or "saved" for video frames), "present" or "failed";
* failures are also written to `download.error.log` (CSV: url, reason, kind: "image",
  or "page" for a page that could not be fetched), which `retry_error_log` takes back
  to retry only them; successes are recorded in `download.manifest.csv`, so a second
  run requests nothing already downloaded.

Nothing here ever needs the network in tests: they run against a local http.server.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import json
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, NamedTuple
from urllib.parse import urldefrag, urljoin, urlsplit

import cv2
import pandas as pd
from tqdm.auto import tqdm

RESULT_COLUMNS = ["url", "file", "status", "reason"]
ERROR_LOG = "download.error.log"
MANIFEST = "download.manifest.csv"
CREDITS = "credits.csv"  # where an image came from and its licence (`met.met_portraits`)
USER_AGENT = "toonemo-dataset-builder/0.1 (course project; one request per host per second)"

# HTTP statuses worth retrying: the server may answer differently a moment later.
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
_CHUNK = 64 * 1024


class FetchError(Exception):
    """A URL that could not be fetched as wanted; `retry` says whether trying again may help."""

    def __init__(self, reason: str, retry: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class Response(NamedTuple):
    data: bytes
    content_type: str
    charset: str | None
    url: str          # after redirects


# ----------------------------------------------------------------------------
# Content checks and storage.


def sniff_image_type(data: bytes) -> str | None:
    """The file extension matching an image's magic bytes, or None if it is not an image we know."""
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data.startswith(b"BM"):
        return ".bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return ".tif"
    return None


def content_name(data: bytes, suffix: str) -> str:
    """A file name made of the first 16 hex digits of the SHA-256 of the content."""
    return hashlib.sha256(data).hexdigest()[:16] + suffix


def save_unique(out_dir: Path, data: bytes, suffix: str) -> tuple[Path, bool]:
    """Store `data` under its content name; return (path, True if newly written).

    An existing file of that name holds the same bytes, so it is left untouched.  The
    write goes to a temporary file first, so an interrupted run leaves no half image.
    """
    path = out_dir / content_name(data, suffix)
    if path.exists():
        return path, False
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path, True


# ----------------------------------------------------------------------------
# HTTP.


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow at most 5 redirects, and only to http(s) URLs."""

    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise FetchError(f"redirect to a non-http URL refused: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Fetcher:
    """Polite HTTP GETs with a timeout, a size cap and retries.

    `timeout` (seconds) bounds each socket operation and the whole transfer; `delay`
    is the minimum time between two requests to one host; a failed attempt that may
    be transient is retried `retries` times after `backoff * 2**attempt` seconds.
    """

    def __init__(self, *, timeout: float = 30.0, max_bytes: int = 20 * 2**20, delay: float = 1.0,
                 retries: int = 2, backoff: float = 1.0, user_agent: str = USER_AGENT):
        self.timeout, self.max_bytes, self.delay = timeout, max_bytes, delay
        self.retries, self.backoff, self.user_agent = retries, backoff, user_agent
        # Only http(s) handlers: unlike urllib's default opener this one cannot read
        # file:// or ftp:// URLs, whatever a page or a redirect says.  Proxies come
        # from the environment (http_proxy, no_proxy) as usual.
        handlers = [urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), urllib.request.HTTPHandler(),
                    urllib.request.HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(), _HttpOnlyRedirects(),
                    urllib.request.HTTPErrorProcessor()]
        self._opener = urllib.request.OpenerDirector()
        for handler in handlers:
            self._opener.add_handler(handler)
        self._last_request: dict[str, float] = {}

    def get(self, url: str, accept: str = "image") -> Response:
        """Fetch `url`; `accept` is "image" (checked by type and magic bytes), "html" or "json" (parsed: `get_json`)."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"not an http(s) URL: {url[:80]}")
        for attempt in range(self.retries + 1):
            try:
                return self._get_once(url, accept)
            except FetchError as err:
                if not err.retry or attempt == self.retries:
                    raise
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def _wait_turn(self, host: str) -> None:
        wait = self._last_request.get(host, -1e9) + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_request[host] = time.monotonic()

    def _get_once(self, url: str, accept: str) -> Response:
        self._wait_turn(urlsplit(url).netloc)
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        deadline = time.monotonic() + self.timeout
        try:
            with self._opener.open(request, timeout=self.timeout) as resp:
                content_type = resp.headers.get_content_type()
                if resp.headers.get("Content-Type") is not None or accept == "html":
                    _check_content_type(content_type, accept)  # no type at all: the magic bytes decide
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > self.max_bytes:
                    raise FetchError(f"too large: {int(length)} bytes > max_bytes={self.max_bytes}")
                data = self._read_body(resp, deadline)
                response = Response(data, content_type, resp.headers.get_content_charset(), resp.geturl())
        except FetchError:
            raise
        except urllib.error.HTTPError as err:
            err.close()
            raise FetchError(f"HTTP {err.code} {err.reason}", retry=err.code in RETRY_STATUSES) from None
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, TimeoutError):
                raise FetchError(f"timed out after {self.timeout:g} s", retry=True) from None
            raise FetchError(f"connection failed: {reason}", retry=isinstance(reason, OSError)) from None
        except TimeoutError:
            raise FetchError(f"timed out after {self.timeout:g} s", retry=True) from None
        except (ConnectionError, http.client.HTTPException) as err:
            raise FetchError(f"connection failed: {type(err).__name__}: {err}", retry=True) from None
        except ValueError as err:  # malformed URL
            raise FetchError(f"invalid URL: {err}") from None
        if accept == "image" and sniff_image_type(response.data) is None:
            raise FetchError(f"not an image: content starts with {response.data[:12]!r}")
        return response

    def _read_body(self, resp, deadline: float) -> bytes:
        """Read at most max_bytes, giving up when the whole transfer outlasts the timeout."""
        chunks, size = [], 0
        # read1 returns what one socket read brings, so a server that trickles bytes
        # meets the deadline check instead of blocking read() until it is done.
        while chunk := resp.read1(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"too large: more than max_bytes={self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"timed out: transfer took more than {self.timeout:g} s", retry=True)
            chunks.append(chunk)
        return b"".join(chunks)

    def get_json(self, url: str):
        """The JSON document at `url` (an API's answer), parsed; FetchError when it is not JSON."""
        response = self.get(url, accept="json")
        try:
            return json.loads(response.data.decode(response.charset or "utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise FetchError(f"not JSON: content starts with {response.data[:12]!r}") from None


def _check_content_type(content_type: str, accept: str) -> None:
    if accept == "html":
        if content_type not in ("text/html", "application/xhtml+xml"):
            raise FetchError(f"not an HTML page: content-type {content_type}")
    elif accept == "json":
        if content_type in ("text/html", "application/xhtml+xml") or content_type.startswith("image/"):
            raise FetchError(f"not JSON: content-type {content_type}")  # a login or error page, a picture
    elif not (content_type.startswith("image/") or content_type in ("application/octet-stream", "binary/octet-stream")):
        # text/html, text/plain, JSON...: a page or an error message, not a picture.
        raise FetchError(f"not an image: content-type {content_type}")


# ----------------------------------------------------------------------------
# URL lists, logs and the manifest.


def read_url_list(path, kind: str = "image") -> list[str]:
    """URLs from a text file (one per line, # comments) or from a download.error.log (CSV).

    From a log, only the failures of `kind`: "image" (the default; also every row of a
    log written before pages were logged) or "page".  A plain list holds image URLs.
    """
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    if lines and lines[0].strip().lower().startswith("url,"):
        return [row["url"] for row in csv.DictReader(lines)
                if row.get("url") and (row.get("kind") or "image") == kind]
    if kind != "image":
        return []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def write_error_log(path, failures: pd.DataFrame) -> Path:
    """Write (url, reason, kind) of the failed rows as CSV; `retry_error_log` takes it back.

    kind is "page" for rows with status "page-failed", else "image".
    """
    path = Path(path)
    kinds = ["page" if status == "page-failed" else "image" for status in failures["status"]]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["url", "reason", "kind"])
        writer.writerows(zip(failures["url"], failures["reason"], kinds))
    return path


def _failures(results: pd.DataFrame) -> pd.DataFrame:
    return results[results["status"].isin(["failed", "page-failed"])]


def read_manifest(out_dir: Path) -> dict[str, str]:
    """{url: file name} of the images downloaded into `out_dir` by earlier runs."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {row["url"]: row["file"] for row in csv.DictReader(f)}


def _append_manifest(out_dir: Path, url: str, name: str) -> None:
    path = out_dir / MANIFEST
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["url", "file"])
        writer.writerow([url, name])


def _unique(urls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(u.strip() for u in urls if u and u.strip()))


# ----------------------------------------------------------------------------
# (a) A list of URLs.


def download_images(
    urls: Iterable[str],
    out_dir,
    *,
    error_log: str | os.PathLike | None = ERROR_LOG,
    progress: bool = True,
    fetcher: Fetcher | None = None,
    **fetch_options,
) -> pd.DataFrame:
    """Download image URLs into `out_dir`; return a DataFrame (url, file, status, reason).

    URLs recorded in the folder's manifest whose file still exists are reported
    "present" without any request (a URL whose file was deleted is fetched again).  `error_log` (relative to `out_dir` unless
    absolute; None for none) receives this run's failures.  `fetch_options` go to
    `Fetcher` (timeout, max_bytes, delay, retries, backoff, user_agent).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fetcher = fetcher or Fetcher(**fetch_options)
    manifest = read_manifest(out_dir)
    rows = []
    try:
        for url in tqdm(_unique(urls), desc="download", unit="url", disable=not progress):
            rows.append(_download_one(url, out_dir, fetcher, manifest))
    finally:  # even after Ctrl-C, the failures so far are logged
        results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        if error_log is not None:
            write_error_log(out_dir / error_log, _failures(results))
    return results


def _download_one(url: str, out_dir: Path, fetcher: Fetcher, manifest: dict) -> dict:
    known = manifest.get(url)
    if known and (out_dir / known).is_file():
        return {"url": url, "file": str(out_dir / known), "status": "present", "reason": "downloaded by an earlier run"}
    try:
        data = fetcher.get(url, accept="image").data
    except FetchError as err:
        return {"url": url, "file": "", "status": "failed", "reason": err.reason}
    path, new = save_unique(out_dir, data, sniff_image_type(data))
    _append_manifest(out_dir, url, path.name)
    manifest[url] = path.name
    if new:
        return {"url": url, "file": str(path), "status": "downloaded", "reason": ""}
    return {"url": url, "file": str(path), "status": "present", "reason": "same content as an existing file"}


# ----------------------------------------------------------------------------
# (b) Web pages.


class PageLinks(HTMLParser):
    """Collects image URLs and pagination links from one HTML page.

    Images: <img src|data-src|srcset>, <source srcset> and, with `linked_images`,
    <a href> pointing at an image file.  Next pages: rel="next" on <a> or <link>, or
    an <a> whose URL or text matches `next_pattern` (a regular expression).
    """

    def __init__(self, base_url: str, next_pattern: str | None = None, linked_images: bool = True):
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.next_pattern = re.compile(next_pattern, re.IGNORECASE) if next_pattern else None
        self.linked_images = linked_images
        self.images: list[str] = []
        self.next_pages: list[str] = []
        self._anchor: tuple[str, list[str]] | None = None  # (href, text pieces) of the open <a>

    def _url(self, value: str | None) -> str | None:
        if not value:
            return None
        url = urldefrag(urljoin(self.base_url, value.strip()))[0]
        return url if urlsplit(url).scheme in ("http", "https") else None

    def _add(self, target: list, value: str | None) -> None:
        url = self._url(value)
        if url and url not in target:
            target.append(url)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        rel = attrs.get("rel", "").lower().split()
        if tag == "base" and attrs.get("href"):
            self.base_url = urljoin(self.base_url, attrs["href"])
        elif tag == "img":
            self._add(self.images, attrs.get("src"))
            self._add(self.images, attrs.get("data-src"))
            self._add(self.images, largest_srcset_candidate(attrs.get("srcset", "")))
        elif tag == "source":
            self._add(self.images, largest_srcset_candidate(attrs.get("srcset", "")))
        elif tag == "link" and "next" in rel:
            self._add(self.next_pages, attrs.get("href"))
        elif tag == "a":
            href = attrs.get("href", "")
            if "next" in rel:
                self._add(self.next_pages, href)
            elif self.linked_images and urlsplit(href).path.lower().endswith(IMAGE_SUFFIXES):
                self._add(self.images, href)
            self._anchor = (href, [])

    def handle_data(self, data):
        if self._anchor is not None:
            self._anchor[1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._anchor is not None:
            href, text = self._anchor
            self._anchor = None
            if self.next_pattern and href and (
                self.next_pattern.search(href) or self.next_pattern.search(" ".join("".join(text).split()))
            ):
                self._add(self.next_pages, href)


def largest_srcset_candidate(srcset: str) -> str | None:
    """The URL with the largest width (640w) or density (2x) descriptor in a srcset."""
    best, best_size = None, -1.0
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts:
            continue
        size = 1.0
        if len(parts) > 1:
            try:
                size = float(parts[1][:-1])
            except ValueError:
                pass
        if size > best_size:
            best, best_size = parts[0], size
    return best


def page_links(html: str, base_url: str, next_pattern: str | None = None, linked_images: bool = True):
    """(image URLs, next-page URLs) of an HTML document."""
    parser = PageLinks(base_url, next_pattern, linked_images)
    parser.feed(html)
    parser.close()
    return parser.images, parser.next_pages


def crawl_pages(
    start_urls,
    out_dir,
    *,
    max_pages: int = 10,
    next_pattern: str | None = None,
    same_host: bool = True,
    linked_images: bool = True,
    error_log: str | os.PathLike | None = ERROR_LOG,
    progress: bool = True,
    fetcher: Fetcher | None = None,
    **fetch_options,
) -> pd.DataFrame:
    """Download the images of one or more pages and of up to `max_pages` pages in all.

    Pagination follows rel="next" links and links matching `next_pattern`, on the
    start page's host only unless `same_host=False`.  Returns download_images' table
    with a `page` column (the page an image was first seen on); pages that could not
    be fetched appear with status "page-failed", in the error log too (kind "page").
    """
    start_urls = [start_urls] if isinstance(start_urls, str) else list(start_urls)
    fetcher = fetcher or Fetcher(**fetch_options)
    hosts = {urlsplit(u).netloc for u in start_urls}
    queue, seen = list(start_urls), set(start_urls)
    found: dict[str, str] = {}  # image URL -> page
    page_failures = []
    with tqdm(total=max_pages, desc="pages", unit="page", disable=not progress) as bar:
        pages = 0
        while queue and pages < max_pages:
            page = queue.pop(0)
            pages += 1
            bar.update()
            try:
                response = fetcher.get(page, accept="html")
            except FetchError as err:
                page_failures.append({"url": page, "file": "", "status": "page-failed", "reason": err.reason, "page": page})
                continue
            html = response.data.decode(response.charset or "utf-8", errors="replace")
            images, next_pages = page_links(html, response.url, next_pattern, linked_images)
            for image in images:
                found.setdefault(image, page)
            for link in next_pages:
                if link not in seen and (not same_host or urlsplit(link).netloc in hosts):
                    seen.add(link)
                    queue.append(link)
    results = download_images(list(found), out_dir, error_log=error_log, progress=progress, fetcher=fetcher)
    results["page"] = results["url"].map(found)
    if page_failures:
        results = pd.concat([results, pd.DataFrame(page_failures)], ignore_index=True)
        if error_log is not None:  # download_images logged the images only
            write_error_log(Path(out_dir) / error_log, _failures(results))
    return results


def retry_error_log(log, out_dir, *, max_pages: int = 10, next_pattern: str | None = None,
                    error_log: str | os.PathLike | None = ERROR_LOG, progress: bool = True,
                    **fetch_options) -> pd.DataFrame:
    """Try the failures of a download.error.log again: its pages are crawled, its images downloaded.

    Returns the combined results; `error_log` (in `out_dir`) then lists what still failed.
    """
    pages, images = read_url_list(log, kind="page"), read_url_list(log)
    fetcher = Fetcher(**fetch_options)
    parts = []
    if pages:
        parts.append(crawl_pages(pages, out_dir, max_pages=max(max_pages, len(pages)), next_pattern=next_pattern,
                                 error_log=None, progress=progress, fetcher=fetcher))
    parts.append(download_images(images, out_dir, error_log=None, progress=progress, fetcher=fetcher))
    results = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if error_log is not None:
        write_error_log(Path(out_dir) / error_log, _failures(results))
    return results


# ----------------------------------------------------------------------------
# (c) Frames of a video.


def capture_video_frames(
    video,
    out_dir,
    every: int = 30,
    *,
    start: int = 0,
    max_frames: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Save every `every`-th frame of a video file (from frame `start`) as a PNG.

    The automated version of capturing character faces by hand.  Frames are named by
    the hash of their PNG bytes, so re-running reports them "present".  The url
    column reads VIDEO#frame=N.
    """
    video = Path(video)
    if not video.is_file():
        raise FileNotFoundError(f"no such video file: {video}")
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    out_dir = Path(out_dir)
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ValueError(f"OpenCV cannot open the video {video}")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    rows, index = [], 0
    try:
        with tqdm(total=total, desc="frames", unit="frame", disable=not progress) as bar:
            # grab() advances without decoding; only the frames we keep are decoded.
            while capture.grab():
                if index >= start and (index - start) % every == 0:
                    out_dir.mkdir(parents=True, exist_ok=True)  # only once there is a frame to save
                    rows.append(_save_frame(capture, out_dir, f"{video}#frame={index}"))
                    if max_frames is not None and len(rows) >= max_frames:
                        break
                index += 1
                bar.update()
    finally:
        capture.release()
    if index == 0 and not rows:
        raise ValueError(f"no frames could be read from {video}")
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _save_frame(capture, out_dir: Path, source: str) -> dict:
    ok, frame = capture.retrieve()
    if not ok:
        return {"url": source, "file": "", "status": "failed", "reason": "frame could not be decoded"}
    ok, png = cv2.imencode(".png", frame)  # frames come as BGR, which is what imencode expects
    if not ok:
        return {"url": source, "file": "", "status": "failed", "reason": "PNG encoding failed"}
    path, new = save_unique(out_dir, png.tobytes(), ".png")
    status, reason = ("saved", "") if new else ("present", "same content as an existing file")
    return {"url": source, "file": str(path), "status": status, "reason": reason}
