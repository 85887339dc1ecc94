"""Pickles of NVIDIA's TensorFlow NVlabs/stylegan2-ada (metfaces.pkl and its FFHQ parent).

The stand-ins here are written by `save_official_pickle(..., flavour="stylegan2-ada")` with
random weights and the mixed-precision kwargs the real MetFaces file has: stylegan2-ada's
train.py sets num_fp16_res=4 and conv_clamp=256 in G_args and D_args for every --cfg
(MetFaces: --cfg=paper1024 --resume=ffhq1024; its parent was trained with --cfg=stylegan2).
Also the blend's relatedness check (`stylegan2.blend.check_related`).
"""

import warnings

import numpy as np
import pytest
import tensorflow as tf

from toonemo_lib.stylegan2 import (Discriminator, Generator, OfficialPickleError,
                                   load_official_pickle, read_official_pickle,
                                   save_official_pickle, write_official_pickle)
from toonemo_lib.stylegan2.blend import (RELATED_THRESHOLD, blend_generators, check_related,
                                         parent_distance)
from toonemo_lib.stylegan2.official import pickle_flavour

tf.config.experimental.enable_tensor_float_32_execution(False)

RES = 32
# MetFaces' mixed precision (stylegan2-ada train.py, every cfg); small widths for the test.
G_KWARGS = dict(resolution=RES, latent_size=16, dlatent_size=16, mapping_layers=2,
                mapping_fmaps=16, fmap_base=128, fmap_max=16, num_fp16_res=4, conv_clamp=256)
D_KWARGS = dict(resolution=RES, fmap_base=128, fmap_max=16, mbstd_group_size=4,
                num_fp16_res=4, conv_clamp=256)
# What an official file names and the kwargs stylegan2-ada-pytorch's legacy.py accepts: the same sets
# as for stylegan2's files.
from test_stylegan2_official import LEGACY_D_KWARGS, LEGACY_G_KWARGS, OFFICIAL_GLOBALS, pickle_globals  # noqa: E402


