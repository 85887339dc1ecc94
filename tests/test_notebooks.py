"""Every notebook, executed headlessly with papermill in the `smoke` profile.

Each notebook records values with `toonemo_lib.records.record`; the checks below
assert on those values and on the files the notebook wrote, not only that it ran.
A new notebook needs an entry in CHECKS.
"""

import json

import cv2
import pytest

from toonemo_lib import course
from toonemo_lib.config import NOTEBOOKS_DIR, get_profile
from toonemo_lib.dry_run import write_stand_ins
from toonemo_lib.records import read_records

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def _png(path):
    image = cv2.imread(str(path))
    assert image is not None, f"{path.name} is not a readable PNG"
    return image


def _check_figures(records, out_dir, expected):
    """Every expected figure was recorded and written as a real picture, not a sliver."""
    assert expected <= set(records["figures"])
    for name in expected:
        height, width, _ = _png(out_dir / name).shape
        assert height > 100 and width > 200


NOISE = ("cuInit", "CUDA error", "cuda drivers", "absl::", "XNNPACK", "Assets written", "triggered tf.function retracing")  # see test_quiet_output.py


def _executed(out_dir):
    """The executed notebook whose files are in ``out_dir`` (run_notebook writes both side by side)."""
    import nbformat

    return nbformat.read(str(out_dir.with_suffix(".ipynb")), as_version=4)


def _assert_quiet(nb):
    """No TensorFlow start-up noise in the stream or error outputs of an executed notebook."""
    texts = [o.get("text", "") if o.output_type == "stream" else "\n".join(o.get("traceback", []))
             for c in nb.cells for o in c.get("outputs", []) if o.output_type in ("stream", "error")]
    noisy = [line for text in texts for line in text.splitlines() if any(n in line for n in NOISE)]
    assert not noisy, f"noise in the notebook's outputs: {noisy[:3]}"


def _assert_static_stand_in(nb):
    """Without a front end (SHOW_WIDGETS is False) the widget cell says so and the figure before it is drawn.

    tests/browser runs the same notebooks in JupyterLab with SHOW_WIDGETS = True and moves the widgets.
    """
    cells = [c for c in nb.cells if c.cell_type == "code"]
    (i,) = [k for k, c in enumerate(cells) if c.source.startswith("if SHOW_WIDGETS")]
    outputs = cells[i].get("outputs", [])
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert any("SHOW_WIDGETS is False" in o.get("text", "") for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in cells[i - 1].get("outputs", [])), "no static figure"


def check_01(records, out_dir):
    nb = _executed(out_dir)
    _assert_quiet(nb)
    _assert_static_stand_in(nb)
    # section 10 shows its parameter table (the prose after it discusses the numbers)
    (table_cell,) = [c for c in nb.cells if c.cell_type == "code" and "conv_parameter_table()" in c.source]
    assert any(o.output_type == "execute_result" and "SeparableConv2D (Keras)" in o.data.get("text/plain", "")
               for o in table_cell.outputs)
    assert records["mapping_r2_w"] > 0.999999
    assert records["mapping_r2_z"] < 0.97  # Z is entangled: its grid bends round the missing corner
    assert records["adain_eq1_max_abs_error"] < 1e-4
    assert records["adain_eq2_max_abs_error"] < 1e-4
    size = get_profile("smoke").settings("01")["image_size"]
    assert records["style_transfer_shape"] == [size, size, 3]
    assert records["adain_network"].startswith("AdaIN")  # on the stand-ins the test placed in the cache
    assert records["adain_network_shape"] == [size, size, 3]
    assert records["lowpass_gap_after"] < 0.2 * records["lowpass_gap_before"]
    # StyleGAN2 half: droplets, eq. (3)-(4), demodulation, truncation, mixing
    adain_rest, demod_rest = records["spike_adain_rest_std"], records["spike_demod_rest_std"]
    assert adain_rest[0] > 0.9 and adain_rest[-1] < 0.1  # a big spike turns the rest of the map down
    assert max(demod_rest) - min(demod_rest) < 1e-5  # demodulation does not look at the data
    assert records["modconv_eq34_max_abs_error"] < 1e-4
    assert records["demod_gap_iid"] < 0.1 < records["demod_gap_smooth"]
    assert all(0.6 < s < 1.1 for s in records["stack_std_demod"])
    assert records["stack_std_no_demod"][-1] > 3 * records["stack_std_demod"][-1]
    resolution = get_profile("smoke").settings("01")["generator_resolution"]
    assert records["generated_shape"] == [get_profile("smoke").settings("01")["grid_seeds"], resolution, resolution, 3]
    spread = records["truncation_spread"]
    assert spread[0] > spread[1] > spread[2] > spread[3] == 0  # psi = 0 maps every seed to the average image
    assert records["style_mixing_columns"][:3] == ["A", "B", "A + coarse of B\n(rows 0-3)"]
    # the shipped face model (trained on FER2013) shows the coarse/fine split the text claims
    assert "FER2013" in records["generator"]
    coarse, middle = records["mixing_layout"]["A + coarse of B"], records["mixing_layout"]["A + middle of B"]
    assert coarse["layout like B"] > 0.7 > 0.4 > coarse["layout like A"]
    assert middle["layout like A"] > 0.7 > 0.4 > middle["layout like B"]
    assert records["formulas_match_keras"] and records["plain_total"] > 7 * records["separable_total"]
    expected = {"mapping_network.png", "adain_style_transfer.png", "adain_alpha_sweep.png", "adain_network.png",
                "style_levels.png", "scale_mixing.png", "droplet_spike.png", "demodulation_std.png", "truncation_grid.png",
                "style_mixing_grid.png"}
    _check_figures(records, out_dir, expected)


