"""StyleGAN2 training: exact resume, replicas, FreezeD, ADA, transfer, the run folder, the CLI."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from conftest import PROJECT_ROOT, shared_root
from toonemo_lib.cli import main
from toonemo_lib.datasets.synthetic import coloured_discs
from toonemo_lib.datasets.tfrecords import write_zip
from toonemo_lib.stylegan2 import load_official_pickle
from toonemo_lib.stylegan2.presets import config_preset
from toonemo_lib.stylegan2.snapshot import list_snapshots, load_snapshot, snapshot_name
from toonemo_lib.stylegan2.spec import RunSpec
from toonemo_lib.stylegan2.fastconv import on_gpu
from toonemo_lib.stylegan2.dataset import load_training_images, minibatch, minibatch_indices
from toonemo_lib.stylegan2.run_folder import RunMismatchError, check_same_run
from toonemo_lib.stylegan2.train import TrainingSession, continue_run, train
from toonemo_lib.stylegan2.trainer import Trainer, freeze_layers
from toonemo_lib.cli.train import PRESET_NAMES


# Training a network for kimg on 2 CPU cores takes tens of minutes: the learning test runs
# with TOONEMO_SLOW_TESTS=1.
slow = pytest.mark.skipif(not os.environ.get("TOONEMO_SLOW_TESTS"),
                          reason="slow (20 minutes of training); set TOONEMO_SLOW_TESTS=1 to run it")


def small_config(resolution=8, batch=4):
    """A network small enough that a step takes milliseconds: the graph, not the maths, costs."""
    config = config_preset("tiny", resolution, batch=batch)
    config.fmap_base, config.fmap_max, config.latent_size = 64, 16, 16
    config.dlatent_size = config.mapping_fmaps = 16
    return config


def weights(trainer):
    nets = (trainer.G, trainer.D, trainer.G_ema)
    return [v.numpy().copy() for net in nets for v in net.weights]


@pytest.fixture(scope="module")
def discs():
    return coloured_discs(24, 8, seed=1)


def test_mixed_precision_trains_float16_blocks_with_float32_weights(tmp_path):
    """stylegan2-ada's mixed precision: the highest resolution computes in float16 in G and
    D alike, every phase runs, the weights stay float32, and a snapshot keeps the precision.
    (On a CPU a trainer computes in float32 unless asked: float16 is emulated there.)"""
    config = small_config(resolution=16)
    config.num_fp16_res, config.conv_clamp, config.r1_interval, config.pl_interval = 1, 256.0, 2, 2
    assert Trainer(config, aug="noaug").mixed_precision == on_gpu()
    trainer = Trainer(config, aug="fixed", p=0.5, seed=0, mixed_precision=True)
    assert [b.compute_dtype for b in trainer.G.synthesis.blocks] == ["float32", "float16"]   # 8x8, 16x16
    assert [b.compute_dtype for b in trainer.D.blocks] == ["float16", "float32"]             # 16x16, 8x8
    discs = coloured_discs(8, 16, seed=1)
    before = weights(trainer)
    stats = [trainer.step(minibatch(discs, i, config.batch, 0, True)) for i in range(3)]
    assert {"loss_G", "pl_penalty", "loss_D", "r1_penalty"} <= set(stats[0])
    assert all(np.isfinite(float(v)) for step in stats for v in step.values())
    after = weights(trainer)
    assert all(w.dtype == np.float32 and np.isfinite(w).all() for w in after)
    assert sum(not np.array_equal(a, b) for a, b in zip(before, after)) > len(after) // 2
    snap = load_snapshot(trainer.save(tmp_path / "snap.npz", tick=0))
    assert snap.D.get_config()["num_fp16_res"] == snap.G.get_config()["num_fp16_res"] == 1
    assert snap.D.conv_clamp == 256.0


def test_the_paper_presets_train_in_mixed_precision_the_cpu_presets_in_float32():
    assert config_preset("paper1024", 1024).precision_kwargs() == dict(num_fp16_res=4, conv_clamp=256.0)
    assert config_preset("auto", 256).discriminator_kwargs()["num_fp16_res"] == 4
    assert config_preset("tiny", 64).generator_kwargs()["num_fp16_res"] == 0


def test_resume_from_a_snapshot_equals_the_straight_run(discs, tmp_path):
    """N + N minibatches with a restore from the snapshot in between == 2N straight.

    Every phase runs (R1 every 3rd minibatch, path length every 2nd), the augmentation is
    on with a fixed p, and the trainer restored is the one that already ran 2N minibatches
    (its weights, optimizer moments, random state and counters all moved on), so only
    what the snapshot holds can make the second half repeat itself.
    """
    config = small_config()
    config.r1_interval, config.pl_interval = 3, 2
    trainer = Trainer(config, aug="fixed", p=0.5, seed=3)

    def run(start, stop):
        for i in range(start, stop):
            trainer.step(minibatch(discs, i, config.batch, 0, True))

    run(0, 4)
    trainer.save(tmp_path / "snap.npz", tick=0)
    run(4, 8)
    straight, straight_pl = weights(trainer), float(trainer.pl_mean.numpy())
    trainer.restore(load_snapshot(tmp_path / "snap.npz"))
    assert trainer.cur_nimg == 4 * config.batch and trainer.batch_idx == 4
    run(4, 8)
    for a, b in zip(straight, weights(trainer)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert float(trainer.pl_mean.numpy()) == pytest.approx(straight_pl, abs=1e-7)
    assert straight_pl > 0  # the path-length phase did run


def test_two_replicas_make_the_step_of_one(tmp_path):
    """One step on two logical CPUs (MirroredStrategy) equals one on one device, same global batch.

    Run in a fresh interpreter: logical devices must be set before TensorFlow starts.  The
    minibatch-stddev layer is off (its groups would span replicas differently) and the
    tolerance is float32 round-off from summing the replicas' gradients in another order,
    magnified by Adam's first step (|update| = lr * g / (|g| + eps)).
    """
    script = textwrap.dedent("""
        import json, sys
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.path.insert(0, "tests")
        from test_stylegan2_train import small_config, weights
        from toonemo_lib.datasets.synthetic import coloured_discs
        from toonemo_lib.stylegan2.trainer import Trainer
        config = small_config(batch=4)
        config.mbstd = 1
        reals = coloured_discs(4, 8, seed=2)
        out = []
        for strategy in (tf.distribute.get_strategy(),
                         tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])):
            trainer = Trainer(config, aug="fixed", p=0.5, seed=5, strategy=strategy)
            stats = trainer.step(reals)  # minibatch 0: all four phases
            out.append(([w for w in weights(trainer)], {k: float(v) for k, v in stats.items()},
                        float(trainer.pl_mean.numpy()), trainer.replicas))
        (a, sa, pa, ra), (b, sb, pb, rb) = out
        diff = max(float(np.abs(x - y).max()) for x, y in zip(a, b))
        print(json.dumps(dict(replicas=[ra, rb], diff=diff, pl=[pa, pb], stats=[sa, sb])))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == [1, 2]
    assert result["diff"] < 1e-4
    assert result["pl"][0] == pytest.approx(result["pl"][1], rel=1e-5)
    for key, value in result["stats"][0].items():
        assert result["stats"][1][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


def test_freezed_layers_stay_put_and_ada_raises_p_when_d_always_says_real(discs):
    config = small_config()
    config.gamma = config.pl_weight = 0  # the main phases are enough here
    trainer = Trainer(config, aug="ada", freezed=2, seed=0)
    frozen = freeze_layers(trainer.D, 2)
    assert [v.path.split("/")[-2:] for v in frozen][0][0] == "FromRGB"
    # A D whose output bias is huge calls everything real: E[sign(D(real))] = 1 > 0.6.
    trainer.D.output_layer.bias.assign(np.full(trainer.D.output_layer.bias.shape, 1e4, np.float32))
    trainer.d_vars = [v for v in trainer.d_vars if v is not trainer.D.output_layer.bias]
    before = {id(v): v.numpy().copy() for v in trainer.D.trainable_variables}
    for i in range(8):
        trainer.step(minibatch(discs, i, config.batch, 0, False))
    for var in trainer.D.trainable_variables:
        moved = not np.array_equal(before[id(var)], var.numpy())
        if any(var is f for f in frozen) or var is trainer.D.output_layer.bias:
            assert not moved, var.path
    assert any(not np.array_equal(before[id(v)], v.numpy()) for v in trainer.d_vars)
    # p += batch * 4 / (500 kimg * 1000) at minibatches 4 and 8.
    expected = 2 * config.batch * 4 / 500_000
    assert trainer.ada.p == pytest.approx(expected)
    assert float(trainer.pipe.p.numpy()) == pytest.approx(expected)
    # The run stops on a non-finite statistic or weight (and writes no snapshot of it).
    assert trainer.is_finite({"loss_G": [0.7, 0.6]})
    assert not trainer.is_finite({"loss_G": [0.7, float("inf")]})
    var = trainer.G.trainable_variables[0]
    var.assign(np.full(var.shape, np.nan, np.float32))
    assert not trainer.is_finite({"loss_G": [0.7]})


def test_warm_start_copies_the_smaller_pairs_shared_layers_and_leaves_the_new_ones():
    small = Trainer(small_config(resolution=8), seed=5)
    for i in range(2):  # trained a little, so its weights differ from any fresh initialisation
        small.step(minibatch(coloured_discs(8, 8, seed=2), i, 4, 0, True))
    fresh = Trainer(small_config(resolution=16), seed=0)
    grown = Trainer(small_config(resolution=16), seed=0)
    copied = grown.warm_start(small.G_ema, small.D)
    assert copied["G"] == copied["Gs"] == len(small.G.tf1_variables())  # every G weight of the 8x8 net
    assert copied["D"] == len(small.D.tf1_variables()) - 2  # all but FromRGB (weight, bias)
    source, target = small.G_ema.tf1_variables(), grown.G_ema.tf1_variables()
    for name in ("mapping/Dense0/weight", "synthesis/4x4/Conv/weight", "synthesis/8x8/ToRGB/weight"):
        np.testing.assert_array_equal(target[name].numpy(), source[name].numpy())
    untouched = fresh.G.tf1_variables()
    for name in ("synthesis/16x16/Conv1/weight", "synthesis/16x16/ToRGB/weight"):
        np.testing.assert_array_equal(grown.G.tf1_variables()[name].numpy(), untouched[name].numpy())
    np.testing.assert_array_equal(grown.D.tf1_variables()["8x8/Conv0/weight"].numpy(),
                                  small.D.tf1_variables()["8x8/Conv0/weight"].numpy())
    np.testing.assert_array_equal(grown.D.tf1_variables()["16x16/FromRGB/weight"].numpy(),
                                  fresh.D.tf1_variables()["16x16/FromRGB/weight"].numpy())
    other = Trainer(config_preset("tiny", 8, batch=4))  # 64 channels: no shape matches
    with pytest.raises(ValueError, match="does not fit this network"):
        grown.warm_start(other.G, other.D)


def test_freezed_refuses_more_layers_than_d_has():
    from toonemo_lib.stylegan2 import Discriminator

    with pytest.raises(ValueError, match="layers"):
        freeze_layers(Discriminator(resolution=8, fmap_base=64, fmap_max=16), 100)


def test_minibatches_walk_through_permuted_epochs():
    seen = np.concatenate([minibatch_indices(10, i, 4, seed=0, mirror=False)[0] for i in range(5)])
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:20]) == list(range(10))
    index, flip = minibatch_indices(10, 0, 20, seed=0, mirror=True)
    assert flip.sum() == 10 and sorted(index) == sorted(list(range(10)) * 2)


