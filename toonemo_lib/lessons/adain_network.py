"""AdaIN style transfer with the authors' network (Huang & Belongie 2017): VGG-19 encoder, AdaIN, decoder.

    net = load_adain_network(download=True)      # two files of the manifest, ~95 MB
    image = net.stylise(content, style, alpha=1.0)

An encoder f (VGG-19 up to relu4_1, fixed), one AdaIN layer and a learned decoder g:

    t = AdaIN(f(c), f(s))
    T(c, s, alpha) = g((1 - alpha) f(c) + alpha t)      (alpha: the content-style trade-off)

The weights are the PyTorch port of the authors' release (naoto0804/pytorch-AdaIN,
release v0.0.0): ``vgg_normalised.pth``, the normalised VGG-19 the authors used as the
encoder, and ``decoder.pth``. Both are ``nn.Sequential`` state dicts read without torch
(`torch_weights`); the layers below carry the indices of those ``nn.Sequential``s, so the
file's ``"<index>.weight"`` lands on the layer it was trained for. Images go in as RGB in
[0, 1] (the encoder's first 1x1 convolution does the rest of VGG's preprocessing) and come
out the same way. The port's AdaIN takes an unbiased variance (n - 1); `lessons.adain`
takes the biased one, a relative difference of 1/(HW - 1) in the variance, far below what
an image shows.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..torch_weights import read_torch_state_dict
from ..unreadable import read_or_report
from .adain import adain
from .style_transfer import as_rgb_image

ENCODER_ARTEFACT = "adain-vgg-normalised"
DECODER_ARTEFACT = "adain-decoder"

# (kind, index in the nn.Sequential, in channels, out channels); "relu" follows each 3x3
# conv; "pool" is max-pooling 2x2 with ceil_mode; "up" is nearest-neighbour upsampling x2.
ENCODER_LAYERS = (
    ("conv1x1", 0, 3, 3),
    ("conv", 2, 3, 64), ("conv", 5, 64, 64), ("pool",),                                   # relu1_1, relu1_2
    ("conv", 9, 64, 128), ("conv", 12, 128, 128), ("pool",),                              # relu2_1, relu2_2
    ("conv", 16, 128, 256), ("conv", 19, 256, 256), ("conv", 22, 256, 256), ("conv", 25, 256, 256), ("pool",),
    ("conv", 29, 256, 512),                                                               # relu4_1
)
DECODER_LAYERS = (
    ("conv", 1, 512, 256), ("up",),
    ("conv", 5, 256, 256), ("conv", 8, 256, 256), ("conv", 11, 256, 256), ("conv", 14, 256, 128), ("up",),
    ("conv", 18, 128, 128), ("conv", 21, 128, 64), ("up",),
    ("conv", 25, 64, 64), ("conv_out", 28, 64, 3),                                        # no ReLU at the end
)
MIN_SIDE = 16  # three poolings leave 2x2, the least a reflection pad of 1 accepts


class ReflectionPadding2D(keras.layers.Layer):
    """Pads H and W by mirroring the border, as PyTorch's ``nn.ReflectionPad2d``."""

    def __init__(self, pad: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad

    def call(self, x):
        p = self.pad
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")


def build_network(layers, state: dict, name: str) -> keras.Sequential:
    """A Keras model of ``layers`` holding the PyTorch weights of ``state`` (shapes checked)."""
    model = keras.Sequential(name=name)
    for spec in layers:
        kind = spec[0]
        if kind == "pool":  # "same" pads at the end only, so an odd side rounds up: ceil_mode
            model.add(keras.layers.MaxPooling2D(2, 2, padding="same"))
        elif kind == "up":
            model.add(keras.layers.UpSampling2D(2, interpolation="nearest"))
        else:
            _, index, c_in, c_out = spec
            size = 1 if kind == "conv1x1" else 3
            weight, bias = _conv_weights(state, index, (c_out, c_in, size, size), name)
            if size == 3:
                model.add(ReflectionPadding2D(1))
            conv = keras.layers.Conv2D(c_out, size, activation="relu" if kind == "conv" else None,
                                       name=f"{name}_{index}")
            model.add(conv)
            conv.build((None, None, None, c_in))
            # PyTorch's (out, in, kh, kw) cross-correlation is Keras' (kh, kw, in, out)
            conv.set_weights([weight.transpose(2, 3, 1, 0), bias])
    return model


def _conv_weights(state: dict, index: int, shape: tuple, name: str):
    weight, bias = state.get(f"{index}.weight"), state.get(f"{index}.bias")
    if weight is None or bias is None:
        raise ValueError(f"the {name} weights have no '{index}.weight' and '{index}.bias': "
                         f"not the AdaIN {name} file (keys: {', '.join(list(state)[:6])}, ...)")
    if tuple(weight.shape) != shape or tuple(bias.shape) != shape[:1]:
        raise ValueError(f"the {name} weights' layer {index} is {tuple(weight.shape)}, expected {shape}: "
                         f"not the AdaIN {name} file")
    return np.asarray(weight, np.float32), np.asarray(bias, np.float32)


class AdaINNetwork:
    """The encoder, AdaIN and the decoder; `stylise` works on RGB uint8 images."""

    name = "AdaIN (Huang & Belongie 2017), the authors' VGG-19 encoder and decoder"

    def __init__(self, encoder_state: dict, decoder_state: dict):
        self.encoder = build_network(ENCODER_LAYERS, encoder_state, "encoder")
        self.decoder = build_network(DECODER_LAYERS, decoder_state, "decoder")

    def encode(self, image: np.ndarray):
        """relu4_1 features [1, H/8, W/8, 512] of an RGB uint8 image."""
        image = as_rgb_image(image)
        if min(image.shape[:2]) < MIN_SIDE:
            raise ValueError(f"the AdaIN encoder needs images of at least {MIN_SIDE}x{MIN_SIDE}, "
                             f"got {image.shape[1]}x{image.shape[0]}")
        return self.encoder(image[None].astype(np.float32) / 255.0)

    def transfer_features(self, content: np.ndarray, style: np.ndarray, alpha: float = 1.0):
        """(1 - alpha) f(c) + alpha AdaIN(f(c), f(s)): what the decoder turns into T(c, s, alpha)."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        content_features = self.encode(as_rgb_image(content, "content"))
        target = adain(content_features, self.encode(as_rgb_image(style, "style")))
        return alpha * target + (1.0 - alpha) * content_features

    def decode(self, features, size: tuple[int, int]) -> np.ndarray:
        """The decoder's image of ``features``, cut to ``size`` = (H, W), as RGB uint8."""
        out = ops.convert_to_numpy(self.decoder(features))[0, :size[0], :size[1]]
        return np.round(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)

    def stylise(self, content: np.ndarray, style: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        """``content`` drawn in the style of ``style`` (any size), RGB uint8 at the content's size."""
        return self.decode(self.transfer_features(content, style, alpha), np.shape(content)[:2])


def read_adain_weights(path, what: str) -> dict:
    """The state dict of one of the two files; a damaged file raises `UnreadableFile`."""
    return read_or_report(path, read_torch_state_dict, f"AdaIN {what} weights")


def load_adain_network(download: bool = False) -> AdaINNetwork:
    """The network from the manifest's two files; without them a FileNotFoundError says what to fetch."""
    from ..download import fetch_artefact

    encoder = read_adain_weights(fetch_artefact(ENCODER_ARTEFACT, download=download), "encoder")
    decoder = read_adain_weights(fetch_artefact(DECODER_ARTEFACT, download=download), "decoder")
    return AdaINNetwork(encoder, decoder)
