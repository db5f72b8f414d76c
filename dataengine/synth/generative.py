"""Generative backends as pair makers: diffusers pipelines paint the target (GPU runs).

Where the classical makers can only remove or degrade (blank a region, take edges), a
diffusion pipeline adds what the photo lacks: a new object in a masked region, or a fresh
image that follows an edge map. Each pipeline is loaded from a local folder that the recipe
names (`pairs.models: {task: PATH}`), on CUDA in float16 when there is a GPU, else on the
CPU in float32.

A pair is remade from its params: the mask or edge thresholds, the prompt, and a seed for a
torch.Generator on the CPU, so the starting noise is the same on every device.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth import ops
from dataengine.synth.base import Made, PairError
from dataengine.synth.experts import ModelBacked, required_caption, torch_device
from dataengine.synth.low_level import checked_canny, draw_canny_params

DEFAULT_STEPS = 30
GUIDANCE_RANGE = (5.0, 9.0)  # classifier-free guidance scales of good SD 1.5 samples
# Stable Diffusion models are trained near square: past this the short side of the working
# size shrinks to a few latents and the model paints mush.
MAX_ASPECT = 3.0

# What diffusion_inpainting paints into the mask: things that sit plausibly in most photos.
OBJECTS = (
    "a red apple",
    "a potted plant",
    "a small dog",
    "a sleeping cat",
    "a glass vase of flowers",
    "a yellow umbrella",
    "a stack of books",
    "a wooden chair",
    "a teddy bear",
    "a blue bicycle",
    "a ceramic mug",
    "a pair of sneakers",
    "a football",
    "a paper lantern",
    "a bird",
    "a wicker basket",
)


# --------------------------------------------------------------------------------------------
# Pipelines
# --------------------------------------------------------------------------------------------


def working_size(h: int, w: int, native: int, multiple: int) -> tuple[int, int]:
    """(height, width) to generate at: the long side at the model's native resolution, the
    aspect kept, both sides multiples of what the VAE and UNet downsample by."""
    scale = native / max(h, w)
    return (
        max(multiple, round(h * scale / multiple) * multiple),
        max(multiple, round(w * scale / multiple) * multiple),
    )


def resize(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """Area averaging to shrink (no aliasing), cubic to enlarge."""
    shrinking = h * w < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


class DiffusionBacked(ModelBacked):
    """A maker that owns one diffusers pipeline; `pipeline_class` names it in diffusers."""

    pipeline_class = ""
    min_side = 32  # the smallest source side this maker can use

    def __init__(self, model: str | None = None, num_inference_steps: int = DEFAULT_STEPS):
        super().__init__(model)
        self.num_inference_steps = num_inference_steps

    def load(self, path: str) -> None:
        import diffusers
        import torch

        device = torch_device()
        dtype = torch.float16 if device == "cuda" else torch.float32
        pipeline = getattr(diffusers, self.pipeline_class).from_pretrained(path, dtype=dtype)
        pipeline.set_progress_bar_config(disable=True)  # logs per stage, not per sample
        self.pipeline = pipeline.to(device)
        unet = pipeline.unet.config
        sample = unet.sample_size if isinstance(unet.sample_size, int) else max(unet.sample_size)
        self.native_side = sample * pipeline.vae_scale_factor
        self.size_multiple = pipeline.vae_scale_factor * 2 ** (len(unet.block_out_channels) - 1)

    def accepts(self, source: SourceImage) -> bool:
        if source.image is None:
            return True
        try:
            self.check_shape(source)
        except PairError:
            return False
        return True

    def check_shape(self, source: SourceImage) -> None:
        h, w = source.image.shape[:2]
        if min(h, w) < self.min_side:
            raise PairError("too_small", f"{w}x{h} is under {self.min_side} px on a side")
        if max(h, w) > MAX_ASPECT * min(h, w):
            raise PairError("extreme_aspect", f"{w}x{h} is more than {MAX_ASPECT:g}:1")

    def draw_generation(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        """What the pipeline call needs besides its prompt and images."""
        self.check_shape(source)
        h, w = source.image.shape[:2]
        height, width = working_size(h, w, self.native_side, self.size_multiple)
        return {
            **self.model_params(),
            "seed": int(rng.integers(2**31)),
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": round(float(rng.uniform(*GUIDANCE_RANGE)), 2),
            "height": height,
            "width": width,
        }

    def generate(self, params: dict[str, Any], prompt: str, **images) -> np.ndarray:
        """One pipeline call at the recorded size and seed; RGB uint8 at that size."""
        import torch
        from PIL import Image

        result = self.pipeline(
            prompt=prompt,
            **{name: Image.fromarray(image) for name, image in images.items()},
            height=params["height"],
            width=params["width"],
            num_inference_steps=params["num_inference_steps"],
            guidance_scale=params["guidance_scale"],
            generator=torch.Generator("cpu").manual_seed(params["seed"]),
            output_type="np",
        )
        if any(getattr(result, "nsfw_content_detected", None) or []):
            raise PairError("unsafe_output", "the pipeline's safety checker blanked the image")
        return np.round(np.clip(result.images[0], 0.0, 1.0) * 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Makers
# --------------------------------------------------------------------------------------------


class DiffusionInpainting(DiffusionBacked):
    """The photo and a box mask in; the photo with a new object painted in the box out."""

    task = "diffusion_inpainting"
    category = "repainting"
    operator = "diffusers.StableDiffusionInpaintPipeline"
    pipeline_class = "StableDiffusionInpaintPipeline"
    min_side = 64  # below this a masked object is a few pixels
    # A box, not strokes: an object needs a compact region to sit in.
    min_frac = 0.10
    max_frac = 0.35

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        generation = self.draw_generation(source, rng)
        h, w = source.image.shape[:2]
        box = ops.draw_rectangle_params(h, w, rng, self.min_frac, self.max_frac)
        thing = OBJECTS[int(rng.integers(len(OBJECTS)))]
        return {**generation, "mask": box, "object": thing}

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        self.check_model(params)
        self.check_shape(source)
        h, w = source.image.shape[:2]
        mask = ops.mask_from_params(h, w, params["mask"])
        height, width = params["height"], params["width"]
        painted = self.generate(
            params,
            params["object"],  # the prompt: what to paint in the mask
            image=resize(source.image, height, width),
            mask_image=cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST),
        )
        # The pipeline re-encodes the whole image; pasting only the masked region keeps the
        # rest of the photo exact, so the pair teaches an edit inside the mask only.
        target = np.where(mask[:, :, None] > 0, resize(painted, h, w), source.image)
        return Made(
            frames=[Frame(image=source.image, mask=mask)],
            target=target,
            params=params,
            slots={"object": params["object"]},
        )


class ControlNetCannyGeneration(DiffusionBacked):
    """The photo's edge map in; a new image generated to follow those edges out."""

    task = "controlnet_canny_generation"
    category = "controllable_generation"
    operator = "diffusers.StableDiffusionControlNetPipeline(ControlNetModel)"
    pipeline_class = "StableDiffusionControlNetPipeline"
    needs_caption = True  # the caption is the prompt, and the instruction repeats it

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        return {**self.draw_generation(source, rng), "canny": draw_canny_params(rng)}

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        self.check_model(params)
        self.check_shape(source)
        slots = required_caption(self.task, source)
        edges = checked_canny(source.image, params["canny"])
        h, w = source.image.shape[:2]
        generated = self.generate(
            params, slots["caption"], image=control_image(edges, params["height"], params["width"])
        )
        return Made(
            frames=[Frame(image=edges, lossless=True)],
            target=resize(generated, h, w),
            params=params,
            slots=slots,
            caption=slots["caption"],
        )


def control_image(edges: np.ndarray, h: int, w: int) -> np.ndarray:
    """The edge map at the working size, kept binary as ControlNet's canny maps are.

    Shrinking averages, and a thin edge greyed out still counts as an edge; enlarging takes
    the nearest pixel, as cubic ringing would light up pixels beside every edge.
    """
    shrinking = h * w < edges.shape[0] * edges.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_NEAREST
    resized = cv2.resize(edges, (w, h), interpolation=interpolation)
    return np.where(resized > 0, 255, 0).astype(np.uint8)
