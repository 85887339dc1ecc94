"""StyleGAN2 speed on the official config-f network at 256x256, beside NVIDIA's own code.

    python benchmarks/bench_stylegan2.py [--pickle configf256.pkl] [--rounds 3] [--runs 5]
                                         [--parts G_fwd G_fwd_bwd D_fwd D_fwd_bwd] [--plain] [--layers]

Parts, each at batch 1 and 8 (images/s = batch / median seconds of `runs` timed calls after
one warm-up, every call on fresh inputs drawn with seed 123 before timing):
  G_fwd      z -> image: mapping, truncation 1, constant noise, fp32
  G_fwd_bwd  W+ -> image -> sum(image * fixed target), gradients to W+ and the noise maps
             (what projection differentiates)
  D_fwd      image -> logits;  D_fwd_bwd: and the gradient to the image

The network is the official config-f architecture at 256x256 (30.0 M G parameters): the
TF1 pickle built by shared/peers/stylegan2-official/make_configf256.py when --pickle or
TOONEMO_CONFIGF256 names it -- then the official outputs stored beside it
(`<name>_expected.npz`) are checked first: W to 1e-4, images and D logits to 1e-3 -- else the
same architecture with random weights.

The peer: with the pickle, TOONEMO_PEER_PYTHON naming a Python that has torch and
TOONEMO_STYLEGAN2_ADA a work tree of NVlabs/stylegan2-ada-pytorch, peer_stylegan2_official.py
times NVIDIA's code on the same pickle.  Each side runs in a process of its own, alternated
(official, project, official, ...) for `rounds` rounds; a ratio is the median of the rounds'
ratios, printed with their range.  Both sides run with MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ at 4 GiB (set here when unset): with glibc's defaults every large freed
tensor goes back to the kernel and is page-faulted in again on the next call.  TensorFlow's graph
executor allocates on its worker threads, which those settings do not reach; the project side
keeps its tensors in TensorFlow's caching allocator instead (`TF_CPU_ALLOCATOR_USE_BFC`, which
importing toonemo_lib sets), as every user of the package gets.

--plain times the project with its plain convolutions only (what `fastconv` buys);
--layers times every synthesis layer in both forms instead.  No network access.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PARTS = ("G_fwd", "G_fwd_bwd", "D_fwd", "D_fwd_bwd")
BATCHES = (1, 8)
SEED = 123
PEER_SCRIPT = Path(__file__).with_name("peer_stylegan2_official.py")
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "4294967296", "MALLOC_TRIM_THRESHOLD_": "4294967296"}


# --------------------------------------------------------------------------- project side


def load_networks(pickle):
    """(G, D): from the official pickle, or config-f 256 with random weights."""
    from toonemo_lib.stylegan2 import Discriminator, Generator, load_official_pickle

    if pickle:
        nets = load_official_pickle(pickle)
        return nets.Gs, nets.D
    return Generator(resolution=256, seed=0), Discriminator(resolution=256, seed=1)


def expected_outputs(pickle):
    path = Path(pickle).with_name(Path(pickle).stem + "_expected.npz") if pickle else None
    return np.load(path) if path is not None and path.is_file() else None


def check_outputs(G, D, expected):
    """Largest differences to the official outputs; raises when one is over its tolerance."""
    ws = G.mapping(expected["z"]).numpy()
    img = G.synthesis(ws, noise_mode="const").numpy()
    img_ref = expected["img_psi1"].transpose(0, 2, 3, 1)
    logits = D(img_ref).numpy()
    errors = dict(ws=np.abs(ws - expected["ws_psi1"]).max(), img=np.abs(img - img_ref).max(),
                  d_logits=np.abs(logits - expected["d_logits_img_psi1"]).max())
    for name, tol in (("ws", 1e-4), ("img", 1e-3), ("d_logits", 1e-3)):
        if errors[name] > tol:
            raise SystemExit(f"the project's {name} differ from the official ones by "
                             f"{errors[name]:.2e} (tolerance {tol:g})")
    return {k: float(v) for k, v in errors.items()}


def timed(make_input, run, runs):
    """Seconds of `runs` calls after one warm-up, each on an input made before timing."""
    inputs = [make_input() for _ in range(runs + 1)]
    np.asarray(run(inputs[0])[0])
    times = []
    for x in inputs[1:]:
        start = time.perf_counter()
        [np.asarray(t) for t in run(x)]  # fetched to the host, as the peer does
        times.append(time.perf_counter() - start)
    return times


def project_parts(G, D):
    """{part: (make_input(batch), run(input))} for the project's networks."""
    import tensorflow as tf

    rng = np.random.RandomState(SEED)
    res = G.resolution
    noise = [tf.Variable(layer.noise(1, "const", tf.float32), name=f"noise{i}")
             for i, layer in enumerate(G.synthesis.synthesis_layers())]

    def randn(*shape):
        return tf.constant(rng.randn(*shape).astype(np.float32))

    @tf.function
    def g_fwd(z):
        return [G.synthesis(G.mapping(z), noise_mode="const")]

    @tf.function
    def g_fwd_bwd(inputs):
        ws, target = inputs
        with tf.GradientTape() as tape:
            tape.watch(ws)
            loss = tf.reduce_sum(G.synthesis(ws, noise=noise) * target)
        return tape.gradient(loss, [ws] + noise)

    def mapped(batch):
        return G.mapping(randn(batch, G.z_dim)), randn(batch, res, res, 3)

    @tf.function
    def d_fwd(img):
        return [D(img)]

    @tf.function
    def d_fwd_bwd(img):
        with tf.GradientTape() as tape:
            tape.watch(img)
            loss = tf.reduce_sum(D(img))
        return [tape.gradient(loss, img)]

    return {"G_fwd": (lambda b: randn(b, G.z_dim), g_fwd), "G_fwd_bwd": (mapped, g_fwd_bwd),
            "D_fwd": (lambda b: randn(b, res, res, 3), d_fwd),
            "D_fwd_bwd": (lambda b: randn(b, res, res, 3), d_fwd_bwd)}


