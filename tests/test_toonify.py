"""Toonify on the shipped astronaut with tiny generators: align -> project -> toon model -> paste back."""

import numpy as np
import pytest

from toonemo_lib.datasets.samples import load_sample
from toonemo_lib.faces.align import quad_mask
from toonemo_lib.stylegan2.demo import tiny_generator
from toonemo_lib.stylegan2.project import w_statistics
from toonemo_lib.toonify.toonifier import ToonifyResult, toonify

STEPS = 30


@pytest.fixture(scope="module")
def photo():
    return load_sample("faces/astronaut.png")


@pytest.fixture(scope="module")
def generators():
    base, toon = tiny_generator(32, seed=0), tiny_generator(32, seed=1)
    return base, toon, w_statistics(base, 2000)


@pytest.fixture(scope="module")
def result(photo, generators):
    base, toon, stats = generators
    return toonify(photo, base, toon, steps=STEPS, w_stats=stats, progress=False, image_steps=(0, STEPS))


def test_shapes_and_dtypes(photo, result):
    assert isinstance(result, ToonifyResult)
    assert result.toon_face.shape == result.reconstruction.shape == result.aligned_face.shape == (32, 32, 3)
    assert result.pasted.shape == photo.shape
    for image in (result.toon_face, result.reconstruction, result.pasted, result.aligned_face):
        assert image.dtype == np.uint8
    assert result.latent.shape == (8, 64) and result.losses.shape == (STEPS,)
    assert result.projection.space == "w+" and result.noise == "const"
    assert not np.allclose(result.latent, result.latent[:1])  # W+: one w per layer
    assert result.distance_name.startswith("stand-in")  # no LPIPS weights in the test cache


def test_pixels_outside_the_quad_are_unchanged(photo, result):
    outside = quad_mask(photo.shape, result.aligned.quad, feather=0.1) == 0
    assert outside.mean() > 0.5
    assert np.array_equal(result.pasted[outside], photo[outside])
    inside = ~outside
    assert np.abs(result.pasted[inside].astype(int) - photo[inside]).mean() > 5  # the face was replaced


def test_the_reconstruction_error_falls_over_the_steps(result):
    target = result.aligned_face.astype(float)
    images = result.projection.images
    before, after = (np.abs(images[s].astype(float) - target).mean() for s in (0, STEPS))
    assert after < 0.8 * before
    assert result.projection.distances[-1] < 0.5 * result.projection.distances[0]


def test_toon_face_differs_from_reconstruction_unless_toon_is_base(photo, generators, result):
    base, _, stats = generators
    assert np.abs(result.toon_face.astype(int) - result.reconstruction).mean() > 10
    for noise in ("const", "projected"):
        same = toonify(photo, base, base, steps=3, w_stats=stats, progress=False, noise=noise)
        assert np.array_equal(same.toon_face, same.reconstruction)


def test_projected_noise_and_warm_start_pass_through(photo, generators, result):
    base, toon, stats = generators
    again = toonify(photo, base, toon, steps=2, w_stats=stats, progress=False, noise="projected",
                    warm_start=(result.latent, result.projection.noise), aligned=result.aligned)
    np.testing.assert_allclose(again.projection.initial_latent, result.latent, atol=1e-6)
    assert again.noise == "projected"


def test_clear_errors(photo, generators):
    base, toon, stats = generators
    with pytest.raises(ValueError, match="no face found"):
        toonify(np.full((120, 160, 3), 128, np.uint8), base, toon, steps=1, w_stats=stats, progress=False)
    with pytest.raises(ValueError, match="resolution 32 vs 16"):
        toonify(photo, base, tiny_generator(16, seed=2), steps=1, w_stats=stats, progress=False)
    with pytest.raises(TypeError, match="Generator"):
        toonify(photo, base, object(), steps=1, progress=False)
    with pytest.raises(ValueError, match="noise must be one of"):
        toonify(photo, base, toon, steps=1, w_stats=stats, noise="random", progress=False)
    with pytest.raises(ValueError, match="RGB uint8"):
        toonify(photo.astype(float), base, toon, steps=1, w_stats=stats, progress=False)


def test_small_models_blend_export_and_parents(tmp_path):
    from toonemo_lib.stylegan2 import blend_generators, load_official_pickle, save_official_pickle
    from toonemo_lib.toonify.models import small_models
    from toonemo_lib.toonify.toonifier import hard_switch_parents, max_abs_difference

    models = small_models(resolution=16)
    assert not models.real and "untrained" in models.description
    structure, texture = models.structure, models.texture
    blended = blend_generators(structure, texture, 8)
    parents = hard_switch_parents(blended, structure, texture, 8)
    assert set(parents.values()) == {"structure", "texture"}
    assert parents["synthesis/16x16/Conv1/weight"] == "texture"
    assert parents["synthesis/8x8/Conv1/weight"] == "structure"
    assert max_abs_difference(blend_generators(structure, structure, 8, blend_width=1.0), structure) == 0
    path = save_official_pickle(structure, models.structure_D, blended, tmp_path / "blend.pkl")
    assert max_abs_difference(load_official_pickle(path).Gs, blended) == 0


