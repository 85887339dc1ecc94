"""PyTorch ``.pth`` state dicts read (and written) without PyTorch, never executing code from a file.

    state = read_torch_state_dict("vgg.pth")     # {name: numpy array}
    write_torch_state_dict("stand-in.pth", state)  # the legacy format, as the AdaIN release

Used for the weights the course downloads in PyTorch's format: LPIPS' linear layers
(`stylegan2.perceptual`) and the AdaIN encoder and decoder (`lessons.adain_network`).
The unpickler accepts only the globals a state dict of plain tensors needs.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np


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


# --------------------------------------------------------------------------- writing
# Module-level stand-ins are pickled (protocol 2, as torch saves) and their GLOBAL lines
# renamed to torch's, so the bytes are what torch.save writes for a state dict of float tensors.
# The dry run's stand-ins of downloads (`dry_run`) and the tests of the reader use it.


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


def write_torch_tensors(path, tensors, *, legacy: bool = False, extra: dict | None = None):
    """A ``.pth`` state dict as torch.save writes it, without torch; returns ``path``.

    ``tensors``: name -> (flat float32 storage, offset, size, stride), so views and strides
    can be written too; ``extra`` entries are pickled into the dict as they are (a test's
    forbidden global).  ``legacy`` writes torch's pre-1.6 stream format (LPIPS' vgg.pth is one, with the older
    ``_rebuild_tensor``) instead of the zip: magic number, protocol, system info, the
    pickled dict, the storage keys, then per storage an int64 count and its bytes.
    """
    storages = [_StorageRef(str(i), t[0]) for i, t in enumerate(tensors.values())]
    state = OrderedDict((name, _Tensor(storage, *t[1:]))
                        for storage, (name, t) in zip(storages, tensors.items()))
    state.update(extra or {})
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


def write_torch_state_dict(path, arrays, *, legacy: bool = True):
    """``arrays``: name -> numpy array, each written as a contiguous float32 tensor."""
    tensors = {}
    for name, array in arrays.items():
        array = np.ascontiguousarray(array, np.float32)
        strides = tuple(int(np.prod(array.shape[i + 1:])) for i in range(array.ndim))
        tensors[name] = (array.reshape(-1), 0, array.shape, strides)
    return write_torch_tensors(path, tensors, legacy=legacy)
