"""The shipped small StyleGAN2 pair: files, loading, what they draw, and the export that makes them."""

import numpy as np
import pytest

from toonemo_lib.quality.generators import haar_face_share, sample_faces
from toonemo_lib.stylegan2 import shipped
from toonemo_lib.stylegan2.shipped import (MAX_SHIPPED_BYTES, export_generator, load_shipped_generator,
                                           shipped_path)


@pytest.fixture(scope="module")
def pair():
    return {kind: load_shipped_generator(kind) for kind in shipped.SHIPPED}


def test_both_models_ship_small_with_a_card_and_a_training_log():
    for kind in shipped.SHIPPED:
        path = shipped_path(kind)
        assert path.exists() and path.stat().st_size <= MAX_SHIPPED_BYTES
        assert path.with_suffix(".md").exists() and path.with_suffix(".log.csv").exists()


def test_the_pair_draws_32px_images_and_shares_an_architecture(pair):
    for G in pair.values():
        z = np.random.default_rng(0).standard_normal((3, G.latent_size)).astype(np.float32)
        images = np.asarray(G(z, truncation_psi=0.7, noise_mode="const"))
        assert images.shape == (3, 32, 32, 3) and np.isfinite(images).all()
    assert pair["faces"].get_config() == pair["cartoons"].get_config()   # fine-tuned, so they blend


def test_the_face_model_draws_grey_faces_and_the_cartoon_model_colour(pair):
    faces, cartoons = (sample_faces(pair[kind], 64, 0.7, seed=1).astype(float) for kind in ("faces", "cartoons"))
    colour = lambda x: np.abs(x - x.mean(axis=-1, keepdims=True)).mean()
    assert colour(faces) < 3 < 10 < colour(cartoons)
    assert haar_face_share(sample_faces(pair["faces"], 200, 0.7, seed=2).astype(np.uint8)) >= 0.3


def test_unknown_and_missing_models_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="faces, cartoons"):
        shipped_path("ffhq")
    monkeypatch.setattr(shipped, "MODELS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="export_generator"):
        load_shipped_generator("faces")


def test_export_writes_g_ema_alone_and_refuses_what_is_too_big(tmp_path, monkeypatch):
    from toonemo_lib.stylegan2 import Discriminator, Generator, generate_images
    from toonemo_lib.stylegan2.snapshot import write_snapshot

    kwargs = dict(resolution=8, fmap_base=64, fmap_max=16)
    G = Generator(latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2, seed=0, **kwargs)
    Gs = Generator(latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2, seed=1, **kwargs)
    snap = write_snapshot(tmp_path / "network-snapshot-000001.npz", {"G": G, "D": Discriminator(**kwargs), "Gs": Gs},
                          {"rng_state": np.arange(3)}, {})
    path = export_generator(snap, tmp_path / "small.npz")
    from toonemo_lib.stylegan2 import load_network

    np.testing.assert_array_equal(generate_images(load_network(path), [0, 1]), generate_images(Gs, [0, 1]))
    monkeypatch.setattr(shipped, "MAX_SHIPPED_BYTES", 100)
    with pytest.raises(ValueError, match="at most 8 MiB"):
        export_generator(snap, tmp_path / "big.npz")
    assert not (tmp_path / "big.npz").exists()


def test_the_face_model_resumes_with_the_discriminator_fitted_for_it(pair, shared_dir):
    """`resume="shipped-faces"` (notebook 03's fine-tune) gives (G, D, G); the fitted D tells
    FER2013 faces (PublicTest) from the model's own."""
    from toonemo_lib.datasets.fer2013 import generator_faces, load_fer2013
    from toonemo_lib.stylegan2.generate import z_from_seeds
    from toonemo_lib.stylegan2.networks import Discriminator
    from toonemo_lib.stylegan2.train import resume_networks

    G, D, Gs = resume_networks("shipped-faces")
    assert isinstance(D, Discriminator) and D.get_config()["resolution"] == G.resolution == 32 and G is Gs
    assert shipped.discriminator_path("faces").stat().st_size <= MAX_SHIPPED_BYTES
    data = load_fer2013(shared_dir / "data" / "fer2013" / "fer2013_train_val.npz")
    reals = generator_faces(data, 32, use=("val",))[:256].astype(np.float32) / 127.5 - 1
    fakes = np.asarray(G(z_from_seeds(range(256), G.latent_size), noise_mode="const"))
    assert float(np.mean(D(reals))) > float(np.mean(D(fakes))) + 0.1


def test_fit_discriminator_trains_d_alone(tmp_path):
    from toonemo_lib.datasets.synthetic import coloured_discs
    from toonemo_lib.datasets.tfrecords import write_zip
    from toonemo_lib.stylegan2.demo import tiny_generator
    from toonemo_lib.stylegan2.train import fit_discriminator

    G = tiny_generator(16)
    before = {name: var.numpy().copy() for name, var in G.tf1_variables().items()}
    data = write_zip(coloured_discs(64, 16, seed=0), tmp_path / "discs.zip")
    D = fit_discriminator(G, data, kimg=0.032, batch=8, progress=False)
    assert D.get_config()["resolution"] == 16
    assert all(np.array_equal(before[name], var.numpy()) for name, var in G.tf1_variables().items())
    with pytest.raises(ValueError, match="16x16"):
        fit_discriminator(tiny_generator(32), data, kimg=0.008, batch=8, progress=False)
