"""Import NVIDIA's official TF1 StyleGAN2 pickles without TensorFlow 1.

An official file (e.g. stylegan2-ffhq-config-f.pkl) is a pickled tuple (G, D, Gs)
of `dnnlib.tflib.network.Network` objects whose state is a plain dict:
version, name, static_kwargs, components, build_module_src, build_func_name,
variables (`dnnlib.tflib.network.Network.__getstate__` in NVlabs/stylegan2).  Unpickling normally imports and
calls whatever globals the file names, so `RestrictedUnpickler` allows only a
stub for Network plus the few NumPy / builtin reconstructors such a file needs;
anything else is refused before it can run.  The stored `build_module_src` is
never executed: the architecture comes from `static_kwargs` (absent keys take
the TF1 build-function defaults) and every variable is checked against it.

Two flavours of that format are read and written (`FLAVOURS`), told apart by the build
functions a file names:

* "stylegan2": NVlabs/stylegan2 (`G_main` + `G_mapping` + `G_synthesis_stylegan2`,
  `D_stylegan2`; Network state version 4, a `lod` variable in G_main);
* "stylegan2-ada": the TensorFlow NVlabs/stylegan2-ada (`G_main` + `G_mapping` +
  `G_synthesis`, `D_main`; version 5 with input/output shapes and names, no `lod`, and
  the mixed-precision kwargs `num_fp16_res` / `conv_clamp` in G and D), e.g. metfaces.pkl.
"""

import io
import pickle
import struct
from collections import namedtuple
from pathlib import Path

import numpy as np

from .networks import Discriminator, Generator, num_ws_for


class OfficialPickleError(ValueError):
    """The file is not a TF1 StyleGAN2 pickle this importer can read, or does not match."""


class ForbiddenGlobalError(OfficialPickleError, pickle.UnpicklingError):
    """The pickle asked for a global outside the allow-list (nothing of it was run)."""


class Network:
    """Stand-in for dnnlib.tflib.network.Network: it only keeps the pickled state dict."""

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        state = getattr(self, "state", {})
        return f"<TF1 Network {state.get('name')!r} ({state.get('build_func_name')})>"


try:  # numpy >= 2 keeps the implementation in numpy._core
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray, numeric as _numeric
import codecs as _codecs
import copyreg as _copyreg

