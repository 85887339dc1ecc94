"""Faster forms of StyleGAN2's convolutions, same arithmetic.

`ops.modulated_conv_2d` (the synthesis layers), `ops.conv_2d` and
`ops.conv_downsample_2d` (the discriminator's) hand a call here when it is large
enough to pay (`fast_path`); small layers, and every layer of the tiny course
networks, keep the plain form.  Two rewrites, both exact up to float rounding:

- **3x3 convolutions as Winograd F(4x4, 3x3)** (Lavin & Gray, "Fast Algorithms
  for Convolutional Neural Networks", 2016).  Each 4x4 block of outputs is
  computed from a 6x6 input tile: Y = A^T [(G g G^T) . (B^T d B)] A.  The
  element-wise product over the 36 tile positions becomes 36 matrix products
  over channels, so a block costs 36 multiply-adds per (in, out) channel pair
  instead of 16 * 9 = 144: four times less work than a direct convolution.
- **the up-sampling layer's transposed convolution split into its four output
  phases.**  A stride-2 transposed 3x3 convolution writes even output rows from
  kernel rows 0 and 2 and odd rows from row 1 alone; each of the four
  (row, column) phases is an ordinary stride-1 convolution on the input grid
  with a 2x2, 2x1, 1x2 or 1x1 kernel.  Same multiply-adds, but the
  convolution library runs them as its fast forward kernels.  The
  discriminator's down-sampling convolution is this layer's adjoint, so its
  gradient runs phase by phase too.

The discriminator's FIR blur is one compiled pass instead of a depthwise
convolution (strided where only every second output is used), and every plain
odd convolution's input gradient is the forward convolution with the adjoint
kernel: oneDNN's backward-data kernels are 1.5-2x slower on a CPU.

The transforms (tiles, interleaving, the FIR filter) are sums of strided slices
that XLA compiles into loops (`jit_compile`), with the style modulation, the
demodulation and the layer's noise, bias and activation (`Epilogue`) folded in;
only the matrix products and convolutions run as TensorFlow's own kernels.  Each
form has its adjoint written out as its gradient (`tf.custom_gradient`), so
projection and training run fast forms backwards too.  Large calls go through
in pieces (a few samples, or bands of rows), which keeps the transformed tiles
in cache.  Only float32 on a CPU takes these forms: on a GPU cuDNN chooses its
own algorithms, and float16 would lose too much in the Winograd transforms.
"""

import contextlib
import functools
from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

# Winograd F(4x4, 3x3) with interpolation points 0, 1, -1, 2, -2 and infinity.
WINOGRAD_BT = np.array([[4, 0, -5, 0, 1, 0],
                        [0, -4, -4, 1, 1, 0],
                        [0, 4, -4, -1, 1, 0],
                        [0, -2, -1, 2, 1, 0],
                        [0, 2, -1, -2, 1, 0],
                        [0, 4, 0, -5, 0, 1]], dtype=np.float64)
WINOGRAD_G = np.array([[1 / 4, 0, 0],
                       [-1 / 6, -1 / 6, -1 / 6],
                       [-1 / 6, 1 / 6, -1 / 6],
                       [1 / 24, 1 / 12, 1 / 6],
                       [1 / 24, -1 / 12, 1 / 6],
                       [0, 0, 1]], dtype=np.float64)
WINOGRAD_AT = np.array([[1, 1, 1, 1, 1, 0],
                        [0, 1, -1, 2, -2, 0],
                        [0, 1, 1, 4, 4, 0],
                        [0, 1, -1, 8, -8, 1]], dtype=np.float64)
TILE, BLOCK = 6, 4  # input tile and output block edge of F(4x4, 3x3)

