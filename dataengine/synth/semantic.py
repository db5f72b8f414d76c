"""Semantic editing: change one named thing about an image, and say exactly what changed.

Shapes-world edits (`change_color`, `change_shape`, `change_size`, `move_object`,
`change_count`) edit the source's scene dict and re-render it, so the target is exact and
the instruction can name the object by colour and shape (unique in a scene). Photo edits
(`style_transfer`, `color_grading`, `brightness_contrast`) apply a global look from
styles.py. As elsewhere, `draw` spends the generator and returns JSON-able params, and
`build(source, params)` remakes the pair from them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.sources import shapes_world as sw
from dataengine.synth import styles
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.low_level import has_colour, refuse_gray

# A global edit whose target differs from its source by less than this (mean grey levels)
# is invisible (brightening a white page): no pair.
MIN_VISIBLE_CHANGE = 2.0
# Copies make scenes fuller than shapes_world's MAX_OBJECTS; 6 of 9 cells still leaves
# room to see every object, and free cells to move into.
MAX_COUNT_OBJECTS = 6
MAX_COPIES = 3  # added or removed in one edit: "add three more" is still easy to check
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six")

# ============================================================================================
# Shapes-world scenes: rendering at the source's size, naming objects
# ============================================================================================


def render_like(scene: dict, shape: tuple[int, ...]) -> np.ndarray:
    """The scene rendered at its own size, then scaled to `shape` (HxW...)."""
    return scale_to(sw.render(scene), shape)


def scale_to(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Scale a full-size render to `shape` exactly as the decode stage scales a generated
    source (INTER_AREA), so that an unedited scene renders to the source's own pixels."""
    h, w = shape[:2]
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def names_are_unique(scene: dict) -> bool:
    """True when colour + shape names every object of the scene, as "the red circle" must."""
    kinds = [(o["color"], o["shape"]) for o in scene["objects"]]
    return len(kinds) == len(set(kinds))


def object_name(obj: dict) -> str:
    return f"{obj['color']} {obj['shape']}"


def scene_of(source: SourceImage) -> dict:
    if source.meta.get("scene") is None:
        raise PairError("no_scene", f"{source.id} is not a shapes-world scene")
    return source.meta["scene"]


def scene_pair(
    source: SourceImage, before: dict, after: dict, params: dict, slots: dict[str, Any]
) -> Made:
    """The frame shows `before`, the target `after`, both at the source's size.

    A source's pixels are its scene rendered (the decode stage only scales them, as
    render_like does), so when `before` is that scene the source image is reused: one
    render instead of two, and most of a render is the background texture.
    """
    shape = source.image.shape
    unchanged = before == source.meta.get("scene")
    return Made(
        frames=[Frame(image=source.image if unchanged else render_like(before, shape))],
        target=render_like(after, shape),
        params=params,
        slots=slots,
        caption=sw.caption(after),
        scenes={"frames": [before], "target": after},
    )


# ============================================================================================
# One attribute of one object: colour, shape, size, position
# ============================================================================================


class SceneEdit(PairMaker):
    """Draws a shapes_world.random_edit of `attribute` and applies it with apply_edit."""

    category = "semantic_editing"
    operator = "shapes_world.apply_edit"
    needs_scene = True
    attribute: ClassVar[str] = ""

    def accepts(self, source: SourceImage) -> bool:
        scene = source.meta.get("scene")
        return scene is None or names_are_unique(scene)

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scene = self.named_scene(source)
        return {"edit": sw.random_edit(scene, rng, self.attribute)}

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        before, edit = self.named_scene(source), params["edit"]
        if edit["attribute"] != self.attribute:
            raise PairError("wrong_edit", f"{self.task} got a {edit['attribute']!r} edit")
        try:
            after = sw.apply_edit(before, edit)
        except (ValueError, IndexError) as exc:
            raise PairError("edit_mismatch", f"{edit} does not fit {source.id}: {exc}") from None
        obj = before["objects"][edit["object"]]
        return scene_pair(source, before, after, params, self.slots(obj, edit))

    def named_scene(self, source: SourceImage) -> dict:
        scene = scene_of(source)
        if not names_are_unique(scene):
            raise PairError("ambiguous_objects", "two objects share colour and shape")
        return scene

    def slots(self, obj: dict, edit: dict) -> dict[str, Any]:
        raise NotImplementedError


