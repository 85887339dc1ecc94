"""Stateless tensor operations of StyleGAN2, written for NHWC float tensors.

Each function reproduces one piece of NVIDIA's TF1 arithmetic (the numbers in
comments refer to sections of `shared/reference/stylegan2/README.md`).  The TF1
graph ran NCHW; TensorFlow on CPU only convolves NHWC, so everything here is
channels-last and the network code converts the few NCHW-stored variables.
"""

import numpy as np
import tensorflow as tf

from . import fastconv

# Each activation as (slope on the negative side, gain), the gain being what TF1's
# fused_bias_act multiplies after it (`activation_funcs` in NVlabs/stylegan2's
# dnnlib/tflib/ops/fused_bias_act.py).  All are positively homogeneous,
# act(g * z) = g * act(z) for g > 0, so a gain can move into the kernel before them.
ACTIVATIONS = {"linear": (1.0, 1.0), "relu": (0.0, float(np.sqrt(2))),
               "lrelu": (0.2, float(np.sqrt(2)))}


def check_activation(name):
    """Raise a ValueError for an activation TF1 StyleGAN2 code would not know here."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not implemented; use one of "
                         f"{sorted(ACTIVATIONS)}")
    return name


def bias_act(x, bias=None, act="linear"):
    """Add a per-channel bias, apply the activation, multiply by its gain (NVIDIA's `fused_bias_act`)."""
    slope, gain = ACTIVATIONS[act]
    x = fastconv.bias_act(x, None if bias is None else tf.cast(bias, x.dtype), slope)
    return x * gain if gain != 1.0 else x


def clamp(x, limit=None):
    """Clip to [-limit, limit] (stylegan2-ada's `conv_clamp`, which keeps float16 in range); None: as is."""
    return x if limit is None else tf.clip_by_value(x, -float(limit), float(limit))


def normalize_2nd_moment(x, eps=1e-8):
    """Scale each row to unit mean square (`G_mapping`'s 'Normalize' step)."""
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=1, keepdims=True) + eps)


def fir_kernel_2d(kernel):
    """The separable FIR filter as a normalized 2-D numpy array (`_setup_kernel` in dnnlib/tflib/ops/upfirdn_2d.py)."""
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim == 1:
        k = np.outer(k, k)
    return (k / k.sum()).astype(np.float32)


def upfirdn_2d(x, kernel, up=1, down=1, pad0=0, pad1=0):
    """Upsample by zero insertion, pad, filter with `kernel` (VALID), subsample; NHWC.

    This is TF1's reference `upfirdn_2d` on both spatial axes with the same
    factors and padding.  `kernel` is a 2-D numpy array already including any gain.
    """
    channels = x.shape[-1]
    if up > 1:
        # Sample i lands at index i*up, followed by up-1 zeros (the trailing
        # zeros after the last sample are part of the official definition).
        n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        x = tf.reshape(x, [n, h, 1, w, 1, channels])
        x = tf.pad(x, [[0, 0], [0, 0], [0, up - 1], [0, 0], [0, up - 1], [0, 0]])
        x = tf.reshape(x, [n, h * up, w * up, channels])
    if pad0 or pad1:
        x = tf.pad(x, [[0, 0], [pad0, pad1], [pad0, pad1], [0, 0]])
    # A true convolution flips the kernel; correlation with the flipped kernel is that.
    k = np.ascontiguousarray(kernel[::-1, ::-1])
    k = tf.constant(np.tile(k[:, :, None, None], [1, 1, channels, 1]), dtype=x.dtype)
    x = tf.nn.depthwise_conv2d(x, k, strides=[1, 1, 1, 1], padding="VALID")
    if down > 1:
        x = x[:, ::down, ::down, :]
    return x