# Where each form pays, measured on 2 CPU cores against oneDNN's direct convolution
# (benchmarks/bench_stylegan2.py --layers): Winograd from 4,096 output pixels in a call
# (64x64 at batch 1, 32x32 at batch 8) and 128 channels on both sides: below, the fixed
# cost of the transforms outweighs the saved work.  The phase split from a 64x64 input.
# Larger calls go through in pieces: Winograd's of about 4 M input values (16 MB, half
# the L3 cache; its tiles are 2.25x that; 2 M and 8 M were 5-40 % slower on the
# discriminator's layers), the phase split's of 4,096 input pixels.
WINOGRAD_MIN_PIXELS, WINOGRAD_MIN_CHANNELS, WINOGRAD_CHUNK_VALUES = 64 * 64, 128, 2**22
PHASES_MIN_SIZE, PHASES_CHUNK_PIXELS = 64, 64 * 64
# The discriminator's one-pass blur (and the phases as its down-sampling conv's gradient)
# from a 32x32 input with 128 channels.
BLUR_MIN_SIZE = 32


_enabled = [True]


@contextlib.contextmanager
def plain_convolutions():
    """Inside this block every layer takes the plain form (to compare, or to rule a form out).

    The choice is made when a layer is called or traced: a `tf.function` traced
    before keeps the form it traced with.
    """
    _enabled.append(False)
    try:
        yield
    finally:
        _enabled.pop()


@functools.lru_cache(maxsize=None)
def on_gpu():
    """Whether TensorFlow sees a GPU: cuDNN picks its own algorithms there (and the
    thresholds here were measured on a CPU), so the plain forms run."""
    return bool(tf.config.list_logical_devices("GPU"))


def enabled_for(x):
    """Whether the fast forms may run on x at all: float32 of known shape on a CPU, not switched off."""
    return (_enabled[-1] and tf.is_tensor(x) and x.shape.rank == 4 and None not in x.shape
            and x.dtype == tf.float32 and not on_gpu())


def fast_path(x, weight, up, kernel, down=False):
    """'winograd', 'phases', 'blur' or None: the faster form for this layer, if one pays.

    'blur' is the discriminator's down-sampling convolution (1x1 or 3x3) with its
    blur in one compiled pass, and the phases as the 3x3 kernel's gradient.
    """
    if not enabled_for(x):
        return None
    n, h, w, _ = x.shape
    kh, kw, in_channels, out_channels = weight.shape
    if down:
        return "blur" if (min(h, w) >= BLUR_MIN_SIZE and h % 2 == 0 and w % 2 == 0
                          and in_channels >= WINOGRAD_MIN_CHANNELS and len(kernel) == 4
                          and (kh, kw) in ((1, 1), (3, 3))) else None
    if (kh, kw) != (3, 3):
        return None
    if up:
        return "phases" if min(h, w) >= PHASES_MIN_SIZE and len(kernel) == 4 else None
    if (n * h * w >= WINOGRAD_MIN_PIXELS and min(h, w) >= 2 * BLOCK and h % BLOCK == 0
            and w % BLOCK == 0 and min(in_channels, out_channels) >= WINOGRAD_MIN_CHANNELS):
        return "winograd"
    return None


