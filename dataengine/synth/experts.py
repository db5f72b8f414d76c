"""Model-backed maps: a depth or pose expert turns the photo into a map (low-level analysis),
and the same map in with the photo out makes a controllable-generation pair.

The experts are transformers models loaded from a local folder that the recipe names
(`pairs.models: {task: PATH}`), once per worker, in setup(). Nothing is downloaded: no
depth or pose weights ship in any package, so tests save tiny random models of the same
classes. As elsewhere, `draw` spends the generator and `build(source, params)` remakes a
pair; params name the model (folder and config hash) so provenance shows what made it.
"""

from __future__ import annotations

import colorsys
import hashlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.controllable import caption_slots

# --------------------------------------------------------------------------------------------
# Models from local folders
# --------------------------------------------------------------------------------------------


def describe_model(path: str | Path) -> dict[str, str]:
    """The model's folder name and a hash of its config files (the weights are too big to
    hash per worker; a config names the architecture, processor and scheduler)."""
    root = Path(path)
    configs = sorted(
        p
        for p in root.rglob("*.json")
        if p.name == "model_index.json" or "config" in p.name  # config.json, scheduler_config...
    )
    if not configs:
        raise FileNotFoundError(f"{root} holds no config json; give a save_pretrained folder")
    digest = hashlib.sha256()
    for config in configs:
        digest.update(str(config.relative_to(root)).encode())
        digest.update(config.read_bytes())
    return {"name": root.name, "config_sha256": digest.hexdigest()[:16]}


def torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class ModelBacked(PairMaker):
    """A pair maker whose pixels come from a model loaded from `self.model_path`."""

    needs_model = True

    def setup(self) -> None:
        if not self.model_path:
            raise ValueError(f"{self.task} runs a model: give pairs.models: {{{self.task}: PATH}}")
        self.model_info = describe_model(self.model_path)
        self.load(self.model_path)

    def load(self, path: str) -> None:
        """Load the model and whatever it needs (processor, pipeline) into attributes."""
        raise NotImplementedError

    def model_params(self) -> dict[str, Any]:
        if not hasattr(self, "model_info"):
            raise RuntimeError(f"{self.task}: call setup() before making pairs")
        return {"model": dict(self.model_info)}

    def check_model(self, params: dict[str, Any]) -> None:
        """A pair remade with another model would not be the recorded pair."""
        if params.get("model") != self.model_params()["model"]:
            raise PairError(
                "model_mismatch",
                f"params were made by {params.get('model')}, the loaded model is {self.model_info}",
            )


# --------------------------------------------------------------------------------------------
# Depth
# --------------------------------------------------------------------------------------------


class DepthEstimator:
    """AutoModelForDepthEstimation (DPT, Depth Anything...) with its image processor."""

    def __init__(self, path: str):
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        self.device = torch_device()
        self.processor = AutoImageProcessor.from_pretrained(path)
        self.model = AutoModelForDepthEstimation.from_pretrained(path).to(self.device).eval()
        # DPT and relative Depth Anything predict inverse depth (near is high); metric
        # models (ZoeDepth, metric Depth Anything) predict distance (far is high).
        config = self.model.config
        self.metric = (
            getattr(config, "depth_estimation_type", None) == "metric"
            or config.model_type == "zoedepth"
        )

    def predict(self, image: np.ndarray) -> np.ndarray:
        """Depth at the image's size (HxW float32), ordered so that near is high."""
        import torch

        h, w = image.shape[:2]
        with torch.inference_mode():
            inputs = self.processor(
                images=image, input_data_format="channels_last", return_tensors="pt"
            ).to(self.device)
            outputs = self.model(**inputs)
            (result,) = self.processor.post_process_depth_estimation(outputs, target_sizes=[(h, w)])
        depth = result["predicted_depth"].float().cpu().numpy().reshape(h, w)
        return -depth if self.metric else depth  # the map only keeps the order


def depth_map(depth: np.ndarray) -> np.ndarray:
    """Depth stretched to 0..255 and replicated to 3 channels, HxWx3 uint8.

    Near is bright, as in ControlNet's depth maps. Relative models give depth up to an
    unknown scale and shift, so only the order is kept: a min-max stretch.
    """
    lo, hi = float(depth.min()), float(depth.max())
    # A span below float32 resolution of the values is a constant map: nothing to learn.
    if not np.isfinite([lo, hi]).all() or hi - lo <= 1e-6 * max(abs(lo), abs(hi)):
        raise PairError("flat_depth", f"the predicted depth is flat ({lo:g}..{hi:g})")
    grey = np.round((depth - lo) * (255.0 / (hi - lo))).astype(np.uint8)  # HxW
    return np.repeat(grey[:, :, None], 3, axis=2)


class DepthBacked(ModelBacked):
    operator = "transformers.AutoModelForDepthEstimation"

    def load(self, path: str) -> None:
        self.estimator = DepthEstimator(path)

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, self.draw(rng))

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        return self.model_params()  # nothing random: the model's answer is the map

    def depth_of(self, source: SourceImage, params: dict[str, Any]) -> np.ndarray:
        self.check_model(params)
        return depth_map(self.estimator.predict(source.image))


class DepthExtraction(DepthBacked):
    task = "depth_extraction"
    category = "low_level_analysis"

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        depth = self.depth_of(source, params)
        return Made(
            frames=[Frame(image=source.image)], target=depth, params=params, target_lossless=True
        )


