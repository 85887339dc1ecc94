"""PyTorch ``.pth`` files written without torch: for the tests of the readers, and format-exact
stand-ins of the course's PyTorch downloads (the AdaIN network).

Module-level stand-ins are pickled (protocol 2, as torch saves) and their GLOBAL lines renamed
to torch's, so the bytes are what ``torch.save`` writes for a state dict of float tensors.
"""

import io
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

from toonemo_lib.torch_weights import LEGACY_MAGIC



class FloatStorage:
    pass


def _rebuild_tensor_v2(*args):
    raise AssertionError("only pickled, never called")


class _StorageRef:
    """Pickled as torch does a storage: a persistent id, its bytes go to data/<key>."""

    def __init__(self, key, array):
        self.key, self.array = key, np.asarray(array, "<f4")


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, OrderedDict())

    def __reduce__(self):
        return _rebuild_tensor_v2, self.args


class _PthPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _StorageRef):  # the legacy format adds a view (None) as a sixth item
            return ("storage", FloatStorage, obj.key, "cpu", obj.array.size, None)
        return None


def write_fake_pth(path, tensors, extra_global=None, legacy=False):
    """tensors: name -> (flat storage array, offset, size, stride).

    ``legacy`` writes torch's pre-1.6 stream format (LPIPS' vgg.pth is one, with the older
    ``_rebuild_tensor``) instead of the zip: magic number, protocol, system info, the
    pickled dict, the storage keys, then per storage an int64 count and its bytes.
    """
    storages = [_StorageRef(str(i), t[0]) for i, t in enumerate(tensors.values())]
    state = OrderedDict((name, _Tensor(storage, *t[1:]))
                        for storage, (name, t) in zip(storages, tensors.items()))
    if extra_global is not None:
        state["evil"] = extra_global
    buf = io.BytesIO()
    _PthPickler(buf, protocol=2).dump(state)
    data, module = buf.getvalue(), __name__.encode()
    data = data.replace(b"c" + module + b"\n_rebuild_tensor_v2\n",
                        b"ctorch._utils\n_rebuild_tensor_v2\n")
    data = data.replace(b"c" + module + b"\nFloatStorage\n", b"ctorch\nFloatStorage\n")
    assert module not in data
    if legacy:
        data = data.replace(b"ctorch._utils\n_rebuild_tensor_v2\n", b"ctorch._utils\n_rebuild_tensor\n")
        with open(path, "wb") as f:
            for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
                pickle.dump(header, f, protocol=2)
            f.write(data)
            pickle.dump([storage.key for storage in storages], f, protocol=2)
            for storage in storages:
                f.write(np.int64(storage.array.size).astype("<i8").tobytes() + storage.array.tobytes())
        return path
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", data)
        for storage in storages:
            zf.writestr(f"archive/data/{storage.key}", storage.array.tobytes())
    return path


def write_state_dict(path, arrays, legacy=True):
    """``arrays``: name -> numpy array, each written as a contiguous float32 tensor."""
    tensors = {}
    for name, array in arrays.items():
        array = np.ascontiguousarray(array, np.float32)
        strides = tuple(int(np.prod(array.shape[i + 1:])) for i in range(array.ndim))
        tensors[name] = (array.reshape(-1), 0, array.shape, strides)
    return write_fake_pth(path, tensors, legacy=legacy)


def random_adain_state(layers, seed):
    """A state dict of the layers' real shapes, He-scaled so that activations stay near 1."""
    rng = np.random.default_rng(seed)
    state = {}
    for spec in layers:
        if spec[0] in ("pool", "up"):
            continue
        _, index, c_in, c_out = spec
        size = 1 if spec[0] == "conv1x1" else 3
        fan_in = c_in * size * size
        state[f"{index}.weight"] = rng.normal(0, np.sqrt(2 / fan_in), (c_out, c_in, size, size)).astype(np.float32)
        state[f"{index}.bias"] = rng.normal(0, 0.1, c_out).astype(np.float32)
    return state


def place_adain_stand_ins(folder):
    """Format-exact stand-ins of the AdaIN release's two files (random weights of the real shapes)
    under ``folder`` as the manifest's cache lays them out (TOONEMO_HOME=folder)."""
    from toonemo_lib.lessons.adain_network import DECODER_LAYERS, ENCODER_LAYERS

    (folder / "adain").mkdir(parents=True, exist_ok=True)
    encoder, decoder = random_adain_state(ENCODER_LAYERS, 0), random_adain_state(DECODER_LAYERS, 1)
    write_state_dict(folder / "adain" / "vgg_normalised.pth", encoder)
    write_state_dict(folder / "adain" / "decoder.pth", decoder)
    return encoder, decoder
