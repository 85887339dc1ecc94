"""The personal emoji: background removal, feathered alpha, crop, PNG with transparency.

The synthetic faces are composed here (faces/ must not import datasets/): a cartoon face
drawn on its plain background tells us its exact foreground (everything the flood fill from
the corner does not reach), which is then pasted on a cluttered background.
"""

import cv2
import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.datasets.synthetic import cartoon_foreground, draw_cartoon_face
from toonemo_lib.faces import emoji
from toonemo_lib.faces.detect import largest_face
from toonemo_lib.images import read_image

CANVAS, FACE = 200, 150
BACKGROUNDS = ("tiles", "stripes", "gradient")


def known_foreground(face: np.ndarray) -> np.ndarray:
    """The face's pixels (bool): all but the background (flat, two-tone or a gradient) reached from the corners."""
    return cartoon_foreground(face)


def cluttered_background(kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:CANVAS, :CANVAS]
    if kind == "tiles":  # random colour in every 8 x 8 tile
        tiles = rng.integers(0, 256, (CANVAS // 8, CANVAS // 8, 3)).astype(np.uint8)
        return cv2.resize(tiles, (CANVAS, CANVAS), interpolation=cv2.INTER_NEAREST)
    if kind == "stripes":  # diagonal stripes of two random colours
        a, b = rng.integers(0, 256, (2, 3))
        return np.where((((xx + yy) // 10) % 2 == 0)[..., None], a, b).astype(np.uint8)
    # a colour gradient with pixel noise
    a, b = rng.integers(0, 256, (2, 3))
    t = (xx / CANVAS)[..., None]
    noisy = a * (1 - t) + b * t + rng.normal(0, 12, (CANVAS, CANVAS, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def composed_face(seed: int, kind: str):
    """(image, foreground): a cartoon face centred on a cluttered CANVAS x CANVAS background."""
    face = draw_cartoon_face(seed % 7, FACE, seed=seed)
    fg = known_foreground(face)
    image = cluttered_background(kind, seed + 100)
    full = np.zeros((CANVAS, CANVAS), bool)
    o = (CANVAS - FACE) // 2
    full[o:o + FACE, o:o + FACE] = fg
    image[full] = face[fg]
    return image, full


def iou(mask, truth) -> float:
    m = np.asarray(mask) > 0
    return float((m & truth).sum() / (m | truth).sum())


@pytest.fixture(scope="module")
def astronaut():
    image = load_sample("faces/astronaut.png")
    return image, emoji.personal_emoji(image)


# ---------------------------------------------------------------------------- synthetic faces


def test_the_known_foreground_is_the_face_and_hair():
    face = draw_cartoon_face("Happy", FACE, seed=3)
    fg = known_foreground(face)
    assert not fg[0, 0] and not fg[-1, -1] and fg[FACE // 2, FACE // 2]
    assert 0.35 < fg.mean() < 0.8


def test_the_mask_matches_synthetic_faces_on_cluttered_backgrounds():
    scores = {}
    for seed in range(3):
        for kind in BACKGROUNDS:
            image, truth = composed_face(seed, kind)
            steps = emoji.personal_emoji(image)
            scores[seed, kind] = iou(steps.mask, truth)
    print("IoU per (seed, background):", {k: round(v, 3) for k, v in scores.items()})
    assert min(scores.values()) >= 0.9, scores


def test_the_centred_prior_finds_a_generated_face_without_a_detection():
    image, truth = composed_face(4, "tiles")
    assert emoji.face_region(np.full_like(image, 128))[1] == "centred prior"
    box = emoji._centred_box(image.shape)
    raw = emoji.grabcut_mask(image, emoji.seed_mask(image.shape, box, prior=True))
    assert iou(emoji.clean_mask(raw), truth) >= 0.9


def test_a_given_box_is_used_as_it_is():
    image, truth = composed_face(1, "stripes")
    box = (50, 70, 100, 100)  # brows to chin of this face, as a face detector would frame it
    steps = emoji.personal_emoji(image, box=box)
    assert steps.box == box and steps.box_source == "given"
    assert iou(steps.mask, truth) >= 0.9


def test_the_steps_have_the_contract_shapes_and_types():
    image, truth = composed_face(2, "gradient")
    steps = emoji.personal_emoji(image, size=64)
    assert steps.original.shape == image.shape and steps.original.dtype == np.uint8
    assert steps.mask.shape == image.shape[:2] and set(np.unique(steps.mask)) <= {0, 255}
    assert steps.transparent.shape == image.shape[:2] + (4,) and steps.transparent.dtype == np.uint8
    np.testing.assert_array_equal(steps.transparent[:, :, :3], image)  # RGB order kept
    assert steps.cropped.shape == (64, 64, 4) and steps.cropped.dtype == np.uint8
    images, titles = steps.panels()
    assert titles == ["original", "mask", "transparent", "cropped"] and len(images) == 4


# ---------------------------------------------------------------------------- the steps


def test_clean_mask_drops_specks_and_fills_holes():
    mask = np.zeros((100, 100), np.uint8)
    cv2.circle(mask, (50, 50), 30, 255, -1)
    cv2.circle(mask, (50, 50), 8, 0, -1)        # a hole (an eye GrabCut missed)
    mask[5:8, 5:8] = 255                        # a speck
    cv2.circle(mask, (90, 90), 6, 255, -1)      # a second, smaller blob
    clean = emoji.clean_mask(mask)
    expected = np.zeros_like(mask)
    cv2.circle(expected, (50, 50), 30, 255, -1)
    assert iou(clean, expected > 0) > 0.97
    assert clean[50, 50] == 255 and clean[6, 6] == 0 and clean[90, 90] == 0


def test_the_feathered_edge_ramps_over_feather_pixels():
    mask = np.zeros((80, 80), np.uint8)
    mask[20:60, 20:60] = 255
    alpha = emoji.feather_alpha(mask, feather=6)
    assert alpha.dtype == np.uint8
    row = alpha[40]
    assert row[0] == 0 and row[40] == 255
    ramp = row[(row > 0) & (row < 255)]
    assert 4 <= len(ramp) <= 16                 # about 6 px on each side
    assert np.all(np.diff(row[10:40].astype(int)) >= 0)  # rising into the mask
    np.testing.assert_array_equal(emoji.feather_alpha(mask, feather=0), mask)


def test_crop_pads_to_a_transparent_square_and_resizes():
    rgba = np.zeros((100, 200, 4), np.uint8)
    rgba[..., :3] = (200, 30, 30)
    rgba[10:90, 5:45, 3] = 255                  # 40 wide, 80 tall, near the left edge
    cropped, (x, y, w, h) = emoji.crop_to_mask(rgba, margin=0.1)
    assert w == h == 96 and x < 0               # square, reaching past the image's edge
    assert cropped[0, 0, 3] == 0 and cropped[48, 48, 3] == 255
    small, _ = emoji.crop_to_mask(rgba, margin=0.1, size=32)
    assert small.shape == (32, 32, 4)
    opaque = small[small[..., 3] == 255]
    assert len(opaque) and np.all(np.abs(opaque[:, :3].astype(int) - (200, 30, 30)) <= 1)  # no dark fringe
    tall, _ = emoji.crop_to_mask(rgba, margin=0, square=False)
    assert tall.shape == (80, 40, 4)


# ---------------------------------------------------------------------------- real faces


def test_the_astronaut_gets_a_mask_over_her_face(astronaut):
    image, steps = astronaut
    assert steps.box_source == "detected"
    face = largest_face(image)
    cx, cy = face[0] + face[2] // 2, face[1] + face[3] // 2
    assert steps.mask[cy, cx] == 255
    assert 0.02 < (steps.mask > 0).mean() < 0.3   # the head, not the whole photo
    alpha = steps.transparent[..., 3]
    assert np.any((alpha > 0) & (alpha < 255))  # a feathered edge


def test_the_emoji_png_reads_back_with_transparent_corners(astronaut, tmp_path):
    _, steps = astronaut
    path = emoji.save_emoji(tmp_path / "me.png", steps.cropped)
    back = read_image(path, alpha=True)
    np.testing.assert_array_equal(back, steps.cropped)
    for corner in (back[0, 0], back[0, -1], back[-1, 0], back[-1, -1]):
        assert corner[3] == 0
    assert back[back.shape[0] // 2, back.shape[1] // 2, 3] == 255
    edge = back[..., 3]
    assert np.any((edge > 0) & (edge < 255))


# ---------------------------------------------------------------------------- errors


def test_save_emoji_refuses_formats_without_alpha(astronaut, tmp_path):
    _, steps = astronaut
    with pytest.raises(ValueError, match=r"\.png"):
        emoji.save_emoji(tmp_path / "me.jpg", steps.cropped)
    with pytest.raises(ValueError, match="RGBA"):
        emoji.save_emoji(tmp_path / "me.png", steps.original)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("bad, message", [
    (np.zeros((64, 64), np.uint8), "H x W x 3"),
    (np.zeros((64, 64, 2), np.uint8), "H x W x 3"),
    (np.zeros((64, 64, 3), np.float32), "uint8"),
    (np.zeros((8, 8, 3), np.uint8), "too small"),
])
def test_wrong_images_are_refused_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        emoji.personal_emoji(bad)


@pytest.mark.parametrize("box, message", [
    ((300, 300, 50, 50), "outside"),
    ((-80, 10, 50, 50), "outside"),
    ((10, 10, 0, 40), "no area"),
    ((10, 10, 40), r"\(x, y, w, h\)"),
])
def test_bad_boxes_are_refused_clearly(box, message):
    image, _ = composed_face(0, "tiles")
    with pytest.raises(ValueError, match=message):
        emoji.personal_emoji(image, box=box)


def test_an_empty_mask_says_what_to_try():
    with pytest.raises(ValueError, match="no foreground found.*box="):
        emoji.mask_box(np.zeros((50, 50), np.uint8))
    image, _ = composed_face(0, "stripes")
    with pytest.raises(ValueError, match="no foreground .*open_px"):  # a tiny box, opened away
        emoji.personal_emoji(image, box=(90, 90, 6, 6), open_px=12)


def test_plot_emoji_steps_draws_four_panels_a_row(astronaut):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from toonemo_lib.faces.plots import plot_emoji_steps

    _, steps = astronaut
    fig = plot_emoji_steps([steps, steps])
    assert len(fig.axes) == 8 and fig.axes[3].get_title() == "cropped"
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one"):
        plot_emoji_steps([])
