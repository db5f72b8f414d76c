"""The shapes world: small procedural scenes whose every attribute is known exactly.

A scene is 1 to 4 objects (shape, colour, size, cell of a 3x3 grid) on a low-contrast
textured background. Because the scene is plain JSON and rendering is deterministic, an edit
("make the red circle blue") can be applied to the scene and re-rendered, which gives pairs
whose target is exact, and masks that match the pixels. Families group a base scene with
members that each differ from it by exactly one attribute change.

Two invariants keep the scenes easy to describe and edit: objects sit in distinct cells and
are smaller than half a cell, so they never overlap; and no two objects of a scene share
both colour and shape, so "the red circle" always names exactly one object.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import cv2
import numpy as np

from dataengine.schema import SourceImage, canonical_json, rng_for
from dataengine.source import SourceRef

# Well separated from each other and from every background colour (see the tests).
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 90, 220),
    "yellow": (250, 225, 60),
    "purple": (135, 60, 180),
    "orange": (245, 140, 20),
    "white": (250, 250, 250),
    "black": (20, 20, 20),
    "pink": (230, 80, 170),
    "cyan": (40, 200, 215),
}
BACKGROUND_COLORS: dict[str, tuple[int, int, int]] = {
    "gray": (150, 150, 150),
    "beige": (196, 182, 155),
    "pale blue": (150, 170, 190),
    "sage": (142, 158, 132),
    "tan": (172, 140, 108),
}
BACKGROUND_WORDS = {
    "wood": "wooden",
    "noise": "mottled",
    "checker": "checkered",
    "gradient": "gradient",
    "paper": "paper",
}
SHAPES = ("circle", "square", "triangle", "star", "hexagon", "diamond")
# Radius as a fraction of the cell's shorter side. Shapes reach at most 1.1 radii from their
# centre, so a large one (0.44 of a cell) stays inside its cell: objects never overlap.
SIZES = {"small": 0.18, "medium": 0.29, "large": 0.40}
CELLS = (
    "top left",
    "top center",
    "top right",
    "center left",
    "center",
    "center right",
    "bottom left",
    "bottom center",
    "bottom right",
)
MAX_OBJECTS = 4
ATTRIBUTES = ("color", "shape", "size", "position", "add", "remove")
_OBJECT_KEY = {"color": "color", "shape": "shape", "size": "size", "position": "cell"}
SHIFT = 4  # cv2 fixed-point bits: vertices at 1/16 px, so cell centres need no rounding

# ============================================================================================
# Scenes
# ============================================================================================


def random_scene(rng: np.random.Generator, size: tuple[int, int] = (512, 512)) -> dict:
    if not all(256 <= s <= 768 for s in size):
        raise ValueError(f"scene size must lie in 256..768 on both sides, got {list(size)}")
    n = int(rng.integers(1, MAX_OBJECTS + 1))
    objects: list[dict] = []
    for cell in rng.permutation(len(CELLS))[:n]:
        objects.append(_random_object(rng, objects, CELLS[int(cell)]))
    background = {
        "kind": _pick(rng, list(BACKGROUND_WORDS)),
        "color": _pick(rng, list(BACKGROUND_COLORS)),
        "seed": int(rng.integers(2**31)),
    }
    return {"size": [int(size[0]), int(size[1])], "background": background, "objects": objects}


def _random_object(rng: np.random.Generator, others: list[dict], cell: str) -> dict:
    taken = {(o["color"], o["shape"]) for o in others}
    free = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in taken]
    color, shape = _pick(rng, free)
    return {"shape": shape, "color": color, "size": _pick(rng, list(SIZES)), "cell": cell}


def _pick(rng: np.random.Generator, options: list) -> Any:
    # Index, not rng.choice: the pick stays a plain Python value, so scenes stay JSON-able.
    return options[int(rng.integers(len(options)))]


def caption(scene: dict) -> str:
    """E.g. 'a large red circle at the top left and a small blue star at the center on a tan
    wooden background'. Objects in scene order."""
    parts = [
        f"a {o['size']} {o['color']} {o['shape']} at the {o['cell']}" for o in scene["objects"]
    ]
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    bg = scene["background"]
    return f"{listed} on a {bg['color']} {BACKGROUND_WORDS[bg['kind']]} background"


