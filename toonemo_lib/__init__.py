"""toonemo: Toonify (StyleGAN2 network blending) + facial emotion recognition, as a course."""

import os as _os

# oneDNN stays as TensorFlow has it (on, on x86): only the entry points that train emotion
# networks switch it off on AVX-512 CPUs, where it crashed there (see cpu.py).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's caching (BFC) allocator on the CPU too: with the default one, every large
# tensor a graph allocates comes as fresh pages from the kernel and is page-faulted in
# again on every call (a 256 MB elementwise op took 130 ms instead of 16 ms on 2 cores;
# the config-f discriminator ran 1.3x faster).  Read when TensorFlow first allocates.
_os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

__version__ = "0.1.0"
