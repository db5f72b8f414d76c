"""Restoration: a degraded photo in, the clean photo out (ACE files these under
"controllable_generation": the degraded image controls what to generate).

As in low_level.py, `draw` spends the generator and `build(source, params)` remakes a pair.
Noise and haze depth come from a seed recorded in the params, so a rebuild is exact.
The degraded input stays a jpg frame: at the sink's quality the degradation survives, and
the pair is remade from its params whenever the exact pixels matter.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth import filters
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.low_level import (
    draw_seed,
    pixel_scale,
    refuse_small,
    refuse_unchanged,
    uniform,
)

# Mean luma (0-255) under which a photo is already a low-light photo.
DARK_LUMA = 50.0
# Mean dark channel (0-255) over which a photo is already hazy (or bright and washed out):
# in a clear photo most patches hold some pixel that is dark in some channel (He et al.).
HAZY_DARK_CHANNEL = 150.0


def mean_luma(photo: np.ndarray) -> float:
    return float(filters.gray(photo).mean())


def mean_dark_channel(photo: np.ndarray) -> float:
    """Mean of the per-pixel channel minimum, eroded over patches of 1/32 of the short side."""
    patch = max(3, min(photo.shape[:2]) // 32)
    kernel = np.ones((patch, patch), np.uint8)
    return float(cv2.erode(photo.min(axis=2), kernel).mean())


class Restoration(PairMaker):
    """Degraded photo in, clean photo out. Subclasses give `draw` and `degrade`."""

    category = "controllable_generation"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        raise NotImplementedError

    def degrade(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def refuse(self, photo: np.ndarray) -> None:
        """Raise a PairError when `photo` cannot be the clean target of this task."""
        refuse_small(photo)

    def accepts(self, source: SourceImage) -> bool:
        if source.image is None:
            return True  # undecoded: accepted, so the error row says what was lost
        try:
            self.refuse(source.image)
        except PairError:
            return False
        return True

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        self.refuse(source.image)
        degraded = self.degrade(source.image, params)
        refuse_unchanged(source.image, degraded, self.task)
        caption = (source.caption or "").strip() or None  # the target is the source photo
        return Made(
            frames=[Frame(image=degraded)], target=source.image, params=params, caption=caption
        )


class Denoise(Restoration):
    task = "denoise"
    operator = "filters.add_noise"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        return {
            "kind": str(rng.choice(["gaussian", "poisson"])),
            "sigma": uniform(rng, 10.0, 50.0),
            "noise_seed": draw_seed(rng),
        }

    def degrade(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return filters.add_noise(photo, params["sigma"], params["noise_seed"], params["kind"])


class Deblur(Restoration):
    task = "deblur"
    operator = "filters.gaussian_blur|filters.motion_blur"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scale = pixel_scale(source.image)
        if rng.random() < 0.5:
            return {"kind": "gaussian", "sigma": round(uniform(rng, 1.5, 3.5) * scale, 3)}
        return {
            "kind": "motion",
            "length": max(3, round(rng.uniform(7.0, 17.0) * scale)),
            "angle": uniform(rng, 0.0, 180.0, digits=1),
        }

    def degrade(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        if params["kind"] == "gaussian":
            return filters.gaussian_blur(photo, params["sigma"])
        return filters.motion_blur(photo, params["length"], params["angle"])


class SuperResolution(Restoration):
    task = "super_resolution"
    operator = "filters.resample(area down, bicubic up)"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        return {"factor": uniform(rng, 2.0, 4.0)}

    def degrade(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return filters.resample(photo, 1.0 / params["factor"], upscale="bicubic")


class JpegArtifactRemoval(Restoration):
    task = "jpeg_artifact_removal"
    operator = "cv2.imencode(.jpg)"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        return {"quality": int(rng.integers(5, 26))}

    def degrade(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return filters.jpeg(photo, params["quality"])


class LowLightEnhancement(Restoration):
    task = "low_light_enhancement"
    operator = "filters.darken+filters.add_noise"

    def refuse(self, photo: np.ndarray) -> None:
        refuse_small(photo)
        if mean_luma(photo) < DARK_LUMA:
            raise PairError("already_dark", "the source is a dark photo: no bright target")

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        noisy = rng.random() < 0.5  # real low-light shots are often grainy, not always
        return {
            "gamma": uniform(rng, 1.5, 3.0),
            "gain": uniform(rng, 0.25, 0.6),
            "noise_sigma": uniform(rng, 2.0, 8.0) if noisy else 0.0,
            "noise_seed": draw_seed(rng),
        }

    def degrade(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        dark = filters.darken(photo, params["gamma"], params["gain"])
        if params["noise_sigma"] > 0:
            dark = filters.add_noise(dark, params["noise_sigma"], params["noise_seed"])
        return dark


class Dehaze(Restoration):
    task = "dehaze"
    operator = "filters.haze(atmospheric scattering)"

    def refuse(self, photo: np.ndarray) -> None:
        refuse_small(photo)
        if mean_dark_channel(photo) > HAZY_DARK_CHANNEL:
            raise PairError("already_hazy", "the source is hazy or washed out: no clear target")

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        grey = rng.uniform(0.75, 0.97)
        tint = rng.uniform(-0.03, 0.03, size=3)  # a slightly blue or warm haze
        return {
            "beta": uniform(rng, 0.8, 2.5),
            "airlight": [round(float(v), 3) for v in np.clip(grey + tint, 0.0, 1.0)],
            "near": uniform(rng, 0.1, 0.4),
            "depth_seed": draw_seed(rng),
        }

    def degrade(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return filters.haze(
            photo, params["beta"], params["airlight"], params["near"], params["depth_seed"]
        )
