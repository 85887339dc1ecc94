"""StyleGAN2 networks as Keras models: mapping, synthesis, generator, discriminator.

Constructor arguments carry the names of NVIDIA's TF1 build functions
(`G_main`, `G_mapping`, `G_synthesis_stylegan2`, `D_stylegan2`) and the same
defaults, so an official pickle's `static_kwargs` can be passed straight in.
Images are NHWC float32, roughly in [-1, 1].  Every model returns TensorFlow
tensors (call `.numpy()` or `np.asarray` on them); inputs may be numpy arrays.

`tf1_variables()` on each model lists its weights under their TF1 names
("mapping/Dense0/weight", ...) with the TF1 shapes: the pickle importer and the
project's own save format both go through that one table.
"""

from collections import OrderedDict

import numpy as np
import keras
import tensorflow as tf

from . import ops
from .layers import (EqualizedConv2D, EqualizedDense, MinibatchStddev, SynthesisLayer, ToRGB,
                     constant_initializer, normal_initializer)

SUPPORTED_RESOLUTIONS = tuple(2**r for r in range(2, 11))


def resolution_log2(resolution):
    """log2 of a supported resolution (a power of two from 4 to 1024), else ValueError."""
    if resolution not in SUPPORTED_RESOLUTIONS:
        raise ValueError(f"resolution must be a power of two from 4 to 1024, got {resolution!r}")
    return int(np.log2(resolution))


def num_ws_for(resolution):
    """Number of W rows the synthesis network reads: 2*log2(R) - 2 (TF1 num_layers)."""
    return 2 * resolution_log2(resolution) - 2


def channel_count(stage, fmap_base=16384, fmap_decay=1.0, fmap_min=1, fmap_max=512):
    """TF1's nf(stage) = clip(int(fmap_base / 2**(stage * fmap_decay)), fmap_min, fmap_max)."""
    return int(np.clip(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_min, fmap_max))


def fir_taps(resample_kernel):
    """The 1-D resampling filter as a list; None means a box filter [1, 1], as in TF1."""
    return [1.0, 1.0] if resample_kernel is None else [float(k) for k in resample_kernel]


def truncate(ws, w_avg, truncation_psi=1.0, truncation_cutoff=None):
    """w' = w_avg + psi * (w - w_avg) on rows < cutoff (all rows when cutoff is None), 9.4."""
    if truncation_psi == 1 and truncation_cutoff is None:
        return ws
    num_ws = ws.shape[1]
    layer_psi = np.ones([1, num_ws, 1], dtype=np.float32)
    rows = slice(None) if truncation_cutoff is None else slice(0, int(truncation_cutoff))
    layer_psi[:, rows] = truncation_psi
    # Same operation order as TF1's lerp(a, b, t) = a + (b - a) * t.
    return w_avg + (ws - w_avg) * tf.constant(layer_psi, dtype=ws.dtype)


# --------------------------------------------------------------------------- mapping


