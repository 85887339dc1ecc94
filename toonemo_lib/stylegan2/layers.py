"""Keras layers of StyleGAN2: equalized-lr dense/conv, modulated conv, noise, ToRGB.

Every layer creates its weights in `__init__` with exactly the shape and layout
of the TF1 variable it mirrors (the names `G_mapping`, `G_synthesis_stylegan2` and
`D_stylegan2` create in NVlabs/stylegan2's training/networks_stylegan2.py): kernels
[kh, kw, in, out], dense matrices [in, out], biases [out].  That is also the
layout `tf.nn.conv2d` wants for NHWC, so imported values are copied as they are.
The equalized learning rate (`get_weight` in training/networks_stylegan2.py) scales the stored values at run time.
"""

import numpy as np
import keras
import tensorflow as tf

from . import ops


def normal_initializer(rng, stddev=1.0):
    """A Keras-compatible initializer drawing N(0, stddev) from a numpy Generator."""

    def init(shape, dtype=None):
        return (rng.standard_normal(tuple(shape)) * stddev).astype(np.float32)

    return init


def constant_initializer(value):
    def init(shape, dtype=None):
        return np.full(tuple(shape), value, dtype=np.float32)

    return init


def default_rng(rng):
    return rng if rng is not None else np.random.default_rng()


class StyleGANLayer(keras.layers.Layer):
    """Base class: weights are created in __init__, so the layer is built at once."""

    def __init__(self, rng=None, **kwargs):
        super().__init__(**kwargs)
        self._rng = default_rng(rng)

    def weight_variable(self, name, shape, lrmul=1.0, trainable=True):
        """A weight stored with std 1/lrmul, as TF1's get_weight initializes it."""
        return self.add_weight(name=name, shape=shape, trainable=trainable,
                               initializer=normal_initializer(self._rng, 1.0 / lrmul))

    def zeros_variable(self, name, shape, trainable=True):
        return self.add_weight(name=name, shape=shape, trainable=trainable,
                               initializer=constant_initializer(0.0))

    def finish_build(self):
        self.built = True
        del self._rng  # the generator is only needed to initialize


class EqualizedDense(StyleGANLayer):
    """Dense layer with equalized learning rate: w * lrmul / sqrt(in), b * lrmul."""

    def __init__(self, in_features, units, lrmul=1.0, activation="linear", use_bias=True,
                 rng=None, **kwargs):
        super().__init__(rng=rng, **kwargs)
        self.in_features, self.units = int(in_features), int(units)
        self.lrmul, self.activation = float(lrmul), ops.check_activation(activation)
        self.weight_coef = self.lrmul / np.sqrt(self.in_features)
        self.weight = self.weight_variable("weight", (self.in_features, self.units), self.lrmul)
        self.bias = self.zeros_variable("bias", (self.units,)) if use_bias else None
        self.finish_build()

    def call(self, x):
        y = tf.matmul(x, tf.cast(self.weight, x.dtype) * self.weight_coef)
        bias = None if self.bias is None else tf.cast(self.bias, x.dtype) * self.lrmul
        return ops.bias_act(y, bias, self.activation)


class EqualizedConv2D(StyleGANLayer):
    """Discriminator convolution (optionally FIR-blurred stride-2 'down'), with bias + act."""

    def __init__(self, in_channels, filters, kernel_size, down=False, activation="linear",
                 use_bias=True, resample_kernel=(1, 3, 3, 1), rng=None, **kwargs):
        super().__init__(rng=rng, **kwargs)
        self.down, self.activation = bool(down), ops.check_activation(activation)
        self.resample_kernel = list(resample_kernel)
        shape = (kernel_size, kernel_size, int(in_channels), int(filters))
        self.weight_coef = 1.0 / np.sqrt(kernel_size * kernel_size * in_channels)
        self.weight = self.weight_variable("weight", shape)
        self.bias = self.zeros_variable("bias", (filters,)) if use_bias else None
        self.finish_build()

    def call(self, x, gain=1.0):
        """act(conv(x) + bias) * the activation's gain * `gain`.

        The activations are positively homogeneous, so the gain scales the kernel and the
        bias instead of the output: one pass less, and the convolution, bias and
        activation fuse into one oneDNN call.
        """
        slope, act_gain = ops.ACTIVATIONS[self.activation]
        gain *= act_gain
        w = tf.cast(self.weight, x.dtype) * (self.weight_coef * gain)
        bias = None if self.bias is None else tf.cast(self.bias, x.dtype) * gain
        if self.down:
            return ops.conv_downsample_2d(x, w, self.resample_kernel, bias=bias, slope=slope)
        return ops.conv_2d(x, w, bias, slope)


