"""Element editing: add or remove one piece of text or one object (ACE's "element_editing").

Text is rendered with matplotlib's DejaVu fonts (text_render.py): `text_render` writes it onto
the photo, `text_removal` takes it off again. Objects: on shapes-world scenes an add or remove
edit of the scene gives an exact target; on photos a cut-out of a partner photo (cutout.py)
is pasted in, or taken out again.

As in low_level.py, `draw` spends the generator and `build` remakes the pair from params;
makers with a partner take the partners as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dataengine.fonts import FONT_FILES, text_extent
from dataengine.schema import Frame, SourceImage
from dataengine.sources import shapes_world
from dataengine.synth import cutout, masks
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.text_render import fit_size, render_text

# Short, common words and phrases, as on signs, labels and cards. No quotes or dollar signs:
# the text goes into the instruction between double quotes.
# fmt: off
WORDS = (
    "HELLO", "OPEN", "CLOSED", "SALE", "STOP", "EXIT", "WELCOME", "COFFEE", "TEA", "BAKERY",
    "NEW", "HOT", "COLD", "FREE", "LIVE", "NEWS", "SPACE", "MOON", "STAR", "CAT", "DOG",
    "Hello", "Welcome", "Thank you", "Good morning", "Good night", "Happy birthday",
    "Best wishes", "Congratulations", "See you soon", "Have a nice day", "Love", "Peace",
    "Dream big", "Keep going", "Stay calm", "Hope", "Joy", "Smile", "Relax", "Enjoy", "summer",
    "winter", "spring", "autumn", "morning", "sunset", "ocean", "forest", "garden", "city",
    "home", "family", "friends", "travel", "adventure", "music", "dance", "art", "book", "cafe",
    "pizza", "bread", "fresh fruit", "ice cream", "menu", "free wifi", "No parking", "One way",
    "Keep out", "Fragile", "Handle with care", "This side up", "Made with love", "Hand made",
    "Since 1984", "Room 42", "Gate 7", "Platform 3", "Chapter one", "The end", "Part 2",
    "Vol. 3", "Day 1", "Top 10", "50% off", "Size M",
)
# fmt: on
TEXT_COLORS = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (220, 30, 30),
    "yellow": (250, 215, 40),
    "blue": (30, 80, 210),
    "green": (30, 150, 60),
    "orange": (245, 130, 20),
    "pink": (235, 90, 170),
    "purple": (130, 60, 180),
    "cyan": (40, 200, 220),
}
MIN_CONTRAST = 90  # luma between the text colour and the mean of the photo under it
MIN_TEXT_SIZE = 8  # px: smaller text is unreadable after JPEG
TEXT_HEIGHT = (0.08, 0.22)  # range of the font size, as a fraction of the image height
SPACED_CHANCE = 0.25  # "H E L L O", as ACE spells out words letter by letter
MAX_SPACED_LETTERS = 8


# ============================================================================================
# Text
# ============================================================================================


def luma(rgb: Sequence[float]) -> float:
    """Brightness (ITU-R 601) of a colour or of the mean colour of a region."""
    r, g, b = (float(c) for c in rgb)
    return 0.299 * r + 0.587 * g + 0.114 * b


def draw_text_params(image: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """Text, font, size, position and a colour that stands out from the photo under it."""
    h, w = image.shape[:2]
    text, font = _draw_text(rng), list(FONT_FILES)[int(rng.integers(len(FONT_FILES)))]
    size = fit_size(text, font, round(rng.uniform(*TEXT_HEIGHT) * h), int(0.9 * w))
    tw, th = text_extent(text, font, size)
    if size < MIN_TEXT_SIZE or th > h:
        raise PairError("text_does_not_fit", f"{text!r} cannot be written legibly in {w}x{h}")
    left, top = int(rng.integers(0, w - tw + 1)), int(rng.integers(0, h - th + 1))
    under = image[top : top + th, left : left + tw].reshape(-1, 3).mean(axis=0)
    return {
        "text": text,
        "font": font,
        "size": size,
        "color": _contrasting_color(under, rng),
        "left": left,
        "top": top,
        "with_mask": bool(rng.random() < 0.5),
    }


def _draw_text(rng: np.random.Generator) -> str:
    text = WORDS[int(rng.integers(len(WORDS)))]
    spaced = rng.random() < SPACED_CHANCE
    if spaced and " " not in text and len(text) <= MAX_SPACED_LETTERS:
        return " ".join(text.upper())
    return text


def _contrasting_color(under: np.ndarray, rng: np.random.Generator) -> str:
    # White or black always qualifies: one of them is at least 127 luma away from anything.
    names = [n for n, rgb in TEXT_COLORS.items() if abs(luma(rgb) - luma(under)) >= MIN_CONTRAST]
    return names[int(rng.integers(len(names)))]


def written(image: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """The image with the params' text, and the frame mask: the text box, when asked for."""
    text, font, size = params["text"], params["font"], params["size"]
    color = TEXT_COLORS[params["color"]]
    out, ink = render_text(image, text, font, size, color, params["left"], params["top"])
    if not params["with_mask"]:
        return out, None
    return out, masks.box_mask(ink, margin=max(2, size // 8))


class TextRender(PairMaker):
    task = "text_render"
    category = "element_editing"
    operator = "PIL.ImageDraw.text"

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, draw_text_params(source.image, rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        with_text, box = written(source.image, params)
        return Made(
            frames=[Frame(image=source.image, mask=box)],
            target=with_text,
            params=params,
            target_lossless=True,  # JPEG smears thin glyphs
            slots={"text": params["text"], "color": params["color"]},
            scenes=scene_record(source, frames=[True], target=False),
        )


class TextRemoval(PairMaker):
    task = "text_removal"
    category = "element_editing"
    operator = "PIL.ImageDraw.text"

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, draw_text_params(source.image, rng))

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        with_text, box = written(source.image, params)
        return Made(
            frames=[Frame(image=with_text, mask=box, lossless=True)],
            target=source.image,
            params=params,
            slots={"text": params["text"]},
            caption=source.caption or None,
            scenes=scene_record(source, frames=[False], target=True),
        )


def scene_record(source: SourceImage, frames: list[bool], target: bool) -> dict | None:
    """Provenance scenes of a shapes-world source: its scene for each image that shows it
    as it is, None for one that shows more than the scene (text, a pasted cut-out)."""
    scene = source.meta.get("scene")
    if scene is None:
        return None
    return {
        "frames": [scene if shown else None for shown in frames],
        "target": scene if target else None,
    }


# ============================================================================================
# Shapes-world objects: the scene edit gives the exact target
# ============================================================================================


class SceneObjectEdit(PairMaker):
    """Add or remove one object of a shapes-world scene (shapes_world.apply_edit)."""

    category = "element_editing"
    operator = "shapes_world.apply_edit"
    needs_scene = True
    attribute: str = ""  # "add" or "remove"

    def accepts(self, source: SourceImage) -> bool:
        scene = source.meta.get("scene")
        return scene is None or self.attribute in shapes_world.edit_attributes(scene)

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scene = source.meta["scene"]
        if self.attribute not in shapes_world.edit_attributes(scene):
            n = len(scene["objects"])
            kind = "scene_full" if self.attribute == "add" else "last_object"
            raise PairError(kind, f"cannot {self.attribute} an object in a scene of {n}")
        edit = shapes_world.random_edit(scene, rng, self.attribute)
        return {"edit": edit, "with_mask": bool(rng.random() < 0.5)}

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        edit = params["edit"]
        scene, image = cutout.sized_scene(source.meta["scene"], source.image)
        try:
            edited = shapes_world.apply_edit(scene, edit)
        except (ValueError, IndexError) as exc:
            raise PairError("edit_mismatch", f"{edit} does not fit {source.id}: {exc}") from exc
        # The object's own mask, in the scene that holds it: nothing else changes.
        holder = edited if self.attribute == "add" else scene
        mask = shapes_world.object_mask(holder, edit["object"]) if params["with_mask"] else None
        obj = edit["to"] if self.attribute == "add" else edit["from"]
        return Made(
            frames=[Frame(image=image, mask=mask)],
            target=self.edited_image(image, edited, edit["object"]),
            params=params,
            slots={"object": cutout.describe_object(obj), "position": obj["cell"]},
            caption=shapes_world.caption(edited),
            scenes={"frames": [scene], "target": edited},
        )

    def edited_image(self, image: np.ndarray, edited: dict, index: int) -> np.ndarray:
        """The pixels of the edited scene (`index`: the object the edit touched)."""
        return shapes_world.render(edited)


class AddObject(SceneObjectEdit):
    task = "add_object"
    attribute = "add"

    def edited_image(self, image: np.ndarray, edited: dict, index: int) -> np.ndarray:
        # The new object blended onto the scene's pixels is render(edited), bit for bit
        # (objects never overlap), at a tenth of the cost of rendering the background again.
        return cutout.blend(image, cutout.scene_object_layer(edited, index))


class RemoveObject(SceneObjectEdit):
    task = "remove_object"
    attribute = "remove"


# ============================================================================================
# Photos: a cut-out of a partner photo pasted in, or taken out
# ============================================================================================


def big_enough(image: np.ndarray | None) -> bool:
    return image is None or min(image.shape[:2]) >= cutout.MIN_SIDE


def draw_paste(
    source: SourceImage, partner: SourceImage, rng: np.random.Generator, feather: bool = True
) -> dict[str, Any]:
    """Cut-out params for pasting a piece of `partner` into `source`."""
    for image, name in ((source.image, source.id), (partner.image, partner.id)):
        if not big_enough(image):
            h, w = image.shape[:2]
            raise PairError("too_small", f"{name} is {w}x{h}, under {cutout.MIN_SIDE} px a side")
    hw, partner_hw = source.image.shape[:2], partner.image.shape[:2]
    return cutout.draw_photo_cutout(hw, partner_hw, rng, feather)


def paste(
    source: SourceImage, partner: SourceImage, cut: dict[str, Any]
) -> tuple[cutout.Layer, np.ndarray]:
    """(layer, composite) of the cut-out on the source, refusing a paste that does not show."""
    layer = cutout.photo_cutout(source.image.shape[:2], partner.image, cut)
    composite = cutout.blend(source.image, layer)
    if not cutout.visible(source.image, composite, layer.mask):
        raise PairError("invisible_cutout", "the pasted piece looks like what it covers")
    return layer, composite


def paste_slots(source: SourceImage, cut: dict[str, Any]) -> dict[str, str]:
    """The cut-out's outline in words ('star-shaped') and where it lands ('top left')."""
    (x, y), half = cut["to"], cut["side"] / 2
    where = cutout.position_word(source.image.shape[:2], x + half, y + half)
    return {"shape": cutout.OUTLINE_WORDS[cut["outline"]], "position": where}


class AddObjectPhoto(PairMaker):
    task = "add_object_photo"
    category = "element_editing"
    operator = "cutout.blend"
    partners = 1  # {image1}: the photo the piece is cut from, its outline masked

    def accepts(self, source: SourceImage) -> bool:
        return big_enough(source.image)

    def make_with(
        self, source: SourceImage, partners: list[SourceImage], rng: np.random.Generator
    ) -> Made:
        return self.build(source, {"cutout": draw_paste(source, partners[0], rng)}, partners)

    def build(
        self, source: SourceImage, params: dict[str, Any], partners: list[SourceImage]
    ) -> Made:
        partner, cut = partners[0], params["cutout"]
        layer, composite = paste(source, partner, cut)
        cut_from = cutout.source_mask(partner.image.shape[:2], cut)
        return Made(
            frames=[
                Frame(image=source.image, mask=layer.mask),
                Frame(image=partner.image, mask=cut_from, mask_role="take"),
            ],
            target=composite,
            params=params,
            slots=paste_slots(source, cut),
            scenes=scene_record(source, frames=[True, False], target=False),
        )


class RemoveObjectPhoto(PairMaker):
    task = "remove_object_photo"
    category = "element_editing"
    operator = "cutout.blend"
    partners = 1  # the photo the pasted piece comes from; the pair shows only the result

    def accepts(self, source: SourceImage) -> bool:
        return big_enough(source.image)

    def make_with(
        self, source: SourceImage, partners: list[SourceImage], rng: np.random.Generator
    ) -> Made:
        cut = draw_paste(source, partners[0], rng)
        return self.build(source, {"cutout": cut, "with_mask": bool(rng.random() < 0.5)}, partners)

    def build(
        self, source: SourceImage, params: dict[str, Any], partners: list[SourceImage]
    ) -> Made:
        layer, composite = paste(source, partners[0], params["cutout"])
        return Made(
            frames=[Frame(image=composite, mask=layer.mask if params["with_mask"] else None)],
            target=source.image,
            params=params,
            slots=paste_slots(source, params["cutout"]),
            caption=source.caption or None,
            scenes=scene_record(source, frames=[False], target=True),
        )
