"""Controllable generation: a map of the photo in, the photo out (ACE's
"controllable_generation"), the reverse of the low-level analysis pairs.

Each map-to-image maker names its analysis maker and draws and renders the map exactly as
that one does, so a map here is the same map the analysis pair would show. The caption is
required: a map leaves colour and content open, and the caption fixes them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth import ops
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.low_level import (
    CannyExtraction,
    Contour,
    Doodle,
    MapMaker,
    Scribble,
    Segmentation,
    has_colour,
    refuse_gray,
)


def caption_slots(source: SourceImage) -> dict[str, Any]:
    """The caption slot when the source has a usable caption, else nothing."""
    caption = (source.caption or "").strip()
    return {"caption": caption} if caption else {}


class MapToImage(PairMaker):
    """Map in, photo out; the map comes from `analysis` with the same params."""

    category = "controllable_generation"
    needs_caption = True
    analysis: ClassVar[type[MapMaker]]

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, self.analysis().draw(source, rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        slots = caption_slots(source)
        if not slots:
            raise PairError("missing_caption", f"{self.task} needs a caption; {source.id} has none")
        control = self.analysis().render(source.image, params)
        return Made(
            frames=[Frame(image=control, lossless=True)],
            target=source.image,
            params=params,
            slots=slots,
            caption=slots["caption"],
        )


class CannyToImage(MapToImage):
    task = "canny_to_image"
    analysis = CannyExtraction
    operator = CannyExtraction.operator


class SegmentationToImage(MapToImage):
    task = "segmentation_to_image"
    analysis = Segmentation
    operator = Segmentation.operator


class ContourToImage(MapToImage):
    task = "contour_to_image"
    analysis = Contour
    operator = Contour.operator


class ScribbleToImage(MapToImage):
    task = "scribble_to_image"
    analysis = Scribble
    operator = Scribble.operator


class DoodleToImage(MapToImage):
    task = "doodle_to_image"
    analysis = Doodle
    operator = Doodle.operator


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
