"""Cut-outs and compositing: a piece of one image, with its alpha, pasted onto another.

Two kinds of cut-out feed the element and layer makers:
- photo cut-outs: a square patch of a partner photo masked by an outline (an ellipse, a
  smooth blob or a shapes-world-like polygon), optionally feathered inward. They are drawn
  as JSON-able params (`draw_photo_cutout`) and rebuilt from them (`photo_cutout`);
- scene objects: one shapes-world object, whose colour and anti-aliased coverage are known
  exactly (`scene_object_layer`).

Compositing (`blend`) uses the float32 formula of shapes_world.render, so blending a scene
object onto the scene without it gives back the rendered scene bit for bit. Outlines are
filled without anti-aliasing and feathering stays inside them, so a layer's mask (alpha > 0)
is exactly the region where a composite can differ from its background.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from dataengine.sources import shapes_world
from dataengine.synth.masks import binary, bounding_box
from dataengine.synth.ops import MASK_ON

MIN_SIDE = 32  # of both images: below it a cut-out is a few pixels
SIDE_FRACTION = (0.25, 0.5)  # cut-out side, of the shorter side of the smaller image
OUTLINES = ("ellipse", "blob", "star", "triangle", "hexagon", "diamond", "square")
OUTLINE_WORDS = {
    "ellipse": "oval",
    "blob": "irregular",
    "star": "star-shaped",
    "triangle": "triangular",
    "hexagon": "hexagonal",
    "diamond": "diamond-shaped",
    "square": "square",
}
MIN_VISIBLE_CHANGE = 10.0  # mean grey levels a paste must change under its mask
SHIFT = 4  # cv2 fixed-point bits: outline vertices at 1/16 px


@dataclass
class Layer:
    """A full-size layer: colour (HxWx3 uint8) and coverage (HxW uint8, 0..255)."""

    rgb: np.ndarray
    alpha: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """255 wherever the layer has any weight: the only pixels a composite can change."""
        return binary(self.alpha > 0)


# --------------------------------------------------------------------------------------------
# Compositing
# --------------------------------------------------------------------------------------------


def blend(background: np.ndarray, layer: Layer) -> np.ndarray:
    """`layer` over `background`, RGB uint8; pixels where the layer has no weight are kept."""
    out = background.copy()
    if not layer.alpha.any():
        return out
    top, left, bottom, right = bounding_box(layer.alpha)
    box = slice(top, bottom), slice(left, right)  # blend only around the layer: much faster
    alpha = layer.alpha[box][:, :, None].astype(np.float32) / 255.0  # hxwx1
    blended = (
        out[box].astype(np.float32) * (1.0 - alpha) + layer.rgb[box].astype(np.float32) * alpha
    )
    out[box] = np.rint(blended).astype(np.uint8)
    return out


def on_plain(layer: Layer, color: tuple[int, int, int]) -> np.ndarray:
    """The layer alone on a plain background of `color` (a foreground extraction target)."""
    h, w = layer.alpha.shape
    return blend(np.full((h, w, 3), color, np.uint8), layer)


def visible(before: np.ndarray, after: np.ndarray, mask: np.ndarray) -> bool:
    """Whether a paste shows: a piece of sky pasted onto sky teaches nothing."""
    inside = mask > 0
    if not inside.any():
        return False
    change = np.abs(after[inside].astype(np.int16) - before[inside]).mean()
    return float(change) >= MIN_VISIBLE_CHANGE


# --------------------------------------------------------------------------------------------
# Photo cut-outs
# --------------------------------------------------------------------------------------------


def draw_photo_cutout(
    target_hw: tuple[int, int],
    partner_hw: tuple[int, int],
    rng: np.random.Generator,
    feather: bool = True,
) -> dict[str, Any]:
    """Where a square piece is cut from the partner, its outline, and where it lands.

    "from" and "to" are the [x, y] top-left corners of the side x side square in the partner
    and in the target; "angle" turns the outline, "feather" softens its edge inward.
    Both images must be at least MIN_SIDE on a side (the makers check, with a PairError).
    """
    (th, tw), (ph, pw) = target_hw, partner_hw
    side = round(rng.uniform(*SIDE_FRACTION) * min(th, tw, ph, pw))
    outline = OUTLINES[int(rng.integers(len(OUTLINES)))]
    params: dict[str, Any] = {
        "outline": outline,
        "side": side,
        "from": [int(rng.integers(0, pw - side + 1)), int(rng.integers(0, ph - side + 1))],
        "to": [int(rng.integers(0, tw - side + 1)), int(rng.integers(0, th - side + 1))],
        "angle": float(rng.uniform(0, 360)),
        "feather": int(rng.integers(1, max(1, side // 10) + 1)) if feather else 0,
    }
    if outline == "ellipse":
        params["ratio"] = float(rng.uniform(0.5, 1.0))  # minor / major axis
    if outline == "blob":
        # Low harmonics of the radius bend the circle into a smooth, potato-like shape.
        params["harmonics"] = [
            [float(rng.uniform(0.05, 0.2)), float(rng.uniform(0, 2 * np.pi))] for _ in range(3)
        ]
    return params


def photo_cutout(target_hw: tuple[int, int], partner: np.ndarray, params: dict[str, Any]) -> Layer:
    """The piece of `partner` that `params` describe, placed on a layer of the target's size."""
    side, (fx, fy), (tx, ty) = params["side"], params["from"], params["to"]
    h, w = target_hw
    shape = outline_mask(params)
    alpha = np.zeros((h, w), np.uint8)
    alpha[ty : ty + side, tx : tx + side] = feathered(shape, params["feather"])
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[ty : ty + side, tx : tx + side] = partner[fy : fy + side, fx : fx + side]
    return Layer(rgb=rgb, alpha=alpha)