class MappingNetwork(keras.Model):
    """z (and optional label) -> W broadcast to [N, num_ws, dlatent_size] (NVIDIA's `G_mapping`).

    Also holds `w_avg` (TF1 `dlatent_avg`), the running mean of W used as the
    truncation centre; `call(..., training=True)` updates it with
    w_avg = lerp(batch mean, w_avg, dlatent_avg_beta) as TF1 G_main does.
    """

    def __init__(self, latent_size=512, label_size=0, dlatent_size=512, num_ws=18,
                 mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01,
                 mapping_nonlinearity="lrelu", normalize_latents=True, dlatent_avg_beta=0.995,
                 rng=None, name="mapping", **kwargs):
        super().__init__(name=name, **kwargs)
        rng = rng if rng is not None else np.random.default_rng()
        self.latent_size, self.label_size = int(latent_size), int(label_size)
        self.dlatent_size, self.num_ws = int(dlatent_size), int(num_ws)
        self.normalize_latents = bool(normalize_latents)
        self.dlatent_avg_beta = float(dlatent_avg_beta)
        self.label_concat = None
        if self.label_size:
            # TF1 'LabelConcat': a plain matmul (no equalized lr), N(0, 1) initialized.
            self.label_concat = self.add_weight(
                name="label_concat", shape=(self.label_size, self.latent_size),
                initializer=normal_initializer(rng))
        features = self.latent_size * (2 if self.label_size else 1)
        self.dense_layers = []
        for i in range(int(mapping_layers)):
            units = self.dlatent_size if i == mapping_layers - 1 else int(mapping_fmaps)
            self.dense_layers.append(EqualizedDense(
                features, units, lrmul=mapping_lrmul, activation=mapping_nonlinearity,
                rng=rng, dtype=self.dtype_policy, name=f"Dense{i}"))
            features = units
        self.w_avg = self.add_weight(name="w_avg", shape=(self.dlatent_size,), trainable=False,
                                     initializer=constant_initializer(0.0))
        self.built = True

    def call(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, training=False):
        x = tf.cast(z, tf.float32)
        if self.label_size:
            if c is None:
                raise ValueError(f"the mapping is conditional: pass c [N, {self.label_size}]")
            x = tf.concat([x, tf.matmul(tf.cast(c, tf.float32), self.label_concat)], axis=1)
        if self.normalize_latents:
            x = ops.normalize_2nd_moment(x)
        for layer in self.dense_layers:
            x = layer(x)
        if training:  # w_avg = lerp(batch mean, w_avg, beta)
            batch_avg = tf.reduce_mean(x, axis=0)
            self.w_avg.assign(batch_avg + (self.w_avg - batch_avg) * self.dlatent_avg_beta)
        ws = tf.tile(x[:, None, :], [1, self.num_ws, 1])
        return truncate(ws, tf.convert_to_tensor(self.w_avg), truncation_psi, truncation_cutoff)

    def tf1_variables(self):
        names = OrderedDict()
        if self.label_concat is not None:
            names["LabelConcat/weight"] = self.label_concat
        for i, layer in enumerate(self.dense_layers):
            names[f"Dense{i}/weight"] = layer.weight
            names[f"Dense{i}/bias"] = layer.bias
        return names


# --------------------------------------------------------------------------- synthesis


