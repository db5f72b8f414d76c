"""Repainting: part of the photo blanked out under a mask in, the whole photo out.

`inpainting` blanks a rectangle or brush strokes, `object_inpainting` one shapes-world object
under its grown mask, `outpainting` the border around an inner crop of the photo.
As in low_level.py, `draw` spends the generator and `build(source, params)` remakes a pair;
masks are rebuilt from params (ops.mask_from_params, masks.grow, masks.border_mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.sources import shapes_world
from dataengine.synth import cutout, masks, ops
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.controllable import caption_slots

MIN_SIDE = 64  # below this a 5% hole is a few pixels and strokes cannot be drawn
MASK_KINDS = ("rectangle", "strokes")


class Inpainting(PairMaker):
    task = "inpainting"
    category = "repainting"
    operator = "blank_out"
    min_frac = 0.05
    max_frac = 0.40

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


class ObjectInpainting(PairMaker):
    """One object of a shapes-world scene blanked out under its mask, grown so that the hole
    does not give its outline away; the hint names the object in half of the pairs."""

    task = "object_inpainting"
    category = "repainting"
    operator = "blank_out(masks.grow(object_mask))"
    needs_scene = True
    max_dilation = 0.06  # of the shorter side

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        objects = source.meta["scene"]["objects"]
        if not objects:
            raise PairError("no_object", f"the scene of {source.id} has no object to repaint")
        grow = masks.GROW_KINDS[int(rng.integers(len(masks.GROW_KINDS)))]
        widest = max(2, round(self.max_dilation * min(source.image.shape[:2])))
        return {
            "object": int(rng.integers(len(objects))),
            "grow": grow,
            "radius": int(rng.integers(2, widest + 1)) if grow == "dilate" else 0,
            "hint": bool(rng.random() < 0.5),
        }

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        scene, image = cutout.sized_scene(source.meta["scene"], source.image)
        index = params["object"]
        if not 0 <= index < len(scene["objects"]):
            raise PairError("no_such_object", f"{source.id} has no object {index}")
        exact = shapes_world.object_mask(scene, index)
        mask = masks.grow(exact, params["grow"], params["radius"])
        hint = cutout.describe_object(scene["objects"][index])
        return Made(
            frames=[Frame(image=ops.blank_out(image, mask), mask=mask)],
            target=image,
            params=params,
            slots={"object": hint} if params["hint"] else {},
            caption=shapes_world.caption(scene),
            scenes={"frames": [scene], "target": scene},
        )


class Outpainting(PairMaker):
    """The photo cropped to an inner box and shown at that place on a black canvas of the
    full size; the mask covers the missing border, at least one side of it."""

    task = "outpainting"
    category = "repainting"
    operator = "blank_out(masks.border_mask)"
    max_margin = 0.35  # of the side: the inner box keeps at least 30% of each dimension
    min_margin = 0.08

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        h, w = source.image.shape[:2]
        if min(h, w) < MIN_SIDE:
            raise PairError("too_small", f"{w}x{h} is under {MIN_SIDE} px on a side")
        padded = int(rng.integers(1, 16))  # a non-empty set of the four sides, as bits
        lengths = {"top": h, "bottom": h, "left": w, "right": w}
        margins = {}
        for bit, side in enumerate(lengths):
            fraction = rng.uniform(self.min_margin, self.max_margin)
            margins[side] = round(fraction * lengths[side]) if padded >> bit & 1 else 0
        return margins

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        h, w = source.image.shape[:2]
        try:
            mask = masks.border_mask(h, w, **params)
        except ValueError as exc:
            raise PairError("margins_too_large", str(exc)) from exc
        slots = caption_slots(source)
        return Made(
            frames=[Frame(image=ops.blank_out(source.image, mask), mask=mask)],
            target=source.image,
            params=params,
            slots=slots,
            caption=slots.get("caption"),
        )