class ChangeColor(SceneEdit):
    task = "change_color"
    attribute = "color"

    def slots(self, obj: dict, edit: dict) -> dict[str, Any]:
        return {
            "object": object_name(obj),
            "shape": obj["shape"],
            "old_color": edit["from"],
            "new_color": edit["to"],
            "where": obj["cell"],
        }


class ChangeShape(SceneEdit):
    task = "change_shape"
    attribute = "shape"

    def slots(self, obj: dict, edit: dict) -> dict[str, Any]:
        return {
            "object": object_name(obj),
            "color": obj["color"],
            "old_shape": edit["from"],
            "new_shape": edit["to"],
            "where": obj["cell"],
        }


class ChangeSize(SceneEdit):
    task = "change_size"
    attribute = "size"

    def slots(self, obj: dict, edit: dict) -> dict[str, Any]:
        grows = sw.SIZES[edit["to"]] > sw.SIZES[edit["from"]]
        return {
            "object": object_name(obj),
            "old_size": edit["from"],
            "new_size": edit["to"],
            "comparative": "larger" if grows else "smaller",
            "where": obj["cell"],
        }


class MoveObject(SceneEdit):
    task = "move_object"
    attribute = "position"

    def slots(self, obj: dict, edit: dict) -> dict[str, Any]:
        return {"object": object_name(obj), "old_where": edit["from"], "new_where": edit["to"]}


# ============================================================================================
# How many copies of one kind of object
# ============================================================================================


def with_copies(scene: dict, kind: dict, cells: list[str]) -> dict:
    """`scene` with the objects of `kind` (its colour and shape) exactly at `cells`: those
    already there stay where they are in the object list, new copies (kind's size) follow
    in cell order."""
    kept = [o for o in scene["objects"] if not _same_kind(o, kind) or o["cell"] in cells]
    present = {o["cell"] for o in kept}
    added = [dict(kind, cell=c) for c in sw.CELLS if c in cells and c not in present]
    return {**scene, "objects": [dict(o) for o in kept] + added}


def noun(count: int, obj: dict) -> str:
    """'red circle' or 'red circles'; every shape name takes a plain -s."""
    return object_name(obj) if count == 1 else f"{object_name(obj)}s"


def amount(count: int, obj: dict) -> str:
    """'one red circle', 'three red circles'."""
    return f"{NUMBER_WORDS[count]} {noun(count, obj)}"


class ChangeCount(PairMaker):
    """Add copies of one object, or remove some of its copies.

    Params name the cells that hold the object's kind in the frame and in the target. A
    source scene usually has one object of each kind; to remove copies from it, the frame
    first gets some added (still an exact scene), and the target takes some away again.
    Copies share colour and shape, so the result no longer names each object uniquely
    (the other scene edits refuse it) and may hold up to MAX_COUNT_OBJECTS objects.
    """

    task = "change_count"
    category = "semantic_editing"
    operator = "shapes_world.render(copies)"
    needs_scene = True

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scene = scene_of(source)
        i = int(rng.integers(len(scene["objects"])))
        obj = scene["objects"][i]
        existing = [o["cell"] for o in scene["objects"] if _same_kind(o, obj)]
        free = [c for c in sw.CELLS if c not in {o["cell"] for o in scene["objects"]}]
        room = min(len(free), MAX_COUNT_OBJECTS - len(scene["objects"]))
        if room < 1 and len(existing) < 2:
            raise PairError("no_room", f"no free cell to add a copy in {source.id}")
        removing = room < 1 or bool(rng.integers(2))  # with no room, there are copies to take
        frame_cells = list(existing)
        if removing and len(existing) < 2:  # nothing to remove yet: show copies first
            frame_cells += _some_of(rng, free, room)
        if removing:
            removable = [c for c in frame_cells if c != obj["cell"]]
            gone = _some_of(rng, removable, len(removable))
            target_cells = [c for c in frame_cells if c not in gone]
        else:
            target_cells = frame_cells + _some_of(rng, free, room)
        return {"object": i, "frame_cells": frame_cells, "target_cells": target_cells}

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        scene = scene_of(source)
        obj = self.checked_object(scene, params)
        before = with_copies(scene, obj, params["frame_cells"])
        after = with_copies(scene, obj, params["target_cells"])
        old, new = len(params["frame_cells"]), len(params["target_cells"])
        return scene_pair(source, before, after, params, self.slots(obj, old, new))

    @staticmethod
    def checked_object(scene: dict, params: dict[str, Any]) -> dict:
        """The object whose kind is counted; refuses params that do not fit the scene."""
        objects = scene["objects"]
        if not 0 <= params["object"] < len(objects):
            raise PairError("edit_mismatch", f"no object {params['object']} in the scene")
        obj = objects[params["object"]]
        taken = {o["cell"] for o in objects if not _same_kind(o, obj)}
        for cells in (params["frame_cells"], params["target_cells"]):
            if obj["cell"] not in cells or taken & set(cells) or len(set(cells)) != len(cells):
                raise PairError("edit_mismatch", f"cells {cells} do not fit the scene")
        if len(params["frame_cells"]) == len(params["target_cells"]):
            raise PairError("edit_mismatch", "the count does not change")
        return obj

    @staticmethod
    def slots(obj: dict, old: int, new: int) -> dict[str, Any]:
        difference = abs(new - old)
        if new > old:
            change = f"add {NUMBER_WORDS[difference]} more {noun(difference, obj)} to"
        else:
            change = f"remove {NUMBER_WORDS[difference]} of the {noun(2, obj)} from"
        return {
            "object": object_name(obj),
            "objects": noun(2, obj),
            "old_count": NUMBER_WORDS[old],
            "new_count": NUMBER_WORDS[new],
            "old_amount": amount(old, obj),
            "new_amount": amount(new, obj),
            "change": change,
        }