def source_mask(partner_hw: tuple[int, int], params: dict[str, Any]) -> np.ndarray:
    """255 where the piece was cut from the partner (its outline there), HxW of the partner."""
    side, (fx, fy) = params["side"], params["from"]
    mask = np.zeros(partner_hw, np.uint8)
    mask[fy : fy + side, fx : fx + side] = outline_mask(params)
    return mask


def outline_mask(params: dict[str, Any]) -> np.ndarray:
    """The cut-out's outline filled in a side x side square, 0/255, without anti-aliasing."""
    side = params["side"]
    unit = _rotate(_unit_outline(params), params["angle"])  # Nx2, within the unit disc
    centre = (side - 1) / 2
    points = np.rint((unit * (side / 2 - 0.5) + centre) * (1 << SHIFT)).astype(np.int32)
    mask = np.zeros((side, side), np.uint8)
    cv2.fillPoly(mask, [points], MASK_ON, cv2.LINE_8, SHIFT)
    return mask


def feathered(mask: np.ndarray, radius: int) -> np.ndarray:
    """Coverage that fades towards the edge of `mask` but stays zero outside it."""
    if radius <= 0:
        return mask.copy()
    size = 2 * radius + 1
    soft = cv2.GaussianBlur(mask, (size, size), 0, borderType=cv2.BORDER_CONSTANT)
    # Inward only: every masked pixel keeps some weight (its own), unmasked ones none.
    return np.where(mask > 0, np.maximum(soft, 1), 0).astype(np.uint8)


def _unit_outline(params: dict[str, Any]) -> np.ndarray:
    """Vertices (Nx2, x right, y down) of the outline, all within distance 1 of the origin."""
    outline = params["outline"]
    if outline == "ellipse":
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        return np.stack([np.cos(t), params["ratio"] * np.sin(t)], axis=1)
    if outline == "blob":
        t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        radius = 1 + sum(
            a * np.cos((k + 2) * t + phase) for k, (a, phase) in enumerate(params["harmonics"])
        )
        radius = radius / radius.max()
        return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)
    if outline == "star":  # alternate outer and inner vertices
        outer, inner = _ring(5, 1.0, -90), _ring(5, 0.45, -54)
        return np.stack([outer, inner], axis=1).reshape(-1, 2)
    if outline == "triangle":
        return _ring(3, 1.0, -90)
    if outline == "hexagon":
        return _ring(6, 1.0, 0)
    if outline == "diamond":
        return np.array([(0.0, -1.0), (0.72, 0.0), (0.0, 1.0), (-0.72, 0.0)])
    if outline == "square":
        return _ring(4, 1.0, 45)
    raise ValueError(f"unknown outline {outline!r}; expected one of {OUTLINES}")


def _ring(n: int, radius: float, start_deg: float) -> np.ndarray:
    angles = np.deg2rad(start_deg + 360.0 * np.arange(n) / n)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    return points @ np.array([[c, s], [-s, c]])


# --------------------------------------------------------------------------------------------
# Shapes-world objects
# --------------------------------------------------------------------------------------------


def scene_object_layer(scene: dict, index: int) -> Layer:
    """Object `index` of a scene as a layer: its colour under its exact anti-aliased coverage.

    Blending it onto the scene rendered without the object gives shapes_world.render(scene):
    objects never overlap, and render blends each one with this same coverage and formula.
    """
    obj = scene["objects"][index]
    # render()'s own coverage; shapes_world has no public name for it (see the report).
    coverage = shapes_world.object_coverage(scene, obj)
    color = np.array(shapes_world.COLORS[obj["color"]], np.uint8)
    rgb = np.broadcast_to(color, (*coverage.shape, 3))  # one colour: a view, no copy
    return Layer(rgb=rgb, alpha=coverage)


def describe_object(obj: dict) -> str:
    """E.g. 'large red circle': size, colour and shape name one object of a scene."""
    return f"{obj['size']} {obj['color']} {obj['shape']}"


def position_word(hw: tuple[int, int], x: float, y: float) -> str:
    """The cell of a 3x3 grid holding point (x, y), in shapes-world words ('top left')."""
    h, w = hw
    row, col = min(2, int(3 * y / h)), min(2, int(3 * x / w))
    return shapes_world.CELLS[3 * row + col]


def sized_scene(scene: dict, image: np.ndarray) -> tuple[dict, np.ndarray]:
    """A source's scene and pixels at the size the pixels have.

    Decoding may shrink a large image (the decode stage's max_side). Scene coordinates scale
    with `size`, so the scene is re-rendered at the decoded size rather than its masks drawn
    for the wrong one.
    """
    h, w = image.shape[:2]
    if list(scene["size"]) == [w, h]:
        return scene, image
    sized = {**scene, "size": [w, h]}
    return sized, shapes_world.render(sized)