def test_snapshot_names_follow_nvidia_and_stay_apart_within_a_kimg():
    assert snapshot_name(4032) == "network-snapshot-000004"
    assert snapshot_name(200, taken={"network-snapshot-000000"}) == "network-snapshot-000000.200"


def test_cli_presets_are_the_training_presets():
    from toonemo_lib.stylegan2.presets import PRESET_NAMES as names

    assert PRESET_NAMES is names and "tiny" in names


# --------------------------------------------------------------------------- transfer and the run folder


@pytest.fixture(scope="module")
def tiny_a():
    path = shared_root() / "reference" / "stylegan2" / "tiny_a.pkl"
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared reference fixtures; set TOONEMO_SHARED)")
    return path


@pytest.fixture(scope="module")
def discs32_zip(tmp_path_factory):
    return write_zip(coloured_discs(16, 32, seed=4), tmp_path_factory.mktemp("data") / "discs32.zip")


def test_transfer_starts_from_exactly_the_pickles_networks(tiny_a):
    nets = load_official_pickle(tiny_a)
    config = config_preset("tiny", 32, batch=4)
    trainer = Trainer(config, G_config=nets.G.get_config(), D_config=nets.D.get_config(),
                      aug="ada", resumed=True)
    trainer.load_networks(nets.G, nets.D, nets.Gs)
    z = np.random.default_rng(0).standard_normal((3, nets.Gs.latent_size)).astype(np.float32)
    np.testing.assert_array_equal(trainer.G_ema(z).numpy(), nets.Gs(z).numpy())
    np.testing.assert_array_equal(trainer.D(nets.Gs(z)).numpy(), nets.D(nets.Gs(z)).numpy())
    assert trainer.ada.ada_kimg == 100  # NVIDIA's ADA reacts faster when resuming


