"""Layer editing: split a composite into its layers, or merge layers (ACE's "layer_editing").

A composite is a background with one foreground layer blended on (cutout.blend). On a
shapes-world scene the foreground is one of its objects, exact to the anti-aliased rim, and
the background is the scene rendered without it; on a photo the foreground is a cut-out of
a partner photo. `extract_foreground` wants the layer alone on plain white or black,
`extract_background` the background without it, `merge_layers` the composite of the two.

As in low_level.py, `draw` spends the generator and `build` remakes the pair from params.
Every maker takes one partner, the photo cut-outs come from; a scene-object split leaves it
unused, and its params say so (`"layer": "scene_object"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.sources import shapes_world
from dataengine.synth import cutout
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.element import big_enough, draw_paste, paste

PLAIN = {"white": (255, 255, 255), "black": (0, 0, 0)}


@dataclass
class Layers:
    """A composite and the two layers it is made of; scenes where they show one exactly."""

    background: np.ndarray
    layer: cutout.Layer
    composite: np.ndarray
    obj: dict | None = None  # the scene object the layer is, if it is one
    background_scene: dict | None = None
    composite_scene: dict | None = None


def draw_layers(
    source: SourceImage, partner: SourceImage, rng: np.random.Generator, hard_edged: bool = False
) -> dict[str, Any]:
    """A scene's object as the layer where the source is a scene, else a partner cut-out.

    A scene object's rim is anti-aliased, so a hard-edged layer is always a photo cut-out.
    """
    scene = source.meta.get("scene")
    if scene and scene["objects"] and not hard_edged:
        return {"layer": "scene_object", "object": int(rng.integers(len(scene["objects"])))}
    return {"layer": "photo_cutout", "cutout": draw_paste(source, partner, rng, not hard_edged)}


def split(source: SourceImage, partners: list[SourceImage], params: dict[str, Any]) -> Layers:
    """The composite and its layers that `params` (from draw_layers) describe."""
    if params["layer"] == "scene_object":
        return _split_scene(source, params["object"])
    layer, composite = paste(source, partners[0], params["cutout"])
    scene = source.meta.get("scene")
    if scene is not None:
        scene, _ = cutout.sized_scene(scene, source.image)
    return Layers(source.image, layer, composite, background_scene=scene)


def _split_scene(source: SourceImage, index: int) -> Layers:
    scene, image = cutout.sized_scene(source.meta["scene"], source.image)
    if not 0 <= index < len(scene["objects"]):
        raise PairError("no_such_object", f"{source.id} has no object {index}")
    obj = scene["objects"][index]
    removal = {"attribute": "remove", "object": index, "from": obj, "to": None}
    behind = shapes_world.apply_edit(scene, removal)  # may leave no object: still a background
    return Layers(
        background=shapes_world.render(behind),
        layer=cutout.scene_object_layer(scene, index),
        composite=image,
        obj=obj,
        background_scene=behind,
        composite_scene=scene,
    )


def object_slots(layers: Layers) -> dict[str, str]:
    return {"object": cutout.describe_object(layers.obj)} if layers.obj else {}


def has_scene(source: SourceImage) -> bool:
    return "scene" in source.meta


class LayerMaker(PairMaker):
    """Shared by the layer makers: one partner, and a composite drawn by draw_layers."""

    category = "layer_editing"
    operator = "cutout.blend"
    partners = 1

    def accepts(self, source: SourceImage) -> bool:
        return big_enough(source.image)

    def make_with(
        self, source: SourceImage, partners: list[SourceImage], rng: np.random.Generator
    ) -> Made:
        return self.build(source, self.draw(source, partners[0], rng), partners)

    def draw(
        self, source: SourceImage, partner: SourceImage, rng: np.random.Generator
    ) -> dict[str, Any]:
        return draw_layers(source, partner, rng)


class ExtractForeground(LayerMaker):
    task = "extract_foreground"

    def draw(
        self, source: SourceImage, partner: SourceImage, rng: np.random.Generator
    ) -> dict[str, Any]:
        plain = list(PLAIN)[int(rng.integers(len(PLAIN)))]
        return {**draw_layers(source, partner, rng), "plain": plain}

    def build(
        self, source: SourceImage, params: dict[str, Any], partners: list[SourceImage]
    ) -> Made:
        layers = split(source, partners, params)
        scenes = {"frames": [layers.composite_scene], "target": None}
        return Made(
            frames=[Frame(image=layers.composite, mask=layers.layer.mask, mask_role="layer")],
            target=cutout.on_plain(layers.layer, PLAIN[params["plain"]]),
            params=params,
            target_lossless=True,  # a flat background and sharp edges: JPEG would ring
            slots={"background": params["plain"], **object_slots(layers)},
            scenes=scenes if has_scene(source) else None,
        )


class ExtractBackground(LayerMaker):
    task = "extract_background"

    def build(
        self, source: SourceImage, params: dict[str, Any], partners: list[SourceImage]
    ) -> Made:
        layers = split(source, partners, params)
        scenes = {"frames": [layers.composite_scene], "target": layers.background_scene}
        return Made(
            frames=[Frame(image=layers.composite, mask=layers.layer.mask)],
            target=layers.background,
            params=params,
            slots=object_slots(layers),
            scenes=scenes if has_scene(source) else None,
        )


class MergeLayers(LayerMaker):
    """{image} the background, {image1} the layer on plain white or black with its mask.

    The cut-out is hard-edged, so the binary mask says all there is to know about the layer:
    the target takes {image1} inside the mask and {image} outside, pixel for pixel.
    """

    task = "merge_layers"

    def draw(
        self, source: SourceImage, partner: SourceImage, rng: np.random.Generator
    ) -> dict[str, Any]:
        plain = list(PLAIN)[int(rng.integers(len(PLAIN)))]
        return {**draw_layers(source, partner, rng, hard_edged=True), "plain": plain}

    def build(
        self, source: SourceImage, params: dict[str, Any], partners: list[SourceImage]
    ) -> Made:
        layers = split(source, partners, params)
        layer = layers.layer
        scenes = {"frames": [layers.background_scene, None], "target": None}
        return Made(
            frames=[
                Frame(image=layers.background),
                Frame(
                    image=cutout.on_plain(layer, PLAIN[params["plain"]]),
                    mask=layer.mask,
                    mask_role="layer",
                ),
            ],
            target=layers.composite,
            params=params,
            slots={"background": params["plain"]},
            scenes=scenes if has_scene(source) else None,
        )