def chunks(n, pixels, max_pixels):
    """Batch slices of at most max(1, max_pixels // pixels) samples each."""
    size = max(1, max_pixels // pixels)
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def strided_taps(x, axis, count, stride, taps):
    """`taps` slices of x along `axis`; slice k holds entries k, k + stride, ... (`count` of them)."""
    def tap(k):
        index = [slice(None)] * x.shape.rank
        index[axis] = slice(k, k + stride * (count - 1) + 1, stride)
        return x[tuple(index)]
    return [tap(k) for k in range(taps)]


def combine(matrix, parts):
    """The rows of a small constant matrix applied to a list of tensors (zeros skipped)."""
    out = []
    for row in matrix:
        total = None
        for coef, part in zip(row, parts):
            if coef == 0:
                continue
            term = part if coef == 1 else -part if coef == -1 else part * float(coef)
            total = term if total is None else total + term
        out.append(total)
    return out


def winograd_filter(weight):
    """[3, 3, in, out] kernel -> the [36, in, out] transformed kernel G g G^T.

    One matrix product with kron(G, G), recomputed on every call since training
    changes the kernel (a few ms for 512x512 channels).
    """
    kron = tf.constant(np.kron(WINOGRAD_G, WINOGRAD_G), dtype=weight.dtype)  # [36, 9]
    u = tf.matmul(kron, tf.reshape(weight, [9, -1]))
    return tf.reshape(u, [TILE * TILE, weight.shape[2], weight.shape[3]])


# Each transform runs as two XLA calls, rows then columns: one call for both would
# recompute the row sums for every column output (measured 1.7x slower).
@tf.function(jit_compile=True)
def winograd_input_rows(x, styles, row0, rows):
    """Row transform of output rows row0 .. row0+rows: [6, N, rows/4, W+2, C].

    x: the input [N, H+2, W+2, C] zero-padded by one pixel ('SAME'), not yet
    modulated; styles [N, C].
    """
    x = x[:, row0:row0 + rows + 2] * styles[:, None, None, :]
    return tf.stack(combine(WINOGRAD_BT, strided_taps(x, 1, rows // BLOCK, BLOCK, TILE)))


@tf.function(jit_compile=True)
def winograd_input_columns(r):
    """[6, N, th, W+2, C] row sums -> the tiles B^T d B as [36, N * th * W/4, C]."""
    _, _, _, width, channels = r.shape
    tiles = combine(WINOGRAD_BT, strided_taps(r, 3, (width - 2) // BLOCK, BLOCK, TILE))
    return tf.reshape(tf.stack(tiles, axis=1), [TILE * TILE, -1, channels])


def winograd_input(x, styles, row0, rows):
    """Tiles B^T d B [36, N * rows/4 * W/4, C] of output rows row0 .. row0+rows (x padded)."""
    return winograd_input_columns(winograd_input_rows(x, styles, row0, rows))


class Epilogue(NamedTuple):
    """What a synthesis layer does after its convolution (NVIDIA's `fused_bias_act` and noise):

    clamp(act(conv + noise * strength + bias) * gain), act(z) = z for z > 0, else slope * z.
    The fast forms apply it inside their last transform.
    """
    noise: Optional[tf.Tensor]  # [N or 1, H, W, 1], or None
    strength: tf.Tensor  # scalar
    bias: tf.Tensor  # [C]
    slope: float  # 1 linear, 0 relu, 0.2 lrelu
    gain: float
    clamp: Optional[float] = None


def apply_epilogue(x, e):
    """The epilogue on a convolution's output x (TensorFlow ops; XLA fuses them in the transforms)."""
    if e is None:
        return x
    if e.noise is not None:
        x = x + e.noise * e.strength
    x = x + e.bias
    if e.slope == 0:
        x = tf.nn.relu(x)
    elif e.slope != 1:
        x = tf.nn.leaky_relu(x, alpha=e.slope)
    if e.gain != 1:
        x = x * e.gain
    return x if e.clamp is None else tf.clip_by_value(x, -e.clamp, e.clamp)


def epilogue_gradients(dy, y, scales, e):
    """(gradient to the scaled convolution, to scales, noise, strength, bias) from the output y.

    The pre-activation z is recovered from y (the activation keeps the sign, and where
    the clamp bit the gradient is zero anyway), so the forward pass stores nothing more.
    """
    positive = y > 0
    linear = e.slope == 1 and e.gain == 1  # a plain convolution (no epilogue): dz is dy
    dz = dy if linear else dy * tf.where(positive, e.gain, e.gain * e.slope)
    if e.clamp is not None:
        dz = tf.where(tf.abs(y) < e.clamp, dz, tf.zeros_like(dz))
    if linear:
        z = y
    else:
        z = tf.where(positive, y / e.gain, y / (e.gain * e.slope) if e.slope else tf.zeros_like(y))
    conv_scaled = z - e.noise * e.strength - e.bias
    dscales = tf.reduce_sum(dz * conv_scaled, axis=[1, 2]) / scales
    dnoise = sum_to_shape(dz * e.strength, e.noise.shape)
    return (dz * scales[:, None, None, :], dscales, dnoise, tf.reduce_sum(dz * e.noise),
            tf.reduce_sum(dz, axis=[0, 1, 2]))


def sum_to_shape(t, shape):
    """Sum t over the axes where `shape` broadcast it (size 1), keeping them."""
    axes = [i for i, (a, b) in enumerate(zip(shape, t.shape)) if a == 1 and b != 1]
    return tf.reduce_sum(t, axis=axes, keepdims=True) if axes else t


def epilogue_piece(e, part, row0, rows):
    """The epilogue of one piece (samples `part`, rows row0 .. row0+rows) of a call."""
    noise = None if e is None else e.noise
    if noise is None:
        return e
    if noise.shape[0] != 1:
        noise = noise[part]
    if noise.shape[1] != 1:
        noise = noise[:, row0:row0 + rows]
    return e._replace(noise=noise)


@tf.function(jit_compile=True)
def winograd_output_rows(m, n, tiles_h, tiles_w):
    """[36, N * tiles, out] products -> [4, 6, N, tiles_h, tiles_w, out]: A^T M over rows."""
    m = tf.reshape(m, [TILE, TILE, n, tiles_h, tiles_w, m.shape[-1]])
    return tf.stack(combine(WINOGRAD_AT, [m[i] for i in range(TILE)]))


@tf.function(jit_compile=True)
def winograd_output_columns(r, scales, epilogue):
    """[4, 6, N, th, tw, out] -> the epilogue of (.. A) * scales, [N, 4 th, 4 tw, out]."""
    _, _, n, tiles_h, tiles_w, out = r.shape
    blocks = [combine(WINOGRAD_AT, [r[i, j] for j in range(TILE)]) for i in range(BLOCK)]
    y = tf.stack([tf.stack(row, axis=-2) for row in blocks], axis=2)  # [N, th, 4, tw, 4, out]
    y = tf.reshape(y, [n, BLOCK * tiles_h, BLOCK * tiles_w, out])
    return apply_epilogue(y * scales[:, None, None, :], epilogue)


def winograd_output(m, scales, tiles_h, tiles_w, epilogue):
    """[36, N * tiles, out] products -> the epilogue of (A^T M A) * scales, [N, 4 tiles_h, 4 tiles_w, out]."""
    return winograd_output_columns(winograd_output_rows(m, scales.shape[0], tiles_h, tiles_w),
                                   scales, epilogue)


def pieces(n, h, w, max_pixels, row_multiple):
    """(batch slice, first row, rows) pieces of at most max_pixels output pixels each.

    Whole samples while one fits, else bands of rows (a multiple of row_multiple):
    each piece's tiles then stay in cache between the transforms and the products.
    """
    if h * w <= max_pixels:
        return [(part, 0, h) for part in chunks(n, h * w, max_pixels)]
    rows = max(row_multiple, max_pixels // w // row_multiple * row_multiple)
    return [(slice(i, i + 1), row0, min(rows, h - row0)) for i in range(n) for row0 in range(0, h, rows)]


def join_pieces(out, n, h, w, max_pixels):
    """The pieces of `pieces(n, h, w, max_pixels, ...)` put back together."""
    if len(out) == 1:
        return out[0]
    if h * w <= max_pixels:
        return tf.concat(out, axis=0)
    bands = len(out) // n
    return tf.concat([tf.concat(out[i * bands:(i + 1) * bands], axis=1) for i in range(n)], axis=0)


def winograd_sum(x, weight, styles, scales, epilogue):
    """epilogue(conv2d(x * styles, weight, SAME) * scales) through F(4x4, 3x3)."""
    n, h, w, channels = x.shape
    u = winograd_filter(weight)
    xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    max_pixels = max(1, WINOGRAD_CHUNK_VALUES // channels)
    out = [winograd_output(tf.matmul(winograd_input(xp[part], styles[part], row0, rows), u),
                           scales[part], rows // BLOCK, w // BLOCK,
                           epilogue_piece(epilogue, part, row0, rows))
           for part, row0, rows in pieces(n, h, w, max_pixels, BLOCK)]
    return join_pieces(out, n, h, w, max_pixels)


def adjoint_kernel(weight):
    """The kernel of the adjoint ('transposed') convolution: rotated 180 degrees, in and out swapped."""
    return tf.transpose(tf.reverse(weight, axis=[0, 1]), [0, 1, 3, 2])


def full_epilogue(epilogue, channels, dtype):
    """The epilogue with a tensor in every field a custom gradient takes: zeros [1, 1, 1, 1]
    for no noise; no epilogue at all is the linear one (the plain convolution)."""
    e = epilogue or Epilogue(None, tf.zeros([], dtype), tf.zeros([channels], dtype), 1.0, 1.0)
    return e if e.noise is not None else e._replace(noise=tf.zeros([1, 1, 1, 1], dtype))


def winograd_conv_3x3(x, weight, styles, scales, epilogue=None):
    """epilogue(conv2d(x * styles, weight, SAME) * scales); styles [N, in], scales [N, out].

    Its gradient to x is the adjoint convolution, itself run through F(4x4, 3x3):
    differentiating the tile transforms op by op would cost twice the forward pass.
    """
    e = full_epilogue(epilogue, weight.shape[-1], x.dtype)

    @tf.custom_gradient
    def forward(x, weight, styles, scales, noise, strength, bias):
        parts = e._replace(noise=noise, strength=strength, bias=bias)
        y = winograd_sum(x, weight, styles, scales, parts)

        def grad(dy):
            g, dscales, dnoise, dstrength, dbias = epilogue_gradients(dy, y, scales, parts)
            dxs = winograd_sum(g, adjoint_kernel(weight), tf.ones_like(scales), tf.ones_like(styles),
                               full_epilogue(None, x.shape[-1], x.dtype))
            dweight = filter_gradient(x * styles[:, None, None, :], weight, g, 1, "SAME")
            return (dxs * styles[:, None, None, :], dweight, tf.reduce_sum(dxs * x, axis=[1, 2]),
                    dscales, dnoise, dstrength, dbias)

        return y, grad

    return forward(x, weight, styles, scales, e.noise, e.strength, e.bias)


# The discriminator's layers fold their activation's gain into the kernel and the bias
# (`EqualizedConv2D`), so what follows a convolution is act(z + bias) with act linear, relu
# or leaky relu: TensorFlow's remapper fuses those ops into oneDNN's convolution, and their
# gradient is one LeakyReluGrad pass.


def bias_act(z, bias=None, slope=1.0):
    """act(z + bias), act(z) = z for z > 0, else slope * z, as ops TensorFlow fuses into a convolution."""
    if bias is not None:
        z = tf.nn.bias_add(z, bias)
    if slope == 1:
        return z
    return tf.nn.relu(z) if slope == 0 else tf.nn.leaky_relu(z, alpha=slope)


def bias_act_backward(dy, y, slope):
    """(gradient to z, to the bias) of y = bias_act(z, bias, slope), from y alone."""
    dz = dy if slope == 1 else tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=slope)
    return dz, tf.reduce_sum(dz, axis=[0, 1, 2])


def filter_gradient(x, weight, dz, stride, padding):
    """The gradient to a convolution's kernel (oneDNN's backward-weights kernel)."""
    return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=tf.shape(weight), out_backprop=dz,
                                           strides=[1, stride, stride, 1], padding=padding)


def conv_same(x, weight, bias, slope=1.0):
    """bias_act(tf.nn.conv2d(x, weight, 1, 'SAME'), bias, slope) for an odd kernel; its input
    gradient is the forward convolution with the adjoint kernel, which oneDNN runs 1.5-2x
    faster than its backward-data kernel."""
    @tf.custom_gradient
    def forward(x, weight, bias):
        y = bias_act(tf.nn.conv2d(x, weight, 1, "SAME"), bias, slope)

        def grad(dy):
            dz, dbias = bias_act_backward(dy, y, slope)
            return (tf.nn.conv2d(dz, adjoint_kernel(weight), 1, "SAME"),
                    filter_gradient(x, weight, dz, 1, "SAME"), dbias)

        return y, grad

    return forward(x, weight, bias)


def winograd_bias_act(x, weight, bias, slope=1.0):
    """bias_act(conv2d(x, weight, SAME), bias, slope) through F(4x4, 3x3) (the discriminator's
    3x3 layers); unlike `winograd_conv_3x3` its gradient has no styles' terms to pay for."""
    ones_in, ones_out = tf.ones([x.shape[0], x.shape[-1]]), tf.ones([x.shape[0], weight.shape[-1]])

    @tf.custom_gradient
    def forward(x, weight, bias):
        y = winograd_sum(x, weight, ones_in, ones_out, Epilogue(None, 0.0, bias, slope, 1.0))

        def grad(dy):
            dz, dbias = bias_act_backward(dy, y, slope)
            dx = winograd_sum(dz, adjoint_kernel(weight), ones_out, ones_in, None)
            return dx, filter_gradient(x, weight, dz, 1, "SAME"), dbias

        return y, grad

    return forward(x, weight, bias)


def fir_taps_1d(kernel, gain):
    """The separable FIR's 1-D taps, normalised to sum `gain`, flipped for correlation."""
    k = np.asarray(kernel, dtype=np.float64)
    return (k / k.sum() * gain)[::-1]


@tf.function(jit_compile=True)
def interleave_phases_fir_rows(ee, eo, oe, oo, taps):
    """The four phases of a stride-2 transposed convolution, interleaved and FIR-filtered along rows.

    ee [N, h+1, w+1, C] (even rows, even columns), eo [N, h+1, w, C], oe [N, h, w+1, C],
    oo [N, h, w, C] interleave to the (2h+1)^2 transposed output; the FIR with one
    pixel of zero padding on each side (`ops.upsample_conv_2d`'s padding for a 4-tap
    kernel) then gives 2h rows: [N, 2h, 2w+2, C], columns still to filter.
    """
    n, h1, w1, c = ee.shape
    eo = tf.pad(eo, [[0, 0], [0, 0], [0, 1], [0, 0]])
    oe = tf.pad(oe, [[0, 0], [0, 1], [0, 0], [0, 0]])
    oo = tf.pad(oo, [[0, 0], [0, 1], [0, 1], [0, 0]])
    even = tf.reshape(tf.stack([ee, eo], axis=3), [n, h1, 2 * w1, c])
    odd = tf.reshape(tf.stack([oe, oo], axis=3), [n, h1, 2 * w1, c])
    t = tf.reshape(tf.stack([even, odd], axis=2), [n, 2 * h1, 2 * w1, c])
    # The last row and column are the zero padding of the odd phases: keep one as the FIR's pad.
    t = tf.pad(t, [[0, 0], [1, 0], [1, 0], [0, 0]])
    return combine([taps], strided_taps(t, 1, 2 * h1 - 2, 1, len(taps)))[0]


@tf.function(jit_compile=True)
def fir_columns(t, scales, taps, epilogue):
    """The FIR along columns ([N, H, W+3, C] -> [N, H, W, C]), times scales [N, C], then the epilogue."""
    t = combine([taps], strided_taps(t, 2, t.shape[2] - len(taps) + 1, 1, len(taps)))[0]
    return apply_epilogue(t * scales[:, None, None, :], epilogue)


def phase_kernels(weight):
    """The 2x2, 2x1, 1x2 and 1x1 kernels of the (even/odd row, even/odd column) phases.

    In `ops.upsample_conv_2d`'s convention out[2u+p, 2v+q] += x[u, v] w[2-p, 2-q], so even
    rows take kernel rows 2 (from x[u]) and 0 (from x[u-1]), odd rows kernel row 1.
    """
    return (weight[::2, ::2], weight[::2, 1:2], weight[1:2, ::2], weight[1:2, 1:2])


def phases_sum(x, weight, scales, taps, epilogue):
    """epilogue(FIR(conv2d_transpose(x, weight)) * scales) of `ops.upsample_conv_2d`, phase by phase."""
    n, h, w, _ = x.shape
    k_ee, k_eo, k_oe, k_oo = phase_kernels(weight)
    out = []
    for part in chunks(n, h * w, PHASES_CHUNK_PIXELS):
        xp = tf.pad(x[part], [[0, 0], [1, 1], [1, 1], [0, 0]])
        ee = tf.nn.conv2d(xp, k_ee, 1, "VALID")
        eo = tf.nn.conv2d(xp[:, :, 1:-1], k_eo, 1, "VALID")
        oe = tf.nn.conv2d(xp[:, 1:-1], k_oe, 1, "VALID")
        oo = tf.nn.conv2d(x[part], k_oo, 1, "VALID")
        out.append(fir_columns(interleave_phases_fir_rows(ee, eo, oe, oo, taps), scales[part],
                               taps, epilogue_piece(epilogue, part, 0, 2 * h)))
    return out[0] if len(out) == 1 else tf.concat(out, axis=0)


def fir_sum(x, taps, stride, rows, columns):
    """sum_ab taps[a] taps[b] x[s*i + a, s*j + b] for i < rows, j < columns: the separable FIR
    in one pass (two 1-D passes cost twice the memory traffic)."""
    total = None
    for a, row in zip(taps, strided_taps(x, 1, rows, stride, len(taps))):
        for b, tap in zip(taps, strided_taps(row, 2, columns, stride, len(taps))):
            term = tap * float(a * b)
            total = term if total is None else total + term
    return total


@tf.function(jit_compile=True)
def fir_2d_compiled(x, taps, pad, stride):
    """Correlation with the separable taps of x zero-padded by pad = (before, after) on both
    spatial axes, keeping every stride-th output."""
    x = tf.pad(x, [[0, 0], list(pad), list(pad), [0, 0]])
    return fir_sum(x, taps, stride, (x.shape[1] - len(taps)) // stride + 1,
                   (x.shape[2] - len(taps)) // stride + 1)


@tf.function(jit_compile=True)
def fir_2d_adjoint(dy, taps, pad, stride, height, width):
    """The adjoint of `fir_2d_compiled` for an input of height x width, phase by phase.

    On the padded grid dx[s v + r] = sum_m taps[r + s m] dy[v - m]: each of the s x s output
    phases is a correlation of dy with every s-th tap, so no work goes to inserted zeros.
    """
    n, h, w, c = dy.shape
    per_phase = -(-len(taps) // stride)
    rows, cols = -(-(pad[0] + height) // stride), -(-(pad[0] + width) // stride)
    dy = tf.pad(dy, [[0, 0], [per_phase - 1, max(0, rows - h)],
                     [per_phase - 1, max(0, cols - w)], [0, 0]])

    def phase_taps(r):  # reversed, for a correlation
        return [taps[k] if k < len(taps) else 0.0
                for k in (r + stride * (per_phase - 1 - m) for m in range(per_phase))]

    phases = []
    for r in range(stride):
        row = []
        for q in range(stride):
            total = None
            for a, ta in enumerate(phase_taps(r)):
                for b, tb in enumerate(phase_taps(q)):
                    if ta * tb:
                        term = dy[:, a:a + rows, b:b + cols] * float(ta * tb)
                        total = term if total is None else total + term
            row.append(total)
        phases.append(tf.reshape(tf.stack(row, axis=3), [n, rows, stride * cols, c]))
    dx = tf.reshape(tf.stack(phases, axis=2), [n, stride * rows, stride * cols, c])
    return dx[:, pad[0]:pad[0] + height, pad[0]:pad[0] + width]


def fir_2d(x, taps, pad, stride=1):
    """`fir_2d_compiled` with its adjoint as the gradient."""
    @tf.custom_gradient
    def forward(x):
        def grad(dy):
            return fir_2d_adjoint(dy, taps, pad, stride, x.shape[1], x.shape[2])
        return fir_2d_compiled(x, taps, pad, stride), grad

    return forward(x)


def fir_adjoint(g, taps):
    """The adjoint of the phase split's FIR: [N, 2h, 2w, C] -> [N, 2h+1, 2w+1, C]."""
    # Full correlation with the reversed taps, less the FIR's one pixel of padding each side.
    return fir_2d_compiled(g, tuple(taps[::-1]), (len(taps) - 2, len(taps) - 2), 1)


def conv_down(x, weight, kernel, bias=None, slope=1.0):
    """bias_act(`ops.conv_downsample_2d`(x, weight, kernel), bias, slope): the discriminator's
    FIR blur then a stride-2 convolution, the blur as one compiled pass.

    A 1x1 kernel samples every second blurred pixel: the blur computes only those.  A 3x3
    kernel's gradient to x is its adjoint, a stride-2 transposed convolution then the FIR:
    the phase split of the generator's up-sampling layers.
    """
    taps = tuple(float(t) for t in fir_taps_1d(kernel, 1))
    p = len(taps) - 2 + weight.shape[0] - 1
    pad = ((p + 1) // 2, p // 2)
    if weight.shape[0] == 1:
        return bias_act(tf.nn.conv2d(fir_2d(x, taps, pad, stride=2), weight, 1, "VALID"), bias, slope)
    if bias is None:
        bias = tf.zeros([weight.shape[-1]], x.dtype)

    @tf.custom_gradient
    def forward(x, weight, bias):
        blurred = fir_2d_compiled(x, taps, pad, 1)
        y = bias_act(tf.nn.conv2d(blurred, weight, 2, "VALID"), bias, slope)

        def grad(dy):
            dz, dbias = bias_act_backward(dy, y, slope)
            dx = phases_sum(dz, adjoint_kernel(weight), tf.ones([x.shape[0], x.shape[-1]]),
                            tuple(reversed(taps)), None)
            return dx, filter_gradient(blurred, weight, dz, 2, "VALID"), dbias

        return y, grad

    return forward(x, weight, bias)


def upsample_conv_phases(x, weight, styles, scales, kernel, epilogue=None):
    """epilogue(ops.upsample_conv_2d(x * styles, weight, kernel) * scales), phase by phase (4-tap kernels)."""
    taps = tuple(float(t) for t in fir_taps_1d(kernel, 2))
    e = full_epilogue(epilogue, weight.shape[-1], x.dtype)

    @tf.custom_gradient
    def forward(x, weight, styles, scales, noise, strength, bias):
        parts = e._replace(noise=noise, strength=strength, bias=bias)
        xs = x * styles[:, None, None, :]
        y = phases_sum(xs, weight, scales, taps, parts)

        def grad(dy):
            g, dscales, dnoise, dstrength, dbias = epilogue_gradients(dy, y, scales, parts)
            # The adjoint of the transposed convolution is the stride-2 convolution.
            g = fir_adjoint(g, taps)
            dxs = tf.nn.conv2d(g, adjoint_kernel(weight), strides=2, padding="VALID")
            dweight_t = filter_gradient(g, adjoint_kernel(weight), xs, 2, "VALID")
            return (dxs * styles[:, None, None, :], adjoint_kernel(dweight_t),
                    tf.reduce_sum(dxs * x, axis=[1, 2]), dscales, dnoise, dstrength, dbias)

        return y, grad

    return forward(x, weight, styles, scales, e.noise, e.strength, e.bias)
