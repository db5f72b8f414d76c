"""Metrics, baselines, the shapes-world reader, and the bench report end to end."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from ace_model import baselines
from ace_model.evaluate import EvalSettings, beats, evaluate
from ace_model.metrics import edit_correctness, l1, psnr, read_cell, ssim
from dataengine.corpus.read import read_index
from dataengine.sources import shapes_world as sw
from tests.builders import without_split


def test_image_metrics_on_known_images():
    black, white = np.zeros((16, 16, 3), np.uint8), np.full((16, 16, 3), 255, np.uint8)
    assert l1(black, white) == 1.0 and l1(black, black) == 0.0
    assert psnr(black, black) == 100.0
    assert psnr(black + 10, black) == pytest.approx(20 * np.log10(255 / 10))
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    assert ssim(white, white) == pytest.approx(1.0)
    assert ssim(noisy, white) < 0.1


def test_beats_needs_two_of_three_metrics():
    model = {"l1": 0.1, "psnr": 20.0, "ssim": 0.5}
    assert beats(model, {"l1": 0.2, "psnr": 18.0, "ssim": 0.9})
    assert not beats(model, {"l1": 0.05, "psnr": 18.0, "ssim": 0.9})
    assert beats(model, None) is None


def test_shapes_reader_reads_a_render_and_catches_an_edit():
    scene = sw.random_scene(np.random.default_rng(3))
    small = cv2.resize(sw.render(scene), (64, 64), interpolation=cv2.INTER_AREA)
    assert edit_correctness(small, scene) == 1.0
    obj = scene["objects"][0]
    new_colour = next(c for c in sw.COLORS if c != obj["color"])
    edited = sw.apply_edit(
        scene, {"attribute": "color", "object": 0, "from": obj["color"], "to": new_colour}
    )
    assert edit_correctness(small, edited) == pytest.approx(8 / 9)  # the unedited picture
    assert read_cell(small, scene, obj["cell"]) == obj["color"]
    moved = {"attribute": "remove", "object": 0, "from": dict(obj), "to": None}
    assert read_cell(small, sw.apply_edit(scene, moved), obj["cell"]) == obj["color"]


def test_classical_baselines_do_their_job():
    rng = np.random.default_rng(0)
    image = np.full((32, 32, 3), 120, np.uint8)
    hole = np.zeros((32, 32), np.uint8)
    hole[8:16, 8:16] = 255
    blanked = image.copy()
    blanked[hole > 0] = 0
    name, filled = baselines.classical("inpainting", [blanked], [hole])
    assert name == "cv2.inpaint Telea"
    assert filled[hole > 0].mean() > 100  # the hole takes the surrounding grey
    second = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    _, merged = baselines.classical("merge_layers", [image, second], [None, hole])
    assert np.array_equal(merged[hole > 0], second[hole > 0])
    assert np.array_equal(merged[hole == 0], image[hole == 0])
    assert baselines.classical("colorization", [image], [None]) == ("", None)
    assert baselines.identity([], []) is None
    assert baselines.identity([image, second], [None, hole]) is image  # {image}, not {image1}


def test_bench_report(reference, micro_run, tmp_path):
    out = tmp_path / "report"
    report = evaluate(micro_run, reference, out, EvalSettings(steps=3, examples=3))
    index = read_index(reference).to_pandas().query("split == 'bench' and status == 'ok'")
    assert report["samples"] == len(index) and report["skipped"] == 0
    assert set(report["tasks"]) == set(index.task)
    for task, summary in report["tasks"].items():
        assert summary["n"] == (index.task == task).sum()
        assert 0 <= summary["model"]["l1"] <= 1 and summary["identity"] is not None
    assert report["tasks"]["canny_extraction"]["classical_method"] == "cv2.Canny(100, 200)"
    assert report["tasks"]["colorization"]["classical"] is None
    wins = report["beats_identity"]
    assert wins["of"] == len(report["tasks"])
    assert wins["tasks"] == sum(t["beats_identity"] for t in report["tasks"].values())
    assert json.loads((out / "report.json").read_text())["samples"] == report["samples"]
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == len(index) and set(json.loads(lines[0])) >= {"key", "model", "identity"}
    table = (out / "report.md").read_text()
    assert all(f"| {task} | " in table for task in report["tasks"])
    head = report["edit_aware"]  # inpainting's mask and grayscale's change are regions
    judged = [t for t, s in report["tasks"].items() if s["edit"] and "win" in s["edit"]]
    assert {"inpainting", "grayscale"} <= set(judged) and head["of"] == len(judged)
    assert head["tasks"] == len(head["winning"]) <= head["inside"] <= head["of"]
    inside = sum(report["tasks"][t]["edit"]["beats_identity_inside"] for t in judged)
    kept = [report["tasks"][t]["edit"]["model"]["kept"] for t in judged]
    assert head["inside"] == inside
    assert head["kept_l1"]["model"] == pytest.approx(np.mean([k["l1"] for k in kept if k]))
    inpainting = report["tasks"]["inpainting"]["edit"]
    assert inpainting["identity"]["kept"]["l1"] < 0.02  # the identity keeps what it must
    assert inpainting["identity"]["changed"]["l1"] > inpainting["identity"]["kept"]["l1"]
    # judged as `edit` returns it: the image's own pixels outside the mask
    assert inpainting["model"]["kept"]["l1"] == pytest.approx(
        inpainting["identity"]["kept"]["l1"], abs=0.01
    )
    assert f"on **{head['tasks']} of {head['of']}** tasks that have a changed region" in table
    assert f"beats the identity on {head['inside']} of {head['of']}." in table
    with Image.open(out / "examples.png") as strip:
        assert strip.height == 3 * (16 + 128 + 18 + 4)  # three rows: labels, tiles, caption


def test_shapes_score_where_the_target_reads_back(reference, micro_run, tmp_path):
    report = evaluate(micro_run, reference, tmp_path / "r", EvalSettings(steps=2, examples=0))
    scored = [s for s in report["tasks"].values() if "shapes" in s]
    assert scored, "the reference bench split holds shapes-world scenes"
    for summary in scored:
        assert 0 <= summary["shapes"]["model"] <= 1 and summary["shapes"]["n"] >= 1
    assert "shapes" not in report["tasks"]["canny_extraction"]  # an edge map: nothing to read


def test_a_corpus_without_the_split_stops_before_anything_is_written(
    reference, micro_run, tmp_path
):
    data = without_split(reference, tmp_path / "corpus", "bench")
    with pytest.raises(FileNotFoundError, match=r"has no bench split \(it has train, val\)"):
        evaluate(micro_run, data, tmp_path / "report", EvalSettings(steps=1))
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        evaluate(micro_run, tmp_path / "nowhere", tmp_path / "report", EvalSettings(steps=1))
    assert not (tmp_path / "report").exists()


def test_a_report_folder_that_is_a_file_is_refused(reference, micro_run, tmp_path):
    (tmp_path / "taken").write_text("a file\n")
    with pytest.raises(FileExistsError, match="taken is a file; choose a folder for the report"):
        evaluate(micro_run, reference, tmp_path / "taken", EvalSettings(steps=1))
    assert (tmp_path / "taken").read_text() == "a file\n"


def test_settings_need_a_step():
    with pytest.raises(ValueError, match="steps is 0; give at least 1 Euler step"):
        EvalSettings(steps=0)