def run_project_side(spec):
    """The child process: checks, then times the project; one JSON line."""
    import contextlib

    from toonemo_lib.stylegan2 import fastconv

    import tensorflow as tf

    G, D = load_networks(spec["pickle"])
    expected = expected_outputs(spec["pickle"])
    result = {"version": f"TensorFlow {tf.__version__}"}
    if expected is not None:
        result["errors"] = check_outputs(G, D, expected)
    parts = project_parts(G, D)
    with fastconv.plain_convolutions() if spec["plain"] else contextlib.nullcontext():
        for part in spec["parts"]:
            make, run = parts[part]
            result[part] = {str(b): timed(lambda b=b: make(b), run, spec["runs"])
                            for b in spec["batches"]}
    print(json.dumps(result), flush=True)


# --------------------------------------------------------------------------- layers


def bench_layers(spec):
    """Each synthesis layer's fast form against the plain one (median ms, alternated calls)."""
    import tensorflow as tf

    from toonemo_lib.stylegan2 import fastconv

    G, _ = load_networks(spec["pickle"])
    S = G.synthesis
    for batch in spec["batches"]:
        ws = G.mapping(np.random.RandomState(SEED).randn(batch, G.z_dim).astype(np.float32))
        x, img = S.input_block(ws)
        for block in S.blocks:
            y = block.conv0_up(x, ws[:, 0])
            for name, layer, inp in (("Conv0_up", block.conv0_up, x), ("Conv1", block.conv1, y)):
                fast = tf.function(lambda a, layer=layer: layer(a, ws[:, 0]))
                with fastconv.plain_convolutions():
                    plain = tf.function(lambda a, layer=layer: layer(a, ws[:, 0]))
                    np.asarray(plain(inp))
                np.asarray(fast(inp))
                times = {"fast": [], "plain": []}
                for _ in range(spec["runs"]):
                    for key, fn in (("fast", fast), ("plain", plain)):
                        start = time.perf_counter()
                        np.asarray(fn(inp))
                        times[key].append(time.perf_counter() - start)
                f_ms, p_ms = (statistics.median(times[k]) * 1e3 for k in ("fast", "plain"))
                path = fastconv.fast_path(inp, layer.conv.weight, layer.conv.up, [1, 3, 3, 1])
                print(f"batch {batch}  {block.name:>9} {name:<8} input {str(tuple(inp.shape)):<20} "
                      f"{path or 'plain':<8}  fast form {f_ms:8.1f} ms  plain {p_ms:8.1f} ms  "
                      f"x{p_ms / f_ms:.2f}", flush=True)
            x, img = block(x, img, ws)