# Everything an official file refers to, under both numpy 1 (`numpy.core`) and
# numpy 2 (`numpy._core`) spellings, plus what protocol 5 (`_frombuffer`) and
# protocols 0-2 (`copyreg._reconstructor`, `_codecs.encode` for bytes, and their
# Python 2 spellings in protocols 0-1) use for the same objects.  None of these can
# reach the file system or run code.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "object"): object,
    ("__builtin__", "object"): object,
    ("copyreg", "_reconstructor"): _copyreg._reconstructor,
    ("copy_reg", "_reconstructor"): _copyreg._reconstructor,
    ("_codecs", "encode"): _codecs.encode,
}
for _core in ("numpy.core", "numpy._core"):
    _ALLOWED_GLOBALS[(f"{_core}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED_GLOBALS[(f"{_core}.multiarray", "scalar")] = _multiarray.scalar
    _ALLOWED_GLOBALS[(f"{_core}.numeric", "_frombuffer")] = _numeric._frombuffer

_HINTS = {
    "torch": "it looks like a PyTorch pickle (e.g. stylegan2-ada-pytorch); this loader reads "
             "NVIDIA's TF1 StyleGAN2 pickles",
    "torch_utils": "it looks like a stylegan2-ada-pytorch pickle; this loader reads NVIDIA's "
                   "TF1 StyleGAN2 pickles",
    "dnnlib": "only dnnlib.tflib.network.Network is part of a TF1 StyleGAN2 pickle",
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the allow-listed globals; refuses everything else."""

    def find_class(self, module, name):
        if (module, name) == ("dnnlib.tflib.network", "Network"):
            return Network
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        hint = _HINTS.get(module.split(".")[0], "TF1 StyleGAN2 pickles contain only "
                          "dnnlib.tflib.network.Network and NumPy arrays")
        raise ForbiddenGlobalError(f"refused to load global '{module}.{name}' from the pickle "
                                   f"(nothing was executed): {hint}")

    def persistent_load(self, pid):
        raise OfficialPickleError("the pickle uses persistent ids (torch.save and similar "
                                  "formats do); it is not a TF1 StyleGAN2 pickle")


def read_official_pickle(path):
    """Safely unpickle a TF1 StyleGAN2 file; returns the (G, D, Gs) tuple of `Network` stubs.

    Raises OfficialPickleError for an empty, truncated or foreign file.
    """
    data = Path(path).read_bytes()
    if not data:
        raise OfficialPickleError(f"{path}: the file is empty")
    if data[:4] == b"PK\x03\x04":
        raise OfficialPickleError(f"{path}: this is a zip archive (a torch.save / Keras file?), "
                                  "not a TF1 StyleGAN2 pickle")
    try:
        obj = RestrictedUnpickler(io.BytesIO(data)).load()
    except OfficialPickleError as e:
        raise type(e)(f"{path}: {e}") from None
    except EOFError:
        raise OfficialPickleError(f"{path}: the pickle ends early (truncated or incomplete "
                                  "download?)") from None
    except Exception as e:  # a corrupt stream can raise almost anything
        raise OfficialPickleError(f"{path}: not a readable pickle ({type(e).__name__}: {e}); "
                                  "the file may be truncated or corrupt") from None
    if not (isinstance(obj, tuple) and len(obj) == 3
            and all(isinstance(net, Network) for net in obj)):
        what = f"a {type(obj).__name__}"
        if isinstance(obj, tuple):
            what += f" of {len(obj)} items ({', '.join(type(o).__name__ for o in obj)})"
        raise OfficialPickleError(f"{path}: not a TF1 StyleGAN2 pickle: expected a tuple "
                                  f"(G, D, Gs) of dnnlib Network objects, found {what}")
    for label, net in zip(("G", "D", "Gs"), obj):
        check_state(net, label)
    return obj


_STATE_KEYS = ("version", "name", "static_kwargs", "components", "build_func_name", "variables")


def check_state(net, label, depth=0):
    """Check one Network state has the TF1 dnnlib layout (`Network.__getstate__`)."""
    state = getattr(net, "state", None)
    if not isinstance(state, dict):
        raise OfficialPickleError(f"{label}: the Network has no state dict")
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise OfficialPickleError(f"{label}: Network state lacks {missing}")
    if state["version"] not in (2, 3, 4, 5):
        raise OfficialPickleError(f"{label}: unknown dnnlib Network version {state['version']!r}")
    if not (isinstance(state["static_kwargs"], dict) and isinstance(state["components"], dict)
            and isinstance(state["variables"], list)):
        raise OfficialPickleError(f"{label}: static_kwargs and components must be dicts, "
                                  "variables a list")
    if depth > 3:  # official files nest one level; a pickle can even build a cycle
        raise OfficialPickleError(f"{label}: components nested too deeply")
    for key, component in state["components"].items():
        if not isinstance(component, Network):
            raise OfficialPickleError(f"{label}: component {key!r} is not a Network")
        check_state(component, f"{label}/{key}", depth + 1)


def flat_variables(net, prefix=""):
    """Dict 'component/.../name' -> float32 array of a Network and its components."""
    out = {}
    for item in net.state["variables"]:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)):
            raise OfficialPickleError(f"{prefix or 'network'}: variables must be (name, array) "
                                      f"pairs, found {type(item).__name__}")
        name, value = item
        if prefix + name in out:
            raise OfficialPickleError(f"variable {prefix + name!r} appears twice")
        try:
            out[prefix + name] = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise OfficialPickleError(f"variable {prefix + name!r} is not numeric") from None
    for key, component in net.state["components"].items():
        out.update(flat_variables(component, f"{prefix}{key}/"))
    return out


# ------------------------------------------------------------------- hyper-parameters

# Defaults of the TF1 build functions (networks_stylegan2.py), used for every key
# an official pickle does not store.  Not the PyTorch converter's defaults, which
# differ for mapping_fmaps and mbstd_group_size (`convert_tf_generator` in stylegan2-ada-pytorch's legacy.py).
TF1_GENERATOR_DEFAULTS = dict(
    num_channels=3, resolution=1024, label_size=0, latent_size=512, dlatent_size=512,
    mapping_layers=8, mapping_fmaps=512, mapping_lrmul=0.01, mapping_nonlinearity="lrelu",
    normalize_latents=True, dlatent_avg_beta=0.995, fmap_base=16 << 10, fmap_decay=1.0,
    fmap_min=1, fmap_max=512, architecture="skip", nonlinearity="lrelu",
    resample_kernel=[1, 3, 3, 1])
TF1_DISCRIMINATOR_DEFAULTS = dict(
    num_channels=3, resolution=1024, label_size=0, fmap_base=16 << 10, fmap_decay=1.0,
    fmap_min=1, fmap_max=512, architecture="resnet", nonlinearity="lrelu", mbstd_group_size=4,
    mbstd_num_features=1, resample_kernel=[1, 3, 3, 1])
_MAPPING_KEYS = ("latent_size", "label_size", "dlatent_size", "mapping_layers", "mapping_fmaps",
                 "mapping_lrmul", "mapping_nonlinearity", "normalize_latents")
_SYNTHESIS_KEYS = ("dlatent_size", "num_channels", "resolution", "fmap_base", "fmap_decay",
                   "fmap_min", "fmap_max", "architecture", "nonlinearity", "resample_kernel")

# Defaults of stylegan2-ada's TF build functions (its training/networks.py).  Where they differ
# from stylegan2's: mapping_fmaps None (= dlatent_size), mbstd_group_size None (= the whole
# minibatch), and the mixed-precision kwargs num_fp16_res / conv_clamp in G and D.
ADA_GENERATOR_DEFAULTS = dict(TF1_GENERATOR_DEFAULTS, mapping_fmaps=None, num_fp16_res=0,
                              conv_clamp=None)
ADA_DISCRIMINATOR_DEFAULTS = dict(TF1_DISCRIMINATOR_DEFAULTS, mbstd_group_size=None,
                                  num_fp16_res=0, conv_clamp=None)
_ADA_SYNTHESIS_KEYS = _SYNTHESIS_KEYS + ("num_fp16_res", "conv_clamp")

# stylegan2-ada kwargs the project's networks cannot represent unless they hold the value
# given here (the build-function default: same arithmetic as the project's networks).
_ADA_G_REQUIRED = dict(label_size=0, fmap_const=None, use_noise=True, dtype="float32",
                       mapping_func="G_mapping", synthesis_func="G_synthesis")
_ADA_D_REQUIRED = dict(label_size=0, dtype="float32", use_pagan=False, use_spectral_norm=False,
                       adaptive_dropout=0, score_max=1, score_size=1)
_WHY = dict(
    label_size="conditional networks are not supported (stylegan2-ada embeds labels with "
               "'LabelEmbed' layers and projects D's output onto them; the project's networks "
               "use stylegan2's label concat)",
    fmap_const="a constant input with its own width is not supported",
    use_noise="networks without noise inputs are not supported",
    dtype="only float32 networks (with num_fp16_res for mixed precision) are supported",
    mapping_func="only the G_mapping network is supported",
    synthesis_func="only the G_synthesis network is supported",
    use_pagan="PA-GAN discriminators (a comparison method) are not supported",
    use_spectral_norm="spectral normalisation (a comparison method) is not supported",
    adaptive_dropout="adaptive dropout (a comparison method) is not supported",
    score_max="auxiliary rotation scores (a comparison method) are not supported",
    score_size="auxiliary rotation scores (a comparison method) are not supported",
    mbstd_group_size="the minibatch-stddev group must be a fixed size of at least 2",
    mbstd_num_features="the minibatch-stddev layer must add at least one feature")

Flavour = namedtuple("Flavour", ["name", "version", "synthesis_func", "d_func", "g_defaults",
                                 "d_defaults", "synthesis_keys", "has_lod", "has_shapes",
                                 "build_module_src"])

# NVIDIA's TF1 code rebuilds a network by executing `build_module_src` and calling
# `build_func_name` from it.  Official files embed a copy of their training/networks*.py;
# files written here import the same functions from the checkout of NVIDIA's code that reads
# them.  Loaders that do not run TF1 (legacy.py, `read_official_pickle`) never execute it.
BUILD_MODULE_SRC = (
    "# StyleGAN2 networks written by toonemo_lib (stylegan2.official.save_official_pickle).\n"
    "# The build functions are NVIDIA's own, from an NVlabs/stylegan2 checkout on sys.path.\n"
    "from training.networks_stylegan2 import G_main, G_mapping, G_synthesis_stylegan2, "
    "D_stylegan2\n")
ADA_BUILD_MODULE_SRC = (
    "# StyleGAN2-ADA networks written by toonemo_lib (stylegan2.official.save_official_pickle).\n"
    "# The build functions are NVIDIA's own, from an NVlabs/stylegan2-ada (TensorFlow)\n"
    "# checkout on sys.path.\n"
    "from training.networks import G_main, G_mapping, G_synthesis, D_main\n")

FLAVOURS = {
    "stylegan2": Flavour("stylegan2", 4, "G_synthesis_stylegan2", "D_stylegan2",
                         TF1_GENERATOR_DEFAULTS, TF1_DISCRIMINATOR_DEFAULTS, _SYNTHESIS_KEYS,
                         has_lod=True, has_shapes=False, build_module_src=BUILD_MODULE_SRC),
    "stylegan2-ada": Flavour("stylegan2-ada", 5, "G_synthesis", "D_main",
                             ADA_GENERATOR_DEFAULTS, ADA_DISCRIMINATOR_DEFAULTS,
                             _ADA_SYNTHESIS_KEYS, has_lod=False, has_shapes=True,
                             build_module_src=ADA_BUILD_MODULE_SRC),
}


def flavour_named(name):
    """The Flavour called `name` ("stylegan2" or "stylegan2-ada"); OfficialPickleError otherwise."""
    if isinstance(name, Flavour):
        return name
    if name not in FLAVOURS:
        raise OfficialPickleError(f"unknown pickle flavour {name!r}: choose one of "
                                  f"{', '.join(map(repr, FLAVOURS))}")
    return FLAVOURS[name]


def _func(net, key=None):
    if key is not None:
        net = net.state["components"].get(key)
        if net is None:
            return None
    return net.state["build_func_name"]


def detect_flavour(g_net, d_net=None, gs_net=None):
    """The Flavour of a pickle's Network stubs, from the build functions they name.

    G and Gs must be `G_main` with a synthesis component of one flavour, D that flavour's
    discriminator; anything else (StyleGAN1's G_style / D_basic, a mix) is refused.
    """
    found = {}
    for label, net in (("G", g_net), ("Gs", gs_net)):
        if net is None:
            continue
        expect_build_func(net, label, "G_main")
        synthesis = _func(net, "synthesis")
        if synthesis is None:
            raise OfficialPickleError(f"{label}: component 'synthesis' is missing")
        found[f"{label} synthesis"] = synthesis
    if d_net is not None:
        found["D"] = _func(d_net)
    names = set()
    for what, func in found.items():
        key = "d_func" if what == "D" else "synthesis_func"
        match = [f.name for f in FLAVOURS.values() if getattr(f, key) == func]
        names.add(match[0] if match else None)
    if len(names) == 1 and None not in names:
        return FLAVOURS[names.pop()]
    known = "; ".join(f"{f.name}: G_main/G_mapping/{f.synthesis_func} + {f.d_func}"
                      for f in FLAVOURS.values())
    seen = ", ".join(f"{what} {func!r}" for what, func in found.items())
    raise OfficialPickleError(f"unknown or mixed pickle flavour: the file names {seen}; this "
                              f"loader reads {known} (only StyleGAN2 configs e/f and "
                              "stylegan2-ada's skip/resnet networks are implemented)")


def expect_build_func(net, label, expected):
    func = net.state["build_func_name"]
    if func != expected:
        raise OfficialPickleError(
            f"{label}: build function {func!r} is not supported (expected {expected!r}; "
            "only StyleGAN2 configs e/f with G_synthesis_stylegan2 / D_stylegan2 and "
            "stylegan2-ada's G_synthesis / D_main are implemented)")


def check_required(stored, required, label):
    """OfficialPickleError naming the first stored kwarg the project cannot represent."""
    for key, value in required.items():
        if key in stored and stored[key] != value and not (value == 0 and stored[key] is None):
            raise OfficialPickleError(f"{label}: static kwarg {key}={stored[key]!r} cannot be "
                                      f"represented ({_WHY[key]}; expected {value!r})")


def generator_kwargs(net, label, flavour=None):
    """Constructor kwargs of a G_main network: TF1 defaults <- top level <- components.

    `flavour`: "stylegan2", "stylegan2-ada", or None to tell from the build functions.
    """
    flavour = detect_flavour(net) if flavour is None else flavour_named(flavour)
    expect_build_func(net, label, "G_main")
    components = net.state["components"]
    for key, func in (("synthesis", flavour.synthesis_func), ("mapping", "G_mapping")):
        if key not in components:
            raise OfficialPickleError(f"{label}: component {key!r} is missing")
        expect_build_func(components[key], f"{label}/{key}", func)
    top = net.state["static_kwargs"]
    defaults = flavour.g_defaults
    if flavour.name == "stylegan2-ada":
        for where, stored in (("", top), ("/synthesis", components["synthesis"].state[
                "static_kwargs"]), ("/mapping", components["mapping"].state["static_kwargs"])):
            check_required(stored, _ADA_G_REQUIRED, label + where)
    if top.get("synthesis_func", flavour.synthesis_func) != flavour.synthesis_func:
        raise OfficialPickleError(f"{label}: synthesis_func {top['synthesis_func']!r} "
                                  "is not supported")
    kwargs = {k: top[k] for k in defaults if k in top}
    # The components saw the same kwargs as G_main; where they store a key, their value is
    # the one the build function actually used.
    for key, keys in (("synthesis", flavour.synthesis_keys), ("mapping", _MAPPING_KEYS)):
        stored = components[key].state["static_kwargs"]
        for k in keys:
            if k in stored:
                kwargs[k] = stored[k]
    kwargs = dict(defaults, **kwargs)
    if kwargs["mapping_fmaps"] is None:  # stylegan2-ada: the mapping is dlatent_size wide
        kwargs["mapping_fmaps"] = kwargs["dlatent_size"]
    if kwargs["architecture"] != "skip":
        raise OfficialPickleError(f"{label}: static kwarg architecture={kwargs['architecture']!r} "
                                  "cannot be represented (only the 'skip' generator is implemented)")
    broadcast = components["mapping"].state["static_kwargs"].get("dlatent_broadcast")
    expected = num_ws_for_checked(kwargs["resolution"], label)
    if broadcast is not None and broadcast != expected:
        raise OfficialPickleError(f"{label}: mapping dlatent_broadcast={broadcast} but a "
                                  f"{kwargs['resolution']}px synthesis network reads "
                                  f"{expected} W rows")
    return kwargs


def discriminator_kwargs(net, label, flavour=None):
    """Constructor kwargs of a discriminator Network (the flavour told from its build function)."""
    flavour = detect_flavour(None, net) if flavour is None else flavour_named(flavour)
    expect_build_func(net, label, flavour.d_func)
    stored = net.state["static_kwargs"]
    defaults = flavour.d_defaults
    if flavour.name == "stylegan2-ada":
        check_required(stored, _ADA_D_REQUIRED, label)
        group = stored.get("mbstd_group_size")
        if not isinstance(group, int) or group < 2:
            check_required({"mbstd_group_size": group}, {"mbstd_group_size": 4}, label)
        if stored.get("mbstd_num_features", 1) < 1:
            check_required(stored, {"mbstd_num_features": 1}, label)
    kwargs = dict(defaults, **{k: stored[k] for k in defaults if k in stored})
    if kwargs["architecture"] != "resnet":
        raise OfficialPickleError(f"{label}: static kwarg architecture={kwargs['architecture']!r} "
                                  "cannot be represented (only the 'resnet' discriminator is "
                                  "implemented)")
    num_ws_for_checked(kwargs["resolution"], label)
    return kwargs


def num_ws_for_checked(resolution, label):
    try:
        return num_ws_for(resolution)
    except ValueError as e:
        raise OfficialPickleError(f"{label}: {e}") from None


def build_network(cls, kwargs, label):
    try:
        return cls(name=label, **kwargs)
    except ValueError as e:
        raise OfficialPickleError(f"{label}: cannot build {cls.__name__}({kwargs}): {e}") from None


# ------------------------------------------------------------------- variables


def assign_variables(model, arrays, label, ignore=("lod",)):
    """Copy named arrays into `model.tf1_variables()`; every name and shape must match."""
    targets = model.tf1_variables()
    for name in targets:
        if name not in arrays:
            raise OfficialPickleError(f"{label}: variable {name!r} is missing from the pickle "
                                      f"(the static_kwargs describe a network that has it)")
    for name, value in arrays.items():
        if name in ignore:
            continue
        if name not in targets:
            raise OfficialPickleError(f"{label}: unexpected variable {name!r} with shape "
                                      f"{list(np.shape(value))} (not part of the architecture the "
                                      "static_kwargs describe)")
        expected = tuple(targets[name].shape)
        if tuple(np.shape(value)) != expected:
            raise OfficialPickleError(f"{label}: variable {name!r} has shape "
                                      f"{list(np.shape(value))}, expected {list(expected)}")
    for name, var in targets.items():
        var.assign(arrays[name])


OfficialNetworks = namedtuple("OfficialNetworks", ["G", "D", "Gs"])
OfficialNetworks.__doc__ = ("The three networks of an official pickle: G (training snapshot), "
                            "D (discriminator), Gs (moving-average generator, use it to generate).")


def networks_from_states(g_net, d_net, gs_net, flavour=None, num_fp16_res=None):
    """Build Keras networks for three Network stubs and copy their variables in.

    `flavour`: None tells it from the build functions; a name must match them.
    `num_fp16_res`: None keeps the file's (stylegan2-ada); 0 computes G and D in float32
    everywhere (CPUs have no fast float16 convolution), n > 0 puts the n highest resolutions
    in float16.
    """
    detected = detect_flavour(g_net, d_net, gs_net)
    if flavour is not None and flavour_named(flavour).name != detected.name:
        raise OfficialPickleError(f"the file is a {detected.name!r} pickle (its build functions: "
                                  f"{detected.synthesis_func} / {detected.d_func}), not "
                                  f"{flavour_named(flavour).name!r}")
    nets = {}
    for label, net in (("G", g_net), ("Gs", gs_net)):
        kwargs = generator_kwargs(net, label, detected)
        if num_fp16_res is not None:
            kwargs["num_fp16_res"] = int(num_fp16_res)
        model = build_network(Generator, kwargs, label)
        assign_variables(model, flat_variables(net), label)
        nets[label] = model
    kwargs = discriminator_kwargs(d_net, "D", detected)
    if num_fp16_res is not None:
        kwargs["num_fp16_res"] = int(num_fp16_res)
    D = build_network(Discriminator, kwargs, "D")
    assign_variables(D, flat_variables(d_net), "D")
    return OfficialNetworks(G=nets["G"], D=D, Gs=nets["Gs"])


def pickle_flavour(path):
    """"stylegan2" or "stylegan2-ada": which of NVIDIA's TF codes wrote the pickle `path`."""
    g_net, d_net, gs_net = read_official_pickle(path)
    try:
        return detect_flavour(g_net, d_net, gs_net).name
    except OfficialPickleError as e:
        raise OfficialPickleError(f"{path}: {e}") from None


def load_official_pickle(path, flavour=None, num_fp16_res=None):
    """Load NVIDIA's TF1 StyleGAN2 pickle `path` into Keras: OfficialNetworks(G, D, Gs).

    Reads NVlabs/stylegan2 files (e.g. stylegan2-ffhq-config-f.pkl) and the TensorFlow
    NVlabs/stylegan2-ada ones (e.g. metfaces.pkl); `flavour` ("stylegan2", "stylegan2-ada")
    insists on one, None takes what the build functions say.  A stylegan2-ada file's
    `conv_clamp` clips in float32 too; its `num_fp16_res` is kept unless `num_fp16_res` is
    given (0: float32 everywhere, the sensible choice on a CPU), for G and D alike.
    Nothing from the file is executed; OfficialPickleError explains any refusal.
    """
    if flavour is not None:
        flavour_named(flavour)  # an unknown name is refused before the file is read
    g_net, d_net, gs_net = read_official_pickle(path)
    try:
        return networks_from_states(g_net, d_net, gs_net, flavour, num_fp16_res)
    except OfficialPickleError as e:
        raise OfficialPickleError(f"{path}: {e}") from None


# ------------------------------------------------------------------- writing

# static_kwargs written for every network, in the order official files list them.  PyTorch's
# legacy.py refuses keys it does not know (fmap_decay, fmap_min, normalize_latents,
# dlatent_avg_beta), so those are written only when they differ from the TF1 default: then
# only TF1 can build the network anyway.  mapping_fmaps and mbstd_group_size are always
# written because legacy.py's defaults for them are not TF1's.  stylegan2-ada files also
# carry num_fp16_res and conv_clamp (train.py sets them in G_args and D_args).
_G_WRITTEN = ("num_channels", "resolution", "label_size", "latent_size", "dlatent_size",
              "mapping_layers", "mapping_fmaps", "mapping_lrmul", "mapping_nonlinearity",
              "fmap_base", "fmap_max", "architecture", "nonlinearity", "resample_kernel")
_G_WRITTEN_IF_NOT_DEFAULT = ("normalize_latents", "dlatent_avg_beta", "fmap_decay", "fmap_min")
_G_MAIN_ONLY = ("dlatent_avg_beta",)  # a G_main argument: TF1 does not pass it to components
_D_WRITTEN = ("num_channels", "resolution", "label_size", "fmap_base", "fmap_max", "architecture",
              "nonlinearity", "mbstd_group_size", "mbstd_num_features", "resample_kernel")
_D_WRITTEN_IF_NOT_DEFAULT = ("fmap_decay", "fmap_min")
_MIXED_PRECISION = ("num_fp16_res", "conv_clamp")


def network_stub(name, build_func_name, static_kwargs, variables, components=None,
                 build_module_src=BUILD_MODULE_SRC, shapes=None):
    """A `Network` whose state has the keys of `Network.__getstate__`, in its order.

    `shapes`: None for a stylegan2 (version 4) state, else (input_shapes, output_shapes,
    input_names, output_names) for a stylegan2-ada (version 5) one.
    """
    net = Network()
    state = dict(version=4 if shapes is None else 5, name=name,
                 static_kwargs=dict(static_kwargs), components=dict(components or {}),
                 build_module_src=build_module_src, build_func_name=build_func_name,
                 variables=list(variables))
    if shapes is not None:
        for key, value in zip(("input_shapes", "output_shapes", "input_names", "output_names"),
                              shapes):
            state[key] = value
    net.__setstate__(state)
    return net


def tf1_value(value):
    """float32 array as TF1 returned it: 0-d variables as numpy.float32 scalars."""
    array = np.asarray(value, dtype=np.float32)
    return np.float32(array) if array.ndim == 0 else np.ascontiguousarray(array)


def plain_kernel(kernel):
    """[1.0, 3.0, 3.0, 1.0] -> [1, 3, 3, 1], as the TF1 configs spell the filter."""
    return [int(k) if float(k).is_integer() else float(k) for k in kernel]


def plain_number(value):
    """256.0 -> 256, as train.py wrote conv_clamp; None stays None."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def static_kwargs_of(config, always, if_not_default, defaults):
    kwargs = {k: config[k] for k in always}
    kwargs.update({k: config[k] for k in if_not_default if config[k] != defaults[k]})
    kwargs["resample_kernel"] = plain_kernel(kwargs["resample_kernel"])
    if "conv_clamp" in kwargs:
        kwargs["conv_clamp"] = plain_number(kwargs["conv_clamp"])
    return kwargs


def component_variables(arrays, prefix):
    return [(name[len(prefix):], tf1_value(value)) for name, value in arrays.items()
            if name.startswith(prefix)]


def mixed_precision_of(config, name, flavour):
    """The (num_fp16_res, conv_clamp) of a config, refused where the flavour has no such kwargs."""
    values = {k: config.get(k, ADA_GENERATOR_DEFAULTS[k]) for k in _MIXED_PRECISION}
    if flavour.name == "stylegan2" and (values["num_fp16_res"] or values["conv_clamp"] is not None):
        raise ValueError(f"{name} has num_fp16_res={values['num_fp16_res']}, conv_clamp="
                         f"{values['conv_clamp']}: NVlabs/stylegan2 pickles cannot hold them; "
                         "write it with flavour='stylegan2-ada'")
    return values


def flavour_static_kwargs(config, name, flavour, always, if_not_default, defaults) -> dict:
    """A network's static kwargs as `flavour` writes them: stylegan2-ada's with the mixed-precision
    kwargs; stylegan2's refuses a network that has them (`mixed_precision_of`)."""
    values = mixed_precision_of(config, name, flavour)  # refuses what stylegan2's files cannot hold
    if flavour.name == "stylegan2-ada":
        config, always = dict(config, **values), always + _MIXED_PRECISION
    return static_kwargs_of(config, always, if_not_default, defaults)


def generator_state(G, name, build_module_src=None, flavour="stylegan2"):
    """The TF1 `G_main` Network (with its synthesis and mapping components) of a Generator."""
    flavour = flavour_named(flavour)
    src = dict(build_module_src=build_module_src or flavour.build_module_src)
    if not isinstance(G, Generator):
        raise TypeError(f"{name} must be a stylegan2 Generator, got {type(G).__name__}")
    kwargs = flavour_static_kwargs(G.get_config(), name, flavour, _G_WRITTEN, _G_WRITTEN_IF_NOT_DEFAULT,
                                   TF1_GENERATOR_DEFAULTS)
    shared = {k: v for k, v in kwargs.items() if k not in _G_MAIN_ONLY}
    arrays = {n: v.numpy() for n, v in G.tf1_variables().items()}
    shapes = dict.fromkeys(("G", "synthesis", "mapping"))
    if flavour.has_shapes:  # Network.input_shapes etc. of stylegan2-ada's G_main and components
        image = [None, G.num_channels, G.resolution, G.resolution]
        ws = [None, G.num_ws, G.dlatent_size]
        inputs = [[None, G.latent_size], [None, G.label_size]]
        shapes = dict(G=(inputs, [image], ["latents_in", "labels_in"], ["images_out"]),
                      synthesis=([ws], [image], ["dlatents_in"], ["images_out"]),
                      mapping=(inputs, [ws], ["latents_in", "labels_in"], ["dlatents_out"]))
    synthesis = network_stub("G_synthesis", flavour.synthesis_func, shared,
                             component_variables(arrays, "synthesis/"),
                             shapes=shapes["synthesis"], **src)
    mapping = network_stub("G_mapping", "G_mapping", dict(dlatent_broadcast=G.num_ws, **shared),
                           component_variables(arrays, "mapping/"), shapes=shapes["mapping"],
                           **src)
    # TF1 G_main of stylegan2 creates `lod` (always 0 in StyleGAN2) before `dlatent_avg`;
    # stylegan2-ada's creates only `dlatent_avg`.
    own = [("lod", np.float32(0.0))] if flavour.has_lod else []
    own.append(("dlatent_avg", tf1_value(arrays["dlatent_avg"])))
    return network_stub(name, "G_main", kwargs, own, dict(synthesis=synthesis, mapping=mapping),
                        shapes=shapes["G"], **src)


def discriminator_state(D, name="D", build_module_src=None, flavour="stylegan2"):
    """The TF1 `D_stylegan2` (stylegan2) or `D_main` (stylegan2-ada) Network of a Discriminator."""
    flavour = flavour_named(flavour)
    if not isinstance(D, Discriminator):
        raise TypeError(f"{name} must be a stylegan2 Discriminator, got {type(D).__name__}")
    kwargs = flavour_static_kwargs(D.get_config(), name, flavour, _D_WRITTEN, _D_WRITTEN_IF_NOT_DEFAULT,
                                   TF1_DISCRIMINATOR_DEFAULTS)
    variables = [(n, tf1_value(v.numpy())) for n, v in D.tf1_variables().items()]
    shapes = None
    if flavour.has_shapes:
        image = [None, D.num_channels, D.resolution, D.resolution]
        shapes = ([image, [None, D.label_size]], [[None, 1]], ["images_in", "labels_in"],
                  ["scores_out"])
    return network_stub(name, flavour.d_func, kwargs, variables, shapes=shapes,
                        build_module_src=build_module_src or flavour.build_module_src)


def save_official_pickle(G, D, Gs, path, build_module_src=None, flavour=None):
    """Write Keras G, D, Gs as NVIDIA's TF1 pickle `(G, D, Gs)`; returns the path.

    The file has the layout of the official ones (dnnlib Network states, TF1 names, layouts
    and creation order, `dlatent_avg`, noise buffers) and names only
    `dnnlib.tflib.network.Network` and NumPy's reconstructors, so stylegan2-ada-pytorch's
    legacy.py and `load_official_pickle` read it without this package.
    `flavour="stylegan2"` (default): NVlabs/stylegan2's layout (version 4, `lod`,
    G_synthesis_stylegan2 / D_stylegan2), which its TF1 code reads from a checkout (see
    BUILD_MODULE_SRC).  `flavour="stylegan2-ada"`: the TensorFlow NVlabs/stylegan2-ada
    layout of metfaces.pkl (version 5 with input/output shapes and names, no `lod`,
    G_synthesis / D_main, num_fp16_res and conv_clamp in G and D).  `flavour=None` (the
    default) takes "stylegan2-ada" for networks with mixed precision, which only that layout
    holds (a blend of MetFaces and its parent), else "stylegan2".  Pinkney's
    blend_models.py writes a blend as (structure G, structure D, blended Gs).
    """
    if flavour is None:
        mixed = any(net.get_config().get(key) for net in (G, D, Gs) for key in _MIXED_PRECISION)
        flavour = "stylegan2-ada" if mixed else "stylegan2"
    flavour = flavour_named(flavour)
    states = (generator_state(G, "G", build_module_src, flavour),
              discriminator_state(D, "D", build_module_src, flavour),
              generator_state(Gs, "Gs", build_module_src, flavour))
    return write_official_pickle(states, path)


def write_official_pickle(nets, path):
    """Pickle a (G, D, Gs) tuple of `Network` stubs in the official format; returns the path."""
    nets = tuple(nets)
    if len(nets) != 3:
        raise ValueError(f"expected the three networks (G, D, Gs), got {len(nets)}")
    for label, net in zip(("G", "D", "Gs"), nets):
        if not isinstance(net, Network):
            raise TypeError(f"{label} must be an official.Network, got {type(net).__name__}")
        check_state(net, label)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")  # no half-written file under the real name
    try:
        with open(partial, "wb") as f:
            TF1Pickler(f).dump(nets)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return path


class TF1Pickler:
    """Writes protocol-4 pickles of Network states, naming the globals official files name.

    `pickle.Pickler` writes a class only under a module it can import, and NumPy 2 pickles
    arrays as `numpy._core.*`, which the NumPy 1 of TF1 cannot import.  The few objects a
    network state holds (containers, str, numbers, float32 arrays and scalars) are written
    here opcode by opcode instead, exactly as NumPy 1 and the TF1 dnnlib pickled them.
    """

    def __init__(self, file):
        self.write = file.write
        self.memo = {}  # key -> memo index of the globals and dtype written so far

    def dump(self, obj):
        self.write(pickle.PROTO + bytes([4]))
        self.save(obj)
        self.write(pickle.STOP)

    def save(self, obj):
        if isinstance(obj, Network):
            self.save_network(obj)
        elif isinstance(obj, np.ndarray):
            self.save_array(obj)
        elif isinstance(obj, np.floating):  # before float: numpy.float64 is a float subclass
            self.save_scalar(obj)
        elif isinstance(obj, np.integer):
            self.save(int(obj))
        elif obj is None or isinstance(obj, bool):
            self.write({None: pickle.NONE, True: pickle.NEWTRUE, False: pickle.NEWFALSE}[obj])
        elif isinstance(obj, int):
            self.save_int(obj)
        elif isinstance(obj, float):
            self.write(pickle.BINFLOAT + struct.pack(">d", obj))
        elif isinstance(obj, str):
            self.save_str(obj)
        elif isinstance(obj, bytes):
            self.save_bytes(obj)
        elif isinstance(obj, (tuple, list, dict)):
            self.save_container(obj)
        else:
            raise TypeError(f"a TF1 network state cannot hold a {type(obj).__name__}")

    def save_int(self, value):
        if 0 <= value < 1 << 8:
            self.write(pickle.BININT1 + struct.pack("<B", value))
        elif 0 <= value < 1 << 16:
            self.write(pickle.BININT2 + struct.pack("<H", value))
        elif -(1 << 31) <= value < 1 << 31:
            self.write(pickle.BININT + struct.pack("<i", value))
        else:
            data = value.to_bytes(value.bit_length() // 8 + 1, "little", signed=True)
            self.write(pickle.LONG1 + struct.pack("<B", len(data)) + data)

    def save_str(self, text):
        data = text.encode("utf-8")
        if len(data) < 1 << 8:
            self.write(pickle.SHORT_BINUNICODE + struct.pack("<B", len(data)) + data)
        elif len(data) < 1 << 32:
            self.write(pickle.BINUNICODE + struct.pack("<I", len(data)) + data)
        else:
            self.write(pickle.BINUNICODE8 + struct.pack("<Q", len(data)) + data)

    def save_bytes(self, data):
        if len(data) < 1 << 8:
            self.write(pickle.SHORT_BINBYTES + struct.pack("<B", len(data)))
        elif len(data) < 1 << 32:
            self.write(pickle.BINBYTES + struct.pack("<I", len(data)))
        else:
            self.write(pickle.BINBYTES8 + struct.pack("<Q", len(data)))
        self.write(data)

    def save_container(self, obj):
        if isinstance(obj, tuple):
            self.save_tuple(obj)
            return
        empty, many = (pickle.EMPTY_LIST, pickle.APPENDS) if isinstance(obj, list) else \
            (pickle.EMPTY_DICT, pickle.SETITEMS)
        self.write(empty)
        if obj:
            self.write(pickle.MARK)
            for item in (obj if isinstance(obj, list) else obj.items()):
                for part in ((item,) if isinstance(obj, list) else item):
                    self.save(part)
            self.write(many)

    def save_tuple(self, items):
        short = {0: pickle.EMPTY_TUPLE, 1: pickle.TUPLE1, 2: pickle.TUPLE2, 3: pickle.TUPLE3}
        if len(items) not in short:
            self.write(pickle.MARK)
        for item in items:
            self.save(item)
        self.write(short.get(len(items), pickle.TUPLE))

    def memoized(self, key, write_object):
        """Write an object once (write_object) and fetch it from the memo afterwards."""
        if key in self.memo:
            index = self.memo[key]
            self.write(pickle.BINGET + struct.pack("<B", index) if index < 1 << 8
                       else pickle.LONG_BINGET + struct.pack("<I", index))
            return
        write_object()
        self.write(pickle.MEMOIZE)
        self.memo[key] = len(self.memo)

    def save_global(self, module, name):
        def write():
            self.save_str(module)
            self.save_str(name)
            self.write(pickle.STACK_GLOBAL)

        self.memoized(("global", module, name), write)

    def save_float32_dtype(self):
        def write():
            # numpy.dtype.__reduce__: dtype('f4', False, True), then its state (version 3).
            self.save_global("numpy", "dtype")
            self.save_tuple(("f4", False, True))
            self.write(pickle.REDUCE)
            self.save_tuple((3, "<", None, None, None, -1, -1, 0))
            self.write(pickle.BUILD)

        self.memoized(("dtype", "<f4"), write)

    def save_array(self, array):
        # numpy.ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b'), then the state
        # (version 1, shape, dtype, Fortran order, raw data).
        array = np.ascontiguousarray(array, dtype="<f4")
        self.save_global("numpy.core.multiarray", "_reconstruct")
        self.save_global("numpy", "ndarray")
        self.save_tuple((0,))
        self.save_bytes(b"b")
        self.write(pickle.TUPLE3 + pickle.REDUCE + pickle.MARK)
        self.save(1)
        self.save_tuple(tuple(int(n) for n in array.shape))
        self.save_float32_dtype()
        self.save(False)
        self.save_bytes(array.tobytes())
        self.write(pickle.TUPLE + pickle.BUILD)

    def save_scalar(self, value):
        # numpy scalars reduce to numpy.core.multiarray.scalar(dtype, raw bytes).
        self.save_global("numpy.core.multiarray", "scalar")
        self.save_float32_dtype()
        self.save_bytes(np.asarray(value, dtype="<f4").tobytes())
        self.write(pickle.TUPLE2 + pickle.REDUCE)

    def save_network(self, net):
        # An object pickled by `object.__reduce_ex__`: cls.__new__(cls), then __setstate__.
        self.save_global("dnnlib.tflib.network", "Network")
        self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
        self.save(net.state)
        self.write(pickle.BUILD)
