"""FER2013 loaders: the three formats round-trip, labels keep FER2013's order, bad input is named."""

import cv2
import numpy as np
import pandas as pd
import pytest

from toonemo_lib.config import EMOTIONS
from toonemo_lib.datasets.synthetic import synthetic_faces
from toonemo_lib.datasets.fer2013 import (
    class_balance_markdown,
    class_distribution,
    expression_data,
    find_fer2013,
    load_fer2013,
    load_fer2013_csv,
    load_fer2013_npz,
    load_image_folders,
    require_fer2013,
    validate_split,
    write_fer2013_csv,
    write_fer2013_npz,
    write_image_folders,
)


@pytest.fixture(scope="module")
def splits():
    """35 synthetic faces: 21 train, 7 val, 7 test."""
    images, labels = synthetic_faces(35, size=48, grayscale=True, seed=3)
    return {"train": (images[:21], labels[:21]), "val": (images[21:28], labels[21:28]),
            "test": (images[28:], labels[28:])}


def _assert_same(loaded, expected):
    assert list(loaded) == list(expected)
    for name, (images, labels) in expected.items():
        got_images, got_labels = loaded[name]
        assert got_images.dtype == np.uint8 and got_labels.dtype == np.int64
        np.testing.assert_array_equal(got_images, images)
        np.testing.assert_array_equal(got_labels, labels)


@pytest.mark.parametrize("writer, target", [
    (write_fer2013_csv, "fer2013.csv"),
    (write_fer2013_npz, "fer.npz"),
    (write_image_folders, "folders"),
])
def test_each_format_round_trips_through_load_fer2013(splits, tmp_path, writer, target):
    path = writer(tmp_path / target, splits)
    _assert_same(load_fer2013(path), splits)


def test_csv_without_usage_is_all_train(splits, tmp_path):
    images, labels = splits["train"]
    path = write_fer2013_csv(tmp_path / "f.csv", {"train": splits["train"]})
    pd.read_csv(path).drop(columns="Usage").to_csv(path, index=False)
    _assert_same(load_fer2013_csv(path), {"train": (images, labels)})


def test_folder_names_map_to_fer2013_order_not_alphabetical(tmp_path):
    # alphabetically neutral < sad < surprise, but FER2013 numbers them 6, 4, 5
    faces = {"neutral": 6, "Sad": 4, "SURPRISE": 5, "angry": 0}
    images, _ = synthetic_faces(len(faces), grayscale=True)
    for i, (folder, _) in enumerate(faces.items()):
        (tmp_path / "train" / folder).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "train" / folder / f"im{i}.png"), images[i])
    loaded = load_image_folders(tmp_path)
    assert list(loaded) == ["train"]
    np.testing.assert_array_equal(loaded["train"][1], list(faces.values()))
    np.testing.assert_array_equal(loaded["train"][0], images)


def test_kaggle_test_folder_is_the_val_split_and_odd_sizes_are_resized(tmp_path):
    for split, size in (("train", 48), ("test", 48), ("test", 60)):
        folder = tmp_path / split / "happy"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{size}.jpg"), np.full((size, size), 100, np.uint8))
    loaded = load_fer2013(tmp_path)
    assert list(loaded) == ["train", "val"]
    assert loaded["val"][0].shape == (2, 48, 48) and (loaded["val"][1] == 3).all()


def _csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


PIXELS = " ".join(["7"] * 4)  # a 2x2 face keeps the bad CSVs readable


