"""Perceptual distances for projection: LPIPS-VGG16 when its weights are cached, else a stand-in.

    dist = perceptual_distance()          # best available; dist.name says which
    d = dist(images_a, images_b)          # [N] distances, images NHWC in [-1, 1]

LPIPS (Zhang et al. 2018, v0.1, "vgg") compares VGG16 features at relu1_2, relu2_2,
relu3_3, relu4_3 and relu5_3: each map is unit-normalised along channels, the squared
difference is weighted per channel by the learned linear layer ("lin"), averaged over
space and summed over the five layers.  It needs two cached files of the manifest
(``data/manifests/artefacts.json``): ``vgg16-notop`` (Keras' ImageNet VGG16 weights) and
``lpips-vgg-lin`` (the LPIPS ``vgg.pth``, read here without PyTorch by `read_torch_state_dict`).

Note on inputs: LPIPS maps [-1, 1] images to torchvision's ImageNet normalisation before
*torchvision's* VGG16.  Keras' VGG16 weights are the original Caffe ones, which expect
BGR 0..255 minus the ImageNet channel means; `LPIPSDistance` feeds them that.  The lin
weights were fitted on torchvision's features, so the figures are close to, not equal
to, the PyTorch package's.

Without those files (tests, offline runs) `perceptual_distance()` returns
`StandInDistance`, a multi-scale pixel + image-gradient distance.  It is named as a
stand-in and is never called LPIPS.
"""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..unreadable import UnreadableFile, UnreadableFileWarning, read_or_report

LPIPS_LAYERS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
LPIPS_CHANNELS = (64, 128, 256, 512, 512)
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
STAND_IN_NAME = "stand-in: multi-scale pixel and gradient distance (the perceptual VGG16 weights are not in the cache)"


class PerceptualDistance:
    """Base: `__call__(a, b)` -> [N] distances for NHWC images in about [-1, 1]; has `name`."""

    name = "perceptual distance"
    is_lpips = False

    def __call__(self, a, b):
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__}: {self.name}>"


def _downsample2(x):
    return tf.nn.avg_pool2d(x, 2, 2, "VALID")


class StandInDistance(PerceptualDistance):
    """Mean squared pixel and gradient (finite-difference) error, summed over an image pyramid.

    The pyramid halves the image down to `min_size` pixels; a smooth, cheap objective
    that exercises the same optimiser path as LPIPS when its weights are missing.
    """

    is_lpips = False

    def __init__(self, min_size=8, gradient_weight=1.0, name=STAND_IN_NAME):
        self.min_size, self.gradient_weight, self.name = int(min_size), float(gradient_weight), name

    def __call__(self, a, b):
        a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
        total = 0.0
        while True:
            d = a - b
            total += tf.reduce_mean(tf.square(d), axis=[1, 2, 3])
            if d.shape[1] > 1 and d.shape[2] > 1:
                dx = d[:, :, 1:] - d[:, :, :-1]
                dy = d[:, 1:] - d[:, :-1]
                total += self.gradient_weight * (tf.reduce_mean(tf.square(dx), axis=[1, 2, 3]) +
                                                 tf.reduce_mean(tf.square(dy), axis=[1, 2, 3]))
            if a.shape[1] // 2 < self.min_size or a.shape[2] // 2 < self.min_size:
                return total
            a, b = _downsample2(a), _downsample2(b)


class LPIPSDistance(PerceptualDistance):
    """LPIPS v0.1 on Keras' VGG16 (see the module docstring for the input scaling)."""

    is_lpips = True

    def __init__(self, vgg_path, lin_weights):
        import keras

        # a damaged weights file is named, not left to h5py's message
        vgg = read_or_report(Path(vgg_path), lambda path: keras.applications.VGG16(
            include_top=False, weights=str(path), input_shape=(None, None, 3)), "VGG16 weights file")
        vgg.trainable = False
        self.features = keras.Model(vgg.input, [vgg.get_layer(n).output for n in LPIPS_LAYERS])
        self.lin = [tf.constant(np.asarray(w, np.float32).reshape(-1)) for w in lin_weights]
        for w, c in zip(self.lin, LPIPS_CHANNELS):
            if w.shape[0] != c:
                raise ValueError(f"LPIPS lin weights: expected {LPIPS_CHANNELS} channels, "
                                 f"got {[int(w.shape[0]) for w in self.lin]}")
        self.name = "LPIPS v0.1 (VGG16 features, Keras ImageNet weights; lin weights from vgg.pth)"

    @staticmethod
    def preprocess(x):
        """[-1, 1] RGB -> Caffe VGG input: BGR, 0..255, minus the ImageNet channel means."""
        x = (tf.cast(x, tf.float32) + 1.0) * 127.5
        return x[..., ::-1] - tf.constant(CAFFE_BGR_MEAN, tf.float32)

    def __call__(self, a, b):
        fa = self.features(self.preprocess(a))
        fb = self.features(self.preprocess(b))
        total = 0.0
        for xa, xb, w in zip(fa, fb, self.lin):
            xa = xa / (tf.sqrt(tf.reduce_sum(tf.square(xa), axis=-1, keepdims=True)) + 1e-10)
            xb = xb / (tf.sqrt(tf.reduce_sum(tf.square(xb), axis=-1, keepdims=True)) + 1e-10)
            total += tf.reduce_mean(tf.reduce_sum(tf.square(xa - xb) * w, axis=-1), axis=[1, 2])
        return total


# --------------------------------------------------------------------------- .pth reading

