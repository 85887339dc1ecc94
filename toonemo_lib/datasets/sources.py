"""Where a data set's candidate images come from: one call for every source notebook 02 takes.

    folder, description = candidate_folder("met", work, met_images=400)

``source`` is one of:

* ``"gallery"``: the folder the notebook's own crawl filled (``gallery=``), offline;
* ``"met"``: public-domain portraits of The Met's Open Access collection (CC0; `met`),
  the real default of the ``gpu`` profile;
* a folder of images, used as it is;
* a ``.zip`` of images, whose image files are extracted (by content, never by the
  archive's paths);
* a text file of image URLs, one per line, fetched with `crawl.download_images`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .crawl import IMAGE_SUFFIXES, download_images, read_url_list, save_unique, sniff_image_type
from .met import met_portraits

SOURCES = ("gallery", "met")


def candidate_folder(source, work, *, gallery=None, met_images: int = 400, progress: bool = True) -> tuple[Path, str]:
    """(the folder of candidate images, a line that says what it holds) for ``source``."""
    work = Path(work)
    if source == "gallery":
        if gallery is None:
            raise ValueError('source "gallery" needs the crawled folder (gallery=...)')
        return Path(gallery), f"the local gallery's crawl and video frames ({_count(gallery)} files)"
    if source == "met":
        credits = met_portraits(work / "met", met_images, progress=progress)
        got = int(credits["status"].isin(["downloaded", "present"]).sum())
        return work / "met", (f"{got} public-domain portraits of The Met ({credits['licence'].iloc[0]}; "
                              f"titles and artists in {work / 'met' / 'credits.csv'})")
    path = Path(source)
    if path.is_dir():
        return path, f"your folder {path} ({_count(path)} files)"
    if not path.is_file():
        raise FileNotFoundError(f"the source {source!r} is neither {' nor '.join(map(repr, SOURCES))}, "
                                "a folder, a .zip of images nor a text file of image URLs")
    if zipfile.is_zipfile(path):
        out = extract_images(path, work / "source")
        return out, f"the images of {path.name} ({_count(out)} files)"
    results = download_images(read_url_list(path), work / "source", progress=progress)
    counts = results["status"].value_counts().to_dict()
    return work / "source", f"the URLs of {path.name}: {counts}"


def extract_images(archive, out_dir) -> Path:
    """The image files of a zip, stored under their content names in ``out_dir`` (flat, no archive paths)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.infolist() if not m.is_dir() and Path(m.filename).suffix.lower() in IMAGE_SUFFIXES
                   and not Path(m.filename).name.startswith(".")]  # macOS adds ._ resource forks
        if not members:
            raise ValueError(f"{archive} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for member in members:
            data = zf.read(member)
            # a file that does not start like an image keeps its name's suffix; curation then says why it fails
            save_unique(out_dir, data, sniff_image_type(data) or Path(member.filename).suffix.lower())
    return out_dir


def _count(folder) -> int:
    return sum(1 for p in Path(folder).iterdir() if p.is_file())