class ModulatedConv2D(StyleGANLayer):
    """StyleGAN2 modulated convolution: style affine 'A' + (de)modulated kernel (9.6).

    Holds the TF1 variables `weight`, `mod_weight` and `mod_bias`; returns the
    convolution without bias (the caller adds noise first, then bias + activation).
    """

    def __init__(self, in_channels, filters, kernel_size, w_dim, demodulate=True, up=False,
                 resample_kernel=(1, 3, 3, 1), rng=None, **kwargs):
        super().__init__(rng=rng, **kwargs)
        self.in_channels, self.filters = int(in_channels), int(filters)
        self.demodulate, self.up = bool(demodulate), bool(up)
        self.resample_kernel = list(resample_kernel)
        shape = (kernel_size, kernel_size, self.in_channels, self.filters)
        self.weight_coef = 1.0 / np.sqrt(kernel_size * kernel_size * self.in_channels)
        self.mod_coef = 1.0 / np.sqrt(w_dim)
        self.weight = self.weight_variable("weight", shape)
        self.mod_weight = self.weight_variable("mod_weight", (int(w_dim), self.in_channels))
        self.mod_bias = self.zeros_variable("mod_bias", (self.in_channels,))
        self.finish_build()

    def styles(self, w):
        """Per-sample input-channel scales s = A(w) + 1 (the +1 comes after the bias)."""
        a = tf.matmul(w, tf.cast(self.mod_weight, w.dtype) * self.mod_coef)
        return a + tf.cast(self.mod_bias, w.dtype) + 1.0

    def call(self, x, w):
        return self.convolve(x, w)

    def convolve(self, x, w, epilogue=None):
        """call() followed by an `ops.layer_epilogue`, fused where the convolution allows.

        A plain method: Keras' `__call__` takes no structure mixing tensors and numbers.
        """
        s = self.styles(tf.cast(w, x.dtype))
        weight = tf.cast(self.weight, x.dtype) * self.weight_coef
        return ops.modulated_conv_2d(x, weight, s, self.demodulate, self.up, self.resample_kernel,
                                     epilogue)


class SynthesisLayer(StyleGANLayer):
    """One synthesis conv: modulated conv -> + strength * noise -> bias + activation.

    `noise_const` is the TF1 variable `synthesis/noise{i}` ([1, 1, R, R], NCHW as
    stored); it lives here because only this layer uses it.
    """

    def __init__(self, in_channels, filters, w_dim, resolution, up=False, activation="lrelu",
                 resample_kernel=(1, 3, 3, 1), conv_clamp=None, rng=None, **kwargs):
        super().__init__(rng=rng, **kwargs)
        self.resolution, self.activation = int(resolution), ops.check_activation(activation)
        self.conv_clamp = conv_clamp
        self.conv = ModulatedConv2D(in_channels, filters, 3, w_dim, demodulate=True, up=up,
                                    resample_kernel=resample_kernel, rng=self._rng,
                                    dtype=self.dtype_policy, name="conv")
        self.noise_const = self.weight_variable(
            "noise_const", (1, 1, self.resolution, self.resolution), trainable=False)
        self.noise_strength = self.zeros_variable("noise_strength", ())
        self.bias = self.zeros_variable("bias", (int(filters),))
        self.finish_build()

    def call(self, x, w, noise_mode="const", noise=None):
        """`noise`: an explicit [N or 1, R, R, 1] noise image; it overrides `noise_mode`."""
        if noise is None:
            noise = self.noise(tf.shape(x)[0], noise_mode, x.dtype)
        epilogue = ops.layer_epilogue(noise, self.noise_strength, self.bias, self.activation,
                                self.conv_clamp, x.dtype)
        return self.conv.convolve(x, w, epilogue)

    def noise(self, batch, noise_mode, dtype):
        """The [N or 1, R, R, 1] noise image for this call, or None for mode 'none'."""
        if noise_mode == "const":
            return tf.cast(tf.transpose(self.noise_const, [0, 2, 3, 1]), dtype)
        if noise_mode == "random":
            return tf.random.normal([batch, self.resolution, self.resolution, 1], dtype=dtype)
        if noise_mode == "none":
            return None
        raise ValueError(f"noise_mode must be 'const', 'random' or 'none', not {noise_mode!r}")


class ToRGB(StyleGANLayer):
    """1x1 modulated conv without demodulation, plus bias, linear (NVIDIA's `torgb` in `G_synthesis_stylegan2`)."""

    def __init__(self, in_channels, num_channels, w_dim, conv_clamp=None, rng=None, **kwargs):
        super().__init__(rng=rng, **kwargs)
        self.conv = ModulatedConv2D(in_channels, num_channels, 1, w_dim, demodulate=False,
                                    rng=self._rng, dtype=self.dtype_policy, name="conv")
        self.bias = self.zeros_variable("bias", (int(num_channels),))
        self.conv_clamp = conv_clamp
        self.finish_build()

    def call(self, x, w):
        return ops.clamp(ops.bias_act(self.conv(x, w), self.bias, "linear"), self.conv_clamp)


class MinibatchStddev(keras.layers.Layer):
    """Keras wrapper of `ops.minibatch_stddev` (no weights)."""

    def __init__(self, group_size=4, num_features=1, **kwargs):
        super().__init__(**kwargs)
        self.group_size, self.num_features = int(group_size), int(num_features)
        self.built = True

    def call(self, x):
        batch = x.shape[0]
        if batch is not None and batch % min(self.group_size, batch):
            raise ValueError(f"minibatch stddev: batch size {batch} is not divisible by the group "
                             f"size {min(self.group_size, batch)} (TF1 has the same requirement)")
        return ops.minibatch_stddev(x, self.group_size, self.num_features)
