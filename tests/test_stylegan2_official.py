"""Safety and error handling of the official TF1 pickle importer.

Pickles in the official layout are written here with a stand-in class that is
registered as `dnnlib.tflib.network.Network` only while a test runs.
"""

import io
import os
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from toonemo_lib.stylegan2 import (ForbiddenGlobalError, OfficialPickleError, load_official_pickle,
                                   read_official_pickle)
from toonemo_lib.stylegan2.official import (Network, RestrictedUnpickler, discriminator_kwargs,
                                            generator_kwargs)

_STATES = {}


@pytest.fixture
def tiny_pkl(shared_dir):
    path = shared_dir / "reference" / "stylegan2" / "tiny_a.pkl"
    if not path.is_file():
        pytest.skip(f"StyleGAN2 fixture A is absent: {path}")
    return path


@pytest.fixture
def tiny_states(tiny_pkl):
    """Fresh copy of tiny_a.pkl's (G, D, Gs) states, read with the restricted loader."""
    if tiny_pkl not in _STATES:
        _STATES[tiny_pkl] = tiny_pkl.read_bytes()
    return read_official_pickle_bytes(_STATES[tiny_pkl])


def read_official_pickle_bytes(data):
    return RestrictedUnpickler(io.BytesIO(data)).load()


@pytest.fixture
def tf1_pickler(monkeypatch):
    """A function (G, D, Gs) stubs -> bytes in the official pickle format."""

    class TF1Network:  # pickled as dnnlib.tflib.network.Network, like the real files
        def __init__(self, state):
            self.state = state

        def __getstate__(self):
            return self.state

    TF1Network.__module__, TF1Network.__qualname__ = "dnnlib.tflib.network", "Network"
    TF1Network.__name__ = "Network"
    for name in ("dnnlib", "dnnlib.tflib", "dnnlib.tflib.network"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setattr(sys.modules["dnnlib.tflib.network"], "Network", TF1Network, raising=False)

    def convert(net):
        state = dict(net.state)
        state["components"] = {k: convert(v) for k, v in state["components"].items()}
        return TF1Network(state)

    def dumps(nets, protocol=4):
        return pickle.dumps(tuple(convert(n) for n in nets), protocol=protocol)

    return dumps


def write(tmp_path, data, name="net.pkl"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def variables_of(net, component=None):
    state = net.state if component is None else net.state["components"][component].state
    return state["variables"]


# --------------------------------------------------------------------------- safety


class _SystemCall:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Exec:
    def __init__(self, source):
        self.source = source

    def __reduce__(self):
        return (exec, (self.source,))


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, pickle.dumps((_SystemCall(f"touch '{marker}'"), 1, 2)))
    with pytest.raises(ForbiddenGlobalError, match=r"system") as info:
        load_official_pickle(path)
    assert "nothing was executed" in str(info.value)
    assert not marker.exists()


def test_payload_hidden_inside_network_state_is_refused(tmp_path, tiny_states, tf1_pickler):
    marker = tmp_path / "pwned"
    tiny_states[2].state["variables"].append(("evil", _Exec(f"open({str(marker)!r}, 'w').close()")))
    path = write(tmp_path, tf1_pickler(tiny_states))
    with pytest.raises(ForbiddenGlobalError, match=r"builtins\.exec"):
        load_official_pickle(path)
    assert not marker.exists()


def test_forbidden_global_error_is_a_value_error():
    assert issubclass(ForbiddenGlobalError, OfficialPickleError)
    assert issubclass(OfficialPickleError, ValueError)


# --------------------------------------------------------------------------- wrong files


def test_empty_file(tmp_path):
    with pytest.raises(OfficialPickleError, match="empty"):
        load_official_pickle(write(tmp_path, b""))


@pytest.mark.parametrize("fraction", [0.0001, 0.01, 0.5, 0.999])
def test_truncated_file(tmp_path, tiny_pkl, fraction):
    data = tiny_pkl.read_bytes()
    path = write(tmp_path, data[: max(1, int(len(data) * fraction))])
    with pytest.raises(OfficialPickleError, match="truncated|ends early"):
        load_official_pickle(path)


def test_pickled_dict(tmp_path):
    path = write(tmp_path, pickle.dumps({"G": np.zeros(3), "D": None}))
    with pytest.raises(OfficialPickleError, match=r"expected a tuple \(G, D, Gs\).*found a dict"):
        load_official_pickle(path)


def test_text_file(tmp_path):
    with pytest.raises(OfficialPickleError, match="not a readable pickle"):
        load_official_pickle(write(tmp_path, b"hello, this is not a pickle\n"))


def test_pytorch_stylegan2_ada_pickle(tmp_path, monkeypatch):
    # The real files reference torch_utils.persistence; fake that module for pickling only.
    module = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):
        return meta

    _reconstruct_persistent_obj.__module__ = module.__name__
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    monkeypatch.setitem(sys.modules, "torch_utils", types.ModuleType("torch_utils"))
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", module)

    class Persistent:
        def __reduce__(self):
            return (_reconstruct_persistent_obj, ({"type": "class", "module_src": "..."},))

    ada_pickle = {"G": Persistent(), "D": Persistent(), "G_ema": Persistent()}
    path = write(tmp_path, pickle.dumps(ada_pickle))
    monkeypatch.delitem(sys.modules, "torch_utils.persistence")
    with pytest.raises(OfficialPickleError, match="stylegan2-ada-pytorch"):
        load_official_pickle(path)