# ============================================================================================
# Edits: one attribute change, as a JSON-able dict
# ============================================================================================


def edit_attributes(scene: dict) -> list[str]:
    """The edit kinds that keep the scene valid: 1..MAX_OBJECTS objects."""
    n = len(scene["objects"])
    return [
        a
        for a in ATTRIBUTES
        if not (a == "add" and n >= MAX_OBJECTS) and not (a == "remove" and n <= 1)
    ]


def random_edit(scene: dict, rng: np.random.Generator, attribute: str | None = None) -> dict:
    allowed = edit_attributes(scene)
    if attribute is None:
        attribute = _pick(rng, allowed)
    elif attribute not in allowed:
        raise ValueError(
            f"cannot {attribute!r} in a scene of {len(scene['objects'])} "
            f"objects; possible: {allowed}"
        )
    objects = scene["objects"]
    if attribute == "add":
        new = _random_object(rng, objects, _pick(rng, _free_cells(scene)))
        return {"attribute": "add", "object": len(objects), "from": None, "to": new}
    i = int(rng.integers(len(objects)))
    if attribute == "remove":
        return {"attribute": "remove", "object": i, "from": dict(objects[i]), "to": None}
    old = objects[i][_OBJECT_KEY[attribute]]
    new = _pick(rng, _change_options(scene, i, attribute))
    return {"attribute": attribute, "object": i, "from": old, "to": new}


def _change_options(scene: dict, i: int, attribute: str) -> list[str]:
    obj, others = scene["objects"][i], scene["objects"][:i] + scene["objects"][i + 1 :]
    taken = {(o["color"], o["shape"]) for o in others}
    if attribute == "color":
        return [c for c in COLORS if c != obj["color"] and (c, obj["shape"]) not in taken]
    if attribute == "shape":
        return [s for s in SHAPES if s != obj["shape"] and (obj["color"], s) not in taken]
    if attribute == "size":
        return [s for s in SIZES if s != obj["size"]]
    return _free_cells(scene)  # position


def _free_cells(scene: dict) -> list[str]:
    used = {o["cell"] for o in scene["objects"]}
    return [c for c in CELLS if c not in used]


def apply_edit(scene: dict, edit: dict) -> dict:
    """A new scene with `edit` applied; `scene` is left untouched."""
    new = copy.deepcopy(scene)
    objects, i, attribute = new["objects"], edit["object"], edit["attribute"]
    if attribute == "add":
        objects.insert(i, dict(edit["to"]))
    elif attribute == "remove":
        _check_from(objects[i], edit["from"], edit)
        del objects[i]
    else:
        _check_from(objects[i][_OBJECT_KEY[attribute]], edit["from"], edit)
        objects[i][_OBJECT_KEY[attribute]] = edit["to"]
    return new


def _check_from(actual: Any, expected: Any, edit: dict) -> None:
    # An edit made for another scene would silently give a wrong pair: refuse it.
    if actual != expected:
        raise ValueError(f"edit {edit} does not fit this scene: found {actual!r}")


# ============================================================================================
# Families
# ============================================================================================


def make_family(index: int, seed: int, members: int = 4) -> dict:
    """Family `index`: member 0 is the base (edit None), each other member one edit away.

    Each family draws from its own generator, so one family can be remade alone, and the
    first k members do not depend on `members`. Edit kinds rotate so members differ in kind.
    """
    if not 1 <= members <= 16:
        raise ValueError(f"members must lie in 1..16 (the base counts as one), got {members}")
    rng = rng_for("shapes_world", int(seed), int(index))
    base = random_scene(rng)
    kinds = [str(a) for a in rng.permutation(edit_attributes(base))]
    family = [{"member": 0, "scene": base, "edit": None}]
    seen = {canonical_json(base)}
    attempt = 0
    while len(family) < members:  # ends: even a one-object scene has 20+ distinct edits
        # Rotating on attempts, not members: a kind that only repeats hands over to the next.
        edit = random_edit(base, rng, kinds[attempt % len(kinds)])
        attempt += 1
        scene = apply_edit(base, edit)
        if canonical_json(scene) not in seen:  # members must be distinct scenes
            seen.add(canonical_json(scene))
            family.append({"member": len(family), "scene": scene, "edit": edit})
    return {"id": f"fam-{index:04d}", "base": base, "members": family}


