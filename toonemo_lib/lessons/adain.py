"""Adaptive instance normalisation (AdaIN), teaching-sized.

Feature maps are NHWC.  "Instance" statistics are taken per sample and per
channel over the spatial axes, which is what makes AdaIN a *style* operation:
the mean and spread of a channel say how strongly a pattern occurs anywhere in
the image, not where.

Eq. (1), Huang & Belongie 2017 - the style comes from another image y:

    AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y)

Eq. (2), StyleGAN - the style is computed from the latent w by a learned affine map A:

    AdaIN(x_i, y) = y_{s,i} * (x_i - mu(x_i)) / sigma(x_i) + y_{b,i},   (y_s, y_b) = A(w)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

EPSILON = 1e-5  # inside the square root, as in Huang & Belongie's reference code


def instance_moments(x, epsilon: float = EPSILON):
    """Per-sample, per-channel mean and standard deviation of NHWC ``x`` (kept as N,1,1,C)."""
    x = ops.convert_to_tensor(x, dtype="float32")
    if len(x.shape) != 4:
        raise ValueError(f"expected NHWC feature maps of rank 4, got shape {tuple(x.shape)}")
    mean = ops.mean(x, axis=(1, 2), keepdims=True)
    std = ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + epsilon)
    return mean, std


def instance_norm(x, epsilon: float = EPSILON):
    """(x - mu(x)) / sigma(x): every channel of every sample to mean 0, std 1."""
    mean, std = instance_moments(x, epsilon)
    return (ops.convert_to_tensor(x, dtype="float32") - mean) / std


def adain(content, style, epsilon: float = EPSILON):
    """Eq. (1): give ``content`` the channel means and deviations of ``style``.

    Both are NHWC with the same number of channels; their spatial sizes may differ.
    """
    content_shape, style_shape = ops.shape(content), ops.shape(style)
    if len(content_shape) != 4 or len(style_shape) != 4 or content_shape[-1] != style_shape[-1]:
        raise ValueError(
            f"content and style must be NHWC with the same channels, got {tuple(content_shape)} and {tuple(style_shape)}"
        )
    style_mean, style_std = instance_moments(style, epsilon)
    return style_std * instance_norm(content, epsilon) + style_mean


def style_modulate(x, y_scale, y_bias, epsilon: float = EPSILON):
    """Eq. (2): normalise each channel of ``x``, then scale by ``y_s`` and shift by ``y_b`` (both N,C)."""
    channels = ops.shape(x)[-1]
    for name, y in (("y_scale", y_scale), ("y_bias", y_bias)):
        if len(ops.shape(y)) != 2 or ops.shape(y)[-1] != channels:
            raise ValueError(f"{name} must have shape (N, {channels}), got {tuple(ops.shape(y))}")
    y_scale = ops.convert_to_tensor(y_scale, dtype="float32")[:, None, None, :]
    y_bias = ops.convert_to_tensor(y_bias, dtype="float32")[:, None, None, :]
    return y_scale * instance_norm(x, epsilon) + y_bias


@keras.saving.register_keras_serializable(package="toonemo")
class StyleAdaIN(keras.layers.Layer):
    """StyleGAN's AdaIN block: a learned affine map A turns w into (y_s, y_b), then eq. (2).

    Called as ``layer([x, w])`` with x NHWC and w of shape (N, w_dim).  The scale
    starts at 1 (bias initialised to one) so an untrained block leaves the
    normalised features unchanged, as in StyleGAN.
    """

    def __init__(self, epsilon: float = EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.to_scale = keras.layers.Dense(channels, bias_initializer="ones", name="to_scale")
        self.to_bias = keras.layers.Dense(channels, bias_initializer="zeros", name="to_bias")
        self.to_scale.build(input_shape[1])
        self.to_bias.build(input_shape[1])

    def call(self, inputs):
        x, w = inputs
        return style_modulate(x, self.to_scale(w), self.to_bias(w), self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def spike_suppression(spike_heights, size: int = 32, seed: int = 0) -> list[float]:
    """Why AdaIN invites StyleGAN's droplets: std of a feature map *away from* one spike, after instance norm.

    A map of unit-variance noise gets one pixel of height h.  Instance
    normalisation divides by the map's std, which the spike dominates, so the
    rest of the map shrinks as h grows: by painting one strong blob the
    generator can turn the effective strength of everything else down,
    sneaking signal-strength information past the normalisation.
    """
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((1, size, size, 1)).astype("float32")
    rest = np.ones((size, size), bool)
    rest[size // 2, size // 2] = False
    stds = []
    for height in spike_heights:
        x = base.copy()
        x[0, size // 2, size // 2, 0] += height
        normalised = ops.convert_to_numpy(instance_norm(x))[0, :, :, 0]
        stds.append(float(normalised[rest].std()))
    return stds