# --------------------------------------------------------------------------- driver


def run_side(command, spec):
    env = dict(MALLOC, **os.environ)
    done = subprocess.run(command + [json.dumps(spec)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{command[1]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def images_per_s(times, batch):
    return batch / statistics.median(times)


def report(rounds, spec):
    """The table: project (and official) images/s per part and batch, ratios with their range."""
    print("\n" + "; ".join(f"{side}: {rounds[0][side]['version']}" for side in ("project", "official")
                           if side in rounds[0]))
    print(f"\n{'part':<10} {'batch':>5} {'project img/s':>22} {'official img/s':>22} "
          f"{'project / official':>26}")
    for part in spec["parts"]:
        for b in map(str, spec["batches"]):
            ours = [images_per_s(r["project"][part][b], int(b)) for r in rounds]
            line = f"{part:<10} {b:>5} {statistics.median(ours):8.3f} ({min(ours):.3f}-{max(ours):.3f})"
            if all("official" in r for r in rounds):
                theirs = [images_per_s(r["official"][part][b], int(b)) for r in rounds]
                ratios = [o / t for o, t in zip(ours, theirs)]
                line += (f" {statistics.median(theirs):8.3f} ({min(theirs):.3f}-{max(theirs):.3f})"
                         f"   x{statistics.median(ratios):.2f} (x{min(ratios):.2f}-x{max(ratios):.2f})")
            print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pickle", default=os.environ.get("TOONEMO_CONFIGF256"),
                        help="the config-f 256 TF1 pickle (default: TOONEMO_CONFIGF256)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds of both sides")
    parser.add_argument("--runs", type=int, default=5, help="timed calls per part and batch size")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    parser.add_argument("--plain", action="store_true", help="the project without fastconv")
    parser.add_argument("--layers", action="store_true", help="per-layer fast vs plain forms")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is None:
        from toonemo_lib.cpu import describe_cpu

        print(describe_cpu(), flush=True)

    if args.side:  # a child process of this script
        return run_project_side(json.loads(args.side))
    spec = dict(pickle=args.pickle, runs=args.runs, parts=args.parts, batches=args.batches,
                plain=args.plain)
    if args.layers:
        return bench_layers(spec)
    python, checkout = os.environ.get("TOONEMO_PEER_PYTHON"), os.environ.get("TOONEMO_STYLEGAN2_ADA")
    peer = bool(args.pickle and python and checkout)
    print(f"network: {args.pickle or 'config-f 256 with random weights'}; {os.cpu_count()} CPUs; "
          f"{args.rounds} rounds of {args.runs} timed calls"
          + ("" if peer else "; no peer (needs --pickle, TOONEMO_PEER_PYTHON, TOONEMO_STYLEGAN2_ADA)"))
    rounds = []
    for i in range(args.rounds):
        result = {}
        if peer:
            result["official"] = run_side([python, str(PEER_SCRIPT)], dict(spec, checkout=checkout))
        result["project"] = run_side([sys.executable, __file__, "--side"], spec)
        errors = result["project"].get("errors")
        print(f"round {i + 1} done" + (f"; largest differences to the official outputs: "
                                       f"{json.dumps({k: f'{v:.1e}' for k, v in errors.items()})}"
                                       if errors else ""), flush=True)
        rounds.append(result)
    report(rounds, spec)


if __name__ == "__main__":
    main()
