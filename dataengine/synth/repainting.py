"""Repainting: part of the photo blanked out under a mask in, the whole photo out.

As in low_level.py, `draw` spends the generator and `build(source, params)` remakes a pair;
the mask is rebuilt from params by ops.mask_from_params.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth import ops
from dataengine.synth.base import Made, PairError, PairMaker, register_maker
from dataengine.synth.controllable import caption_slots

MIN_SIDE = 64  # below this a 5% hole is a few pixels and strokes cannot be drawn
MASK_KINDS = ("rectangle", "strokes")


@register_maker
class Inpainting(PairMaker):
    task = "inpainting"
    category = "repainting"
    operator = "blank_out"
    min_frac = 0.05
    max_frac = 0.40

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, self.draw(source, rng))

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        h, w = source.image.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise PairError("too_small", f"{w}x{h} is under {MIN_SIDE} px on a side")
        kind = MASK_KINDS[int(rng.integers(len(MASK_KINDS)))]
        draw_mask = ops.draw_rectangle_params if kind == "rectangle" else ops.draw_stroke_params
        return draw_mask(h, w, rng, self.min_frac, self.max_frac)

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        h, w = source.image.shape[:2]
        mask = ops.mask_from_params(h, w, params)
        slots = caption_slots(source)
        return Made(
            frames=[Frame(image=ops.blank_out(source.image, mask), mask=mask)],
            target=source.image,
            params=params,
            slots=slots,
            caption=slots.get("caption"),
        )