def check_02(records, out_dir):
    _assert_quiet(_executed(out_dir))
    settings = get_profile("smoke").settings("02")
    assert records["candidate_source"] == "gallery"  # smoke's source; gpu's is the Met (tests/test_datasets_sources.py)
    # The crawl: two failures (the broken link and the error page), one exact copy stored once.
    assert records["crawl_status"]["failed"] == 2 and records["crawl_status"]["present"] == 1
    traps, reasons = records["trap_verdicts"], records["trap_reasons"]
    assert traps["broken link"] == "crawl: HTTP 404" and reasons["broken link"].startswith("HTTP 404")
    assert traps["not an image (.jpg)"] == "crawl: not an image" and reasons["not an image (.jpg)"].startswith("not an image")
    assert traps["exact copy"] == "crawl: same content"
    # curate keeps the first of two near-duplicates by (content-hash) name: the copy or its original goes
    assert traps["re-encoded copy"] in {"curate: near-duplicate", "kept"}
    assert traps["tiny image"] == "curate: too small" and traps["truncated PNG"] == "curate: unreadable"
    assert records["outcomes_as_planned"]
    # Curation: kept + rejected = every candidate; every kind of rejection was met.
    assert records["curate_kept"] >= settings["synthetic_faces"] + 1   # the cartoons and the astronaut
    assert records["curate_kept"] + records["curate_rejected"] == records["site_items"] - 3 + records["video_frames_saved"]
    assert set(records["rejection_kinds"]) == {"too small", "near-duplicate", "unreadable"}
    assert records["video_frames_kept"] == records["video_frames_saved"] // 2   # two frames per shot, one kept
    assert records["image_modes"] == {"rgba": "RGBA", "palette": "P"}
    resolution = settings["resolution"]
    assert records["normalised_shape"] == [resolution, resolution, 3]
    methods = records["alignment_methods"]
    assert methods["astronaut"] == "eyes" and len(methods) == 9 and set(methods.values()) <= {"eyes", "face-box", "none"}
    # The written data set reads back exactly, at every level down to 4x4, in both formats.
    written = records["written"]
    assert written == records["curate_kept"] == records["zip_written"]
    levels = [str(2**k) for k in range(2, resolution.bit_length())]
    assert records["records_per_level"] == {level: written for level in levels}
    assert records["roundtrip_max_abs_diff"] == {level: 0 for level in levels}
    assert records["zip_roundtrip_max_abs_diff"] == 0
    expected = {"video_frames.png", "curation_contact_sheet.png", "resolution_stats.png", "normalisation.png",
                "face_alignment.png", "read_back.png"}
    _check_figures(records, out_dir, expected)
    data = out_dir / "data"
    assert (data / "cartoons-tfrecords" / f"cartoons-r{resolution.bit_length() - 1:02d}.tfrecords").is_file()
    assert (data / "cartoons-zip" / "cartoons.zip").is_file()