def upsample_2d(x, kernel, factor=2):
    """Image upsampling of the skip generator: upfirdn with gain factor**2 (NVIDIA's `upsample_2d`).

    TF1 pads (p+1)//2 + factor-1 before and p//2 after, p = len(kernel) - factor;
    for [1,3,3,1] that is 2 before / 1 after.
    """
    k = fir_kernel_2d(kernel) * factor**2
    p = k.shape[0] - factor
    return upfirdn_2d(x, k, up=factor, pad0=(p + 1) // 2 + factor - 1, pad1=p // 2)


def downsample_2d(x, kernel, factor=2):
    """Image downsampling (filter, then keep every second pixel), TF1 `downsample_2d`."""
    k = fir_kernel_2d(kernel)
    p = k.shape[0] - factor
    return upfirdn_2d(x, k, down=factor, pad0=(p + 1) // 2, pad1=p // 2)


def conv_2d(x, w, bias=None, slope=1.0):
    """Stride-1 cross-correlation with zero SAME padding, `w` [kh, kw, in, out], then
    `fastconv.bias_act` (the discriminator folds its activation's gain into w and bias).

    Large 3x3 convolutions (the discriminator's) go through `fastconv`'s Winograd form.
    """
    if fastconv.fast_path(x, w, up=False, kernel=()) == "winograd":
        return fastconv.winograd_bias_act(x, w, zeros_if_none(bias, w), slope)
    if fastconv.enabled_for(x) and w.shape[0] % 2 and w.shape[1] % 2:
        return fastconv.conv_same(x, w, zeros_if_none(bias, w), slope)
    return fastconv.bias_act(tf.nn.conv2d(x, w, strides=1, padding="SAME"), bias, slope)


def zeros_if_none(bias, w):
    """The bias, or zeros for each output channel of kernel w."""
    return tf.zeros([w.shape[-1]], w.dtype) if bias is None else bias


def conv_downsample_2d(x, w, kernel, factor=2, bias=None, slope=1.0):
    """TF1 `conv_downsample_2d`: FIR blur with padding, then a stride-2 VALID conv; then `fastconv.bias_act`.

    The kernel is used as stored (not flipped), as in `conv_downsample_2d` (dnnlib/tflib/ops/upfirdn_2d.py).
    """
    if factor == 2 and fastconv.fast_path(x, w, False, kernel, down=True) == "blur":
        return fastconv.conv_down(x, w, kernel, bias, slope)
    k = fir_kernel_2d(kernel)
    p = (k.shape[0] - factor) + (w.shape[0] - 1)
    x = upfirdn_2d(x, k, pad0=(p + 1) // 2, pad1=p // 2)
    return fastconv.bias_act(tf.nn.conv2d(x, w, strides=factor, padding="VALID"), bias, slope)


def upsample_conv_2d(x, w, kernel, factor=2):
    """TF1 `upsample_conv_2d`: transposed conv (stride 2, VALID) then FIR with gain 4.

    TF1 hands `conv2d_transpose` the spatially flipped kernel with in/out swapped,
    so out[2u+p, 2v+q, o] += x[u, v, i] * w[kh-1-p, kw-1-q, i, o] (`upsample_conv_2d`, dnnlib/tflib/ops/upfirdn_2d.py).
    The result, (2H + kh - 2) pixels wide, is then filtered back to 2H.
    """
    kh, kw, _, out_channels = w.shape
    n, h, wd = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    w_t = tf.transpose(tf.reverse(w, axis=[0, 1]), [0, 1, 3, 2])
    out_shape = tf.stack([n, (h - 1) * factor + kh, (wd - 1) * factor + kw, out_channels])
    x = tf.nn.conv2d_transpose(x, w_t, out_shape, strides=factor, padding="VALID")
    k = fir_kernel_2d(kernel) * factor**2
    p = (k.shape[0] - factor) - (kw - 1)
    return upfirdn_2d(x, k, pad0=(p + 1) // 2 + factor - 1, pad1=p // 2 + 1)


def layer_epilogue(noise, strength, bias, act, clamp_limit=None, dtype=tf.float32):
    """A synthesis layer's noise, bias, activation and clamp as a `fastconv.Epilogue`."""
    return fastconv.Epilogue(None if noise is None else tf.cast(noise, dtype),
                             tf.cast(strength, dtype), tf.cast(bias, dtype),
                             *ACTIVATIONS[check_activation(act)],
                             None if clamp_limit is None else float(clamp_limit))


def modulated_conv_2d(x, weight, styles, demodulate=True, up=False, kernel=(1, 3, 3, 1),
                      epilogue=None):
    """Modulated (and optionally demodulated) convolution: NVIDIA's `modulated_conv2d_layer`, non-fused.

    x: [N, H, W, in]; weight: [kh, kw, in, out] with the equalized-lr factor
    already applied; styles: [N, in].  Scaling the input channels by the style,
    convolving with the shared kernel and scaling the output channels by the
    per-sample demodulation factor equals convolving with per-sample kernels.
    An `epilogue` (a synthesis layer's noise, bias and activation) is applied to
    the result.  Large layers take one of `fastconv`'s faster forms of the same sum.
    """
    path = fastconv.fast_path(x, weight, up, kernel)
    if path is not None:
        scales = demodulation_factors(weight, styles) if demodulate else \
            tf.ones([x.shape[0], weight.shape[-1]], x.dtype)
        if path == "winograd":
            return fastconv.winograd_conv_3x3(x, weight, styles, scales, epilogue)
        return fastconv.upsample_conv_phases(x, weight, styles, scales, kernel, epilogue)
    if weight.shape[0] == 1 and weight.shape[1] == 1 and not up:
        # 1x1 (ToRGB): scaling the small per-sample kernel is cheaper than scaling x.
        kernels = styles[:, :, None] * weight[0, 0][None]
        if demodulate:
            kernels *= demodulation_factors(weight, styles)[:, None, :]
        x = tf.einsum("nhwi,nio->nhwo", x, kernels)
    else:
        x = x * styles[:, None, None, :]
        x = upsample_conv_2d(x, weight, kernel) if up else conv_2d(x, weight)
        if demodulate:
            x = x * demodulation_factors(weight, styles)[:, None, None, :]
    return x if epilogue is None else fastconv.apply_epilogue(x, epilogue)


def demodulation_factors(weight, styles, eps=1e-8):
    """1 / ||w * s|| per (sample, output channel); the sum runs over kh, kw, in."""
    w_sq = tf.reduce_sum(tf.square(weight), axis=[0, 1])  # [in, out]
    return tf.math.rsqrt(tf.matmul(tf.square(styles), w_sq) + eps)


def minibatch_stddev(x, group_size=4, num_features=1):
    """Append the minibatch standard deviation as extra channels (NVIDIA's `minibatch_stddev_layer`), NHWC.

    Sample n belongs to group n mod (N / G): TF1 reshapes the batch as [G, M, ...],
    so groups are strided, not contiguous.
    """
    n, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    c = x.shape[-1]
    g = tf.minimum(group_size, n)
    y = tf.reshape(x, [g, -1, h, w, num_features, c // num_features])
    y = tf.cast(y, tf.float32)
    y -= tf.reduce_mean(y, axis=0, keepdims=True)
    y = tf.sqrt(tf.reduce_mean(tf.square(y), axis=0) + 1e-8)  # [M, H, W, F, c]
    y = tf.reduce_mean(y, axis=[1, 2, 4])  # [M, F]
    y = tf.cast(y, x.dtype)
    y = tf.tile(y[:, None, None, :], [g, h, w, 1])  # [N, H, W, F]
    return tf.concat([x, y], axis=-1)
