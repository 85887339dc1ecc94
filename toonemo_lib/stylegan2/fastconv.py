"""Faster forms of the synthesis network's large modulated convolutions, same arithmetic.

`ops.modulated_conv_2d` hands a layer here when it is large enough to pay
(`fast_path`); the small layers, and every layer of the tiny course networks,
keep the plain form.  Two rewrites, both exact up to float rounding:

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
  convolution library runs them as its fast forward kernels.

The transforms (tiles, interleaving, the FIR filter) are sums of strided slices
that XLA compiles into single loops (`jit_compile`), with the style modulation
and the demodulation folded in; only the matrix products and convolutions run
as TensorFlow's own kernels.  Large batches go through in chunks of a few
samples, which keeps the transformed tiles in cache.
"""

import contextlib

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
# (benchmarks/bench_stylegan2.py --layers): Winograd from 32x32 and 256 channels on
# both sides (at 128 channels the tiles' memory traffic outweighs the saved work);
# the phase split from a 16x16 input.  Chunks hold at most this many pixels.
WINOGRAD_MIN_SIZE, WINOGRAD_MIN_CHANNELS, WINOGRAD_CHUNK_PIXELS = 64, 128, 128 * 128
PHASES_MIN_SIZE, PHASES_CHUNK_PIXELS = 64, 64 * 64


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


def fast_path(x, weight, up, kernel):
    """'winograd', 'phases' or None: the faster form for this layer, if one pays."""
    n, h, w, _ = x.shape
    kh, kw, in_channels, out_channels = weight.shape
    if not _enabled[-1] or n is None or h is None or w is None or (kh, kw) != (3, 3):
        return None
    if up:
        return "phases" if min(h, w) >= PHASES_MIN_SIZE and len(kernel) == 4 else None
    if (min(h, w) >= WINOGRAD_MIN_SIZE and h % BLOCK == 0 and w % BLOCK == 0
            and min(in_channels, out_channels) >= WINOGRAD_MIN_CHANNELS):
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


@tf.function(jit_compile=True)
def winograd_input(x, styles, row0, rows):
    """Tiles B^T d B [36, N * rows/4 * W/4, C] of output rows row0 .. row0+rows.

    x: the input [N, H+2, W+2, C] zero-padded by one pixel ('SAME'), not yet
    modulated; styles [N, C].
    """
    n, _, w, c = x.shape
    x = x[:, row0:row0 + rows + 2] * styles[:, None, None, :]
    tiles_h, tiles_w = rows // BLOCK, (w - 2) // BLOCK
    by_rows = combine(WINOGRAD_BT, strided_taps(x, 1, tiles_h, BLOCK, TILE))
    tiles = [t for r in by_rows for t in combine(WINOGRAD_BT, strided_taps(r, 2, tiles_w, BLOCK, TILE))]
    return tf.reshape(tf.stack(tiles), [TILE * TILE, -1, c])


@tf.function(jit_compile=True)
def winograd_output(m, scales, tiles_h, tiles_w):
    """[36, N * tiles, out] products -> [N, 4 tiles_h, 4 tiles_w, out] outputs A^T M A, times scales [N, out]."""
    n, out = scales.shape
    m = tf.reshape(m, [TILE, TILE, n, tiles_h, tiles_w, out])
    rows = combine(WINOGRAD_AT, [m[i] for i in range(TILE)])
    blocks = [combine(WINOGRAD_AT, [r[j] for j in range(TILE)]) for r in rows]
    y = tf.stack([tf.stack(row, axis=-2) for row in blocks], axis=2)  # [N, th, 4, tw, 4, out]
    y = tf.reshape(y, [n, BLOCK * tiles_h, BLOCK * tiles_w, out])
    return y * scales[:, None, None, :]