def check_03(records, out_dir):
    import math

    from toonemo_lib.stylegan2 import load_official_pickle
    from toonemo_lib.stylegan2.snapshot import list_snapshots

    nb = _executed(out_dir)
    _assert_quiet(nb)
    _assert_static_stand_in(nb)
    settings = get_profile("smoke").settings("03")
    side = settings["resolution"]
    assert records["finetune_images"] == [settings["finetune_images"], side, side, 3]
    # From scratch: one row per tick (tick 0 is one minibatch), finite losses, a distance per snapshot.
    scratch = records["scratch_log"]
    assert scratch["kimg"][-1] == settings["scratch_kimg"]
    assert all(math.isfinite(v) for v in scratch["loss_G"] + scratch["loss_D"])
    # The readable step: finite losses, the regularisers on their intervals.
    readable = records["readable_step_losses"]
    assert all(math.isfinite(loss) and loss >= 0 for step in readable for loss in step.values())
    assert [sorted(step) for step in readable] == [["D main", "D reg", "G main", "G reg"], *[["D main", "G main"]] * 3,
                                                   ["D main", "G main", "G reg"]]
    distances = records["scratch_colour_distance"]
    assert len(distances) == len(scratch["kimg"]) and all(0 < d < 1 for d in distances)
    # The resumed run continues the same log: ticks go on, kimg keeps increasing to the new target.
    resumed = records["resumed_log"]
    assert resumed["tick"] == list(range(len(resumed["tick"]))) and len(resumed["tick"]) > len(scratch["kimg"])
    assert resumed["kimg"][:len(scratch["kimg"])] == scratch["kimg"]
    assert all(b > a for a, b in zip(resumed["kimg"], resumed["kimg"][1:]))
    assert resumed["kimg"][-1] == settings["resume_kimg"]
    assert records["mismatch_refused"] is True
    # Fine-tuning: its own run folder with NVIDIA's files, finite losses, p never negative.
    tuned = records["finetune_log"]
    assert records["finetune_base"] == "shipped-faces"  # the course's face model, with the D fitted for it
    assert tuned["kimg"][-1] == settings["finetune_kimg"]
    assert all(math.isfinite(v) for v in tuned["loss_G"] + tuned["loss_D"]) and min(tuned["p"]) >= 0
    run = out_dir / "runs" / "cartoon"
    for name in ("config.json", "log.csv", "reals.png", "fakes_init.png"):
        assert (run / name).is_file()
    snapshots = list_snapshots(run)["name"].tolist()
    assert len(snapshots) == len(tuned["kimg"]) == len(list(run.glob("fakes0*.png")))
    assert records["picker_columns"] == ["base"] + snapshots
    exported = load_official_pickle(out_dir / records["exported_pickle"])
    assert exported.Gs.resolution == side
    expected = {"data.png", "scratch_fakes.png", "scratch_log.png", "scratch_colour_distance.png",
                "finetune_log.png", "snapshots.png"}
    _check_figures(records, out_dir, expected)


