"""Downloads against a local HTTP server on 127.0.0.1: resume, truncation, checksums, offline."""

import hashlib
import http.server
import json
import socket
import threading

import pytest

from toonemo_lib import download

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB that is not all zeros
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /file.bin with Range support, and misbehaves on other paths."""

    seen_ranges: list = []

    def do_GET(self):
        rng = self.headers.get("Range")
        type(self).seen_ranges.append(rng)
        if self.path == "/missing.bin":
            self.send_error(404)
            return
        start = int(rng.split("=")[1].rstrip("-")) if rng and self.path != "/norange.bin" else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/truncated.bin":
            body = body[: len(body) // 3]  # promise everything, send a third, hang up
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.seen_ranges = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_fetch_verifies_and_caches(server, cache):
    path = download.fetch(f"{server}/file.bin", sha256=SHA, progress=False)
    assert path == cache / "downloads" / "file.bin"
    assert path.read_bytes() == PAYLOAD
    assert not path.with_name("file.bin.part").exists()
    # second call: served from the cache, no request
    _Handler.seen_ranges.clear()
    assert download.fetch(f"{server}/file.bin", sha256=SHA, progress=False) == path
    assert _Handler.seen_ranges == []


def test_fetch_resumes_a_partial_file_with_a_range_request(server, cache):
    part = cache / "downloads" / "file.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:300_000])
    path = download.fetch(f"{server}/file.bin", sha256=SHA, progress=False)
    assert _Handler.seen_ranges == ["bytes=300000-"]
    assert path.read_bytes() == PAYLOAD


def test_a_server_that_ignores_range_restarts_the_download(server, cache):
    part = cache / "downloads" / "norange.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that must not be kept")
    path = download.fetch(f"{server}/norange.bin", sha256=SHA, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_a_truncated_transfer_leaves_only_a_part_file_that_the_next_call_resumes(server, cache):
    with pytest.raises(download.DownloadError, match="run again to resume"):
        download.fetch(f"{server}/truncated.bin", filename="file.bin", sha256=SHA, progress=False)
    assert not (cache / "downloads" / "file.bin").exists()
    part = cache / "downloads" / "file.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)
    path = download.fetch(f"{server}/file.bin", sha256=SHA, progress=False)
    assert _Handler.seen_ranges[-1] == f"bytes={len(PAYLOAD) // 3}-"
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_keeps_nothing(server, cache):
    with pytest.raises(download.DownloadError, match="checksum mismatch.*expected sha256 0000"):
        download.fetch(f"{server}/file.bin", sha256="0" * 64, progress=False)
    assert list((cache / "downloads").iterdir()) == []


def test_a_cached_file_with_the_wrong_checksum_is_fetched_again(server, cache):
    target = cache / "downloads" / "file.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"stale")
    assert download.fetch(f"{server}/file.bin", sha256=SHA, progress=False).read_bytes() == PAYLOAD


def test_offline_error_names_url_file_and_where_to_put_it(cache):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/stylegan2-ffhq-config-f.pkl"
    with pytest.raises(download.DownloadError) as err:
        download.fetch(url, sha256=SHA, timeout=2, progress=False)
    message = str(err.value)
    assert url in message and "stylegan2-ffhq-config-f.pkl" in message
    assert str(cache / "downloads" / "stylegan2-ffhq-config-f.pkl") in message and SHA in message


def test_http_error_is_reported(server):
    with pytest.raises(download.DownloadError, match="HTTP 404"):
        download.fetch(f"{server}/missing.bin", progress=False)


def test_unsafe_file_names_are_refused():
    with pytest.raises(ValueError, match="safe file name"):
        download.fetch("http://127.0.0.1/", progress=False)


def test_manifest_lists_the_course_artefacts_with_licences():
    manifest = download.load_manifest()
    assert {"stylegan2-ffhq-config-f", "toonify-cartoon-blended", "fer2013", "vgg16-notop", "lpips-vgg-lin"} <= set(manifest)
    for art in manifest.values():
        assert art.licence and art.notebooks and (art.url or art.how_to_get)
        assert art.sha256 is None or len(art.sha256) == 64


def test_missing_artefact_without_download_says_what_and_where(cache):
    with pytest.raises(FileNotFoundError) as err:
        download.fetch_artefact("fer2013", download=False)
    message = str(err.value)
    assert "fer2013.csv" in message and "kaggle.com" in message and str(cache / "fer2013" / "fer2013.csv") in message


def test_fetch_artefact_uses_the_cached_copy_and_checks_its_checksum(cache, tmp_path, monkeypatch):
    manifest = tmp_path / "artefacts.json"
    manifest.write_text(json.dumps([{"name": "toy", "filename": "toy.bin", "url": None, "sha256": SHA,
                                     "licence": "CC0", "notebooks": ["01"], "subdir": "toys", "how_to_get": "make it"}]))
    monkeypatch.setattr(download, "MANIFEST", manifest)
    target = cache / "toys" / "toy.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOAD)
    assert download.fetch_artefact("toy") == target
    target.write_bytes(b"tampered")
    with pytest.raises(download.DownloadError, match="does not match the sha256"):
        download.fetch_artefact("toy")
    with pytest.raises(KeyError, match="no artefact 'nosuch'"):
        download.fetch_artefact("nosuch")