class DepthToImage(DepthBacked):
    task = "depth_to_image"
    category = "controllable_generation"
    needs_caption = True  # depth leaves colour and texture open; the caption fixes them

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        slots = required_caption(self.task, source)
        depth = self.depth_of(source, params)
        return Made(
            frames=[Frame(image=depth, lossless=True)],
            target=source.image,
            params=params,
            slots=slots,
            caption=slots["caption"],
        )


def required_caption(task: str, source: SourceImage) -> dict[str, Any]:
    slots = caption_slots(source)
    if not slots:
        raise PairError("missing_caption", f"{task} needs a caption; {source.id} has none")
    return slots


# --------------------------------------------------------------------------------------------
# Pose
# --------------------------------------------------------------------------------------------

# COCO's 17 keypoints: nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles
# (left before right), and its skeleton as pairs of keypoint indices.
COCO_KEYPOINTS = 17
COCO_LIMBS = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip
# Keypoints below this confidence are left out, as ControlNet's OpenPose annotator does.
KEYPOINT_THRESHOLD = 0.3


def _hue_wheel(n: int) -> tuple[tuple[int, int, int], ...]:
    """n saturated colours around the hue circle, as OpenPose colours its limbs."""
    return tuple(
        tuple(round(255 * c) for c in colorsys.hsv_to_rgb(i / n, 1.0, 1.0)) for i in range(n)
    )


LIMB_COLOURS = _hue_wheel(len(COCO_LIMBS))
KEYPOINT_COLOURS = _hue_wheel(COCO_KEYPOINTS)


class PoseEstimator:
    """VitPoseForPoseEstimation with its image processor; the whole image is one person box."""

    def __init__(self, path: str):
        from transformers import AutoImageProcessor, VitPoseForPoseEstimation

        self.device = torch_device()
        self.processor = AutoImageProcessor.from_pretrained(path)
        self.model = VitPoseForPoseEstimation.from_pretrained(path).to(self.device).eval()
        if self.model.config.num_labels != COCO_KEYPOINTS:
            raise ValueError(
                f"{path} predicts {self.model.config.num_labels} keypoints; "
                f"the skeleton map needs a COCO {COCO_KEYPOINTS}-keypoint model"
            )
        # ViTPose+ is a mixture of experts, one per training set; expert 0 is COCO.
        self.experts = getattr(self.model.config.backbone_config, "num_experts", 1)

    def keypoints(self, image: np.ndarray) -> np.ndarray:
        """17x3 float32: x, y in image pixels and the confidence of each COCO keypoint."""
        import torch

        h, w = image.shape[:2]
        boxes = [[[0.0, 0.0, float(w), float(h)]]]  # COCO format: x, y, width, height
        with torch.inference_mode():
            inputs = self.processor(
                images=image, boxes=boxes, input_data_format="channels_last", return_tensors="pt"
            ).to(self.device)
            if self.experts > 1:
                inputs["dataset_index"] = torch.zeros(1, dtype=torch.long, device=self.device)
            outputs = self.model(**inputs)
            (person,) = self.processor.post_process_pose_estimation(outputs, boxes=boxes)[0]
        xy, score = person["keypoints"].float().cpu().numpy(), person["scores"].float().cpu()
        return np.concatenate([xy, score.numpy().reshape(-1, 1)], axis=1)


def render_skeleton(keypoints: np.ndarray, h: int, w: int, threshold: float) -> np.ndarray:
    """An OpenPose-style map: coloured limbs and joints on black, HxWx3 uint8.

    Only limbs with both ends above `threshold` are drawn; no limb means no person seen.
    Lines are drawn without anti-aliasing so every lit pixel has one palette colour.
    """
    visible = keypoints[:, 2] > threshold
    limbs = [(i, a, b) for i, (a, b) in enumerate(COCO_LIMBS) if visible[a] and visible[b]]
    if not limbs:
        raise PairError("no_person", f"no limb has both keypoints above confidence {threshold}")
    points = [tuple(p) for p in np.rint(keypoints[:, :2]).astype(int).tolist()]
    width = max(2, round(min(h, w) / 128))  # OpenPose's 4 px limbs at 512 px
    canvas = np.zeros((h, w, 3), np.uint8)
    for i, a, b in limbs:
        cv2.line(canvas, points[a], points[b], LIMB_COLOURS[i], width, lineType=cv2.LINE_8)
    for k in np.flatnonzero(visible):
        cv2.circle(canvas, points[k], width, KEYPOINT_COLOURS[k], -1, lineType=cv2.LINE_8)
    return canvas


class PoseBacked(ModelBacked):
    operator = "transformers.VitPoseForPoseEstimation"

    def load(self, path: str) -> None:
        self.estimator = PoseEstimator(path)

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, self.draw(rng))

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        return {**self.model_params(), "threshold": KEYPOINT_THRESHOLD}

    def pose_of(self, source: SourceImage, params: dict[str, Any]) -> np.ndarray:
        self.check_model(params)
        h, w = source.image.shape[:2]
        return render_skeleton(self.estimator.keypoints(source.image), h, w, params["threshold"])


class PoseExtraction(PoseBacked):
    task = "pose_extraction"
    category = "low_level_analysis"

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        pose = self.pose_of(source, params)
        return Made(
            frames=[Frame(image=source.image)], target=pose, params=params, target_lossless=True
        )


class PoseToImage(PoseBacked):
    task = "pose_to_image"
    category = "controllable_generation"
    needs_caption = True  # a skeleton says nothing of the person or the scene

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        slots = required_caption(self.task, source)
        pose = self.pose_of(source, params)
        return Made(
            frames=[Frame(image=pose, lossless=True)],
            target=source.image,
            params=params,
            slots=slots,
            caption=slots["caption"],
        )