def _same_kind(a: dict, b: dict) -> bool:
    return (a["color"], a["shape"]) == (b["color"], b["shape"])


def _some_of(rng: np.random.Generator, cells: list[str], most: int) -> list[str]:
    """1 to min(MAX_COPIES, most, len(cells)) of `cells`, in their order (most >= 1)."""
    count = int(rng.integers(1, min(MAX_COPIES, most, len(cells)) + 1))
    picked = {cells[int(k)] for k in rng.permutation(len(cells))[:count]}
    return [c for c in cells if c in picked]


# ============================================================================================
# Global photo edits: a look from styles.py over the whole image
# ============================================================================================


def look_pair(source: SourceImage, target: np.ndarray, params: dict, slots: dict) -> Made:
    if styles.mean_abs_change(source.image, target) < MIN_VISIBLE_CHANGE:
        raise PairError("no_visible_change", f"{params} leaves {source.id} almost unchanged")
    return Made(frames=[Frame(image=source.image)], target=target, params=params, slots=slots)


class StyleTransfer(PairMaker):
    task = "style_transfer"
    category = "semantic_editing"
    operator = "styles.apply_style"

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, styles.draw_style_params(rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        target = styles.apply_style(source.image, params)
        return look_pair(source, target, params, {"style": styles.STYLE_WORDS[params["style"]]})


class ColorGrading(PairMaker):
    task = "color_grading"
    category = "semantic_editing"
    operator = "styles.color_grade"

    def accepts(self, source: SourceImage) -> bool:
        return has_colour(source)  # a grade on a grey photo is a tint at best, often nothing

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, styles.draw_grade_params(rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        refuse_gray(source.image)
        target = styles.color_grade(source.image, params["grade"], params["strength"])
        slots = {"grade": styles.GRADE_WORDS[params["grade"]], "amount": params["level"]}
        return look_pair(source, target, params, slots)


# How instructions name each tone change: "make {image} $adjective", "$adjustment of {image}".
TONE_ADJECTIVES = {
    "brighter": "brighter",
    "darker": "darker",
    "more_contrast": "higher in contrast",
    "less_contrast": "lower in contrast",
}
TONE_ADJUSTMENTS = {
    "brighter": "increase the brightness",
    "darker": "decrease the brightness",
    "more_contrast": "increase the contrast",
    "less_contrast": "decrease the contrast",
}


class BrightnessContrast(PairMaker):
    task = "brightness_contrast"
    category = "semantic_editing"
    operator = "styles.adjust_tone"

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, styles.draw_tone_params(rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        direction = params["direction"]
        target = styles.adjust_tone(source.image, direction, params["amount"])
        slots = {
            "adjective": TONE_ADJECTIVES[direction],
            "adjustment": TONE_ADJUSTMENTS[direction],
            "amount": params["level"],
            "percent": str(round(100 * params["amount"])),
        }
        return look_pair(source, target, params, slots)