@pytest.mark.parametrize("text, message", [
    ("emotion,Usage\n0,Training\n", r"lacks the column\(s\) \['pixels'\].*found \['emotion', 'Usage'\]"),
    (f"emotion,pixels\n0,{PIXELS}\n1,1 2 3\n", r"row 1 \(line 3 of the file\) has 3 pixels"),
    (f"emotion,pixels\n0,{PIXELS}\n1,{PIXELS} 1 2 3 4 5\n", "row 1.*has 9 pixels but row 0 has 4"),
    (f"emotion,pixels\n0,{PIXELS}\n1,1 2 256 3\n", "row 1.*outside 0..255"),
    (f"emotion,pixels\n0,{PIXELS}\n1,1 2.5 2 3\n", "row 1.*not integers"),
    (f"emotion,pixels\n0,{PIXELS}\n7,{PIXELS}\n", "row 1.*emotion '7'.*0..6"),
    (f"emotion,pixels\n0,{PIXELS}\nsad,{PIXELS}\n", "row 1.*emotion 'sad'"),
    (f"emotion,pixels,Usage\n0,{PIXELS},Training\n1,{PIXELS},Testing\n", r"unknown Usage values \['Testing'\]"),
])
def test_bad_csv_is_refused_with_a_clear_message(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_fer2013_csv(_csv(tmp_path, text))


def test_unknown_class_folder_is_named(tmp_path):
    (tmp_path / "train" / "contempt").mkdir(parents=True)
    with pytest.raises(ValueError, match="unknown class folder .*contempt.*Angry, Disgust"):
        load_image_folders(tmp_path)


def test_empty_split_folder_and_missing_split_folder_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no split folder"):
        load_image_folders(tmp_path)
    (tmp_path / "train" / "angry").mkdir(parents=True)
    with pytest.raises(ValueError, match="has no images"):
        load_image_folders(tmp_path)


def test_corrupt_image_is_named(tmp_path):
    folder = tmp_path / "train" / "fear"
    folder.mkdir(parents=True)
    (folder / "x.png").write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(ValueError, match=r"cannot read the image .*x\.png"):
        load_image_folders(tmp_path)


def test_npz_missing_keys_and_non_npz_are_refused(splits, tmp_path):
    np.savez(tmp_path / "partial.npz", x_train=splits["train"][0], y_train=splits["train"][1])
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['x_val', 'y_val'\]"):
        load_fer2013_npz(tmp_path / "partial.npz")
    (tmp_path / "fake.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not an npz file"):
        load_fer2013(tmp_path / "fake.npz")


def test_missing_path_says_what_to_download(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_fer2013(tmp_path / "nowhere.csv")
    message = str(err.value)
    assert "Kaggle" in message and "fer2013.csv" in message and "msambare/fer2013" in message
    assert "TOONEMO_FER2013" in message


def test_unsupported_suffix_names_the_accepted_formats(tmp_path):
    (tmp_path / "fer.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"fer2013\.csv, an \.npz .*folder"):
        load_fer2013(tmp_path / "fer.txt")


def test_validate_split_checks_and_squeezes():
    images = np.zeros((3, 8, 8, 1), np.uint8)
    out, labels = validate_split(images, np.array([0, 3, 6], np.int32), "train")
    assert out.shape == (3, 8, 8) and labels.dtype == np.int64
    for bad_images, bad_labels, message in [
        (images.astype(np.float32), [0, 1, 2], "must be uint8"),
        (np.zeros((3, 8, 9), np.uint8), [0, 1, 2], "must be square"),
        (np.zeros((0, 8, 8), np.uint8), [], "is empty"),
        (images, [0, 1], "3 images but 2 labels"),
        (images, [0.0, 1.0, 2.0], "must be integers"),
        (images, np.eye(3, 7, dtype=int), "one-hot"),
        (images, [0, 1, 7], r"0..6; found \[7\]"),
    ]:
        with pytest.raises(ValueError, match=message):
            validate_split(bad_images, np.asarray(bad_labels), "train")


def test_find_fer2013_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("TOONEMO_FER2013", raising=False)
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "home"))
    assert find_fer2013() is None
    with pytest.raises(FileNotFoundError, match="Kaggle"):
        require_fer2013()
    home = tmp_path / "home" / "fer2013"
    (home / "kaggle" / "train").mkdir(parents=True)
    assert find_fer2013() == home / "kaggle"
    (home / "mine.npz").write_bytes(b"")
    assert find_fer2013() == home / "mine.npz"
    (home / "fer2013.csv").write_text("")
    assert find_fer2013() == require_fer2013() == home / "fer2013.csv"

    monkeypatch.setenv("TOONEMO_FER2013", str(tmp_path / "elsewhere.npz"))
    with pytest.raises(FileNotFoundError, match="TOONEMO_FER2013 is set"):
        find_fer2013()
    (tmp_path / "elsewhere.npz").write_bytes(b"")
    assert find_fer2013() == tmp_path / "elsewhere.npz"
    assert require_fer2013(home / "fer2013.csv") == home / "fer2013.csv"
    with pytest.raises(FileNotFoundError, match="download|Kaggle"):
        require_fer2013(tmp_path / "absent.csv")


def test_class_distribution_counts_per_split_and_train_share(splits):
    table = class_distribution({name: labels for name, (_, labels) in splits.items()})
    assert list(table.index) == list(EMOTIONS)
    assert list(table.columns) == ["train", "val", "test", "train %"]
    assert table["train"].sum() == 21 and table["test"].sum() == 7
    assert table["train %"].sum() == pytest.approx(100, abs=0.5)
    assert class_distribution(splits).equals(table)  # (images, labels) pairs work too


def test_the_real_fer2013_npz_has_the_documented_shapes_and_counts(shared_dir):
    path = shared_dir / "data" / "fer2013" / "fer2013_train_val.npz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    data = load_fer2013(path)
    assert list(data) == ["train", "val"]
    assert data["train"][0].shape == (28709, 48, 48) and data["val"][0].shape == (3589, 48, 48)
    table = class_distribution(data)
    assert table["train"].tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]


