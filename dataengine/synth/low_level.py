"""Low-level analysis: the photo in, a map computed from it out (ACE's "low_level_analysis").

Each maker splits into `draw` (spends the generator, returns JSON-able params) and `build`
(params in, pixels out), so `build(source, made.params)` remakes a pair exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth import ops
from dataengine.synth.base import Made, PairError, PairMaker, register_maker

# An edge map with fewer edge pixels than this is a near-blank image: nothing to learn.
MIN_EDGE_FRACTION = 0.002


def draw_canny_params(rng: np.random.Generator) -> dict[str, Any]:
    """Thresholds spread like ControlNet's training maps: low in [50, 150], high 2-3x low."""
    low = int(rng.integers(50, 151))
    high = int(min(255, round(low * rng.uniform(2.0, 3.0))))
    return {"low": low, "high": high}


def checked_canny(photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """ops.canny, refusing maps too empty to be a useful pair."""
    edges = ops.canny(photo, **params)
    if ops.mask_fraction(edges[:, :, 0]) < MIN_EDGE_FRACTION:
        raise PairError("no_edges", f"canny {params} finds almost no edges in this image")
    return edges


def refuse_gray(photo: np.ndarray) -> None:
    """A photo that is already gray gives an identity (or meaningless) colour pair."""
    if ops.is_grayscale(photo):
        raise PairError("already_gray", "the source image has no colour")


def has_colour(source: SourceImage) -> bool:
    """For `accepts`: colour tasks skip grey photos (undecoded sources pass, to fail later)."""
    return source.image is None or not ops.is_grayscale(source.image)


@register_maker
class CannyExtraction(PairMaker):
    task = "canny_extraction"
    category = "low_level_analysis"
    operator = "cv2.Canny"

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, draw_canny_params(rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        edges = checked_canny(source.image, params)
        frames = [Frame(image=source.image)]
        return Made(frames=frames, target=edges, params=params, target_lossless=True)


@register_maker
class Grayscale(PairMaker):
    task = "grayscale"
    category = "low_level_analysis"
    operator = "cv2.cvtColor(RGB2GRAY)"

    def accepts(self, source: SourceImage) -> bool:
        return has_colour(source)

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, {})  # nothing random: the conversion is fixed

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        refuse_gray(source.image)
        gray = ops.grayscale(source.image)
        return Made(frames=[Frame(image=source.image)], target=gray, params=params)
