"""Training snapshots: the file, the list of a run's snapshots, and the picker built on them."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from toonemo_lib.datasets.synthetic import coloured_discs  # noqa: E402
from toonemo_lib.stylegan2 import Discriminator, Generator, generate_images  # noqa: E402
from toonemo_lib.stylegan2.snapshot import (layout_similarity, list_snapshots, load_snapshot,  # noqa: E402
                                            pick_snapshot, snapshot_fakes, write_snapshot)
from toonemo_lib.plots import plot_training_log  # noqa: E402
from toonemo_lib.stylegan2.plots import plot_snapshot_grid, snapshot_picker  # noqa: E402


def small_nets(seed):
    kwargs = dict(resolution=8, fmap_base=64, fmap_max=16)
    G = Generator(latent_size=16, dlatent_size=16, mapping_fmaps=16, mapping_layers=2, seed=seed, **kwargs)
    return G, Discriminator(seed=seed, **kwargs)


@pytest.fixture
def run_dir(tmp_path):
    for nimg, seed in ((4, 0), (200, 1), (4032, 2)):
        G, D = small_nets(seed)
        name = {4: "network-snapshot-000000", 200: "network-snapshot-000000.200",
                4032: "network-snapshot-000004"}[nimg]
        write_snapshot(tmp_path / f"{name}.npz", {"G": G, "D": D, "Gs": G},
                       {"rng_state": np.arange(3)}, {"cur_nimg": nimg})
    return tmp_path


def test_a_snapshot_gives_back_its_networks_and_state(run_dir):
    snap = load_snapshot(run_dir / "network-snapshot-000004.npz")
    G, _ = small_nets(2)
    assert snap.state == {"cur_nimg": 4032}
    np.testing.assert_array_equal(generate_images(snap.Gs, [0, 1]), generate_images(G, [0, 1]))
    assert snap.D.resolution == 8 and list(snap.arrays["rng_state"]) == [0, 1, 2]
    assert not list(run_dir.glob("*.part"))  # written through a temporary name


def test_snapshots_are_listed_in_training_order(run_dir):
    table = list_snapshots(run_dir)
    assert list(table["kimg"]) == [0.0, 0.2, 4.0]
    assert list(list_snapshots(run_dir / "nothing")["name"]) == []


def test_other_files_are_refused_clearly(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_snapshot(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable"):
        load_snapshot(tmp_path / "bad.npz")
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a training snapshot"):
        load_snapshot(tmp_path / "plain.npz")


def test_the_picker_shows_the_base_beside_each_snapshot(run_dir):
    base, _ = small_nets(7)
    fakes = snapshot_fakes(list_snapshots(run_dir), [0, 1], base=base)
    assert list(fakes) == ["base", "network-snapshot-000000", "network-snapshot-000000.200",
                           "network-snapshot-000004"]
    assert all(images.shape == (2, 8, 8, 3) and images.dtype == np.uint8 for images in fakes.values())
    fig = plot_snapshot_grid(fakes, [0, 1])
    assert len(fig.axes) == 8
    widget = snapshot_picker(run_dir, [0, 1], base=base)
    widget.children[0].value = 1
    assert list(widget.result) == ["base", "network-snapshot-000000.200"]
    np.testing.assert_array_equal(widget.result["base"], fakes["base"])


def test_the_log_plot_has_a_panel_per_quantity():
    log = pd.DataFrame(dict(kimg=[0.0, 0.1], loss_G=[1.0, 0.8], loss_D=[1.2, 1.1], r1=[0.1, np.nan],
                            pl=[0.5, 0.4], pl_mean=[0.01, 0.02], p=[0.0, 0.01], fed_emotion=[30.0, 20.0]))
    assert len(plot_training_log(log, metric="fed_emotion").axes) == 4
    assert len(plot_training_log(log).axes) == 3


def test_coloured_discs_are_bright_discs_on_a_dark_background():
    images = coloured_discs(6, 32, seed=0)
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.max() < 45 and images.reshape(6, -1).max(axis=1).min() > 150
    np.testing.assert_array_equal(images, coloured_discs(6, 32, seed=0))


def test_snapshot_kimg_reads_nvidias_names_and_nothing_else():
    from toonemo_lib.stylegan2.snapshot import snapshot_kimg
    from toonemo_lib.stylegan2.plots import _snapshot_title

    assert snapshot_kimg("network-snapshot-000012.npz") == 12.0
    assert snapshot_kimg("network-snapshot-000000.064") == 0.064
    assert snapshot_kimg("base") is None and snapshot_kimg("network-snapshot-12.npz") is None
    assert _snapshot_title("network-snapshot-000002.504") == "kimg 2.504" and _snapshot_title("base") == "base"


def test_layout_similarity_ignores_brightness_but_not_where_things_are():
    faces = generate_images(small_nets(0)[0], range(6))
    assert layout_similarity(faces, faces) == pytest.approx(1.0, abs=1e-4)
    assert layout_similarity(faces, 255 - faces) == pytest.approx(-1.0, abs=1e-4)
    assert layout_similarity(faces, faces // 2 + 60) == pytest.approx(1.0, abs=0.01)
    assert layout_similarity(faces, faces[:, ::-1]) < 0.9


def test_the_pick_is_the_snapshot_that_took_the_datas_colours_and_kept_the_face(tmp_path):
    base, D = small_nets(7)
    recoloured, _ = small_nets(7)       # the base drawn in other colours: the same layout
    recoloured.synthesis.tf1_variables()["8x8/ToRGB/bias"].assign_add([0.4, -0.2, 0.1])
    stranger, _ = small_nets(3)          # another face altogether
    for name, G in (("network-snapshot-000001", stranger), ("network-snapshot-000002", recoloured)):
        write_snapshot(tmp_path / f"{name}.npz", {"G": G, "D": D, "Gs": G}, {"rng_state": np.arange(3)}, {})
    reals = generate_images(recoloured, range(1000, 1100))
    table = pick_snapshot(list_snapshots(tmp_path), base, reals, samples=32)
    assert list(table["name"]) == ["base", "network-snapshot-000001", "network-snapshot-000002"]
    assert table.loc[2, "toward_data"] == 1.0 and table.loc[2, "layout"] > 0.9 > table.loc[1, "layout"]
    assert table["picked"].tolist() == [False, False, True]
    with pytest.raises(ValueError, match="train longer"):
        pick_snapshot(list_snapshots(tmp_path)[:0], base, reals, samples=8)