def check_04(records, out_dir):
    from toonemo_lib.stylegan2 import load_official_pickle

    nb = _executed(out_dir)
    _assert_quiet(nb)
    _assert_static_stand_in(nb)
    settings = get_profile("smoke").settings("04")
    assert records["real_models"] is True  # smoke uses the course's shipped pair (FER2013 faces, cartoons)
    # Layer swapping: the hard switch takes each variable from one parent, a self-blend is exact,
    # the full-resolution blend is the structure model, and the export round-trips.
    assert records["hard_switch_parents_ok"] is True
    assert records["blend_self_max_abs"] == 0
    assert records["blend_full_resolution_equals_structure"] is True
    resolution = settings["generator_resolution"]
    blend_columns = resolution.bit_length() - 3  # 8, 16, ..., resolution
    assert records["blend_grid_shape"] == [len(settings["grid_seeds"]), blend_columns + 2, resolution, resolution, 3]
    assert records["export_roundtrip_max_abs"] == 0
    (exported,) = out_dir.glob("blended-*.pkl")
    assert load_official_pickle(exported).Gs.resolution == resolution
    # Projection: the loss and the distance fall; the stand-in distance is named as such offline.
    losses, distances = records["projection_losses"], records["projection_distances"]
    assert losses["last"] < 0.5 * losses["first"] and distances["last"] < 0.5 * distances["first"]
    assert records["distance_name"].startswith("stand-in")
    # Toonify: nothing outside the face's quad changes; the pasted photo keeps the photo's shape.
    assert records["toonify_outside_quad_max_abs"] == 0
    assert records["toonify_shapes"] == {"toon_face": [resolution, resolution, 3], "pasted": [512, 512, 3]}
    # Personal emoji: transparent background and an opaque face, for the toon face and the photo.
    assert records["emoji_alpha_range"] == {"toon face": [0, 255], "photo": [0, 255]}
    assert records["emoji_box_sources"]["photo"] == "detected"
    for name in ("emoji_toon_face.png", "emoji_photo.png"):
        assert (out_dir / name).is_file()
    expected = {"blend_weights.png", "blend_grid.png", "smooth_blends.png", "projection.png", "toonified.png",
                "personal_emoji.png"}
    _check_figures(records, out_dir, expected)


def check_05(records, out_dir):
    from toonemo_lib.config import EMOTIONS
    from toonemo_lib.emotion.card import load_card

    settings = get_profile("smoke").settings("05")
    # Separable convolutions: the counts of section 1 and the two-step identity.
    assert records["separable_total"] == 36360 and records["plain_total"] == 294240
    assert records["separable_max_abs_error"] < 1e-5
    architectures = records["architectures"]
    assert architectures["mini, 4 blocks, 48²  (Arriaga)"] == 58_423
    assert architectures["Big, 48²"] == 208_871
    # Smoke trains on synthetic faces, 80/20 split, all seven classes present.
    assert records["data_source"] == "synthetic"
    n = settings["synthetic_faces"]
    assert records["split_sizes"] == {"train": int(0.8 * n), "val": n - int(0.8 * n)}
    assert sum(records["train_class_counts"]) == int(0.8 * n) and min(records["train_class_counts"]) > 0
    # The grid: the profile's rows, with the seed's columns, each trained in a resumable folder.
    assert {"Model", "Batch Size", "Resolution", "Augmentation", "# of Conv Blocks", "Architecture", "Val Acc",
            "Val Loss", "Parameters", "ms/face"} <= set(records["grid_columns"])
    rows = records["grid_rows"]
    assert [row["Model"] for row in rows] == list(settings["grid_rows"])
    assert all(0.0 <= float(row["Val Acc"]) <= 1.0 and float(row["ms/face"]) > 0 for row in rows)
    for row in rows:
        assert (out_dir / "grid" / f"row_{row['Model']}" / "best.keras").exists()
    # ... and every row learned: it clearly beats always answering the commonest validation class
    # (a row whose BatchNorm statistics have not settled answers one class and scores about that rate).
    majority = records["grid_majority_rate"]
    assert 1 / 7 <= majority < 0.5  # the synthetic classes are nearly balanced
    assert records["grid_val_acc"] == [float(row["Val Acc"]) for row in rows]
    assert all(acc >= majority + 0.10 for acc in records["grid_val_acc"]), (records["grid_val_acc"], majority)
    # The shipped model as its card describes it, and on real faces.
    card = load_card()
    assert records["shipped_parameters"] == card["parameters"]
    assert records["shipped_publictest_accuracy"] == card["publictest"]["accuracy_flip_tta"]
    assert len(records["weakest_classes"]) == 3 and set(records["weakest_classes"]) <= set(EMOTIONS)
    (face,) = records["astronaut_faces"]  # one face in the portrait (nbformat stores keys sorted)
    x, y, w, h = face["rect"]
    assert 150 < x < 220 and 40 < y < 110 and 70 < w < 130  # the face, not the flag or the helmet
    assert set(face["probs"]) == set(EMOTIONS) and abs(sum(face["probs"].values()) - 1) < 1e-5
    assert face["label"] == max(face["probs"], key=face["probs"].get)
    assert len(records["crop_labels"]) == 8 and set(records["crop_labels"]) <= set(EMOTIONS)
    # Both backends timed on the same three steps, and giving the same probabilities.
    call_ms = records["call_ms"]
    assert set(call_ms) == {"LiteRT (default)", "TensorFlow tf.function"}
    assert all(len(steps) == 3 and min(steps.values()) > 0 for steps in call_ms.values())
    assert records["backend_max_abs_difference"] < 1e-4
    # The detector table: both detectors on three frame sets; BlazeFace follows the drifting portrait
    # and sees no face in empty scenes.
    detection = records["detection"]
    assert set(detection) == {f"{s} | {d}" for s in ("astronaut drifting", "synthetic faces pasted", "no face")
                              for d in ("BlazeFace", "Haar", "default: BlazeFace, else Haar")}
    assert detection["astronaut drifting | BlazeFace"]["found"] >= 29
    for frame_set in ("astronaut drifting", "synthetic faces pasted"):  # the default finds what either finds
        found = {d: detection[f"{frame_set} | {d}"]["found"] for d in ("BlazeFace", "Haar", "default: BlazeFace, else Haar")}
        assert found["default: BlazeFace, else Haar"] >= max(found["BlazeFace"], found["Haar"]) - 1, found
    assert detection["synthetic faces pasted | Haar"]["faces"] == settings["detection_faces"]
    assert detection["no face | BlazeFace"]["false detections"] == 0
    assert all(row["ms/frame"] > 0 for row in detection.values())
    # The shipped model on cartoons: a measurement, but well above guessing (the drawn cues carry over)
    assert 0.3 < records["cartoon_accuracy"] <= 1.0 and set(records["cartoon_recall"]) == set(EMOTIONS)
    (face,) = records["drifting_frame_blazeface"]
    assert set(face["keypoints"]) == {"right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear"}
    expected = {"architectures.png", "class_balance.png", "samples.png", "augmentation.png", "grid_vs_seed.png",
                "learning_curves.png", "shipped_confusion.png", "recognized_faces.png", "face_probabilities.png",
                "detectors.png", "cartoon_expressions.png", "backend_speed.png"}
    _check_figures(records, out_dir, expected)