def make_families(count: int, seed: int, members: int = 4) -> list[dict]:
    return [make_family(k, seed, members) for k in range(count)]


def shapes_refs(families: int = 50, members: int = 4, seed: int = 0) -> list[SourceRef]:
    refs = []
    for k in range(families):
        family = make_family(k, seed, members)
        for m in family["members"]:
            refs.append(
                SourceRef(
                    id=f"shapes-{family['id']}-m{m['member']}",
                    group=family["id"],
                    locator=("shapes", k, m["member"], members, seed),
                    caption=caption(m["scene"]),
                )
            )
    return sorted(refs, key=lambda r: r.id)


def load_shape(ref: SourceRef) -> SourceImage:
    _, index, member, members, seed = ref.locator
    family = make_family(index, seed, members)
    m = family["members"][member]
    meta = {"scene": m["scene"], "family": family["id"], "member": member, "edit": m["edit"]}
    return SourceImage(
        id=ref.id,
        group=family["id"],
        image=render(m["scene"]),
        caption=caption(m["scene"]),
        meta=meta,
    )


# ============================================================================================
# Rendering
# ============================================================================================


def render(scene: dict) -> np.ndarray:
    """RGB uint8 (HxWx3): the background, then each object alpha-blended by its coverage."""
    image = render_background(scene)
    for obj in scene["objects"]:
        box = _box(scene, obj)  # blend only around the object: 10x faster than the full frame
        alpha = object_coverage(scene, obj)[box][:, :, None].astype(np.float32) / 255.0  # hxwx1
        color = np.array(COLORS[obj["color"]], np.float32)
        blended = image[box].astype(np.float32) * (1.0 - alpha) + color * alpha
        image[box] = np.rint(blended).astype(np.uint8)
    return image


def object_mask(scene: dict, index: int) -> np.ndarray:
    """uint8 HxW, 255 wherever render() gave object `index` any weight (anti-aliased rim too)."""
    return np.where(object_coverage(scene, scene["objects"][index]) > 0, 255, 0).astype(np.uint8)


def cell_center(scene: dict, cell: str) -> tuple[float, float]:
    w, h = scene["size"]
    row, col = divmod(CELLS.index(cell), 3)
    return ((col + 0.5) * w / 3, (row + 0.5) * h / 3)


def object_radius(scene: dict, obj: dict) -> float:
    w, h = scene["size"]
    return SIZES[obj["size"]] * min(w, h) / 3


def _box(scene: dict, obj: dict) -> tuple[slice, slice]:
    """Rows and columns that hold the whole object, anti-aliased rim included."""
    w, h = scene["size"]
    cx, cy = cell_center(scene, obj["cell"])
    reach = 1.1 * object_radius(scene, obj) + 2
    x0, x1 = max(0, math.floor(cx - reach)), min(w, math.ceil(cx + reach) + 1)
    y0, y1 = max(0, math.floor(cy - reach)), min(h, math.ceil(cy + reach) + 1)
    return slice(y0, y1), slice(x0, x1)


def object_coverage(scene: dict, obj: dict) -> np.ndarray:
    """The object drawn in 255 on black with anti-aliasing: its per-pixel weight (HxW)."""
    w, h = scene["size"]
    canvas = np.zeros((h, w), np.uint8)
    cx, cy = cell_center(scene, obj["cell"])
    r = object_radius(scene, obj)
    scale = 1 << SHIFT
    if obj["shape"] == "circle":
        center = (round(cx * scale), round(cy * scale))
        cv2.circle(canvas, center, round(r * scale), 255, -1, cv2.LINE_AA, SHIFT)
    else:
        points = np.rint((_unit_polygon(obj["shape"]) * r + (cx, cy)) * scale).astype(np.int32)
        cv2.fillPoly(canvas, [points], 255, cv2.LINE_AA, SHIFT)
    return canvas


