from toonemo_lib.emotion.params import conv_parameter_table, plain_conv_params, separable_conv_params


def test_formulas_match_keras_layer_counts():
    table = conv_parameter_table([(3, 8), (32, 64), (128, 256)], kernel_size=3)
    assert (table["Conv2D (Keras)"] == table["k²·Cin·Cout + Cout"]).all()
    assert (table["SeparableConv2D (Keras)"] == table["k²·Cin + Cin·Cout + Cout"]).all()
    assert table.loc["128 -> 256", "Conv2D (Keras)"] == 9 * 128 * 256 + 256


def test_mini_xception_separable_convs_are_about_eight_times_cheaper():
    table = conv_parameter_table()
    assert table.loc["total", "SeparableConv2D (Keras)"] == 36360
    assert 7.5 < table.loc["total", "plain / separable"] < 9
    assert separable_conv_params(64, 64, 5) == 25 * 64 + 64 * 64 + 64
    assert plain_conv_params(64, 64, 5) == 25 * 64 * 64 + 64