def check_06(records, out_dir):
    from toonemo_lib.config import EMOTIONS
    from toonemo_lib.video.streams import has_audio, video_info

    nb = _executed(out_dir)
    _assert_quiet(nb)
    settings = get_profile("smoke").settings("06")
    frames = round(settings["clip_seconds"] * settings["clip_fps"])
    # the made clip and the output: same frames, fps and size, and the sound kept
    assert records["source_info"] == {"frames": frames, "fps": settings["clip_fps"], "size": [640, 480], "audio": True}
    assert records["output_info"] == records["source_info"]
    info = video_info(out_dir / "toonified.mp4")
    assert (info.frame_count, info.width, info.height) == (frames, 640, 480) and has_audio(out_dir / "toonified.mp4")
    # a row for every frame; faces where the clip has them (BlazeFace misses at most a few)
    assert records["table_frames"] == frames
    assert records["truth_face_frames"] - 3 <= records["face_rows"] <= records["truth_face_frames"]
    first = records["first_frame_records"][0]
    assert first["label"] in EMOTIONS and abs(sum(first["probs"].values()) - 1) < 1e-5 and len(first["keypoints"]) == 6
    # smoothing calms the quads; keyframes every `every` frames, warm-started after a face-ful keyframe
    assert records["quad_wobble"]["smoothed"] < records["quad_wobble"]["raw"]
    keyframes = records["keyframes"]
    assert all(k["frame"] % settings["every"] == 0 for k in keyframes) and any(k["warm start"] for k in keyframes)
    assert 0 < records["toonified_frames"] <= records["face_rows"]
    # the warm-start study: the sweep's lengths, and a warm start that reaches the cold loss with fewer steps
    table = records["warm_table"]
    assert [row["steps"] for row in table] == [settings["projection_steps"], *settings["warm_step_sweep"]]
    assert records["warm_steps_needed"] is not None and records["warm_steps_needed"] < settings["projection_steps"]
    assert 0.0 <= records["toon_agreement"] <= 1.0
    assert set(records["stage_ms"]) == {"detect", "toonify", "render", "recognise", "overlay", "write"}
    assert len(records["dominant_per_second"]) == round(settings["clip_seconds"])
    assert records["webcam"]["frames"] == settings["webcam_frames"] and records["webcam"]["fps"] > 0
    assert (out_dir / "expressions.csv").exists() and any((out_dir / "latents").glob("*.npz"))
    _check_figures(records, out_dir, {"clip_frames.png", "one_frame.png", "quads.png", "warm_start.png",
                                      "before_after.png", "toon_agreement.png", "timeline.png", "webcam_frame.png"})
    # the video is embedded in the executed notebook, so its HTML report plays it
    assert any("data:video/mp4;base64" in o.get("data", {}).get("text/html", "")
               for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def check_07(records, out_dir):
    from toonemo_lib.config import EMOTIONS
    from toonemo_lib.video.overlay import FILE_NAMES

    _assert_quiet(_executed(out_dir))
    settings = get_profile("smoke").settings("07")
    assert records["real_models"] is True  # the shipped pair, with its shipped directions
    generator = records["generator"]
    assert set(records["label_mix"]) == set(EMOTIONS) and abs(sum(records["label_mix"].values()) - 1) < 1e-3
    # unit directions; a 500-sample fit points the same way as the shipped 4,000-sample one
    assert len(records["direction_norms"]) == 7 and all(abs(n - 1) < 1e-5 for n in records["direction_norms"])
    assert all(c > 0.3 for c in records["fitted_vs_kept_cosine"].values()), records["fitted_vs_kept_cosine"]
    start, stop = records["layers"]
    assert 0 <= start < stop <= generator["num_ws"]
    assert set(records["layer_effects_all_rows"]) == set(EMOTIONS)
    assert records["expression_grid_shape"] == [7, len(settings["strengths"]), 32, 32, 3]
    assert records["strength0_unchanged"]
    # the judge (never used to fit) sees Happy rise on held-out faces
    happy = records["happy_judge_p"]
    assert happy["after"] > happy["before"], happy
    report = records["edit_report"]
    assert set(report["identity_distance @4"]) == set(EMOTIONS)
    assert all(v > 0 for v in report["identity_distance @4"].values())
    # seven cut-out emoji, transparent around the face, drawn on the clip by the webcam loop
    assert records["emoji_files"] == sorted(FILE_NAMES.values())
    assert all(lo == 0 and hi == 255 for lo, hi in records["emoji_alpha"].values())
    assert records["webcam_emoji"] == {"frames": 10, "with_face": 10}
    assert (out_dir / "strength_sweep.csv").exists() and (out_dir / "webcam_emoji.mp4").exists()
    _check_figures(records, out_dir, {"top_faces.png", "direction_cosines.png", "layer_effects.png",
                                      "expression_grid.png", "strength_sweep.png", "emoji_faces.png",
                                      "emoji_sheet.png", "webcam_emoji.png"})


CHECKS = {"01": check_01, "02": check_02, "03": check_03, "04": check_04, "05": check_05, "06": check_06,
          "07": check_07}


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no NN_*.ipynb notebooks in {NOTEBOOKS_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean_and_parameterised(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name} carries outputs in cells {dirty}: strip them (executed copies belong in reports/)"
    course.check_parameters(path, course.INJECTED_PARAMETERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_profile(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TOONEMO_HOME", str(tmp_path / "cache"))
    if path.name.startswith("01"):  # the AdaIN network's code path runs, on format-exact random weights
        write_stand_ins(tmp_path / "cache", only=("adain-vgg-normalised", "adain-decoder"))
    assert path.name[:2] in CHECKS, f"{path.name} has no checks in tests/test_notebooks.py: add them"
    executed = course.run_notebook(path, "smoke", tmp_path, timeout=600)
    assert executed.with_suffix(".html").exists()
    CHECKS[path.name[:2]](read_records(executed), tmp_path / path.stem)