def _unit_polygon(shape: str) -> np.ndarray:
    """Vertices (Nx2, x right, y down) for radius 1, every vertex within 1.1 of the origin."""
    if shape == "square":
        return np.array([(-0.85, -0.85), (0.85, -0.85), (0.85, 0.85), (-0.85, 0.85)])
    if shape == "diamond":
        return np.array([(0.0, -1.1), (0.8, 0.0), (0.0, 1.1), (-0.8, 0.0)])
    if shape == "triangle":  # shifted down so its bounding box, not its centroid, is centred
        return _ring(3, 1.1, -90) + np.array([0.0, 0.275])
    if shape == "hexagon":
        return _ring(6, 1.0, 0)
    if shape == "star":  # alternate outer and inner vertices
        outer, inner = _ring(5, 1.1, -90), _ring(5, 0.45, -54)
        return np.stack([outer, inner], axis=1).reshape(-1, 2)
    raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")


def _ring(n: int, radius: float, start_deg: float) -> np.ndarray:
    angles = np.deg2rad(start_deg + 360.0 * np.arange(n) / n)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


# ============================================================================================
# Backgrounds: a base colour plus a seeded, low-contrast brightness texture
# ============================================================================================


def render_background(scene: dict) -> np.ndarray:
    w, h = scene["size"]
    bg = scene["background"]
    return _background(bg["kind"], bg["color"], bg["seed"], w, h).copy()


# An edit renders the same background twice (before and after), and a family's members share
# it: the last few are kept (a 512 px texture costs up to ~40 ms; 16 of them ~12 MB).
@functools.lru_cache(maxsize=16)
def _background(kind: str, color: str, seed: int, w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    offset = _TEXTURES[kind](rng, h, w)  # HxW, within about +-22 grey levels
    # Round once per pixel, then add per channel in int16: a third of the float work.
    image = (
        np.array(BACKGROUND_COLORS[color], np.int16) + np.rint(offset).astype(np.int16)[:, :, None]
    )
    image = np.clip(image, 0, 255).astype(np.uint8)
    image.flags.writeable = False  # shared by every caller: they get copies
    return image


def _wood(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    angle, period = rng.uniform(-0.3, 0.3), rng.uniform(18, 40)  # near-horizontal grain
    y, x = _coordinates(h, w)
    across = y * math.cos(angle) - x * math.sin(angle)
    warp = 2.5 * _smooth_noise(rng, h, w, 4)  # bends the rings like real grain
    return 11 * np.sin(2 * np.pi * across / period + warp) + 4 * _smooth_noise(rng, h, w, 24)


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return 14 * _smooth_noise(rng, h, w, 8) + 3 * _grain(rng, h, w)


def _checker(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    square = int(rng.integers(24, 65))
    y, x = _coordinates(h, w)
    return np.where((y // square + x // square) % 2 == 0, 9.0, -9.0).astype(np.float32)


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    y, x = _coordinates(h, w)
    along = (x - w / 2) * math.cos(angle) + (y - h / 2) * math.sin(angle)
    return 22 * along / (0.5 * math.hypot(w, h))


def _paper(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return 5 * _smooth_noise(rng, h, w, 6) + 4 * _grain(rng, h, w)


_TEXTURES = {
    "wood": _wood,
    "noise": _noise,
    "checker": _checker,
    "gradient": _gradient,
    "paper": _paper,
}


def _coordinates(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row (hx1) and column (1xw) indices as float32; broadcasting makes the HxW grid."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def _grain(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return np.clip(rng.standard_normal((h, w), dtype=np.float32), -3, 3) / 3


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Value noise in about [-1, 1]: a (cells+1)^2 random grid, bilinearly upsampled.

    Plain numpy rather than cv2.resize, whose float paths may differ between CPUs.
    """
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1)).astype(np.float32)
    gy = np.linspace(0, cells, h, dtype=np.float32)
    gx = np.linspace(0, cells, w, dtype=np.float32)
    y0 = np.minimum(gy.astype(np.int64), cells - 1)
    x0 = np.minimum(gx.astype(np.int64), cells - 1)
    fy, fx = (gy - y0)[:, None], (gx - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy
