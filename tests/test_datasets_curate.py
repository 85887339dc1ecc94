"""Curation decisions, perceptual hashes and the contact sheet (toonemo_lib.datasets.curate)."""

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from toonemo_lib.datasets.curate import curate, dhash, hamming, phash


def smooth_image(seed, size=96):
    """A blurred random image: natural-looking structure, far from other seeds in hash space."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def save(path, img):
    Image.fromarray(img).save(path)
    return path


def mixed_folder(folder):
    """One file of each kind a crawl brings back; returns {name: expected reason start}."""
    save(folder / "a-good.png", smooth_image(1))
    save(folder / "b-good.jpg", smooth_image(2))
    Image.fromarray(smooth_image(1)).resize((120, 120)).save(folder / "c-copy-of-a.jpg", quality=80)
    rgba = np.dstack([smooth_image(3), np.full((96, 96), 200, np.uint8)])
    save(folder / "d-rgba.png", rgba)
    Image.fromarray(smooth_image(4)).quantize(64).save(folder / "e-palette.png")
    gray16 = (smooth_image(5)[..., 0].astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "f-gray16.png"), gray16)
    save(folder / "g-tiny.png", smooth_image(6, size=20))
    (folder / "h-zero.jpg").write_bytes(b"")
    jpeg = cv2.imencode(".jpg", smooth_image(7))[1].tobytes()
    (folder / "i-truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "j-html.jpg").write_bytes(b"<html><body>Forbidden</body></html>")
    png = bytearray(cv2.imencode(".png", smooth_image(8))[1].tobytes())
    png[50:len(png) - 20] = bytes(len(png) - 70)       # zeroed pixel data
    (folder / "k-corrupt.png").write_bytes(bytes(png))
    (folder / "notes.txt").write_text("not an image")
    return {
        "a-good.png": "ok",
        "b-good.jpg": "ok",
        "c-copy-of-a.jpg": "near-duplicate of a-good.png",
        "d-rgba.png": "ok",
        "e-palette.png": "ok",
        "f-gray16.png": "ok",
        "g-tiny.png": "too small: 20x20",
        "h-zero.jpg": "unreadable: empty file",
        "i-truncated.jpg": "unreadable: cannot decode image (OSError: image file is truncated",
        "j-html.jpg": "unreadable: not an image",
        "k-corrupt.png": "unreadable: cannot decode",
        "notes.txt": "not an image file name (.txt)",
    }


def folder_fingerprint(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_every_file_gets_a_recorded_decision(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    expected = mixed_folder(src)
    before = folder_fingerprint(src)
    sheet = tmp_path / "sheet.png"

    decisions = curate(src, min_side=64, contact_sheet=sheet, progress=False)

    assert list(decisions.columns) == ["file", "kept", "reason", "width", "height", "hash"]
    by_name = decisions.assign(name=decisions["file"].map(lambda f: Path(f).name)).set_index("name")
    assert sorted(by_name.index) == sorted(expected)
    for name, reason in expected.items():
        assert by_name.loc[name, "reason"].startswith(reason), (name, by_name.loc[name, "reason"])
        assert by_name.loc[name, "kept"] == (reason == "ok")
    assert by_name.loc["c-copy-of-a.jpg", "width"] == 120
    assert by_name.loc["f-gray16.png", ["width", "height"]].tolist() == [96, 96]
    assert all(len(h) == 16 for h in by_name.loc[by_name["kept"], "hash"])
    assert folder_fingerprint(src) == before            # nothing deleted, moved or changed

    sheet_img = cv2.imread(str(sheet))
    assert sheet_img is not None and sheet_img.shape[1] == 8 * 136
    # two rows of tiles: 5 kept on one row, 7 rejected on another
    assert sheet_img.shape[0] == 2 * 30 + 2 * (128 + 4 * 12 + 8)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no files"):
        curate(tmp_path, progress=False)
    with pytest.raises(FileNotFoundError):
        curate(tmp_path / "missing", progress=False)


def test_require_face_keeps_only_faces(tmp_path):
    save(tmp_path / "astronaut.png", skdata.astronaut())
    save(tmp_path / "texture.png", smooth_image(9, size=256))
    decisions = curate(tmp_path, min_side=64, require_face=True, progress=False)
    assert decisions["kept"].tolist() == [True, False]
    assert decisions["reason"].tolist() == ["ok", "no face detected"]


@pytest.mark.parametrize("hasher", [dhash, phash])
def test_perceptual_hashes(hasher):
    img = smooth_image(10, size=128)
    resized = cv2.resize(img, (77, 77), interpolation=cv2.INTER_AREA)
    recompressed = cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 60])[1], cv2.IMREAD_UNCHANGED)
    assert hasher(img) < 2**64
    assert hamming(hasher(img), hasher(img)) == 0
    assert hamming(hasher(img), hasher(resized)) <= 4
    assert hamming(hasher(img), hasher(recompressed)) <= 4
    others = [hamming(hasher(img), hasher(smooth_image(s, size=128))) for s in range(11, 21)]
    assert min(others) > 12


def test_phash_duplicates_mode(tmp_path):
    save(tmp_path / "a.png", smooth_image(1))
    save(tmp_path / "b.png", cv2.GaussianBlur(smooth_image(1), (3, 3), 0))
    decisions = curate(tmp_path, min_side=8, hash="phash", progress=False)
    assert decisions["kept"].tolist() == [True, False]
    with pytest.raises(ValueError, match="hash must be"):
        curate(tmp_path, hash="md5", progress=False)