def test_cli_fine_tunes_tiny_a_then_continues_the_run(tiny_a, discs32_zip, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", str(discs32_zip), "--out", str(out), "--resume", str(tiny_a),
            "--batch", "4", "--snap", "1", "--tick-kimg", "0.02"]
    assert main(args + ["--kimg", "0.032"]) == 0
    for name in ("reals.png", "fakes_init.png", "config.json", "log.csv"):
        assert (out / name).is_file(), name
    log = pd.read_csv(out / "log.csv")
    assert np.isfinite(log[["loss_G", "loss_D"]].to_numpy()).all()
    assert log["kimg"].iloc[-1] == pytest.approx(0.032)
    snaps = list_snapshots(out)
    assert len(snaps) == len(log) and (out / f"fakes{snaps['name'].iloc[-1][17:]}.png").is_file()
    # The same command with more kimg continues: the log goes on, the counters too.
    assert main(args + ["--kimg", "0.064"]) == 0
    log2 = pd.read_csv(out / "log.csv")
    assert len(log2) > len(log) and log2["kimg"].is_monotonic_increasing
    assert log2["kimg"].iloc[-1] == pytest.approx(0.064)
    assert load_snapshot(list_snapshots(out)["path"].iloc[-1]).state["cur_nimg"] == 64
    # The snapshot's G_ema differs from the pickle's: it trained.
    assert not np.array_equal(load_snapshot(snaps["path"].iloc[-1]).Gs.tf1_variables()[
        "synthesis/32x32/Conv1/weight"].numpy(), load_official_pickle(tiny_a).Gs.tf1_variables()[
        "synthesis/32x32/Conv1/weight"].numpy())