def test_expression_data_uses_fer2013_when_found_and_holds_privatetest_back(splits, tmp_path, monkeypatch):
    path = write_fer2013_npz(tmp_path / "fer.npz", splits)
    monkeypatch.setenv("TOONEMO_FER2013", str(path))
    data, info = expression_data("fer2013", synthetic_faces=14)
    assert list(data) == ["train", "val"]
    np.testing.assert_array_equal(data["val"][1], splits["val"][1])
    assert (info.source, info.location) == ("FER2013", str(path))
    assert info.split_sizes == {"train": 21, "val": 7} and info.held_back == {"test": 7}
    text = info._repr_markdown_()
    assert text.startswith(f"**Data used here: FER2013** from `{path}`: 21 faces (`Training`) train")
    assert "7 (`PublicTest`) validate" in text and "7 `PrivateTest` faces" in text
    monkeypatch.delenv("TOONEMO_FER2013")
    _, given = expression_data("fer2013", path)  # an explicit path needs no environment
    assert given.source == "FER2013"
    with pytest.raises(FileNotFoundError, match="Kaggle"):
        expression_data("fer2013", tmp_path / "absent.csv")


def test_expression_data_falls_back_to_synthetic_faces_and_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv("TOONEMO_FER2013", raising=False)
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "home"))
    data, info = expression_data("fer2013", synthetic_faces=20)
    assert info.source == "synthetic" and info.split_sizes == {"train": 16, "val": 4}
    assert data["train"][0].shape == (16, 48, 48) and data["val"][1].dtype == np.int64
    text = info.markdown()
    assert text.startswith("**Data used here: 20 synthetic cartoon faces drawn by toonemo_lib.datasets.synthetic**")
    assert "16 for training and 4 for validation (a seeded 80/20 split)" in text and "not on FER2013" in text
    assert "FER2013 was not found" in text and "Kaggle" in text and str(tmp_path / "home" / "fer2013") in text
    # a profile that asks for synthetic faces gets them even when FER2013 is there
    monkeypatch.setenv("TOONEMO_FER2013", str(tmp_path))
    again, asked = expression_data("synthetic", synthetic_faces=20)
    assert asked.source == "synthetic" and "asks for synthetic faces" in asked.markdown()
    np.testing.assert_array_equal(again["train"][0], data["train"][0])  # same seed, same faces
    with pytest.raises(ValueError, match="unknown data source"):
        expression_data("imagenet")


def test_class_balance_markdown_is_computed_from_the_counts():
    balanced = pd.DataFrame({"train": [10, 9, 11, 12, 10, 10, 10]}, index=pd.Index(EMOTIONS, name="emotion"))
    text = class_balance_markdown(balanced)
    assert "rarest class is **Disgust**: 9 of 72 faces (12.5 %)" in text
    assert "commonest is **Happy** with 12 (16.7 %)" in text and "nearly balanced (1.3 to 1)" in text
    fer = pd.DataFrame({"train": [3995, 436, 4097, 7215, 4830, 3171, 4965]}, index=pd.Index(EMOTIONS))
    text = class_balance_markdown(fer)
    assert "**Disgust**: 436 of 28,709 faces (1.5 %)" in text and "**Happy** with 7,215 (25.1 %)" in text
    assert "16.5 times as many" in text and "class_weights" in text
    missing = fer.assign(train=[5, 0, 5, 5, 5, 5, 5])
    assert "no Disgust face at all" in class_balance_markdown(missing)
    with pytest.raises(ValueError, match="no split 'val'"):
        class_balance_markdown(fer, "val")


def test_generator_faces_are_rgb_copies_of_the_grey_faces_at_the_asked_resolution(splits):
    from toonemo_lib.datasets.fer2013 import generator_faces

    same = generator_faces(splits, resolution=48)
    train, val = splits["train"][0], splits["val"][0]
    assert same.shape == (28, 48, 48, 3) and same.dtype == np.uint8   # train + val; test held back
    np.testing.assert_array_equal(same[..., 1], np.concatenate([train, val]))
    assert (same[..., 0] == same[..., 2]).all()
    small = generator_faces(splits, resolution=32, use=("val",))
    np.testing.assert_array_equal(small[0, ..., 0], cv2.resize(val[0], (32, 32), interpolation=cv2.INTER_AREA))
    assert generator_faces(splits, resolution=64).shape == (28, 64, 64, 3)
    with pytest.raises(ValueError, match="none of the splits"):
        generator_faces(splits, use=("nope",))
