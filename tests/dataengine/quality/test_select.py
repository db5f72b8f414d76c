"""Row selection: thresholds per task, and what a rejected pair leaves in the index."""

from __future__ import annotations

import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest

from dataengine.quality.select import Select, SelectParams
from dataengine.quality.stages import QualityParams, QualityScores
from dataengine.sinks.shard_writer import ShardWriter
from tests.dataengine.quality.crafted import box_mask, pair, scene, unit

BOX = (20, 30, 60, 90)
THRESHOLDS = {
    "default": {"min_instruction_words": 1, "max_change_outside_mask": 0.01},
    "outpainting": {"max_change_outside_mask": 1.0},  # a task's own bound replaces default's
}


def crafted_unit():
    image, mask = scene(1), box_mask((96, 128), BOX)
    holed = image.copy()
    holed[20:60, 30:90] = 0
    leaky = image.copy()
    leaky[:, :20] = 255 - leaky[:, :20]
    return unit(
        [
            pair(f"{1:032x}", holed, image, mask=mask),  # good
            pair(f"{2:032x}", holed, leaky, mask=mask),  # leaks outside its mask
            pair(f"{3:032x}", holed, image, mask=mask, instruction=""),  # empty instruction
            pair(f"{4:032x}", holed, leaky, mask=mask, task="outpainting"),
        ]
    )


def select(thresholds=THRESHOLDS):
    params = SelectParams(thresholds=thresholds)
    Select.validate(params)
    return Select(params)


def scored(u):
    return QualityScores(QualityParams())(u)


def test_thresholds_reject_the_leak_and_the_empty_instruction():
    pairs = select()(scored(crafted_unit())).pairs
    assert [p.status for p in pairs] == ["ok", "rejected", "rejected", "ok"]
    assert pairs[1].error.startswith("change_outside_mask 0.")
    assert "> max 0.01 (thresholds.default)" in pairs[1].error
    assert pairs[2].error == "instruction_words 0 < min 1 (thresholds.default)"


def test_a_rejected_pair_keeps_its_scores_and_reason_in_the_index(tmp_path):
    u = select()(scored(crafted_unit()))
    ShardWriter(tmp_path).write(u)
    rows = {r["key"]: r for r in pq.read_table(tmp_path / "index/train-000000.parquet").to_pylist()}
    leak = rows[f"{2:032x}"]
    assert leak["status"] == "rejected"
    assert "change_outside_mask" in leak["error"]
    assert leak["score_change_outside_mask"] > 0.1
    assert leak["score_instruction_words"] > 0
    with tarfile.open(tmp_path / "shards/train-000000.tar") as tar:
        keys = {name.split(".")[0] for name in tar.getnames()}
    assert keys == {f"{1:032x}", f"{4:032x}"}  # rejected images are not written


def test_a_threshold_on_a_score_not_computed_does_not_apply():
    u = unit([pair(f"{1:032x}", None, scene(1), task="text_to_image", instruction="A bus.")])
    u = select({"default": {"max_change_outside_mask": 0.0, "min_ssim": 0.9}})(scored(u))
    assert u.pairs[0].ok


def test_failed_rows_are_left_as_they_are():
    failed = pair(f"{1:032x}", scene(1), scene(1)).fail("too_small", "32x20 is too small")
    u = select({"default": {"min_instruction_words": 5}})(unit([failed]))
    assert (u.pairs[0].status, u.pairs[0].error) == ("too_small", "32x20 is too small")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"thresholds": {"default": {"min_sharpnes": 1}}}, "did you mean 'sharpness'"),
        ({"thresholds": {"default": {"sharpness": 1}}}, "min_<score> or max_<score>"),
        ({"thresholds": {"inpaint": {"min_ssim": 1}}}, "thresholds.inpaint: not a task"),
        ({"quotas": {"inpainting": -1}}, "quotas.inpainting is -1"),
        ({"max_per_task": 0}, "max_per_task is 0"),
        ({"quota_splits": ["test"]}, "'test' is not a split"),
        ({"rank_by": "clip"}, "rank_by: no scorer makes 'clip'"),
        ({"dedup_distance": 40}, "dedup_distance is 40"),
    ],
)
def test_bad_parameters_name_the_key_and_the_fix(params, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Select.validate(SelectParams(**params))


def test_unknown_checks_are_refused():
    with pytest.raises(ValueError, match="checks: unknown 'pixels'; choose from pixel_change"):
        QualityScores.validate(QualityParams(checks=["pixels"]))
    with pytest.raises(ValueError, match="checks is empty"):
        QualityScores.validate(QualityParams(checks=[]))


def test_the_stages_validate_inside_a_recipe(tiny_raw):
    from dataengine.recipe import RecipeError, build_recipe

    tiny_raw["stages"] += [
        {"stage": "quality_scores"},
        {"stage": "select", "thresholds": {"default": {"min_sharpnes": 1}}},
    ]
    with pytest.raises(RecipeError, match=r"stage 5 \(select\): thresholds.default.min_sharpnes"):
        build_recipe(tiny_raw)


def test_scores_are_plain_floats():
    u = scored(crafted_unit())
    for p in u.pairs:
        assert all(type(v) is float and np.isfinite(v) for v in p.scores.values())
