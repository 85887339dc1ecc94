"""The Keras StyleGAN2 reproduces NVIDIA's official outputs for the tiny_a fixture.

`shared/reference/stylegan2/tiny_a_expected.npz` holds arrays computed by the
official code from `tiny_a.pkl` (README sections 4-6).  Every key of the file is
either an input or must be reproduced here, so a new key cannot be forgotten.
"""

import numpy as np
import pytest

from toonemo_lib.stylegan2 import load_official_pickle, mix_styles, style_mix

import tensorflow as tf

# On GPUs TensorFloat-32 would add ~1e-3 of error (README section 5).
tf.config.experimental.enable_tensor_float_32_execution(False)

INPUT_KEYS = {"z", "ws_random", "d_random_images", "mix_k", "truncation_psi"}
# README section 5: about 10x the float32 noise observed between implementations.
TOLERANCES = {"ws": 1e-5, "d_logits": 1e-5, "w_avg": 0.0, "num_ws": 0.0}
IMAGE_TOLERANCE = 1e-4

_LOADED = {}


@pytest.fixture
def tiny(shared_dir):
    """(networks, expected arrays) of fixture A, loaded once per test session."""
    folder = shared_dir / "reference" / "stylegan2"
    pkl, npz = folder / "tiny_a.pkl", folder / "tiny_a_expected.npz"
    if not (pkl.is_file() and npz.is_file()):
        pytest.skip(f"StyleGAN2 fixture A is absent from {folder}")
    if folder not in _LOADED:
        with np.load(npz) as data:
            _LOADED[folder] = (load_official_pickle(pkl), {k: data[k] for k in data.files})
    return _LOADED[folder]


def nchw(x):
    """Our NHWC output in the fixture's NCHW layout."""
    return np.transpose(np.asarray(x), (0, 3, 1, 2))


def nhwc(x):
    return np.transpose(x, (0, 2, 3, 1))


def tolerance(key):
    for prefix, tol in TOLERANCES.items():
        if key.startswith(prefix):
            return tol
    return IMAGE_TOLERANCE


def reproduce(nets, e):
    """Our value for every output key of the fixture (NCHW where the fixture is)."""
    Gs, D = nets.Gs, nets.D
    psi, k = float(e["truncation_psi"]), int(e["mix_k"])
    ours = {
        "w_avg": Gs.mapping.w_avg.numpy(),
        "num_ws": np.asarray(Gs.num_ws),
        "ws_psi1": Gs.mapping(e["z"]),
        "ws_psi07": Gs.mapping(e["z"], truncation_psi=psi),
        "ws_mix": mix_styles(Gs.mapping(e["z"][0:1]), Gs.mapping(e["z"][1:2]), k),
        # Stored W goes straight into synthesis, so a mapping bug cannot hide a synthesis bug.
        "img_psi07": nchw(Gs.synthesis(e["ws_psi07"], noise_mode="const")),
        "img_mix": nchw(Gs.synthesis(e["ws_mix"], noise_mode="const")),
        "img_ws_random": nchw(Gs.synthesis(e["ws_random"], noise_mode="const")),
        "img_G_train_psi1": nchw(nets.G(e["z"], truncation_psi=1.0, noise_mode="const")),
        # D logits depend on the batch (minibatch stddev): same batches as the fixture.
        "d_logits_img_psi1": D(nhwc(e["img_psi1"])),
        "d_logits_random": D(nhwc(e["d_random_images"])),
        "d_logits_batch8": D(nhwc(np.concatenate([e["img_psi1"], e["img_psi07"]]))),
    }
    img, features = Gs.synthesis(e["ws_psi1"], noise_mode="const", return_features=True)
    ours["img_psi1"] = nchw(img)
    for name, value in features.items():  # "4x4_x", "4x4_img", ... of sample 0
        ours[f"dbg_syn_{name}"] = nchw(value[0:1])
    _, features = D(nhwc(e["img_psi1"][0:1]), return_features=True)
    for name, value in features.items():  # "32x32_x", ...
        ours[f"dbg_d_{name}"] = nchw(value)
    return {key: np.asarray(value) for key, value in ours.items()}


def test_every_expected_array_is_reproduced(tiny):
    nets, expected = tiny
    ours = reproduce(nets, expected)
    unchecked = sorted(set(expected) - INPUT_KEYS - set(ours))
    assert not unchecked, f"fixture keys without a check: {unchecked}"
    report, failures = [], []
    for key in sorted(set(expected) - INPUT_KEYS):
        assert ours[key].shape == expected[key].shape, (key, ours[key].shape, expected[key].shape)
        err = float(np.max(np.abs(ours[key].astype(np.float64) - expected[key])))
        report.append(f"{key}: {err:.3g}")
        if err > tolerance(key):
            failures.append(f"{key}: max abs error {err:.3g} > {tolerance(key):g}")
    print("max abs error per key:\n  " + "\n  ".join(report))
    assert not failures, "\n".join(failures)


def test_generator_call_chains_mapping_truncation_and_synthesis(tiny):
    nets, e = tiny
    img = nets.Gs(e["z"], truncation_psi=float(e["truncation_psi"]), noise_mode="const")
    np.testing.assert_allclose(nchw(img), e["img_psi07"], rtol=0, atol=IMAGE_TOLERANCE)


def test_style_mix_helper_matches_fixture(tiny):
    nets, e = tiny
    img = style_mix(nets.Gs, e["z"][0], e["z"][1], int(e["mix_k"]), raw=True)
    np.testing.assert_allclose(nchw(img), e["img_mix"], rtol=0, atol=IMAGE_TOLERANCE)
    as_uint8 = style_mix(nets.Gs, e["z"][0], e["z"][1], int(e["mix_k"]))
    assert as_uint8.dtype == np.uint8 and as_uint8.shape == (1, 32, 32, 3)


def test_loaded_hyper_parameters(tiny):
    nets, e = tiny
    assert nets.Gs.num_ws == int(e["num_ws"]) == 8
    assert (nets.Gs.latent_size, nets.Gs.dlatent_size, nets.Gs.resolution) == (64, 64, 32)
    assert nets.D.get_config()["mbstd_group_size"] == 4
    # G (training snapshot) and Gs (moving average) are distinct networks.
    assert not np.array_equal(nets.G.mapping.w_avg.numpy(), nets.Gs.mapping.w_avg.numpy())