def pieces(n, h, w, max_pixels, row_multiple):
    """(batch slice, first row, rows) pieces of at most max_pixels output pixels each.

    Whole samples while one fits, else bands of rows (a multiple of row_multiple):
    each piece's tiles then stay in cache between the transforms and the products.
    """
    if h * w <= max_pixels:
        return [(part, 0, h) for part in chunks(n, h * w, max_pixels)]
    rows = max(row_multiple, max_pixels // w // row_multiple * row_multiple)
    return [(slice(i, i + 1), row0, min(rows, h - row0)) for i in range(n) for row0 in range(0, h, rows)]


def winograd_sum(x, weight, styles):
    """conv2d(x * styles, weight, SAME) through F(4x4, 3x3); styles [N, in]."""
    n, h, w, _ = x.shape
    u = winograd_filter(weight)
    xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    ones = tf.ones([n, weight.shape[-1]], x.dtype)
    out = [winograd_output(tf.matmul(winograd_input(xp[part], styles[part], row0, rows), u),
                           ones[part], rows // BLOCK, w // BLOCK)
           for part, row0, rows in pieces(n, h, w, WINOGRAD_CHUNK_PIXELS, BLOCK)]
    if len(out) == 1:
        return out[0]
    if h * w <= WINOGRAD_CHUNK_PIXELS:
        return tf.concat(out, axis=0)
    bands = len(out) // n
    return tf.concat([tf.concat(out[i * bands:(i + 1) * bands], axis=1) for i in range(n)], axis=0)


def adjoint_kernel(weight):
    """The kernel of the adjoint ('transposed') convolution: rotated 180 degrees, in and out swapped."""
    return tf.transpose(tf.reverse(weight, axis=[0, 1]), [0, 1, 3, 2])


@tf.custom_gradient
def winograd_conv_3x3(x, weight, styles, scales):
    """conv2d(x * styles, weight, SAME) * scales; styles [N, in], scales [N, out].

    Its gradient to x is the adjoint convolution, itself run through F(4x4, 3x3):
    differentiating the tile transforms op by op would cost twice the forward pass.
    """
    y0 = winograd_sum(x, weight, styles)

    def grad(dy):
        g = dy * scales[:, None, None, :]
        dxs = winograd_sum(g, adjoint_kernel(weight), tf.ones_like(scales))
        dweight = tf.raw_ops.Conv2DBackpropFilter(
            input=x * styles[:, None, None, :], filter_sizes=tf.shape(weight), out_backprop=g,
            strides=[1, 1, 1, 1], padding="SAME")
        return (dxs * styles[:, None, None, :], dweight, tf.reduce_sum(dxs * x, axis=[1, 2]),
                tf.reduce_sum(dy * y0, axis=[1, 2]))

    return y0 * scales[:, None, None, :], grad


def fir_taps_1d(kernel, gain):
    """The separable FIR's 1-D taps, normalised to sum `gain`, flipped for correlation."""
    k = np.asarray(kernel, dtype=np.float64)
    return (k / k.sum() * gain)[::-1]


@tf.function(jit_compile=True)
def interleave_phases_fir(ee, eo, oe, oo, scales, taps):
    """The four phases of a stride-2 transposed convolution -> the FIR-filtered up-sampled image.

    ee [N, h+1, w+1, C] (even rows, even columns), eo [N, h+1, w, C], oe [N, h, w+1, C],
    oo [N, h, w, C] interleave to the (2h+1)^2 transposed output; then the FIR with
    one pixel of zero padding on each side (`ops.upsample_conv_2d`'s padding for a
    4-tap kernel) gives [N, 2h, 2w, C], multiplied by scales [N, C].
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
    size_h, size_w = 2 * h1 - 2, 2 * w1 - 2
    t = combine([taps], strided_taps(t, 1, size_h, 1, len(taps)))[0]
    t = combine([taps], strided_taps(t, 2, size_w, 1, len(taps)))[0]
    return t * scales[:, None, None, :]


def phase_kernels(weight):
    """The 2x2, 2x1, 1x2 and 1x1 kernels of the (even/odd row, even/odd column) phases.

    In `ops.upsample_conv_2d`'s convention out[2u+p, 2v+q] += x[u, v] w[2-p, 2-q], so even
    rows take kernel rows 2 (from x[u]) and 0 (from x[u-1]), odd rows kernel row 1.
    """
    return (weight[::2, ::2], weight[::2, 1:2], weight[1:2, ::2], weight[1:2, 1:2])


def phases_sum(x, weight, taps):
    """FIR(conv2d_transpose(x, weight)) of `ops.upsample_conv_2d`, phase by phase."""
    n, h, w, _ = x.shape
    k_ee, k_eo, k_oe, k_oo = phase_kernels(weight)
    ones = tf.ones([n, weight.shape[-1]], x.dtype)
    out = []
    for part in chunks(n, h * w, PHASES_CHUNK_PIXELS):
        xp = tf.pad(x[part], [[0, 0], [1, 1], [1, 1], [0, 0]])
        ee = tf.nn.conv2d(xp, k_ee, 1, "VALID")
        eo = tf.nn.conv2d(xp[:, :, 1:-1], k_eo, 1, "VALID")
        oe = tf.nn.conv2d(xp[:, 1:-1], k_oe, 1, "VALID")
        oo = tf.nn.conv2d(x[part], k_oo, 1, "VALID")
        out.append(interleave_phases_fir(ee, eo, oe, oo, ones[part], taps))
    return out[0] if len(out) == 1 else tf.concat(out, axis=0)


@tf.function(jit_compile=True)
def fir_adjoint(g, taps):
    """The adjoint of `interleave_phases_fir`'s FIR: [N, 2h, 2w, C] -> [N, 2h+1, 2w+1, C]."""
    g = tf.pad(g, [[0, 0], [len(taps) - 1] * 2, [len(taps) - 1] * 2, [0, 0]])
    flipped = list(taps[::-1])
    size_h, size_w = g.shape[1] - len(taps) + 1, g.shape[2] - len(taps) + 1
    g = combine([flipped], strided_taps(g, 1, size_h, 1, len(taps)))[0]
    g = combine([flipped], strided_taps(g, 2, size_w, 1, len(taps)))[0]
    return g[:, 1:-1, 1:-1]  # the FIR's one pixel of padding on each side


def upsample_conv_phases(x, weight, styles, scales, kernel):
    """ops.upsample_conv_2d(x * styles, weight, kernel) * scales, phase by phase (4-tap kernels)."""
    taps = tuple(float(t) for t in fir_taps_1d(kernel, 2))

    @tf.custom_gradient
    def forward(x, weight, styles, scales):
        xs = x * styles[:, None, None, :]
        y0 = phases_sum(xs, weight, taps)

        def grad(dy):
            # The adjoint of the transposed convolution is the stride-2 convolution.
            g = fir_adjoint(dy * scales[:, None, None, :], taps)
            dxs = tf.nn.conv2d(g, adjoint_kernel(weight), strides=2, padding="VALID")
            dweight_t = tf.raw_ops.Conv2DBackpropFilter(
                input=g, filter_sizes=tf.shape(adjoint_kernel(weight)), out_backprop=xs,
                strides=[1, 2, 2, 1], padding="VALID")
            return (dxs * styles[:, None, None, :], adjoint_kernel(dweight_t),
                    tf.reduce_sum(dxs * x, axis=[1, 2]), tf.reduce_sum(dy * y0, axis=[1, 2]))

        return y0 * scales[:, None, None, :], grad

    return forward(x, weight, styles, scales)