def test_zip_archive(tmp_path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"x")
    with pytest.raises(OfficialPickleError, match="zip"):
        load_official_pickle(path)


# --------------------------------------------------------------------------- variables


def test_any_pickle_protocol_loads(tmp_path, tiny_states, tf1_pickler):
    expected = dict(variables_of(tiny_states[2]))["dlatent_avg"]
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        G, D, Gs = read_official_pickle(write(tmp_path, tf1_pickler(tiny_states, protocol)))
        assert isinstance(Gs, Network)
        np.testing.assert_array_equal(dict(variables_of(Gs))["dlatent_avg"], expected)


def replace_variable(variables, name, value):
    index = [n for n, _ in variables].index(name)
    variables[index] = (name, value)


def test_wrong_variable_shape_names_the_variable(tmp_path, tiny_states, tf1_pickler):
    replace_variable(variables_of(tiny_states[2], "synthesis"), "8x8/Conv1/bias",
                     np.zeros(65, np.float32))
    message = r"Gs.*'synthesis/8x8/Conv1/bias' has shape \[65\]"
    with pytest.raises(OfficialPickleError, match=message):
        load_official_pickle(write(tmp_path, tf1_pickler(tiny_states)))


def test_wrong_discriminator_variable_shape(tmp_path, tiny_states, tf1_pickler):
    replace_variable(variables_of(tiny_states[1]), "4x4/Dense0/weight",
                     np.zeros((1024, 63), np.float32))
    with pytest.raises(OfficialPickleError, match=r"D.*'4x4/Dense0/weight'"):
        load_official_pickle(write(tmp_path, tf1_pickler(tiny_states)))


def test_missing_variable_names_the_variable(tmp_path, tiny_states, tf1_pickler):
    variables = variables_of(tiny_states[0], "mapping")
    variables[:] = [(n, v) for n, v in variables if n != "Dense2/weight"]
    message = r"G: variable 'mapping/Dense2/weight' is missing"
    with pytest.raises(OfficialPickleError, match=message):
        load_official_pickle(write(tmp_path, tf1_pickler(tiny_states)))


def test_unexpected_variable_names_the_variable(tmp_path, tiny_states, tf1_pickler):
    variables_of(tiny_states[2], "synthesis").append(("64x64/ToRGB/bias", np.zeros(3, np.float32)))
    message = r"unexpected variable 'synthesis/64x64/ToRGB/bias'"
    with pytest.raises(OfficialPickleError, match=message):
        load_official_pickle(write(tmp_path, tf1_pickler(tiny_states)))


def test_absent_static_kwargs_take_tf1_defaults(tmp_path, tiny_states, tf1_pickler):
    # Without fmap_max the TF1 default 512 applies, so 64-channel variables no longer fit.
    for net in (tiny_states[2], tiny_states[2].state["components"]["synthesis"]):
        del net.state["static_kwargs"]["fmap_max"]
    message = r"Gs: .*'synthesis/4x4/Const/const' has shape \[1, 64, 4, 4\], expected \[1, 512,"
    with pytest.raises(OfficialPickleError, match=message):
        load_official_pickle(write(tmp_path, tf1_pickler(tiny_states)))


def test_unsupported_build_function_is_named(tmp_path, tiny_states, tf1_pickler):
    tiny_states[1].state["build_func_name"] = "D_stylegan"
    with pytest.raises(OfficialPickleError, match="D_stylegan"):
        load_official_pickle(write(tmp_path, tf1_pickler(tiny_states)))


def test_lod_is_ignored(tmp_path, tiny_states, tf1_pickler):
    replace_variable(variables_of(tiny_states[2]), "lod", np.float32(3.0))
    nets = load_official_pickle(write(tmp_path, tf1_pickler(tiny_states)))
    assert nets.Gs.num_ws == 8


def stub(static_kwargs, func, components=None):
    net = Network()
    net.__setstate__(dict(version=4, name="x", static_kwargs=static_kwargs, variables=[],
                          components=components or {}, build_func_name=func, build_module_src=""))
    return net


def test_official_ffhq_kwargs_resolve_to_tf1_defaults():
    # stylegan2-ffhq-config-f.pkl stores only these keys (plus dlatent_broadcast).
    stored = {"num_channels": 3, "resolution": 1024, "label_size": 0}
    G = stub(stored, "G_main", {
        "synthesis": stub(stored, "G_synthesis_stylegan2"),
        "mapping": stub(dict(stored, dlatent_broadcast=18), "G_mapping")})
    g = generator_kwargs(G, "Gs")
    mapping = (g["latent_size"], g["dlatent_size"], g["mapping_layers"], g["mapping_fmaps"])
    assert mapping == (512, 512, 8, 512)
    synthesis = (g["fmap_base"], g["fmap_max"], g["fmap_decay"], g["mapping_lrmul"])
    assert synthesis == (16384, 512, 1.0, 0.01)
    assert g["architecture"] == "skip" and g["resample_kernel"] == [1, 3, 3, 1]
    d = discriminator_kwargs(stub(stored, "D_stylegan2"), "D")
    assert (d["mbstd_group_size"], d["mbstd_num_features"], d["architecture"]) == (4, 1, "resnet")
    assert (d["fmap_base"], d["fmap_max"]) == (16384, 512)