class SynthesisInputBlock(keras.layers.Layer):
    """4x4 block: learned const -> Conv (W row 0) -> ToRGB (W row 1)."""

    def __init__(self, channels, dlatent_size, num_channels, activation, resample_kernel,
                 rng, dtype=None, conv_clamp=None, **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        # Stored NCHW [1, C, 4, 4] exactly as TF1 keeps it; transposed when used.
        self.const = self.add_weight(name="const", shape=(1, channels, 4, 4),
                                     initializer=normal_initializer(rng))
        self.conv = SynthesisLayer(channels, channels, dlatent_size, 4, activation=activation,
                                   resample_kernel=resample_kernel, conv_clamp=conv_clamp,
                                   rng=rng, dtype=dtype, name="Conv")
        self.torgb = ToRGB(channels, num_channels, dlatent_size, conv_clamp=conv_clamp, rng=rng,
                           dtype=dtype, name="ToRGB")
        self.built = True
        self.resolution = 4

    def call(self, ws, noise_mode="const", noise=None):
        batch = tf.shape(ws)[0]
        x = tf.cast(tf.transpose(self.const, [0, 2, 3, 1]), self.compute_dtype)
        x = tf.tile(x, [batch, 1, 1, 1])
        noise = noise if noise is not None else [None]
        x = self.conv(x, ws[:, 0], noise_mode=noise_mode, noise=noise[0])
        return x, self.torgb(x, ws[:, 1])

    def named_variables(self):
        return [("Const/const", self.const)] + layer_variables("Conv", self.conv) + \
            layer_variables("ToRGB", self.torgb)


class SynthesisBlock(keras.layers.Layer):
    """Block at resolution R = 2**r >= 8: Conv0_up, Conv1, ToRGB; skip-image update (9.9).

    W rows (`G_synthesis_stylegan2`'s `layer_idx`): Conv0_up reads 2r-5, Conv1 2r-4, ToRGB 2r-3 (shared with
    the next block's Conv0_up).
    """

    def __init__(self, resolution, in_channels, channels, dlatent_size, num_channels,
                 activation, resample_kernel, rng, dtype=None, conv_clamp=None, **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        self.resolution = int(resolution)
        self.resample_kernel = list(resample_kernel)
        r = resolution_log2(resolution)
        self.rows = (2 * r - 5, 2 * r - 4, 2 * r - 3)
        common = dict(activation=activation, resample_kernel=resample_kernel,
                      conv_clamp=conv_clamp, rng=rng, dtype=dtype)
        self.conv0_up = SynthesisLayer(in_channels, channels, dlatent_size, resolution, up=True,
                                       name="Conv0_up", **common)
        self.conv1 = SynthesisLayer(channels, channels, dlatent_size, resolution, name="Conv1",
                                    **common)
        self.torgb = ToRGB(channels, num_channels, dlatent_size, conv_clamp=conv_clamp, rng=rng,
                           dtype=dtype, name="ToRGB")
        self.built = True

    def call(self, x, img, ws, noise_mode="const", noise=None):
        """x in this block's compute dtype; the image keeps the dtype it comes in (float32
        where only the highest resolutions run in float16, as stylegan2-ada keeps it)."""
        row0, row1, row2 = self.rows
        noise = noise if noise is not None else [None, None]
        x = tf.cast(x, self.compute_dtype)
        x = self.conv0_up(x, ws[:, row0], noise_mode=noise_mode, noise=noise[0])
        x = self.conv1(x, ws[:, row1], noise_mode=noise_mode, noise=noise[1])
        rgb = tf.cast(self.torgb(x, ws[:, row2]), img.dtype)
        img = ops.upsample_2d(img, self.resample_kernel) + rgb
        return x, img

    def named_variables(self):
        return layer_variables("Conv0_up", self.conv0_up) + layer_variables("Conv1", self.conv1) + \
            layer_variables("ToRGB", self.torgb)


def layer_variables(prefix, layer):
    """TF1 names of a SynthesisLayer's or ToRGB's variables, in TF1 creation order."""
    conv = layer.conv
    out = [(f"{prefix}/weight", conv.weight), (f"{prefix}/mod_weight", conv.mod_weight),
           (f"{prefix}/mod_bias", conv.mod_bias)]
    if isinstance(layer, SynthesisLayer):
        out.append((f"{prefix}/noise_strength", layer.noise_strength))
    out.append((f"{prefix}/bias", layer.bias))
    return out


def block_dtype(log2, top_log2, num_fp16_res, dtype):
    """The dtype policy of the 2**log2 block: stylegan2-ada's mixed precision computes the
    num_fp16_res highest resolutions (never below 8x8) in float16; weights and G's image
    stay float32."""
    fp16_from = max(2 ** (top_log2 + 1 - num_fp16_res), 8) if num_fp16_res else None
    return "mixed_float16" if fp16_from and 2**log2 >= fp16_from else dtype


class SynthesisNetwork(keras.Model):
    """W [N, num_ws, dlatent_size] -> image [N, R, R, num_channels] (skip architecture)."""

    def __init__(self, dlatent_size=512, num_channels=3, resolution=1024, fmap_base=16384,
                 fmap_decay=1.0, fmap_min=1, fmap_max=512, architecture="skip",
                 nonlinearity="lrelu", resample_kernel=(1, 3, 3, 1), rng=None,
                 name="synthesis", dtype=None, num_fp16_res=0, conv_clamp=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if architecture != "skip":
            raise ValueError(f"generator architecture {architecture!r} is not implemented "
                             "(only 'skip', the official config-e/f generator)")
        rng = rng if rng is not None else np.random.default_rng()
        resample_kernel = fir_taps(resample_kernel)
        self.resolution, self.num_channels = int(resolution), int(num_channels)
        self.num_ws = num_ws_for(self.resolution)

        def nf(stage):
            return channel_count(stage, fmap_base, fmap_decay, fmap_min, fmap_max)

        self.input_block = SynthesisInputBlock(nf(1), dlatent_size, num_channels, nonlinearity,
                                               resample_kernel, rng, dtype=dtype,
                                               conv_clamp=conv_clamp, name="4x4")
        top = resolution_log2(self.resolution)
        self.blocks = []
        for r in range(3, top + 1):
            self.blocks.append(SynthesisBlock(
                2**r, nf(r - 2), nf(r - 1), dlatent_size, num_channels, nonlinearity,
                resample_kernel, rng, dtype=block_dtype(r, top, num_fp16_res, dtype), conv_clamp=conv_clamp,
                name=f"{2**r}x{2**r}"))
        self.built = True

    def call(self, ws, noise_mode="const", return_features=False, noise=None):
        """Images; with return_features=True also a dict of per-block maps (NHWC).

        `noise`: optional explicit noise images, one [N or 1, R, R, 1] map per entry of
        `synthesis_layers()` (shapes: `noise_shapes()`); it overrides `noise_mode`.
        """
        ws = tf.cast(ws, self.compute_dtype)
        if ws.shape[1] is not None and ws.shape[1] != self.num_ws:
            raise ValueError(f"expected ws of shape [N, {self.num_ws}, w_dim], got {ws.shape}")
        if noise is not None:
            noise = list(noise)
            if len(noise) != len(self.synthesis_layers()):
                raise ValueError(f"expected {len(self.synthesis_layers())} noise maps "
                                 f"(shapes {self.noise_shapes()}), got {len(noise)}")
        features = {}
        x, img = self.input_block(ws, noise_mode=noise_mode,
                                  noise=None if noise is None else noise[:1])
        features["4x4_x"], features["4x4_img"] = x, img
        for i, block in enumerate(self.blocks):
            x, img = block(x, img, ws, noise_mode=noise_mode,
                           noise=None if noise is None else noise[1 + 2 * i:3 + 2 * i])
            features[f"{block.name}_x"], features[f"{block.name}_img"] = x, img
        img = tf.cast(img, tf.float32)
        return (img, features) if return_features else img

    def noise_shapes(self):
        """Shapes [1, R, R, 1] of the explicit noise maps `call(..., noise=)` takes."""
        return [(1, layer.resolution, layer.resolution, 1) for layer in self.synthesis_layers()]

    def synthesis_layers(self):
        """The noise-carrying conv layers in W-row order (layer i reads row i)."""
        layers = [self.input_block.conv]
        for block in self.blocks:
            layers += [block.conv0_up, block.conv1]
        return layers

    def tf1_variables(self):
        names = OrderedDict()
        for i, layer in enumerate(self.synthesis_layers()):
            names[f"noise{i}"] = layer.noise_const
        for block in [self.input_block] + self.blocks:
            for name, var in block.named_variables():
                names[f"{block.name}/{name}"] = var
        return names


# --------------------------------------------------------------------------- generator

class _ConfiguredModel(keras.Model):
    """A model rebuilt from the hyper-parameters it was constructed with (kept in `_config`)."""

    def get_config(self):
        return dict(self._config, name=self.name, dtype=self.dtype_policy.name)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="toonemo_stylegan2")
class Generator(_ConfiguredModel):
    """StyleGAN2 generator G_main = mapping + synthesis, with truncation (9.3-9.9).

    `G(z, c=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode="const")`
    returns images [N, R, R, C].  Note TF1's own default psi is 0.5; here it is 1.
    `seed` makes the random initialization reproducible; `dtype` may be a Keras
    dtype policy such as "mixed_float16" (the mapping network stays float32).
    `num_fp16_res=4, conv_clamp=256` is stylegan2-ada's mixed precision instead: the
    four highest resolutions compute in float16 and every layer's output is clipped
    to +-256 (meant for GPUs: CPUs have no fast float16 convolution).
    """

    def __init__(self, num_channels=3, resolution=1024, label_size=0, latent_size=512,
                 dlatent_size=512, mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01,
                 mapping_nonlinearity="lrelu", normalize_latents=True, dlatent_avg_beta=0.995,
                 fmap_base=16 << 10, fmap_decay=1.0, fmap_min=1, fmap_max=512,
                 architecture="skip", nonlinearity="lrelu", resample_kernel=(1, 3, 3, 1),
                 num_fp16_res=0, conv_clamp=None, seed=None, name="G", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._config = dict(
            num_channels=int(num_channels), resolution=int(resolution), label_size=int(label_size),
            latent_size=int(latent_size), dlatent_size=int(dlatent_size),
            mapping_layers=int(mapping_layers), mapping_fmaps=int(mapping_fmaps),
            mapping_lrmul=float(mapping_lrmul), mapping_nonlinearity=str(mapping_nonlinearity),
            normalize_latents=bool(normalize_latents), dlatent_avg_beta=float(dlatent_avg_beta),
            fmap_base=int(fmap_base), fmap_decay=float(fmap_decay), fmap_min=int(fmap_min),
            fmap_max=int(fmap_max), architecture=str(architecture), nonlinearity=str(nonlinearity),
            resample_kernel=fir_taps(resample_kernel), num_fp16_res=int(num_fp16_res),
            conv_clamp=None if conv_clamp is None else float(conv_clamp))
        rng = np.random.default_rng(seed)
        self.num_ws = num_ws_for(self.resolution)
        self.synthesis = SynthesisNetwork(
            dlatent_size, num_channels, resolution, fmap_base, fmap_decay, fmap_min, fmap_max,
            architecture, nonlinearity, self._config["resample_kernel"], rng=rng, dtype=dtype,
            num_fp16_res=num_fp16_res, conv_clamp=conv_clamp)
        self.mapping = MappingNetwork(
            latent_size, label_size, dlatent_size, self.num_ws, mapping_layers, mapping_fmaps,
            mapping_lrmul, mapping_nonlinearity, normalize_latents, dlatent_avg_beta, rng=rng,
            dtype="float32")
        self.built = True

    # Hyper-parameters under both the TF1 and the PyTorch port's names.
    resolution = property(lambda self: self._config["resolution"])
    num_channels = property(lambda self: self._config["num_channels"])
    label_size = property(lambda self: self._config["label_size"])
    latent_size = z_dim = property(lambda self: self._config["latent_size"])
    dlatent_size = w_dim = property(lambda self: self._config["dlatent_size"])

    def call(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, noise_mode="const",
             training=False):
        ws = self.mapping(z, c, truncation_psi=truncation_psi,
                          truncation_cutoff=truncation_cutoff, training=training)
        return self.synthesis(ws, noise_mode=noise_mode)

    def tf1_variables(self):
        """OrderedDict TF1 variable name -> Keras variable (without the ignored `lod`)."""
        names = OrderedDict(dlatent_avg=self.mapping.w_avg)
        for prefix, net in (("synthesis", self.synthesis), ("mapping", self.mapping)):
            for name, var in net.tf1_variables().items():
                names[f"{prefix}/{name}"] = var
        return names


# --------------------------------------------------------------------------- discriminator


class DiscriminatorBlock(keras.layers.Layer):
    """Residual block at resolution R: Conv0, Conv1_down, Skip, merge / sqrt(2) (9.10)."""

    def __init__(self, in_channels, out_channels, activation, resample_kernel, rng,
                 dtype=None, conv_clamp=None, **kwargs):
        super().__init__(dtype=dtype, **kwargs)
        common = dict(resample_kernel=resample_kernel, rng=rng, dtype=dtype)
        self.conv0 = EqualizedConv2D(in_channels, in_channels, 3, activation=activation,
                                     name="Conv0", **common)
        self.conv1_down = EqualizedConv2D(in_channels, out_channels, 3, down=True,
                                          activation=activation, name="Conv1_down", **common)
        self.skip = EqualizedConv2D(in_channels, out_channels, 1, down=True, use_bias=False,
                                    name="Skip", **common)
        self.conv_clamp = conv_clamp
        self.built = True

    def call(self, x):
        # TF1 scales the sum (x + t) by 1/sqrt(2); the factor folded into both layers'
        # gains (as stylegan2-ada does) saves a pass over the block's output, and
        # stylegan2-ada's clip of Conv1_down moves to conv_clamp / sqrt(2) with it.
        half = float(np.sqrt(0.5))
        x = tf.cast(x, self.compute_dtype)
        t = self.skip(x, gain=half)
        y = ops.clamp(self.conv0(x), self.conv_clamp)
        limit = None if self.conv_clamp is None else self.conv_clamp * half
        return ops.clamp(self.conv1_down(y, gain=half), limit) + t

    def named_variables(self):
        return [("Conv0/weight", self.conv0.weight), ("Conv0/bias", self.conv0.bias),
                ("Conv1_down/weight", self.conv1_down.weight),
                ("Conv1_down/bias", self.conv1_down.bias), ("Skip/weight", self.skip.weight)]


@keras.saving.register_keras_serializable(package="toonemo_stylegan2")
class Discriminator(_ConfiguredModel):
    """StyleGAN2 discriminator D_stylegan2, resnet architecture: image -> logit [N, 1].

    With label_size > 0, D(img, c) returns sum(output * c) (projection conditioning,
    as TF1 does).  Raw logits, no sigmoid.  For resolution 4 (not buildable in TF1)
    FromRGB sits at 4x4 directly before the epilogue.

    `num_fp16_res=4, conv_clamp=256` is stylegan2-ada's mixed precision (its D_main): the
    blocks of the 4 highest resolutions compute in float16, and every FromRGB, Conv0,
    Conv1_down and 4x4 Conv output is clipped to +-conv_clamp after its activation and gain
    (Skip, Dense0 and Output are not).
    """

    def __init__(self, num_channels=3, resolution=1024, label_size=0, fmap_base=16 << 10,
                 fmap_decay=1.0, fmap_min=1, fmap_max=512, architecture="resnet",
                 nonlinearity="lrelu", mbstd_group_size=4, mbstd_num_features=1,
                 resample_kernel=(1, 3, 3, 1), num_fp16_res=0, conv_clamp=None, seed=None,
                 name="D", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if architecture != "resnet":
            raise ValueError(f"discriminator architecture {architecture!r} is not implemented "
                             "(only 'resnet', the official config-e/f discriminator)")
        self._config = dict(
            num_channels=int(num_channels), resolution=int(resolution), label_size=int(label_size),
            fmap_base=int(fmap_base), fmap_decay=float(fmap_decay), fmap_min=int(fmap_min),
            fmap_max=int(fmap_max), architecture=str(architecture), nonlinearity=str(nonlinearity),
            mbstd_group_size=int(mbstd_group_size), mbstd_num_features=int(mbstd_num_features),
            resample_kernel=fir_taps(resample_kernel), num_fp16_res=int(num_fp16_res),
            conv_clamp=None if conv_clamp is None else float(conv_clamp))
        self.conv_clamp = self._config["conv_clamp"]
        rng = np.random.default_rng(seed)
        r_top = resolution_log2(int(resolution))

        def nf(stage):
            return channel_count(stage, fmap_base, fmap_decay, fmap_min, fmap_max)

        def dtype_of(r):
            return block_dtype(r, r_top, num_fp16_res, dtype)

        common, kernel = dict(rng=rng, dtype=dtype), self._config["resample_kernel"]
        self.from_rgb = EqualizedConv2D(num_channels, nf(r_top - 1), 1, activation=nonlinearity,
                                        name="FromRGB", **dict(common, dtype=dtype_of(r_top)))
        self.from_rgb_prefix = f"{2**r_top}x{2**r_top}/FromRGB"
        self.blocks = [DiscriminatorBlock(nf(r - 1), nf(r - 2), nonlinearity, kernel, rng,
                                          dtype=dtype_of(r), conv_clamp=self.conv_clamp,
                                          name=f"{2**r}x{2**r}")
                       for r in range(r_top, 2, -1)]
        # TF1 leaves the layer out for group sizes <= 1.
        self.mbstd = MinibatchStddev(mbstd_group_size, mbstd_num_features, dtype=dtype) \
            if mbstd_group_size > 1 else None
        extra = mbstd_num_features if self.mbstd is not None else 0
        self.conv4 = EqualizedConv2D(nf(1) + extra, nf(1), 3, activation=nonlinearity,
                                     name="Conv", **common)
        self.dense0 = EqualizedDense(nf(1) * 16, nf(0), activation=nonlinearity, name="Dense0",
                                     **common)
        self.output_layer = EqualizedDense(nf(0), max(int(label_size), 1), name="Output", **common)
        self.built = True

    resolution = property(lambda self: self._config["resolution"])
    num_channels = property(lambda self: self._config["num_channels"])
    label_size = property(lambda self: self._config["label_size"])

    def call(self, img, c=None, return_features=False):
        """Logits [N, 1]; with return_features=True also {"RxR_x": block output} (NHWC)."""
        x = ops.clamp(self.from_rgb(tf.cast(img, self.from_rgb.compute_dtype)), self.conv_clamp)
        features = {}
        for block in self.blocks:
            x = block(x)
            features[f"{block.name}_x"] = x
        x = tf.cast(x, self.compute_dtype)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = ops.clamp(self.conv4(x), self.conv_clamp)
        # TF1 flattens NCHW: Dense0's rows are indexed c*16 + y*4 + x (`D_stylegan2`'s epilogue flattens NCHW).
        x = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [tf.shape(x)[0], -1])
        x = self.output_layer(self.dense0(x))
        if self.label_size:
            if c is None:
                raise ValueError(f"the discriminator is conditional: pass c [N, {self.label_size}]")
            x = tf.reduce_sum(x * tf.cast(c, x.dtype), axis=1, keepdims=True)
        x = tf.cast(x, tf.float32)
        return (x, features) if return_features else x

    def tf1_variables(self):
        """OrderedDict TF1 variable name -> Keras variable, in TF1 creation order."""
        names = OrderedDict()
        names[f"{self.from_rgb_prefix}/weight"] = self.from_rgb.weight
        names[f"{self.from_rgb_prefix}/bias"] = self.from_rgb.bias
        for block in self.blocks:
            for name, var in block.named_variables():
                names[f"{block.name}/{name}"] = var
        names["4x4/Conv/weight"], names["4x4/Conv/bias"] = self.conv4.weight, self.conv4.bias
        names["4x4/Dense0/weight"], names["4x4/Dense0/bias"] = self.dense0.weight, self.dense0.bias
        names["Output/weight"] = self.output_layer.weight
        names["Output/bias"] = self.output_layer.bias
        return names