def randomized(model, seed):
    """Noise on every variable: biases, styles and noise strengths start at 0 otherwise."""
    rng = np.random.default_rng(seed)
    for var in model.tf1_variables().values():
        var.assign((var.numpy() + rng.normal(0, 0.2, var.shape)).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def nets():
    G = randomized(Generator(seed=1, **G_KWARGS), 11)
    Gs = randomized(Generator(seed=2, **G_KWARGS), 12)
    D = randomized(Discriminator(seed=3, **D_KWARGS), 13)
    return G, D, Gs


@pytest.fixture(scope="module")
def ada_pkl(nets, tmp_path_factory):
    return save_official_pickle(*nets, tmp_path_factory.mktemp("ada") / "metfaces-standin.pkl",
                                flavour="stylegan2-ada")


@pytest.fixture
def states(ada_pkl):
    return read_official_pickle(ada_pkl)


def z(n=4, dim=16, seed=0):
    return np.random.RandomState(seed).randn(n, dim).astype(np.float32)


def config(model):
    return {k: v for k, v in model.get_config().items() if k != "name"}


# --------------------------------------------------------------------------- round trip


def test_ada_pickle_loads_back_bit_identical(nets, ada_pkl):
    assert pickle_flavour(ada_pkl) == "stylegan2-ada"
    back = load_official_pickle(ada_pkl)
    assert (back.D.conv_clamp, back.D.get_config()["num_fp16_res"]) == (256, 4)
    for original, loaded in zip(nets, back):
        assert config(loaded) == config(original)
        ours = loaded.tf1_variables()
        assert list(ours) == list(original.tf1_variables())
        for name, var in original.tf1_variables().items():
            assert ours[name].numpy().tobytes() == var.numpy().tobytes(), name
    assert back.Gs.get_config()["num_fp16_res"] == 4 and back.Gs.get_config()["conv_clamp"] == 256
    assert back.Gs.synthesis.blocks[-1].compute_dtype == "float16"  # 8x8..32x32 in float16
    G, D, Gs = nets
    img = Gs(z(), truncation_psi=0.7)
    np.testing.assert_array_equal(back.Gs(z(), truncation_psi=0.7), img)
    np.testing.assert_array_equal(back.G(z()), G(z()))
    np.testing.assert_array_equal(back.D(img), D(img))
    # the same file read with flavour named, and written again: the same bytes
    again = save_official_pickle(*load_official_pickle(ada_pkl, flavour="stylegan2-ada"),
                                 ada_pkl.with_name("again.pkl"), flavour="stylegan2-ada")
    assert again.read_bytes() == ada_pkl.read_bytes()


def test_ada_pickle_has_stylegan2_ada_layout(ada_pkl):
    data = ada_pkl.read_bytes()
    assert data[:2] == b"\x80\x04" and pickle_globals(data) == OFFICIAL_GLOBALS
    G, D, Gs = read_official_pickle(ada_pkl)
    for net in (G, D, Gs):  # dnnlib Network.__getstate__ of stylegan2-ada: version 5
        assert list(net.state) == ["version", "name", "static_kwargs", "components",
                                   "build_module_src", "build_func_name", "variables",
                                   "input_shapes", "output_shapes", "input_names", "output_names"]
        assert net.state["version"] == 5
        assert "from training.networks import" in net.state["build_module_src"]
    assert [n.state["build_func_name"] for n in (G, D, Gs)] == ["G_main", "D_main", "G_main"]
    synthesis, mapping = Gs.state["components"]["synthesis"], Gs.state["components"]["mapping"]
    assert (synthesis.state["name"], synthesis.state["build_func_name"]) == ("G_synthesis", "G_synthesis")
    assert (mapping.state["name"], mapping.state["build_func_name"]) == ("G_mapping", "G_mapping")
    assert [n for n, _ in Gs.state["variables"]] == ["dlatent_avg"]  # no `lod` in stylegan2-ada
    assert Gs.state["input_shapes"] == [[None, 16], [None, 0]]
    assert Gs.state["output_shapes"] == [[None, 3, RES, RES]]
    assert synthesis.state["input_shapes"] == [[None, 8, 16]]
    assert mapping.state["output_names"] == ["dlatents_out"]
    assert D.state["input_names"] == ["images_in", "labels_in"]
    assert D.state["output_shapes"] == [[None, 1]]
    top, d = Gs.state["static_kwargs"], D.state["static_kwargs"]
    assert (top["num_fp16_res"], top["conv_clamp"], d["num_fp16_res"], d["conv_clamp"]) == (4, 256, 4, 256)
    assert type(top["conv_clamp"]) is int  # as train.py wrote it
    assert synthesis.state["static_kwargs"]["conv_clamp"] == 256
    assert set(top) <= LEGACY_G_KWARGS and set(d) <= LEGACY_D_KWARGS
    noise = dict(synthesis.state["variables"])
    assert noise["noise6"].shape == (1, 1, RES, RES) and "noise7" not in noise


def test_float32_loading_keeps_the_clamp(ada_pkl, nets):
    back = load_official_pickle(ada_pkl, num_fp16_res=0)
    assert back.Gs.get_config()["num_fp16_res"] == 0
    assert all(b.compute_dtype == "float32" for b in back.Gs.synthesis.blocks)
    assert all(b.compute_dtype == "float32" for b in back.D.blocks) and back.D.conv_clamp == 256
    img16 = nets[2](z()).numpy()
    img32 = back.Gs(z()).numpy()
    assert 0 < np.abs(img32 - img16).max() < 0.02 * np.abs(img16).max()
    # the clamp is part of the float32 network as well
    G = Generator(seed=4, **dict(G_KWARGS, num_fp16_res=0, conv_clamp=0.05))
    img, features = G.synthesis(G.mapping(z()), return_features=True)
    assert np.abs(features["16x16_x"].numpy()).max() <= 0.05 + 1e-7


def test_clamped_discriminator_clips_and_otherwise_matches():
    plain = randomized(Discriminator(seed=5, resolution=16, fmap_base=64, fmap_max=16), 6)
    wide = Discriminator(seed=5, resolution=16, fmap_base=64, fmap_max=16, conv_clamp=1e9)
    tight = Discriminator(seed=5, resolution=16, fmap_base=64, fmap_max=16, conv_clamp=0.01)
    for model in (wide, tight):
        for name, var in model.tf1_variables().items():
            var.assign(plain.tf1_variables()[name])
    img = np.random.RandomState(1).randn(4, 16, 16, 3).astype(np.float32)
    np.testing.assert_allclose(wide(img), plain(img), rtol=1e-5, atol=1e-5)
    _, features = tight(img, return_features=True)
    # a block's output: clamp(Conv1_down) / sqrt(2) + Skip / sqrt(2)
    assert np.abs(features["16x16_x"].numpy()).max() > 0.01
    assert np.abs(tight(img).numpy() - plain(img).numpy()).max() > 1e-3
    assert Discriminator.from_config(tight.get_config()).conv_clamp == 0.01


def test_mixed_precision_discriminator_computes_its_top_block_in_float16():
    plain = randomized(Discriminator(seed=5, resolution=16, fmap_base=64, fmap_max=16), 6)
    mixed = Discriminator(seed=5, resolution=16, fmap_base=64, fmap_max=16, num_fp16_res=1, conv_clamp=256)
    for name, var in mixed.tf1_variables().items():
        var.assign(plain.tf1_variables()[name])
    assert mixed.from_rgb.compute_dtype == "float16"
    assert [block.compute_dtype for block in mixed.blocks] == ["float16", "float32"]  # 16x16, 8x8
    assert all(var.dtype == "float32" for var in mixed.weights)
    img = np.random.RandomState(1).randn(4, 16, 16, 3).astype(np.float32)
    logits = mixed(img)
    assert logits.dtype == tf.float32
    np.testing.assert_allclose(logits, plain(img), rtol=0.02, atol=0.02)


# --------------------------------------------------------------------------- refusals


def test_unknown_flavour_name_is_refused(ada_pkl, nets, tmp_path):
    with pytest.raises(OfficialPickleError, match=r"unknown pickle flavour 'stylegan3'.*"
                                                  r"'stylegan2', 'stylegan2-ada'"):
        load_official_pickle(ada_pkl, flavour="stylegan3")
    with pytest.raises(OfficialPickleError, match="unknown pickle flavour"):
        save_official_pickle(*nets, tmp_path / "x.pkl", flavour="ada")
    with pytest.raises(OfficialPickleError, match=r"is a 'stylegan2-ada' pickle.*not 'stylegan2'"):
        load_official_pickle(ada_pkl, flavour="stylegan2")


def test_stylegan2_flavour_cannot_hold_mixed_precision(nets, tmp_path):
    with pytest.raises(ValueError, match=r"G has num_fp16_res=4.*flavour='stylegan2-ada'"):
        save_official_pickle(*nets, tmp_path / "x.pkl", flavour="stylegan2")
    assert not list(tmp_path.iterdir())


def test_without_a_flavour_mixed_precision_is_written_as_stylegan2_ada(nets, tmp_path):
    """Notebook 04's blend of MetFaces and its parent is exported without naming a flavour."""
    assert pickle_flavour(save_official_pickle(*nets, tmp_path / "blend.pkl")) == "stylegan2-ada"
    G = Generator(seed=4, **{**G_KWARGS, "num_fp16_res": 0, "conv_clamp": None})
    D = Discriminator(seed=5, **{k: v for k, v in D_KWARGS.items() if k not in ("num_fp16_res", "conv_clamp")})
    assert pickle_flavour(save_official_pickle(G, D, G, tmp_path / "plain.pkl")) == "stylegan2"


@pytest.mark.parametrize("who, func, message", [
    ("D", "D_basic", r"unknown or mixed pickle flavour.*D 'D_basic'"),
    ("D", "D_stylegan2", r"unknown or mixed pickle flavour.*Gs synthesis 'G_synthesis'.*"
                         r"D 'D_stylegan2'"),
    ("synthesis", "G_synthesis_stylegan_revised", r"unknown or mixed.*'G_synthesis_stylegan_revised'"),
    ("Gs", "G_style", r"Gs: build function 'G_style' is not supported"),
])
def test_unknown_or_mixed_build_functions_are_refused(states, tmp_path, who, func, message):
    G, D, Gs = states
    net = {"D": D, "Gs": Gs, "synthesis": Gs.state["components"]["synthesis"]}[who]
    net.state["build_func_name"] = func
    path = write_official_pickle(states, tmp_path / "bad.pkl")
    with pytest.raises(OfficialPickleError, match=message):
        load_official_pickle(path)


@pytest.mark.parametrize("where, key, value", [
    ("G", "label_size", 10),
    ("synthesis", "use_noise", False),
    ("synthesis", "fmap_const", 7),
    ("G", "synthesis_func", "G_synthesis_other"),
    ("D", "label_size", 10),
    ("D", "mbstd_group_size", None),
    ("D", "use_spectral_norm", True),
    ("D", "score_max", 5),
])
def test_unrepresentable_kwargs_are_named(states, tmp_path, where, key, value):
    G, D, Gs = states
    nets = {"G": [G, Gs], "D": [D],
            "synthesis": [G.state["components"]["synthesis"], Gs.state["components"]["synthesis"]]}
    for net in nets[where]:
        net.state["static_kwargs"][key] = value
    path = write_official_pickle(states, tmp_path / "bad.pkl")
    with pytest.raises(OfficialPickleError, match=rf"static kwarg {key}={value!r} cannot be represented"):
        load_official_pickle(path)


def test_architectures_other_than_skip_and_resnet_are_refused(states, tmp_path):
    states[1].state["static_kwargs"]["architecture"] = "orig"  # cfg=cifar's D
    path = write_official_pickle(states, tmp_path / "bad.pkl")
    with pytest.raises(OfficialPickleError, match=r"D: static kwarg architecture='orig'"):
        load_official_pickle(path)


def test_absent_kwargs_take_stylegan2_ada_defaults(states, tmp_path):
    # stylegan2-ada's G_mapping: mapping_fmaps None = dlatent_size; D: mbstd_group_size None
    # (the whole minibatch), which the project does not implement.
    G, D, Gs = states
    for net in (G, Gs):
        for part in (net, net.state["components"]["mapping"], net.state["components"]["synthesis"]):
            part.state["static_kwargs"].pop("mapping_fmaps", None)
    loaded = load_official_pickle(write_official_pickle(states, tmp_path / "a.pkl"))
    assert loaded.Gs.get_config()["mapping_fmaps"] == 16
    del D.state["static_kwargs"]["mbstd_group_size"]
    with pytest.raises(OfficialPickleError, match="mbstd_group_size=None"):
        load_official_pickle(write_official_pickle(states, tmp_path / "b.pkl"))


def test_stylegan2_pickles_still_load_as_before(tmp_path):
    kwargs = {k: v for k, v in G_KWARGS.items() if k not in ("num_fp16_res", "conv_clamp")}
    G = Generator(seed=7, **kwargs)
    D = Discriminator(seed=8, resolution=RES, fmap_base=128, fmap_max=16)
    path = save_official_pickle(G, D, G, tmp_path / "s2.pkl")
    assert pickle_flavour(path) == "stylegan2"
    back = load_official_pickle(path, flavour="stylegan2")
    assert type(back.D) is Discriminator
    np.testing.assert_array_equal(back.Gs(z()), G(z()))


# --------------------------------------------------------------------------- relatedness


def test_the_shipped_pair_is_related_and_blends_without_warning():
    from toonemo_lib.stylegan2.shipped import load_shipped_generator

    faces, cartoons = load_shipped_generator("faces"), load_shipped_generator("cartoons")
    distance = parent_distance(faces, cartoons)
    assert 0.01 < distance < 0.25 < RELATED_THRESHOLD  # measured 0.12
    assert parent_distance(faces, faces) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_related(faces, cartoons) == distance
        blend_generators(cartoons, faces, 16)


def test_independent_generators_are_unrelated_and_warn():
    from toonemo_lib.stylegan2.demo import tiny_generator

    a, b = tiny_generator(32, seed=0), tiny_generator(32, seed=1)
    distance = parent_distance(a, b)
    assert 1.2 < distance < 1.6  # about sqrt(2); measured 1.38
    with pytest.warns(UserWarning, match="Toonify blends a model with its own fine-tune"):
        blend_generators(b, a, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blend_generators(b, a, 16, check_parents=False)
