import functools
import json
import re
import shutil

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage, Unit
from dataengine.synth.base import PairError
from dataengine.synth.experts import (
    COCO_LIMBS,
    KEYPOINT_COLOURS,
    LIMB_COLOURS,
    DepthExtraction,
    DepthToImage,
    PoseExtraction,
    PoseToImage,
    describe_model,
    render_skeleton,
    torch_device,
)
from dataengine.synth.stage import Pairs, PairsParams
from tests.builders import build_depth_model, build_pose_model, one_torch_thread

MAKER_CLASSES = (DepthExtraction, DepthToImage, PoseExtraction, PoseToImage)


def source(photo=skimage.data.astronaut, size=(96, 64), caption: str | None = "an astronaut"):
    image = cv2.resize(photo(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id=f"{photo.__name__}-{size}", group="g", image=image, caption=caption)


@pytest.fixture(scope="module", autouse=True)
def tiny_models_on_one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("experts")
    return {
        "depth": build_depth_model(root / "depth-tiny"),
        "flat_depth": build_depth_model(root / "depth-flat", flat=True),
        "metric_depth": build_depth_model(root / "depth-metric", metric=True),
        "pose": build_pose_model(root / "vitpose-tiny", heatmap_bias=1.0),
        "no_pose": build_pose_model(root / "vitpose-blind", heatmap_bias=-1.0),
    }


@functools.cache  # a loaded maker is stateless: tests share one per model
def ready(maker_class, path):
    return fresh(maker_class, path)


def fresh(maker_class, path):
    maker = maker_class(model=str(path))
    maker.setup()
    return maker


@functools.cache
def load_reference(model_class: str, path):
    import transformers

    processor = transformers.AutoImageProcessor.from_pretrained(path)
    model = getattr(transformers, model_class).from_pretrained(path)
    return processor, model.to(torch_device()).eval()  # the makers' device, so equal bits


def reference_depth(path, image: np.ndarray) -> np.ndarray:
    """The depth map computed straight with transformers, min-max stretched to 0..255."""
    processor, model = load_reference("AutoModelForDepthEstimation", path)
    with torch.no_grad():
        outputs = model(**processor(images=image, return_tensors="pt").to(model.device))
    depth = processor.post_process_depth_estimation(outputs, target_sizes=[image.shape[:2]])
    depth = depth[0]["predicted_depth"].cpu().numpy()
    return np.round((depth - depth.min()) / (depth.max() - depth.min()) * 255).astype(np.uint8)


def reference_keypoints(path, image: np.ndarray) -> np.ndarray:
    """ViTPose keypoints computed straight with transformers, the whole image as the box."""
    processor, model = load_reference("VitPoseForPoseEstimation", path)
    boxes = [[[0, 0, image.shape[1], image.shape[0]]]]
    with torch.no_grad():
        inputs = processor(images=image, boxes=boxes, return_tensors="pt").to(model.device)
        outputs = model(**inputs)
    person = processor.post_process_pose_estimation(outputs, boxes=boxes)[0][0]
    return np.concatenate([person["keypoints"].numpy(), person["scores"].numpy()[:, None]], 1)


def test_makers_are_registered_as_model_backed():
    for maker in MAKER_CLASSES:
        assert MAKERS[maker.task] is maker
        assert maker.needs_model
    assert DepthExtraction.category == PoseExtraction.category == "low_level_analysis"
    assert DepthToImage.category == PoseToImage.category == "controllable_generation"
    assert DepthToImage.needs_caption and PoseToImage.needs_caption
    assert DepthExtraction.operator == "transformers.AutoModelForDepthEstimation"
    assert PoseExtraction.operator == "transformers.VitPoseForPoseEstimation"


def test_model_description_names_the_folder_and_hashes_its_config(models, tmp_path):
    info = describe_model(models["depth"])
    assert info["name"] == "depth-tiny"
    assert info == describe_model(models["depth"])
    assert describe_model(models["pose"])["config_sha256"] != info["config_sha256"]
    edited = tmp_path / "depth-tiny"
    shutil.copytree(models["depth"], edited)
    config = json.loads((edited / "config.json").read_text())
    (edited / "config.json").write_text(json.dumps({**config, "max_depth": 2}))
    assert describe_model(edited)["config_sha256"] != info["config_sha256"]
    with pytest.raises(FileNotFoundError, match="no config json"):
        describe_model(tmp_path / "empty")


# --------------------------------------------------------------------------------------------
# Depth
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("photo", [skimage.data.astronaut, skimage.data.coffee])
def test_depth_target_is_the_models_depth_stretched_to_grey(models, photo):
    src = source(photo)
    made = ready(DepthExtraction, models["depth"]).make(src, np.random.default_rng(0))
    (frame,) = made.frames
    assert frame.image is src.image and frame.mask is None
    assert made.target_lossless
    assert made.target.shape == src.image.shape and made.target.dtype == np.uint8
    assert (made.target == made.target[:, :, :1]).all()  # grey: three equal channels
    assert made.target.min() == 0 and made.target.max() == 255
    assert np.array_equal(made.target[:, :, 0], reference_depth(models["depth"], src.image))
    assert made.params == {"model": describe_model(models["depth"])}


def test_metric_depth_is_turned_so_that_near_is_bright(models):
    src = source()
    made = ready(DepthExtraction, models["metric_depth"]).make(src, np.random.default_rng(0))
    distance = reference_depth(models["metric_depth"], src.image)  # far is bright
    flipped = 255 - made.target[:, :, 0].astype(int)
    assert np.abs(flipped - distance).max() <= 1  # equal up to rounding


def test_depth_params_round_trip_and_rebuild_the_same_pair(models):
    src = source()
    maker = ready(DepthExtraction, models["depth"])
    made = maker.make(src, np.random.default_rng(1))
    params = json.loads(json.dumps(made.params))
    assert np.array_equal(maker.build(src, params).target, made.target)
    other_worker = fresh(DepthExtraction, models["depth"])
    assert np.array_equal(other_worker.make(src, np.random.default_rng(1)).target, made.target)


def test_depth_to_image_is_the_extraction_reversed_with_the_caption(models):
    src = source()
    extraction = ready(DepthExtraction, models["depth"]).make(src, np.random.default_rng(0))
    made = ready(DepthToImage, models["depth"]).make(src, np.random.default_rng(0))
    (frame,) = made.frames
    assert frame.lossless and np.array_equal(frame.image, extraction.target)
    assert made.target is src.image and not made.target_lossless
    assert made.slots == {"caption": "an astronaut"} and made.caption == "an astronaut"


def test_depth_to_image_refuses_a_source_without_caption(models):
    with pytest.raises(PairError) as err:
        ready(DepthToImage, models["depth"]).make(source(caption=" "), np.random.default_rng(0))
    assert err.value.kind == "missing_caption"


def test_flat_depth_is_refused(models):
    with pytest.raises(PairError) as err:
        ready(DepthExtraction, models["flat_depth"]).make(source(), np.random.default_rng(0))
    assert err.value.kind == "flat_depth"


def test_params_of_another_model_are_refused(models):
    src = source()
    made = ready(DepthExtraction, models["depth"]).make(src, np.random.default_rng(0))
    with pytest.raises(PairError) as err:
        ready(DepthExtraction, models["flat_depth"]).build(src, made.params)
    assert err.value.kind == "model_mismatch"


def test_a_model_maker_needs_a_path_and_setup():
    with pytest.raises(ValueError, match=r"pairs\.models"):
        DepthExtraction().setup()
    with pytest.raises(RuntimeError, match="setup"):
        DepthExtraction(model="somewhere").make(source(), np.random.default_rng(0))


# --------------------------------------------------------------------------------------------
# Pose
# --------------------------------------------------------------------------------------------


def standing_person(h: int, w: int) -> np.ndarray:
    """Hand-placed COCO keypoints of a person facing the camera, all confident."""
    cx = w / 2
    xy = [
        (cx, 10), (cx - 3, 8), (cx + 3, 8), (cx - 6, 9), (cx + 6, 9),  # face
        (cx - 12, 22), (cx + 12, 22), (cx - 16, 36), (cx + 16, 36), (cx - 18, 50), (cx + 18, 50),
        (cx - 8, 50), (cx + 8, 50), (cx - 9, 68), (cx + 9, 68), (cx - 10, 86), (cx + 10, 86),
    ]  # fmt: skip
    return np.array([(x, y, 0.9) for x, y in xy], np.float32)


def test_skeleton_draws_confident_limbs_in_their_colours_on_black():
    keypoints = standing_person(96, 64)
    keypoints[9, 2] = 0.1  # the left wrist is unsure: its forearm (7, 9) must not be drawn
    pose = render_skeleton(keypoints, 96, 64, threshold=0.3)
    assert pose.shape == (96, 64, 3) and pose.dtype == np.uint8
    lit = pose[pose.any(axis=2)]
    palette = {tuple(c) for c in LIMB_COLOURS + KEYPOINT_COLOURS}
    assert {tuple(c) for c in lit} <= palette
    assert (pose[0] == 0).all()  # background stays black
    hips = COCO_LIMBS.index((11, 12))
    assert tuple(pose[50, 32]) == LIMB_COLOURS[hips]  # middle of the hip line
    forearm = COCO_LIMBS.index((7, 9))
    assert not (lit == LIMB_COLOURS[forearm]).all(axis=1).any()
    assert tuple(pose[50, 14]) == (0, 0, 0)  # where the unsure wrist would be


def test_skeleton_without_a_confident_limb_means_no_person():
    keypoints = standing_person(96, 64)
    keypoints[:, 2] = 0.2
    keypoints[0, 2] = 0.9  # one keypoint alone makes no limb
    with pytest.raises(PairError) as err:
        render_skeleton(keypoints, 96, 64, threshold=0.3)
    assert err.value.kind == "no_person"


def test_pose_target_is_the_skeleton_of_the_models_keypoints(models):
    src = source(size=(64, 96))
    made = ready(PoseExtraction, models["pose"]).make(src, np.random.default_rng(0))
    (frame,) = made.frames
    assert frame.image is src.image and made.target_lossless
    keypoints = reference_keypoints(models["pose"], src.image)
    assert (keypoints[:, 2] > 0.3).all()
    assert np.array_equal(made.target, render_skeleton(keypoints, 96, 64, 0.3))
    assert made.target.any(axis=2).mean() > 0.01  # limbs drawn
    assert made.params == {"model": describe_model(models["pose"]), "threshold": 0.3}


def test_pose_params_round_trip_and_pose_to_image_reverses_it(models):
    src = source(skimage.data.chelsea, caption="a cat")
    extraction_maker = ready(PoseExtraction, models["pose"])
    made = extraction_maker.make(src, np.random.default_rng(2))
    params = json.loads(json.dumps(made.params))
    assert np.array_equal(extraction_maker.build(src, params).target, made.target)
    reverse = ready(PoseToImage, models["pose"]).make(src, np.random.default_rng(2))
    (frame,) = reverse.frames
    assert frame.lossless and np.array_equal(frame.image, made.target)
    assert reverse.target is src.image and reverse.slots == {"caption": "a cat"}


def test_a_model_that_sees_no_person_gives_no_person(models):
    for maker in (PoseExtraction, PoseToImage):
        with pytest.raises(PairError) as err:
            ready(maker, models["no_pose"]).make(source(), np.random.default_rng(0))
        assert err.value.kind == "no_person"


def test_pose_to_image_refuses_a_source_without_caption(models):
    with pytest.raises(PairError) as err:
        ready(PoseToImage, models["pose"]).make(source(caption=None), np.random.default_rng(0))
    assert err.value.kind == "missing_caption"


# --------------------------------------------------------------------------------------------
# Instructions and the pairs stage
# --------------------------------------------------------------------------------------------


def test_every_task_has_eight_phrasings_naming_the_image():
    for maker in MAKER_CLASSES:
        templates = TEMPLATES[maker.task]
        assert len(set(templates)) == len(templates) >= 8, maker.task
        wanted = {"caption"} if maker.needs_caption else set()
        for template in templates:
            assert "{image}" in template and slot_names(template) == wanted, template
            if maker.needs_caption:
                assert '"$caption"' in template


def test_maker_slots_render_every_task(models):
    src = source()
    paths = {"depth": models["depth"], "pose": models["pose"]}
    for maker_class in MAKER_CLASSES:
        path = paths["depth" if "depth" in maker_class.task else "pose"]
        made = ready(maker_class, path).make(src, np.random.default_rng(0))
        text, _ = render_instruction(maker_class.task, made.slots, np.random.default_rng(0))
        assert "{image}" in text and "$" not in text
        if maker_class.needs_caption:
            assert '"an astronaut"' in text


def test_pairs_stage_runs_depth_extraction_end_to_end(models):
    params = PairsParams(
        tasks={"depth_extraction": 1}, models={"depth_extraction": str(models["depth"])}
    )
    Pairs.validate(params)
    stage = Pairs(params, recipe="experts", seed=5)
    assert stage.resources.holds_model
    broken = SourceImage(id="broken", group="b", status="decode_error", error="bad bytes")
    sources = [source(), source(skimage.data.chelsea, (80, 64)), broken]
    unit = stage(Unit(id="u", split="train", index=0, sources=sources))
    ok, failed = unit.pairs[:2], unit.pairs[2]
    for pair, src in zip(ok, sources, strict=False):
        assert pair.ok and pair.task == "depth_extraction" and pair.target_lossless
        assert pair.provenance["operator"] == "transformers.AutoModelForDepthEstimation"
        assert pair.provenance["params"]["model"]["name"] == "depth-tiny"
        assert np.array_equal(pair.target[:, :, 0], reference_depth(models["depth"], src.image))
    assert failed.status == "decode_error" and failed.target is None


def test_pairs_stage_wants_a_model_path_for_model_tasks():
    with pytest.raises(ValueError, match=re.escape("models: {depth_extraction: PATH}")):
        Pairs.validate(PairsParams(tasks={"depth_extraction": 1}))