def test_a_carried_run_continues_in_a_new_run_folder(discs32_zip, tmp_path):
    """What a run longer than a session does: refresh its carry folder at every snapshot, lose
    its run folder with the session, continue from the carry folder in the next."""
    carry = tmp_path / "checkpoints" / "discs"
    args = ["train", "--data", str(discs32_zip), "--cfg", "tiny", "--batch", "4", "--tick-kimg", "0.016",
            "--carry", str(carry)]
    assert main(args + ["--out", str(tmp_path / "session1"), "--kimg", "0.032"]) == 0
    kept = sorted(p.name for p in carry.iterdir())
    assert kept == ["config.json", "log.csv", "network-snapshot-000000.032.npz"]  # the newest snapshot alone
    assert main(args + ["--out", str(tmp_path / "session2"), "--kimg", "0.048"]) == 0
    log = pd.read_csv(tmp_path / "session2" / "log.csv")
    assert log["kimg"].tolist() == pytest.approx([0.004, 0.02, 0.032, 0.048])  # continued, not restarted
    assert load_snapshot(list_snapshots(carry)["path"].iloc[-1]).state["cur_nimg"] == 48
    assert len(list_snapshots(carry)) == 1


def test_resume_run_dir_continues_a_carried_run_from_its_folder_alone(discs32_zip, tmp_path, capsys):
    """`toonemo train --resume data/checkpoints/<run> --out runs/<run>`: the next session repeats
    no setting; the data may have moved (same fingerprint); another identity is refused."""
    carry = tmp_path / "checkpoints" / "discs"
    assert main(["train", "--data", str(discs32_zip), "--cfg", "tiny", "--batch", "4", "--tick-kimg", "0.016",
                 "--out", str(tmp_path / "session1"), "--kimg", "0.032", "--carry", str(carry)]) == 0
    spec = RunSpec.from_json((carry / "config.json").read_text())
    assert (spec.cfg, spec.batch, spec.tick_kimg, spec.kimg, spec.carry) == ("tiny", 4, 0.016, 0.032, str(carry))
    moved = tmp_path / "elsewhere.zip"
    moved.write_bytes(discs32_zip.read_bytes())
    session2 = tmp_path / "session2"
    assert main(["train", "--resume", str(carry), "--out", str(session2), "--kimg", "0.048", "--data", str(moved)]) == 0
    log = pd.read_csv(session2 / "log.csv")
    assert log["kimg"].tolist() == pytest.approx([0.004, 0.02, 0.032, 0.048])  # continued, not restarted
    recorded = json.loads((session2 / "config.json").read_text())
    assert recorded["data"] == str(moved) and recorded["kimg"] == 0.048 and recorded["cfg"] == "tiny"
    newest = load_snapshot(list_snapshots(carry)["path"].iloc[-1])  # the carry folder kept up
    assert newest.state["cur_nimg"] == 48 and RunSpec.from_dict(newest.state["spec"]) == RunSpec.from_dict(recorded)
    capsys.readouterr()
    assert main(["train", "--resume", str(session2), "--cfg", "small"]) == 1  # another run's identity
    assert "cfg: 'tiny' there, 'small' now" in capsys.readouterr().err
    other = write_zip(coloured_discs(16, 32, seed=9), tmp_path / "other.zip")
    assert main(["train", "--resume", str(session2), "--data", str(other)]) == 1  # other images
    assert "data_fingerprint" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 1  # a folder without config.json
    assert "holds no config.json" in capsys.readouterr().err
    assert main(["train", "--cfg", "tiny"]) == 2  # no --data, --out, nor a run folder to continue


