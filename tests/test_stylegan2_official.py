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


# --------------------------------------------------------------------------- writing

# Every global an official file names (README section 7); nothing of toonemo.
OFFICIAL_GLOBALS = {("dnnlib.tflib.network", "Network"), ("numpy.core.multiarray", "_reconstruct"),
                    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar")}
# static_kwargs stylegan2-ada-pytorch's legacy.py accepts (it raises on any other key).
LEGACY_G_KWARGS = {"latent_size", "label_size", "dlatent_size", "resolution", "num_channels",
                   "mapping_layers", "label_fmaps", "mapping_fmaps", "mapping_nonlinearity",
                   "mapping_lrmul", "w_avg_beta", "fmap_base", "fmap_max", "num_fp16_res",
                   "conv_clamp", "architecture", "resample_kernel", "use_noise", "nonlinearity",
                   "truncation_psi", "truncation_cutoff", "style_mixing_prob", "structure",
                   "conditioning", "fused_modconv"}
LEGACY_D_KWARGS = {"label_size", "resolution", "num_channels", "architecture", "fmap_base",
                   "fmap_max", "num_fp16_res", "conv_clamp", "mapping_fmaps", "nonlinearity",
                   "resample_kernel", "freeze_layers", "mapping_layers", "mapping_lrmul",
                   "mbstd_group_size", "mbstd_num_features", "structure"}


def pickle_globals(data):
    """(module, name) of every global a pickle asks for while it loads."""
    found = set()

    class Recorder(RestrictedUnpickler):
        def find_class(self, module, name):
            found.add((module, name))
            return super().find_class(module, name)

    Recorder(io.BytesIO(data)).load()
    return found


def assert_same_states(a, b, label, compare_src=True):
    """Two Network states with equal fields and bit-identical variables, in the same order."""
    sa, sb = a.state, b.state
    assert list(sa) == list(sb), label
    for key in ("version", "name", "static_kwargs", "build_func_name") + \
            (("build_module_src",) if compare_src else ()):
        assert sa[key] == sb[key], f"{label}: {key}"
    assert [n for n, _ in sa["variables"]] == [n for n, _ in sb["variables"]], label
    for (name, x), (_, y) in zip(sa["variables"], sb["variables"]):
        assert type(x) is type(y) and x.dtype == y.dtype == np.float32, f"{label}/{name}"
        assert np.shape(x) == np.shape(y) and x.tobytes() == y.tobytes(), f"{label}/{name}"
    assert list(sa["components"]) == list(sb["components"]), label
    for key in sa["components"]:
        assert_same_states(sa["components"][key], sb["components"][key], f"{label}/{key}",
                           compare_src)


def small_networks():
    from toonemo_lib.stylegan2 import Discriminator, Generator

    kwargs = dict(resolution=16, latent_size=16, dlatent_size=16, mapping_layers=2,
                  mapping_fmaps=16, fmap_base=64, fmap_max=16)
    G, Gs = Generator(seed=1, **kwargs), Generator(seed=2, **kwargs)
    rng = np.random.default_rng(0)
    for net in (G, Gs):  # biases, styles and noise strengths start at 0: make them count
        for var in net.tf1_variables().values():
            var.assign((var.numpy() + rng.normal(0, 0.2, var.shape)).astype(np.float32))
    return G, Discriminator(resolution=16, fmap_base=64, fmap_max=16, seed=3), Gs


def test_saved_pickle_loads_back_bit_identical(tmp_path):
    from toonemo_lib.stylegan2 import save_official_pickle

    nets = small_networks()
    path = save_official_pickle(*nets, tmp_path / "out" / "net.pkl")
    back = load_official_pickle(path)
    for original, loaded in zip(nets, back):
        assert {k: v for k, v in loaded.get_config().items() if k != "name"} == \
            {k: v for k, v in original.get_config().items() if k != "name"}
        ours = loaded.tf1_variables()
        for name, var in original.tf1_variables().items():
            assert ours[name].numpy().tobytes() == var.numpy().tobytes(), name
    z = np.random.RandomState(0).randn(4, 16).astype(np.float32)
    img = nets[2](z, truncation_psi=0.7)
    np.testing.assert_array_equal(back.Gs(z, truncation_psi=0.7), img)
    np.testing.assert_array_equal(back.G(z), nets[0](z))
    np.testing.assert_array_equal(back.D(img), nets[1](img))
    assert not (tmp_path / "out" / "net.pkl.part").exists()


def test_saved_pickle_has_the_official_layout(tmp_path):
    from toonemo_lib.stylegan2 import save_official_pickle

    data = save_official_pickle(*small_networks(), tmp_path / "net.pkl").read_bytes()
    assert data[:2] == b"\x80\x04"  # protocol 4, as TF1's pickle.HIGHEST_PROTOCOL wrote them
    assert pickle_globals(data) == OFFICIAL_GLOBALS
    G, D, Gs = read_official_pickle_bytes(data)
    assert [n.state["name"] for n in (G, D, Gs)] == ["G", "D", "Gs"]
    assert [n.state["build_func_name"] for n in (Gs, D)] == ["G_main", "D_stylegan2"]
    components = Gs.state["components"]
    assert list(components) == ["synthesis", "mapping"]
    assert [c.state["name"] for c in components.values()] == ["G_synthesis", "G_mapping"]
    assert components["mapping"].state["static_kwargs"]["dlatent_broadcast"] == 6
    own = dict(variables_of(Gs))
    assert list(own) == ["lod", "dlatent_avg"] and type(own["lod"]) is np.float32
    synthesis = dict(variables_of(Gs, "synthesis"))
    assert type(synthesis["4x4/Conv/noise_strength"]) is np.float32
    assert synthesis["noise4"].shape == (1, 1, 16, 16) and "noise5" not in synthesis
    assert synthesis["4x4/Const/const"].shape == (1, 16, 4, 4)  # NCHW, as TF1 stored it
    assert set(Gs.state["static_kwargs"]) <= LEGACY_G_KWARGS
    assert set(D.state["static_kwargs"]) <= LEGACY_D_KWARGS
    assert Gs.state["static_kwargs"]["resample_kernel"] == [1, 3, 3, 1]


def test_saved_pickle_reads_without_toonemo_like_legacy_py(tmp_path):
    # legacy.py's unpickler: a stub for Network, everything else resolved normally.
    from toonemo_lib.stylegan2 import save_official_pickle

    class Stub(dict):
        pass

    class LegacyStyleUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("dnnlib.tflib.network", "Network"):
                return Stub
            assert not module.startswith("toonemo"), module
            return super().find_class(module, name)

    nets = small_networks()
    path = save_official_pickle(*nets, tmp_path / "net.pkl")
    with open(path, "rb") as f:
        G, D, Gs = LegacyStyleUnpickler(f).load()
    params = dict(Gs.__dict__["components"]["synthesis"].__dict__["variables"])
    np.testing.assert_array_equal(params["8x8/Conv1/weight"],
                                  nets[2].tf1_variables()["synthesis/8x8/Conv1/weight"].numpy())


def test_tf1_only_kwargs_are_written_only_when_not_default(tmp_path):
    from toonemo_lib.stylegan2 import Generator, save_official_pickle

    G = Generator(resolution=8, latent_size=8, dlatent_size=8, mapping_layers=1, mapping_fmaps=8,
                  fmap_base=32, fmap_max=8, normalize_latents=False, dlatent_avg_beta=0.99, seed=0)
    _, D, _ = small_networks()
    path = save_official_pickle(G, D, G, tmp_path / "net.pkl")
    Gs = read_official_pickle(path)[2]
    top = Gs.state["static_kwargs"]
    assert (top["normalize_latents"], top["dlatent_avg_beta"]) == (False, 0.99)
    assert "fmap_decay" not in top and "fmap_min" not in top
    # dlatent_avg_beta is a G_main argument: TF1 does not hand it to the components
    assert "dlatent_avg_beta" not in Gs.state["components"]["mapping"].state["static_kwargs"]
    assert load_official_pickle(path).Gs.get_config() == dict(G.get_config(), name="Gs")


def test_saving_wrong_networks_is_refused(tmp_path):
    from toonemo_lib.stylegan2 import save_official_pickle

    G, D, Gs = small_networks()
    with pytest.raises(TypeError, match="D must be a stylegan2 Discriminator"):
        save_official_pickle(G, Gs, Gs, tmp_path / "x.pkl")
    assert not list(tmp_path.iterdir())


def test_tiny_a_saved_again_keeps_its_names_order_and_kwargs(tmp_path, tiny_pkl):
    from toonemo_lib.stylegan2 import save_official_pickle

    nets = load_official_pickle(tiny_pkl)
    path = save_official_pickle(nets.G, nets.D, nets.Gs, tmp_path / "again.pkl")
    for label, original, saved in zip(("G", "D", "Gs"), read_official_pickle(tiny_pkl),
                                      read_official_pickle(path)):
        assert_same_states(original, saved, label, compare_src=False)
    again = load_official_pickle(path)
    for original, loaded in zip(nets, again):
        ours = loaded.tf1_variables()
        for name, var in original.tf1_variables().items():
            assert ours[name].numpy().tobytes() == var.numpy().tobytes(), name


def test_raw_states_round_trip_through_the_writer(tmp_path, tiny_pkl):
    from toonemo_lib.stylegan2 import write_official_pickle

    states = read_official_pickle(tiny_pkl)
    path = write_official_pickle(states, tmp_path / "raw.pkl")
    assert pickle_globals(path.read_bytes()) == OFFICIAL_GLOBALS
    assert pickle_globals(tiny_pkl.read_bytes()) == OFFICIAL_GLOBALS
    for label, a, b in zip(("G", "D", "Gs"), states, read_official_pickle(path)):
        assert_same_states(a, b, label)


def test_writer_handles_every_value_a_state_can_hold(tmp_path):
    from toonemo_lib.stylegan2 import write_official_pickle
    from toonemo_lib.stylegan2.official import network_stub

    kwargs = {"ints": [0, 255, 256, 65535, 65536, -1, -2**31, 2**31, 2**70, -2**70],
              "floats": [0.01, -1e300, float("inf")], "flags": (True, False, None),
              "five": (1, 2, 3, 4, 5), "text": "x" * 300 + "\u00e9", "nested": {"a": [[]], "b": {}}}
    variables = [("big", np.arange(70000, dtype=np.float32).reshape(100, 700)),
                 ("empty", np.zeros((0, 3), np.float32)), ("scalar", np.float32(-0.0))]
    nets = [network_stub(name, "G_main", kwargs, variables, build_module_src="#" * 70000)
            for name in ("G", "D", "Gs")]
    back = read_official_pickle(write_official_pickle(nets, tmp_path / "all.pkl"))
    for label, a, b in zip(("G", "D", "Gs"), nets, back):
        assert_same_states(a, b, label)
