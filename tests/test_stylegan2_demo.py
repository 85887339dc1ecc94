"""The teaching experiments of notebook 01's StyleGAN2 half."""

import numpy as np

from toonemo_lib.lessons.adain import spike_suppression
from toonemo_lib.stylegan2.demo import (
    course_generator,
    modulated_stack_stds,
    spike_suppression_modulated,
    swap_style_rows,
    tiny_generator,
)


def test_spike_turns_adain_down_but_not_demodulation():
    heights = [0, 30, 1000]
    adain = spike_suppression(heights, size=16)
    demod = spike_suppression_modulated(heights, size=16)
    assert adain[0] > 0.9 and adain[-1] < 0.05
    np.testing.assert_allclose(demod, demod[0], rtol=1e-6)


def test_demodulation_keeps_the_scale_and_modulation_alone_drifts():
    with_demod = modulated_stack_stds(layers=5, channels=16, size=16, demodulate=True)
    without = modulated_stack_stds(layers=5, channels=16, size=16, demodulate=False)
    assert all(0.7 < s < 1.1 for s in with_demod)
    assert without[-1] > 2.5


def test_tiny_generator_centres_truncation_on_the_mean_w():
    G = tiny_generator(resolution=8, seed=3, w_avg_samples=500)
    z = np.random.default_rng(3).standard_normal((500, G.latent_size)).astype("float32")
    np.testing.assert_allclose(G.mapping.w_avg.numpy(), np.asarray(G.mapping(z))[:, 0].mean(0), atol=1e-5)


def test_course_generator_shows_the_shipped_face_model_and_falls_back_without_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path))
    G, about = course_generator(use_ffhq=False, resolution=8)
    assert G.resolution == 32 and "FER2013" in about and capsys.readouterr().out == ""
    # FFHQ asked for, pickle absent and (in tests) no network: a message, then the shipped model
    monkeypatch.setattr("toonemo_lib.download.fetch", lambda *a, **k: (_ for _ in ()).throw(FileNotFoundError("offline")))
    G, about = course_generator(use_ffhq=True, resolution=8)
    assert G.resolution == 32 and "FFHQ generator unavailable" in capsys.readouterr().out
    # the shipped file missing too: a message naming it, then a tiny untrained generator
    monkeypatch.setattr("toonemo_lib.stylegan2.shipped.MODELS_DIR", tmp_path)
    G, about = course_generator(use_ffhq=False, resolution=8)
    assert G.resolution == 8 and "untrained" in about and "stylegan2-faces-fer2013-32.npz" in capsys.readouterr().out


def test_profiles_say_which_generator_notebook_01_shows():
    from toonemo_lib.config import get_profile

    assert [get_profile(p).settings("01")["ffhq_generator"] for p in ("smoke", "cpu", "gpu")] == [False, False, True]


def test_swapping_rows_takes_exactly_those_rows():
    G = tiny_generator(resolution=8, seed=0, w_avg_samples=100)
    z_a, z_b = (np.random.default_rng(s).standard_normal((1, G.latent_size)).astype("float32") for s in (1, 2))
    a = swap_style_rows(G, z_a, z_b, [])
    b = swap_style_rows(G, z_a, z_b, range(G.num_ws))
    np.testing.assert_array_equal(b, swap_style_rows(G, z_b, z_a, []))
    assert np.abs(a.astype(int) - b).mean() > 1
