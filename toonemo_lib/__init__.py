"""toonemo: Toonify (StyleGAN2 network blending) + facial emotion recognition, as a course."""

import os as _os

# TensorFlow's oneDNN kernels crash (segfault / "double free") on AVX-512 CPUs while
# training small SeparableConv2D networks.  The switch is only read when TensorFlow is
# first imported, so it is set here, before any module of the package imports it.
# A user who exported the variable keeps their own choice.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
