"""Perceptual distances for projection: LPIPS-VGG16 when its weights are cached, else a stand-in.

    dist = perceptual_distance()          # best available; dist.name says which
    d = dist(images_a, images_b)          # [N] distances, images NHWC in [-1, 1]

LPIPS (Zhang et al. 2018, v0.1, "vgg") compares VGG16 features at relu1_2, relu2_2,
relu3_3, relu4_3 and relu5_3: each map is unit-normalised along channels, the squared
difference is weighted per channel by the learned linear layer ("lin"), averaged over
space and summed over the five layers.  It needs two cached files of the manifest
(``data/manifests/artefacts.json``): ``vgg16-notop`` (Keras' ImageNet VGG16 weights) and
``lpips-vgg-lin`` (the LPIPS ``vgg.pth``, read here without PyTorch by `torch_weights.read_torch_state_dict`).

Note on inputs: LPIPS maps [-1, 1] images to torchvision's ImageNet normalisation before
*torchvision's* VGG16.  Keras' VGG16 weights are the original Caffe ones, which expect
BGR 0..255 minus the ImageNet channel means; `LPIPSDistance` feeds them that.  The lin
weights were fitted on torchvision's features, so the figures are close to, not equal
to, the PyTorch package's.

Without those files (tests, offline runs) `perceptual_distance()` returns
`StandInDistance`, a multi-scale pixel + image-gradient distance.  It is named as a
stand-in and is never called LPIPS.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..torch_weights import read_torch_state_dict
from ..unreadable import UnreadableFile, UnreadableFileWarning, read_or_report

LPIPS_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
LPIPS_CHANNELS = (64, 128, 256, 512, 512)
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
STAND_IN_NAME = "stand-in: multi-scale pixel and gradient distance (the perceptual VGG16 weights are not in the cache)"


class PerceptualDistance:
    """Base: `__call__(a, b)` -> [N] distances for NHWC images in about [-1, 1]; has `name`."""

    name = "perceptual distance"
    is_lpips = False

    def __call__(self, a, b):
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__}: {self.name}>"


def _downsample2(x):
    return tf.nn.avg_pool2d(x, 2, 2, "VALID")


class StandInDistance(PerceptualDistance):
    """Mean squared pixel and gradient (finite-difference) error, summed over an image pyramid.

    The pyramid halves the image down to `min_size` pixels; a smooth, cheap objective
    that exercises the same optimiser path as LPIPS when its weights are missing.
    """

    is_lpips = False

    def __init__(self, min_size=8, gradient_weight=1.0, name=STAND_IN_NAME):
        self.min_size, self.gradient_weight, self.name = int(min_size), float(gradient_weight), name

    def __call__(self, a, b):
        a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
        total = 0.0
        while True:
            d = a - b
            total += tf.reduce_mean(tf.square(d), axis=[1, 2, 3])
            if d.shape[1] > 1 and d.shape[2] > 1:
                dx = d[:, :, 1:] - d[:, :, :-1]
                dy = d[:, 1:] - d[:, :-1]
                total += self.gradient_weight * (tf.reduce_mean(tf.square(dx), axis=[1, 2, 3]) +
                                                 tf.reduce_mean(tf.square(dy), axis=[1, 2, 3]))
            if a.shape[1] // 2 < self.min_size or a.shape[2] // 2 < self.min_size:
                return total
            a, b = _downsample2(a), _downsample2(b)


class LPIPSDistance(PerceptualDistance):
    """LPIPS v0.1 on Keras' VGG16 (see the module docstring for the input scaling)."""

    is_lpips = True

    def __init__(self, vgg_path, lin_weights):
        import keras

        # a damaged weights file is named, not left to h5py's message
        vgg = read_or_report(Path(vgg_path), lambda path: keras.applications.VGG16(
            include_top=False, weights=str(path), input_shape=(None, None, 3)), "VGG16 weights file")
        vgg.trainable = False
        self.features = keras.Model(vgg.input, [vgg.get_layer(n).output for n in LPIPS_LAYERS])
        self.lin = [tf.constant(np.asarray(w, np.float32).reshape(-1)) for w in lin_weights]
        for w, c in zip(self.lin, LPIPS_CHANNELS):
            if w.shape[0] != c:
                raise ValueError(f"LPIPS lin weights: expected {LPIPS_CHANNELS} channels, "
                                 f"got {[int(w.shape[0]) for w in self.lin]}")
        self.name = "LPIPS v0.1 (VGG16 features, Keras ImageNet weights; lin weights from vgg.pth)"

    @staticmethod
    def preprocess(x):
        """[-1, 1] RGB -> Caffe VGG input: BGR, 0..255, minus the ImageNet channel means."""
        x = (tf.cast(x, tf.float32) + 1.0) * 127.5
        return x[..., ::-1] - tf.constant(CAFFE_BGR_MEAN, tf.float32)

    def __call__(self, a, b):
        fa = self.features(self.preprocess(a))
        fb = self.features(self.preprocess(b))
        total = 0.0
        for xa, xb, w in zip(fa, fb, self.lin):
            xa = xa / (tf.sqrt(tf.reduce_sum(tf.square(xa), axis=-1, keepdims=True)) + 1e-10)
            xb = xb / (tf.sqrt(tf.reduce_sum(tf.square(xb), axis=-1, keepdims=True)) + 1e-10)
            total += tf.reduce_mean(tf.reduce_sum(tf.square(xa - xb) * w, axis=-1), axis=[1, 2])
        return total


def lpips_lin_weights(state_dict):
    """The five per-channel weight vectors lin0..lin4 of an LPIPS state dict."""
    out = []
    for i in range(len(LPIPS_LAYERS)):
        keys = [k for k in state_dict if k.startswith(f"lin{i}.") and k.endswith("weight")]
        if len(keys) != 1:
            raise ValueError(f"LPIPS weights: expected one lin{i}.*weight entry, got {keys}")
        out.append(np.asarray(state_dict[keys[0]], np.float32).reshape(-1))
    return out


# --------------------------------------------------------------------------- selection

def lpips_distance(download=False):
    """`LPIPSDistance` from the cached manifest files; FileNotFoundError says what to fetch."""
    from ..download import fetch_artefact

    vgg = fetch_artefact("vgg16-notop", download=download)
    lin = fetch_artefact("lpips-vgg-lin", download=download)
    lin_weights = read_or_report(lin, lambda path: lpips_lin_weights(read_torch_state_dict(path)),
                                 "LPIPS weights file")
    return LPIPSDistance(vgg, lin_weights)


def perceptual_distance(prefer="lpips", download=False, verbose=False):
    """The best available distance: LPIPS when ``prefer="lpips"`` and its files are cached, else the stand-in.

    ``prefer="lpips!"`` (or ``"lpips-required"``) raises when LPIPS cannot be built
    instead of falling back; ``prefer="stand-in"`` skips LPIPS.  The choice is in `.name`.
    """
    if prefer in ("stand-in", "standin", None):
        dist = StandInDistance()
    elif prefer in ("lpips", "lpips!", "lpips-required"):
        try:
            dist = lpips_distance(download=download)
        except (FileNotFoundError, ValueError) as err:
            if prefer != "lpips":
                raise
            if isinstance(err, UnreadableFile):  # a damaged cached file: say so, not only fall back
                warnings.warn(f"{err}; using the stand-in distance", UnreadableFileWarning, stacklevel=2)
            dist = StandInDistance()
    else:
        raise ValueError(f"prefer must be 'lpips', 'lpips!' or 'stand-in', not {prefer!r}")
    if verbose:
        print(f"perceptual distance: {dist.name}")
    return dist