def test_the_real_models_in_their_order_and_never_a_silent_fallback(tmp_path, monkeypatch):
    """gpu: the learner's TOON_PICKLE, else a Toonify pickle placed in the cache, else MetFaces and its parent."""
    from toonemo_lib.download import artefact
    from toonemo_lib.stylegan2 import save_official_pickle
    from toonemo_lib.toonify.models import small_models, toon_pair, toonify_models

    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="no real toon pair.*metfaces.pkl"):
        toonify_models(use_ffhq=True, download=False)  # nothing placed, and no network in tests
    with pytest.raises(FileNotFoundError, match="TOON_PICKLE .*missing.pkl"):
        toonify_models(use_ffhq=True, toon_pickle=str(tmp_path / "missing.pkl"), download=False)

    small = small_models(16)  # format-exact stand-ins of the real pickles

    def place(name, G):
        artefact(name).path.parent.mkdir(parents=True, exist_ok=True)
        save_official_pickle(G, small.structure_D, G, artefact(name).path)

    place("stylegan2-ada-metfaces", small.structure)
    place("stylegan2-ada-ffhq1024", small.texture)
    chosen = toonify_models(use_ffhq=True, download=False)
    assert chosen.source == "metfaces" and chosen.description.startswith("NVIDIA's MetFaces")
    with pytest.warns(UserWarning, match="look unrelated"):  # the blend checks the pair's ancestry
        pair = toon_pair(True, 8, download=False)
    assert pair.source == "metfaces" and pair.base_G.resolution == 16

    place("stylegan2-ffhq-config-f", small.texture)
    place("toonify-cartoon-blended", small.structure)
    chosen = toonify_models(use_ffhq=True, download=False)
    assert chosen.source == "ffhq" and "Toonify pickle" in chosen.description
    mine = tmp_path / "cartoon.pkl"
    save_official_pickle(small.structure, small.structure_D, small.structure, mine)
    chosen = toonify_models(use_ffhq=True, toon_pickle=str(mine), download=False)
    assert chosen.description.startswith("your cartoon model cartoon.pkl")


def test_the_shipped_pair_missing_gives_the_untrained_stand_ins_said_so(tmp_path, monkeypatch, capsys):
    from toonemo_lib.toonify.models import toonify_models

    monkeypatch.setattr("toonemo_lib.stylegan2.shipped.MODELS_DIR", tmp_path)
    models = toonify_models(use_ffhq=False, resolution=16)
    assert not models.real and models.structure.resolution == 16
    assert "stylegan2-cartoons-32.npz" in capsys.readouterr().out


def test_the_shipped_pair_blends_and_exports_with_a_matching_discriminator(tmp_path):
    from toonemo_lib.stylegan2 import blend_generators, load_official_pickle, save_official_pickle
    from toonemo_lib.toonify.models import shipped_models
    from toonemo_lib.toonify.toonifier import max_abs_difference

    models = shipped_models()
    assert models.real and models.structure.get_config() == models.texture.get_config()
    blended = blend_generators(models.structure, models.texture, 16)
    path = save_official_pickle(models.structure, models.structure_D, blended, tmp_path / "blend.pkl")
    assert max_abs_difference(load_official_pickle(path).Gs, blended) == 0


# --------------------------------------------------------------------------- toonemo toonify


def test_toonemo_toonify_writes_the_photo_and_each_step_beside_it(photo, tmp_path, capsys):
    from toonemo_lib.cli import main
    from toonemo_lib.images import write_image, read_image

    source = write_image(tmp_path / "photo.png", photo)
    out = tmp_path / "out" / "toon.png"
    assert main(["toonify", str(source), str(out), "--profile", "smoke", "--steps", "3"]) == 0
    said = capsys.readouterr().out
    assert "shipped pair" in said or "course's own small pair" in said  # says which models drew it
    pasted = read_image(out)
    assert pasted.shape == photo.shape
    aligned, toon = read_image(tmp_path / "out" / "toon.aligned.png"), read_image(tmp_path / "out" / "toon.toon.png")
    assert aligned.shape == toon.shape == (32, 32, 3)
    assert np.load(tmp_path / "out" / "toon.latent.npy").shape == (8, 64)  # W+ of the shipped face model
    assert not np.array_equal(pasted, photo)
    corners = (slice(0, 40), slice(0, 40))  # far from the face: the photo as it was
    np.testing.assert_array_equal(pasted[corners], photo[corners])


def test_toonemo_toonify_all_faces_toonifies_each_face(tmp_path):
    from toonemo_lib.cli import main
    from toonemo_lib.images import write_image

    two = np.hstack([load_sample("faces/lfw_00.png"), load_sample("faces/lfw_01.png")])
    two = np.kron(two, np.ones((3, 3, 1), np.uint8))  # the LFW samples are small: 3x for the detector
    source = write_image(tmp_path / "two.png", two)
    assert main(["toonify", str(source), str(tmp_path / "two_toon.png"), "--profile", "smoke", "--steps", "2",
                 "--all-faces"]) == 0
    for face in (1, 2):
        assert (tmp_path / f"two_toon.face{face}.toon.png").is_file()
        assert (tmp_path / f"two_toon.face{face}.latent.npy").is_file()


def test_toonemo_toonify_errors(tmp_path, capsys):
    from toonemo_lib.cli import main
    from toonemo_lib.images import write_image

    blank = write_image(tmp_path / "blank.png", np.full((200, 200, 3), 200, np.uint8))
    for flags in ([], ["--all-faces"]):
        assert main(["toonify", str(blank), str(tmp_path / "o.png"), "--profile", "smoke", "--steps", "2", *flags]) == 1
        assert "no face" in capsys.readouterr().err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert main(["toonify", str(broken), str(tmp_path / "o.png"), "--profile", "smoke"]) == 1
    assert "broken.png" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    usage = [(["--base", str(blank)], "go together"), (["--steps", "0"], "--steps"),
             (["--blend-resolution", "12"], "power of two")]
    for flags, message in usage:
        assert main(["toonify", str(blank), str(tmp_path / "o.png"), *flags]) == 2
        assert message in capsys.readouterr().err
    assert main(["toonify", str(blank), str(blank)]) == 2  # never over the photo
    assert "differ from PHOTO" in capsys.readouterr().err
    assert main(["toonify", str(blank), str(tmp_path / "o.gif")]) == 2
