"""Cached, verified, resumable downloads of the course's large artefacts.

A file is fetched into ``<cache>/<subdir>/<name>.part`` and only renamed to its
final name after its size and sha256 check out, so a file under its final name
is always complete.  An interrupted transfer leaves the ``.part`` file behind and
the next call resumes it with an HTTP ``Range`` request.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm.auto import tqdm

from .config import DATA_DIR, cache_dir

MANIFEST = DATA_DIR / "manifests" / "artefacts.json"
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download failed, was cut short, or does not match its checksum."""


@dataclass(frozen=True)
class Artefact:
    """One large file the course uses, as listed in ``data/manifests/artefacts.json``."""

    name: str
    filename: str
    url: Optional[str]
    sha256: Optional[str]
    size: Optional[int]
    licence: str
    notebooks: tuple[str, ...]
    subdir: str
    how_to_get: str

    @property
    def path(self) -> Path:
        """Where the file lives (or will live) in the cache."""
        return cache_dir() / self.subdir / self.filename


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(path: Optional[Path] = None) -> dict[str, Artefact]:
    """All artefacts of the manifest (default: the shipped one), by name."""
    entries = json.loads(Path(path or MANIFEST).read_text())
    return {
        e["name"]: Artefact(
            name=e["name"],
            filename=e["filename"],
            url=e.get("url"),
            sha256=e.get("sha256"),
            size=e.get("size"),
            licence=e["licence"],
            notebooks=tuple(e.get("notebooks", ())),
            subdir=e.get("subdir", "downloads"),
            how_to_get=e.get("how_to_get", ""),
        )
        for e in entries
    }


def artefact(name: str) -> Artefact:
    manifest = load_manifest()
    if name not in manifest:
        raise KeyError(f"no artefact {name!r} in {MANIFEST.name}; known: {', '.join(sorted(manifest))}")
    return manifest[name]


def fetch_artefact(name: str, download: bool = True) -> Path:
    """Path of a manifest artefact, downloading it first if it is missing and allowed.

    With ``download=False`` nothing touches the network: a missing file raises a
    ``FileNotFoundError`` that says what to fetch and where to put it.  A cached copy that
    does not match its sha256 is fetched again when that is allowed (`fetch` deletes it),
    else a ``DownloadError`` names it.
    """
    art = artefact(name)
    if art.path.is_file():
        if not art.sha256 or sha256_of(art.path) == art.sha256:
            return art.path
        if not download or not art.url:
            raise DownloadError(
                f"{art.path} does not match the sha256 in the manifest ({art.sha256}); "
                f"delete it and fetch it again from {art.url or art.how_to_get}"
            )
    if not download or not art.url:
        where = art.url or art.how_to_get
        raise FileNotFoundError(
            f"{art.name} is not in the cache. Download {art.filename} from {where} "
            f"and place it at {art.path} (or set TOONEMO_HOME to the folder that holds '{art.subdir}/')."
        )
    return fetch(art.url, art.filename, sha256=art.sha256, subdir=art.subdir)


def fetch(
    url: str,
    filename: Optional[str] = None,
    sha256: Optional[str] = None,
    subdir: str = "downloads",
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` into the cache and return its path; reuse a verified cached copy."""
    filename = filename or Path(urllib.request.urlparse(url).path).name
    if not filename or filename in {".", ".."} or "/" in filename or "\\" in filename:
        raise ValueError(f"cannot derive a safe file name from {url!r}; pass filename=")
    target = cache_dir() / subdir / filename
    target.parent.mkdir(parents=True, exist_ok=True)

    if target.is_file():
        if sha256 is None or sha256_of(target) == sha256:
            return target
        # A complete-looking file with the wrong content: start again, keep nothing.
        target.unlink()

    part = target.with_name(target.name + ".part")
    try:
        _transfer(url, part, timeout=timeout, progress=progress)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise DownloadError(_offline_message(url, target, part, sha256, err)) from err

    actual = sha256_of(part)
    if sha256 is not None and actual != sha256:
        part.unlink()
        raise DownloadError(
            f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual}. "
            f"The partial file was removed; try again, or place a verified copy at {target}."
        )
    if sha256 is None and progress:
        print(f"{target.name}: no checksum to verify against; its sha256 is {actual}")
    os.replace(part, target)  # atomic: the final name only ever holds a verified file
    return target


def _transfer(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Stream ``url`` into ``part``, resuming from its current size when the server allows."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "toonemo"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = have and response.status == 206
        if not resumed:
            have = 0  # the server ignored the Range header: start from scratch
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(part, "ab" if resumed else "wb") as f, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, desc=part.name[:-5], disable=not progress
        ) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                f.write(block)
                bar.update(len(block))
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(
            f"download of {url} was cut short: {size} of {total} bytes. "
            f"The partial file {part} is kept; run again to resume."
        )


def _offline_message(url: str, target: Path, part: Path, sha256: Optional[str], err: Exception) -> str:
    if part.exists() and part.stat().st_size:
        return f"download of {url} stopped after {part.stat().st_size} bytes ({err}); the partial file {part} is kept: run again to resume."
    if isinstance(err, urllib.error.HTTPError):
        return f"the server refused {url}: HTTP {err.code} {err.reason}. Place a copy of {target.name} at {target}."
    check = f" (sha256 {sha256})" if sha256 else ""
    return (
        f"could not download {url}: {err}. If this machine is offline, fetch {target.name}{check} "
        f"on another machine and place it at {target}."
    )
