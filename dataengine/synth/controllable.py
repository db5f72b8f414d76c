"""Controllable generation: a map of the photo in, the photo out (ACE's
"controllable_generation"), the reverse of the low-level analysis pairs.

As in low_level.py, `draw` spends the generator and `build(source, params)` remakes a pair.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth import ops
from dataengine.synth.base import Made, PairError, PairMaker, register_maker
from dataengine.synth.low_level import checked_canny, draw_canny_params, has_colour, refuse_gray


def caption_slots(source: SourceImage) -> dict[str, Any]:
    """The caption slot when the source has a usable caption, else nothing."""
    caption = (source.caption or "").strip()
    return {"caption": caption} if caption else {}


@register_maker
class CannyToImage(PairMaker):
    task = "canny_to_image"
    category = "controllable_generation"
    operator = "cv2.Canny"
    needs_caption = True  # edges alone leave colour and content open; the caption fixes them

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, draw_canny_params(rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        slots = caption_slots(source)
        if not slots:
            raise PairError("missing_caption", f"{self.task} needs a caption; {source.id} has none")
        edges = checked_canny(source.image, params)
        return Made(
            frames=[Frame(image=edges, lossless=True)],
            target=source.image,
            params=params,
            slots=slots,
            caption=slots["caption"],
        )


@register_maker
class Colorization(PairMaker):
    task = "colorization"
    category = "controllable_generation"
    operator = "cv2.cvtColor(RGB2GRAY)"

    def accepts(self, source: SourceImage) -> bool:
        return has_colour(source)

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, {})  # nothing random: the conversion is fixed

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        refuse_gray(source.image)
        slots = caption_slots(source)  # optional: the template may name the colours' subject
        return Made(
            frames=[Frame(image=ops.grayscale(source.image))],
            target=source.image,
            params=params,
            slots=slots,
            caption=slots.get("caption"),
        )
