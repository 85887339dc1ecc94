"""The AdaIN network (`lessons.adain_network`) on format-exact stand-ins of the two release files.

The stand-ins hold random weights of the real shapes, written as PyTorch's legacy state
dicts (the release's format) without torch. The Keras network is checked against PyTorch's
arithmetic written out in NumPy: reflection padding, cross-correlation, max-pooling with
ceil_mode, nearest upsampling.
"""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from toonemo_lib.lessons.adain_network import (DECODER_LAYERS, ENCODER_LAYERS, AdaINNetwork, load_adain_network,
                                               read_adain_weights)
from toonemo_lib.dry_run import random_adain_state
from toonemo_lib.torch_weights import write_torch_state_dict
from toonemo_lib.unreadable import UnreadableFile


def torch_reference(x, layers, state):
    """PyTorch's nn.Sequential of ``layers`` on one HWC image, in NumPy."""
    for spec in layers:
        if spec[0] == "pool":
            h, w, c = x.shape
            x = np.pad(x, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=-np.inf)  # ceil_mode
            x = x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2, c).max(axis=(1, 3))
        elif spec[0] == "up":
            x = x.repeat(2, axis=0).repeat(2, axis=1)
        else:
            weight, bias = state[f"{spec[1]}.weight"], state[f"{spec[1]}.bias"]
            if weight.shape[-1] == 3:
                x = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="reflect")
            windows = sliding_window_view(x, weight.shape[2:], axis=(0, 1))  # H', W', C, kh, kw
            x = np.einsum("hwcij,ocij->hwo", windows, weight) + bias
            if spec[0] == "conv":
                x = np.maximum(x, 0)
    return x


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    """Random weights of the real shapes in the two files, where the manifest's cache keeps them."""
    folder = tmp_path_factory.mktemp("cache")
    (folder / "adain").mkdir()
    encoder, decoder = random_adain_state(ENCODER_LAYERS, 0), random_adain_state(DECODER_LAYERS, 1)
    write_torch_state_dict(folder / "adain" / "vgg_normalised.pth", encoder)
    write_torch_state_dict(folder / "adain" / "decoder.pth", decoder)
    return folder, encoder, decoder


@pytest.fixture(scope="module")
def network(stand_ins):
    folder = stand_ins[0]
    return AdaINNetwork(read_adain_weights(folder / "adain" / "vgg_normalised.pth", "encoder"),
                        read_adain_weights(folder / "adain" / "decoder.pth", "decoder"))


def test_the_network_computes_what_pytorch_computes(network, stand_ins):
    _, encoder, decoder = stand_ins
    image = np.random.default_rng(2).integers(0, 256, (20, 18, 3), dtype=np.uint8)  # odd sides after pooling
    features = np.asarray(network.encode(image))[0]
    expected = torch_reference(image.astype(np.float32) / 255, ENCODER_LAYERS, encoder)
    assert features.shape == expected.shape == (3, 3, 512)  # 20 -> 10 -> 5 -> 3, 18 -> 9 -> 5 -> 3
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    decoded = np.asarray(network.decoder(features[None]))[0]
    expected = torch_reference(features, DECODER_LAYERS, decoder)
    assert decoded.shape == expected.shape == (24, 24, 3)
    np.testing.assert_allclose(decoded, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_alpha_trades_content_for_style_and_stylise_keeps_the_content_size(network):
    rng = np.random.default_rng(3)
    content = rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)
    style = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    content_features, style_features = np.asarray(network.encode(content)), np.asarray(network.encode(style))
    np.testing.assert_allclose(network.transfer_features(content, style, 0.0), content_features, atol=1e-6)
    stylised = np.asarray(network.transfer_features(content, style, 1.0))
    # AdaIN gives every channel the style's mean; alpha = 0.5 lies half way
    np.testing.assert_allclose(stylised.mean(axis=(1, 2)), style_features.mean(axis=(1, 2)), atol=1e-4)
    np.testing.assert_allclose(network.transfer_features(content, style, 0.5), (stylised + content_features) / 2,
                               atol=1e-5)
    out = network.stylise(content, style)
    assert out.shape == content.shape and out.dtype == np.uint8


def test_bad_images_and_alpha_are_named(network):
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 16x16"):
        network.stylise(np.zeros((12, 32, 3), np.uint8), image)
    with pytest.raises(ValueError, match="RGB image"):
        network.stylise(image, np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match="alpha"):
        network.stylise(image, image, alpha=1.5)


def test_loading_from_the_cache_and_what_a_missing_or_wrong_file_says(stand_ins, tmp_path, monkeypatch):
    folder = stand_ins[0]
    monkeypatch.setenv("TOONEMO_HOME", str(folder))
    assert load_adain_network().name.startswith("AdaIN")

    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as missing:
        load_adain_network(download=False)
    assert "vgg_normalised.pth" in str(missing.value)
    assert "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/" in str(missing.value)
    assert str(tmp_path / "adain") in str(missing.value)

    (tmp_path / "adain").mkdir()
    write_torch_state_dict(tmp_path / "adain" / "vgg_normalised.pth", {"lin0.model.1.weight": np.ones((1, 64, 1, 1))})
    write_torch_state_dict(tmp_path / "adain" / "decoder.pth", random_adain_state(DECODER_LAYERS, 1))
    with pytest.raises(ValueError, match="not the AdaIN encoder file"):
        load_adain_network()
    (tmp_path / "adain" / "decoder.pth").write_bytes(b"<html>rate limited</html>")
    with pytest.raises(UnreadableFile, match="decoder.pth"):
        read_adain_weights(tmp_path / "adain" / "decoder.pth", "decoder")