class _Storage:
    """A torch storage as the pickle names it: dtype + the raw bytes read later."""

    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel, self.array = dtype, key, numel, None


_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _TensorRef:
    """A tensor as the pickle describes it; its bytes may come after the pickle (legacy format)."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self) -> np.ndarray:
        data = self.storage.array
        return np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.size, strides=tuple(s * data.itemsize for s in self.stride)).copy()


def _rebuild_tensor(storage, offset, size, stride, *_):
    return _TensorRef(storage, offset, size, stride)


def _rebuild_parameter(data, *_):
    return data


def _arrays(state) -> dict:
    return {name: value.array() if isinstance(value, _TensorRef) else value for name, value in state.items()}


class _TorchUnpickler(pickle.Unpickler):
    """Allows only what a state dict of plain tensors needs; storages come from `load_storage`."""

    def __init__(self, file, load_storage):
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            from collections import OrderedDict
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):  # torch >= 0.4, older
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, dtype, key, _location, numel = pid[:5]
        if len(pid) > 5 and pid[5] is not None:  # the legacy format's storage views
            raise pickle.UnpicklingError("storage views are not supported in a weights file")
        return self._load_storage(dtype, str(key), int(numel))


# torch.save's magic number at the start of the legacy (non-zip) format, torch < 1.6.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def read_torch_state_dict(path):
    """A PyTorch ``.pth`` state dict as {name: numpy array}, without torch.

    Both of torch.save's formats are read.  The zip format (torch >= 1.6) holds
    ``<root>/data.pkl`` and one raw little-endian file ``<root>/data/<key>`` per storage.
    The legacy format (LPIPS' own ``vgg.pth`` is one) is a stream: pickled magic number,
    protocol version and system info, the pickled dict, the pickled list of storage keys,
    then per storage an int64 element count and its raw bytes.  In both, tensors are
    ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` calls (or the
    older ``_rebuild_tensor`` of LPIPS' file) with storages as persistent ids ``("storage", torch.FloatStorage, key, location, numel)``;
    only those globals are accepted.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _read_zip_pth(path)
    with open(path, "rb") as f:
        try:
            magic = _TorchUnpickler(f, None).load()
        except Exception:
            magic = None
        if magic != LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch .pth file (neither a zip nor torch's legacy format)")
        _TorchUnpickler(f, None).load()  # protocol version
        _TorchUnpickler(f, None).load()  # system info: byte order, type sizes
        storages = {}

        def load_storage(dtype, key, numel):
            return storages.setdefault(key, _Storage(dtype, key, numel))

        state = _TorchUnpickler(f, load_storage).load()
        for key in _TorchUnpickler(f, None).load():
            storage = storages[str(key)]
            count = int(np.frombuffer(f.read(8), "<i8")[0])
            dtype = np.dtype(storage.dtype).newbyteorder("<")
            storage.array = np.frombuffer(f.read(count * dtype.itemsize), dtype)
    return _arrays(state)


def _read_zip_pth(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise ValueError(f"{path}: no data.pkl in the archive")
        root = pkl[0][:-len("data.pkl")]

        def load_storage(dtype, key, numel):
            storage = _Storage(dtype, key, numel)
            raw = zf.read(f"{root}data/{key}")
            storage.array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))[:numel]
            return storage

        return _arrays(_TorchUnpickler(io.BytesIO(zf.read(pkl[0])), load_storage).load())


def lpips_lin_weights(state_dict):
    """The five per-channel weight vectors lin0..lin4 of an LPIPS state dict."""
    out = []
    for i in range(len(LPIPS_LAYERS)):
        keys = [k for k in state_dict if k.startswith(f"lin{i}.") and k.endswith("weight")]
        if len(keys) != 1:
            raise ValueError(f"LPIPS weights: expected one lin{i}.*weight entry, got {keys}")
        out.append(np.asarray(state_dict[keys[0]], np.float32).reshape(-1))
    return out


# --------------------------------------------------------------------------- selection

def lpips_distance(download=False):
    """`LPIPSDistance` from the cached manifest files; FileNotFoundError says what to fetch."""
    from ..download import fetch_artefact

    vgg = fetch_artefact("vgg16-notop", download=download)
    lin = fetch_artefact("lpips-vgg-lin", download=download)
    lin_weights = read_or_report(lin, lambda path: lpips_lin_weights(read_torch_state_dict(path)),
                                 "LPIPS weights file")
    return LPIPSDistance(vgg, lin_weights)


def perceptual_distance(prefer="lpips", download=False, verbose=False):
    """The best available distance: LPIPS when ``prefer="lpips"`` and its files are cached, else the stand-in.

    ``prefer="lpips!"`` (or ``"lpips-required"``) raises when LPIPS cannot be built
    instead of falling back; ``prefer="stand-in"`` skips LPIPS.  The choice is in `.name`.
    """
    if prefer in ("stand-in", "standin", None):
        dist = StandInDistance()
    elif prefer in ("lpips", "lpips!", "lpips-required"):
        try:
            dist = lpips_distance(download=download)
        except (FileNotFoundError, ValueError) as err:
            if prefer != "lpips":
                raise
            if isinstance(err, UnreadableFile):  # a damaged cached file: say so, not only fall back
                warnings.warn(f"{err}; using the stand-in distance", UnreadableFileWarning, stacklevel=2)
            dist = StandInDistance()
    else:
        raise ValueError(f"prefer must be 'lpips', 'lpips!' or 'stand-in', not {prefer!r}")
    if verbose:
        print(f"perceptual distance: {dist.name}")
    return dist
