import functools
import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.synth import ops
from dataengine.synth.base import PairError
from dataengine.synth.experts import describe_model
from dataengine.synth.generative import (
    OBJECTS,
    ControlNetCannyGeneration,
    DiffusionInpainting,
    working_size,
)
from tests.builders import build_controlnet_pipeline, build_inpaint_pipeline, one_torch_thread

STEPS = 2  # enough to run every part of the pipeline; the tiny models' pixels are noise anyway


def source(photo=skimage.data.astronaut, size=(96, 64), caption: str | None = "an astronaut"):
    image = cv2.resize(photo(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id=photo.__name__, group="g", image=image, caption=caption)


@pytest.fixture(scope="module", autouse=True)
def tiny_models_on_one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    root = tmp_path_factory.mktemp("generative")
    return {
        "inpaint": build_inpaint_pipeline(root / "sd-inpaint-tiny"),
        "controlnet": build_controlnet_pipeline(root / "sd-controlnet-tiny"),
    }


@functools.cache  # a loaded maker is stateless: tests share one per pipeline
def ready(maker_class, path):
    maker = maker_class(model=str(path), num_inference_steps=STEPS)
    maker.setup()
    return maker


def straight_pipeline_call(maker, params, prompt, **images) -> np.ndarray:
    """The pipeline called directly with the recorded params, as uint8 RGB."""
    from PIL import Image

    result = maker.pipeline(
        prompt=prompt,
        **{name: Image.fromarray(image) for name, image in images.items()},
        height=params["height"],
        width=params["width"],
        num_inference_steps=params["num_inference_steps"],
        guidance_scale=params["guidance_scale"],
        generator=torch.Generator().manual_seed(params["seed"]),
        output_type="np",
    )
    return np.round(result.images[0] * 255).astype(np.uint8)


def test_makers_are_registered_as_model_backed():
    assert MAKERS["diffusion_inpainting"] is DiffusionInpainting
    assert MAKERS["controlnet_canny_generation"] is ControlNetCannyGeneration
    assert DiffusionInpainting.category == "repainting"
    assert ControlNetCannyGeneration.category == "controllable_generation"
    assert DiffusionInpainting.needs_model and ControlNetCannyGeneration.needs_model
    assert ControlNetCannyGeneration.needs_caption
    assert DiffusionInpainting.operator == "diffusers.StableDiffusionInpaintPipeline"


def test_working_size_keeps_the_aspect_at_the_native_resolution():
    assert working_size(480, 640, native=512, multiple=64) == (384, 512)
    assert working_size(64, 96, native=64, multiple=4) == (44, 64)
    assert working_size(512, 40, native=512, multiple=64) == (512, 64)  # never below one step


def test_pipeline_runs_at_the_models_native_size(pipelines):
    maker = ready(DiffusionInpainting, pipelines["inpaint"])
    assert (maker.native_side, maker.size_multiple) == (64, 4)  # 32 latents x vae factor 2
    assert maker.pipeline.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


# --------------------------------------------------------------------------------------------
# Inpainting
# --------------------------------------------------------------------------------------------


def test_inpainting_paints_the_object_inside_the_mask_only(pipelines):
    src = source()
    maker = ready(DiffusionInpainting, pipelines["inpaint"])
    made = maker.make(src, np.random.default_rng(0))
    (frame,) = made.frames
    params = made.params
    mask = ops.mask_from_params(64, 96, params["mask"])
    assert frame.image is src.image and np.array_equal(frame.mask, mask)
    assert set(np.unique(mask)) == {0, 255} and 0.10 <= ops.mask_fraction(mask) <= 0.35
    inside, outside = mask == 255, mask == 0
    assert np.array_equal(made.target[outside], src.image[outside])
    painted = straight_pipeline_call(
        maker,
        params,
        params["object"],
        image=cv2.resize(
            src.image, (params["width"], params["height"]), interpolation=cv2.INTER_AREA
        ),
        mask_image=cv2.resize(
            mask, (params["width"], params["height"]), interpolation=cv2.INTER_NEAREST
        ),
    )
    painted = cv2.resize(painted, (96, 64), interpolation=cv2.INTER_CUBIC)
    assert np.array_equal(made.target[inside], painted[inside])
    assert not np.array_equal(made.target[inside], src.image[inside])
    assert params["object"] in OBJECTS and made.slots == {"object": params["object"]}
    assert params["model"] == describe_model(pipelines["inpaint"])
    assert params["num_inference_steps"] == STEPS and 5.0 <= params["guidance_scale"] <= 9.0


def test_inpainting_params_round_trip_and_rebuild_the_same_pair(pipelines):
    src = source(skimage.data.coffee, (80, 64))
    maker = ready(DiffusionInpainting, pipelines["inpaint"])
    made = maker.make(src, np.random.default_rng(3))
    again = maker.build(src, json.loads(json.dumps(made.params)))
    assert np.array_equal(again.target, made.target)
    assert np.array_equal(again.frames[0].mask, made.frames[0].mask)
    same_seed = maker.make(src, np.random.default_rng(3))
    other_seed = maker.make(src, np.random.default_rng(4))
    assert same_seed.params == made.params and other_seed.params != made.params


@pytest.mark.parametrize(
    ("size", "kind"), [((120, 48), "too_small"), ((200, 64), "extreme_aspect")]
)
def test_inpainting_refuses_small_and_extreme_shapes(pipelines, size, kind):
    unfit = source(size=size)
    maker = ready(DiffusionInpainting, pipelines["inpaint"])
    assert not maker.accepts(unfit) and maker.accepts(source())
    with pytest.raises(PairError) as err:
        maker.make(unfit, np.random.default_rng(0))
    assert err.value.kind == kind


def test_a_flagged_image_is_refused(pipelines, monkeypatch):
    maker = ready(DiffusionInpainting, pipelines["inpaint"])
    flagged = SimpleNamespace(
        images=np.zeros((1, 44, 64, 3), np.float32), nsfw_content_detected=[True]
    )
    monkeypatch.setattr(maker, "pipeline", lambda **kwargs: flagged)
    with pytest.raises(PairError) as err:
        maker.make(source(), np.random.default_rng(0))
    assert err.value.kind == "unsafe_output"


def test_params_of_another_pipeline_are_refused(pipelines):
    src = source()
    made = ready(DiffusionInpainting, pipelines["inpaint"]).make(src, np.random.default_rng(0))
    params = {**made.params, "model": {"name": "other", "config_sha256": "0" * 16}}
    with pytest.raises(PairError) as err:
        ready(DiffusionInpainting, pipelines["inpaint"]).build(src, params)
    assert err.value.kind == "model_mismatch"


# --------------------------------------------------------------------------------------------
# ControlNet canny
# --------------------------------------------------------------------------------------------


def test_controlnet_target_is_generated_from_the_recorded_edges_and_caption(pipelines):
    src = source()
    maker = ready(ControlNetCannyGeneration, pipelines["controlnet"])
    made = maker.make(src, np.random.default_rng(0))
    (frame,) = made.frames
    params = made.params
    assert frame.lossless and np.array_equal(frame.image, ops.canny(src.image, **params["canny"]))
    control = cv2.resize(
        frame.image, (params["width"], params["height"]), interpolation=cv2.INTER_AREA
    )
    generated = straight_pipeline_call(
        maker, params, "an astronaut", image=np.where(control > 0, 255, 0).astype(np.uint8)
    )
    assert np.array_equal(
        made.target, cv2.resize(generated, (96, 64), interpolation=cv2.INTER_CUBIC)
    )
    assert made.slots == {"caption": "an astronaut"} and made.caption == "an astronaut"
    again = maker.build(src, json.loads(json.dumps(params)))
    assert np.array_equal(again.target, made.target)


def test_controlnet_refuses_missing_caption_and_blank_images(pipelines):
    maker = ready(ControlNetCannyGeneration, pipelines["controlnet"])
    with pytest.raises(PairError) as err:
        maker.make(source(caption=None), np.random.default_rng(0))
    assert err.value.kind == "missing_caption"
    assert maker.accepts(source(size=(32, 32))) and not maker.accepts(source(size=(32, 100)))
    blank = SourceImage(id="b", group="b", image=np.full((64, 64, 3), 128, np.uint8), caption="x")
    with pytest.raises(PairError) as err:
        maker.make(blank, np.random.default_rng(0))
    assert err.value.kind == "no_edges"


# --------------------------------------------------------------------------------------------
# Instructions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "slot"),
    [("diffusion_inpainting", "object"), ("controlnet_canny_generation", "caption")],
)
def test_every_task_has_eight_phrasings_with_its_slot(task, slot):
    templates = TEMPLATES[task]
    assert len(set(templates)) == len(templates) >= 8
    for template in templates:
        assert "{image}" in template and slot_names(template) == {slot}, template


def test_inpainting_instruction_names_the_painted_object(pipelines):
    made = ready(DiffusionInpainting, pipelines["inpaint"]).make(source(), np.random.default_rng(0))
    for seed in range(20):
        text, _ = render_instruction(
            "diffusion_inpainting", made.slots, np.random.default_rng(seed)
        )
        assert made.params["object"] in text and "{image}" in text and "$" not in text