def test_a_session_keeps_the_trainer_for_the_next_call(discs32_zip, tmp_path):
    spec = RunSpec(data=discs32_zip, cfg="tiny", batch=4, kimg=0.004, tick_kimg=0.004, aug="noaug")
    session = TrainingSession()
    train(spec, tmp_path / "run", session=session, progress=False)
    first = session.trainer
    log = continue_run(tmp_path / "run", kimg=0.008, session=session, progress=False)
    assert session.trainer is first and log["kimg"].tolist() == pytest.approx([0.004, 0.008])
    with pytest.raises(TypeError, match="RunSpec"):
        train(str(discs32_zip), tmp_path / "other")


def test_cli_errors(discs32_zip, tiny_a, tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nothing.zip"), "--out", str(tmp_path / "r")]) == 1
    assert "no data set" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--data", str(empty), "--out", str(tmp_path / "r")]) == 1
    assert "error" in capsys.readouterr().err
    small = write_zip(coloured_discs(4, 16), tmp_path / "discs16.zip")
    assert main(["train", "--data", str(small), "--out", str(tmp_path / "r"), "--resume", str(tiny_a)]) == 1
    err = capsys.readouterr().err
    assert "16x16" in err and "32x32" in err
    assert main(["train", "--data", str(small), "--out", str(tmp_path / "r"), "--tick-kimg", "0"]) == 2
    assert main(["train", "--data", str(small), "--out", str(tmp_path / "r"), "--metrics", "fidd"]) == 2
    with pytest.raises(SystemExit):
        main(["train", "--data", str(small), "--out", str(tmp_path / "r"), "--cfg", "huge"])
    assert main(["train", "--data", str(small), "--out", str(tmp_path / "r"), "--resume", str(tiny_a),
                 "--warm-start", "shipped-faces"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main(["train", "--data", str(small), "--out", str(tmp_path / "r"), "--warm-start", "nothing.npz"]) == 1
    assert "--warm-start nothing.npz" in capsys.readouterr().err


def test_fer2013_data_spec_gives_training_and_publictest_as_rgb_at_the_asked_size(tmp_path, monkeypatch):
    from toonemo_lib.datasets.fer2013 import write_fer2013_npz

    grey = (np.arange(5 * 48 * 48) % 251).astype(np.uint8).reshape(5, 48, 48)
    labels = np.arange(5) % 7
    splits = {"train": (grey[:3], labels[:3]), "val": (grey[3:], labels[3:])}
    monkeypatch.setenv("TOONEMO_FER2013", str(write_fer2013_npz(tmp_path / "fer.npz", splits)))
    faces = load_training_images("fer2013:16")
    assert faces.shape == (5, 16, 16, 3) and faces.dtype == np.uint8
    assert (faces[..., 0] == faces[..., 2]).all()  # grey stored as RGB
    np.testing.assert_array_equal(load_training_images("fer2013:48")[..., 1], grey)
    with pytest.raises(ValueError, match="fer2013:64"):
        load_training_images("fer2013:big")
    monkeypatch.setenv("TOONEMO_FER2013", str(tmp_path / "absent.npz"))
    with pytest.raises(FileNotFoundError, match="TOONEMO_FER2013"):
        load_training_images("fer2013:64")


def test_a_folder_with_another_run_is_refused(tmp_path):
    identity = dict(data_fingerprint="abc", resolution=8, cfg="tiny", batch=2, gamma=1.0,
                    aug="ada", p=None, mirror=False, freezed=0, seed=0, resume=None)
    check_same_run(tmp_path, identity)  # an empty folder is a new run
    (tmp_path / "config.json").write_text(json.dumps(dict(identity, data="a.zip")))
    check_same_run(tmp_path, identity)  # the same run continues
    with pytest.raises(RunMismatchError, match="data_fingerprint"):
        check_same_run(tmp_path, dict(identity, data_fingerprint="def"))
    with pytest.raises(RunMismatchError, match="gamma"):
        check_same_run(tmp_path, dict(identity, gamma=3.0))


@slow
def test_a_tiny_network_learns_coloured_discs_from_scratch(tmp_path):
    """The learning test: 32x32 discs, --cfg tiny from scratch, 2.5 kimg on the CPU.

    The statistic is the colour-histogram distance (4 bins per channel, total variation)
    between 256 images of a snapshot's G_ema and the data set: a fresh generator's grey
    noise is about 0.77 from the discs, 256 other discs about 0.03.  It must move at least
    halfway from the first snapshot (after one minibatch, as fakes_init.png) toward the
    data's own floor.  Early GAN training oscillates (D wins for a while, then G catches
    up), so the check is on the last snapshot of a run long enough to be past that.
    """
    from toonemo_lib.stylegan2.generate import generate_images
    from toonemo_lib.stylegan2.metrics import colour_histogram_distance

    reals = coloured_discs(1000, 32, seed=0)
    spec = RunSpec(data=write_zip(reals, tmp_path / "discs.zip"), cfg="tiny", kimg=2.5, tick_kimg=0.5, aug="noaug")
    log = train(spec, tmp_path / "run", progress=False)
    assert np.isfinite(log[["loss_G", "loss_D"]].to_numpy()).all()
    table = list_snapshots(tmp_path / "run")

    def distance(path):
        images = generate_images(load_snapshot(path).Gs, range(256), batch_size=64)
        return colour_histogram_distance(images, reals, bins=4)

    first, last = distance(table["path"].iloc[0]), distance(table["path"].iloc[-1])
    floor = colour_histogram_distance(coloured_discs(256, 32, seed=5), reals, bins=4)
    assert first > 0.6 and floor < 0.1
    assert last <= (first + floor) / 2, (first, last, floor)
