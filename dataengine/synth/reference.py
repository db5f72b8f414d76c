"""Reference generation: a second image shows what to use, the instruction says where.

`style_reference`: {image} is a photo, {image1} another photo (a partner source) in a
drawn style; the target is the first photo in that same style. `object_reference`: {image}
is a shapes-world scene, {image1} one object alone on a plain backdrop; the target is the
scene with that object added in a named free cell. As elsewhere, `draw` spends the
generator and `build` remakes the pair from the recorded params.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.sources import shapes_world as sw
from dataengine.synth import styles
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.controllable import caption_slots
from dataengine.synth.semantic import (
    MIN_VISIBLE_CHANGE,
    object_name,
    render_like,
    scale_to,
    scene_of,
)


class StyleReference(PairMaker):
    task = "style_reference"
    category = "reference_generation"
    operator = "styles.apply_style"
    partners = 1

    def make_with(
        self, source: SourceImage, partners: list[SourceImage], rng: np.random.Generator
    ) -> Made:
        return self.build(source, partners, styles.draw_style_params(rng))

    def build(self, source: SourceImage, partners: list[SourceImage], params: dict) -> Made:
        """Style settings are relative to each image's size, so the two images show the
        same style even when their sizes differ."""
        (partner,) = partners
        example = styles.apply_style(partner.image, params)
        target = styles.apply_style(source.image, params)
        if styles.mean_abs_change(source.image, target) < MIN_VISIBLE_CHANGE:
            raise PairError("no_visible_change", f"{params} leaves {source.id} almost unchanged")
        slots = caption_slots(source)  # optional: names what the content photo shows
        return Made(
            frames=[Frame(image=source.image), Frame(image=example)],
            target=target,
            params=params,
            slots=slots,
        )


# Where the reference object stands on its backdrop: the middle, at its size in the target.
REFERENCE_CELL = "center"


class ObjectReference(PairMaker):
    task = "object_reference"
    category = "reference_generation"
    operator = "shapes_world.apply_edit(add)"
    needs_scene = True

    def accepts(self, source: SourceImage) -> bool:
        scene = source.meta.get("scene")
        return scene is None or "add" in sw.edit_attributes(scene)

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scene = scene_of(source)
        if "add" not in sw.edit_attributes(scene):
            raise PairError("scene_full", f"{source.id} has {sw.MAX_OBJECTS} objects already")
        backdrops = list(sw.BACKGROUND_COLORS)
        edit = sw.random_edit(scene, rng, "add")
        return {"edit": edit, "backdrop": backdrops[int(rng.integers(len(backdrops)))]}

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        before, edit = scene_of(source), params["edit"]
        obj = edit["to"]
        used = {o["cell"] for o in before["objects"]}
        if edit["attribute"] != "add" or obj["cell"] in used:
            raise PairError("edit_mismatch", f"{edit} does not add an object to a free cell")
        after = sw.apply_edit(before, edit)
        alone = reference_scene(before, obj, params["backdrop"])
        shape = source.image.shape
        return Made(
            frames=[Frame(image=source.image), Frame(image=render_reference(alone, shape))],
            target=render_like(after, shape),
            params=params,
            slots={"where": obj["cell"], "size": obj["size"], "object": object_name(obj)},
            caption=sw.caption(after),
            scenes={"frames": [before, alone], "target": after},
        )


def reference_scene(scene: dict, obj: dict, backdrop: str) -> dict:
    """The object alone, centred, on a plain backdrop (background kind "plain": not one of
    shapes_world's textures; render it with render_reference)."""
    return {
        "size": list(scene["size"]),
        "background": {"kind": "plain", "color": backdrop, "seed": 0},
        "objects": [dict(obj, cell=REFERENCE_CELL)],
    }


def render_reference(alone: dict, shape: tuple[int, ...]) -> np.ndarray:
    """render() draws textured backgrounds only: render on its cheapest texture, a linear
    gradient that is zero at the centre, then paint every pixel the object does not touch
    in the flat backdrop colour. The anti-aliased rim of the centred object keeps a trace of
    the gradient (under 5 grey levels), invisible beside the flat colour."""
    textured = {**alone, "background": {**alone["background"], "kind": "gradient"}}
    image = sw.render(textured)
    image[sw.object_mask(textured, 0) == 0] = sw.BACKGROUND_COLORS[alone["background"]["color"]]
    return scale_to(image, shape)
