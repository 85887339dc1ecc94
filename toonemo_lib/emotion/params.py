"""Parameter arithmetic of depthwise separable convolutions (seed 001, section IV.3).

A plain k x k convolution from C_in to C_out channels learns one k x k x C_in
filter per output channel:            k^2 * C_in * C_out (+ C_out biases).
A depthwise separable one first filters each input channel on its own (depthwise,
k^2 * C_in), then mixes channels with a 1x1 convolution (pointwise, C_in * C_out):
                                      k^2 * C_in + C_in * C_out (+ C_out biases).
The ratio tends to 1/C_out + 1/k^2, about 8-9x fewer for 3x3 kernels.
"""

import keras
import pandas as pd

# Arriaga et al.'s mini-Xception: four residual blocks of two 3x3 separable convolutions,
# after a stem of two 8-channel 3x3 convolutions.
MINI_XCEPTION_SEPARABLE = ((8, 16), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128))


def plain_conv_params(c_in, c_out, kernel_size=3):
    return kernel_size**2 * c_in * c_out + c_out


def separable_conv_params(c_in, c_out, kernel_size=3):
    return kernel_size**2 * c_in + c_in * c_out + c_out


def counted_params(layer, c_in):
    """Parameters of a real Keras layer built for ``c_in`` input channels."""
    layer.build((None, None, None, c_in))
    return layer.count_params()


def conv_parameter_table(channel_pairs=MINI_XCEPTION_SEPARABLE, kernel_size=3):
    """Formula and Keras counts side by side for each (C_in, C_out), with a total row."""
    rows = []
    for c_in, c_out in channel_pairs:
        rows.append({
            "C_in -> C_out": f"{c_in} -> {c_out}",
            "Conv2D (Keras)": counted_params(keras.layers.Conv2D(c_out, kernel_size), c_in),
            "k²·Cin·Cout + Cout": plain_conv_params(c_in, c_out, kernel_size),
            "SeparableConv2D (Keras)": counted_params(keras.layers.SeparableConv2D(c_out, kernel_size), c_in),
            "k²·Cin + Cin·Cout + Cout": separable_conv_params(c_in, c_out, kernel_size),
        })
    table = pd.DataFrame(rows)
    total = table.drop(columns="C_in -> C_out").sum()
    table.loc[len(table)] = {"C_in -> C_out": "total", **total.to_dict()}
    table["plain / separable"] = (table["Conv2D (Keras)"] / table["SeparableConv2D (Keras)"]).round(2)
    return table.set_index("C_in -> C_out")
