"""Pure image operators: RGB uint8 arrays (HxWx3) and a seeded generator in, arrays out.

Nothing here keeps state or reads the clock: the same inputs always give the same output,
which is what lets a pair be remade from its recorded parameters. Masks are uint8 HxW with
exactly two values, 0 and 255 (255 = region to edit); they are drawn without
anti-aliasing so that a mask remade from its parameters equals the original bit for bit.

Random masks come in two steps: `draw_*_params` spends the generator and returns JSON-able
parameters, `mask_from_params` renders them. Pair makers record the parameters.
"""

from __future__ import annotations

import itertools
from typing import Any

import cv2
import numpy as np

MASK_ON = 255

# --------------------------------------------------------------------------------------------
# Low-level maps
# --------------------------------------------------------------------------------------------


def canny(image: np.ndarray, low: int, high: int) -> np.ndarray:
    """White edges on black, HxWx3 uint8.

    cv2.Canny runs on the RGB image itself (gradient = strongest channel), as ControlNet's
    canny annotator does, so colour edges of equal brightness are not lost.
    """
    edges = cv2.Canny(image, int(low), int(high))  # HxW, 0 or 255
    return np.repeat(edges[:, :, None], 3, axis=2)


def grayscale(image: np.ndarray) -> np.ndarray:
    """Luma (ITU-R 601, cv2's weights) replicated to 3 equal channels, HxWx3 uint8."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)  # HxW
    return np.repeat(gray[:, :, None], 3, axis=2)


def is_grayscale(image: np.ndarray, tolerance: float = 2.0) -> bool:
    """True when the channels barely differ: such a photo makes an identity pair."""
    # Per-channel planes with cv2: numpy's reductions over a length-3 last axis are ~50x slower.
    r, g, b = cv2.split(image)
    spread = cv2.absdiff(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b))  # chroma proxy
    return cv2.mean(spread)[0] <= tolerance


def blank_out(image: np.ndarray, mask: np.ndarray, fill: int = 0) -> np.ndarray:
    """A copy of `image` with the masked pixels (mask > 0) set to `fill`."""
    out = image.copy()
    out[mask > 0] = fill
    return out


def mask_fraction(mask: np.ndarray) -> float:
    return float(np.count_nonzero(mask)) / mask.size


# --------------------------------------------------------------------------------------------
# Rectangle masks
# --------------------------------------------------------------------------------------------


def draw_rectangle_params(
    h: int, w: int, rng: np.random.Generator, min_frac: float, max_frac: float
) -> dict[str, Any]:
    """A random box covering between min_frac and max_frac of an h x w image."""
    area = rng.uniform(min_frac, max_frac) * h * w
    aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))  # height / width
    # A height of at least min_frac * h leaves a width that fits the image for every target.
    height = int(np.clip(round(np.sqrt(area * aspect)), max(1, np.ceil(min_frac * h)), h))
    # Width follows from the area, then is held inside the band so rounding cannot leave it.
    lo, hi = int(np.ceil(min_frac * h * w / height)), int(max_frac * h * w // height)
    width = int(np.clip(round(area / height), max(lo, 1), min(hi, w)))
    top = int(rng.integers(0, h - height + 1))
    left = int(rng.integers(0, w - width + 1))
    return {"kind": "rectangle", "top": top, "left": left, "height": height, "width": width}


def rectangle_mask(
    h: int, w: int, rng: np.random.Generator, min_frac: float = 0.05, max_frac: float = 0.4
) -> np.ndarray:
    return mask_from_params(h, w, draw_rectangle_params(h, w, rng, min_frac, max_frac))


def _render_rectangle(h: int, w: int, p: dict[str, Any]) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[p["top"] : p["top"] + p["height"], p["left"] : p["left"] + p["width"]] = MASK_ON
    return mask


# --------------------------------------------------------------------------------------------
# Free-form brush strokes (LaMa-style, as ACE's inpainting masks)
# --------------------------------------------------------------------------------------------


def _random_stroke(h: int, w: int, rng: np.random.Generator) -> dict[str, Any]:
    """One brush stroke: a random walk of 4-10 vertices with a fixed width."""
    side = min(h, w)
    width = int(max(3, round(rng.uniform(0.04, 0.12) * side)))
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    angle = rng.uniform(0, 2 * np.pi)
    points = [[int(x), int(y)]]
    for _ in range(int(rng.integers(3, 10))):
        angle += rng.uniform(-np.pi / 2, np.pi / 2)  # smooth turns, not zig-zags
        step = rng.uniform(0.05, 0.25) * side
        x = float(np.clip(x + step * np.cos(angle), 0, w - 1))
        y = float(np.clip(y + step * np.sin(angle), 0, h - 1))
        points.append([int(x), int(y)])
    return {"points": points, "width": width}


def _draw_segment(mask: np.ndarray, p0: list[int], p1: list[int], width: int) -> None:
    # LINE_8 keeps the mask binary; thick lines get round caps, so joints are smooth.
    cv2.line(mask, tuple(p0), tuple(p1), MASK_ON, thickness=width, lineType=cv2.LINE_8)


def _render_strokes(h: int, w: int, strokes: list[dict[str, Any]]) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    for stroke in strokes:
        pts = stroke["points"]
        for p0, p1 in itertools.pairwise(pts):
            _draw_segment(mask, p0, p1, stroke["width"])
    return mask


def _fitting_prefix(mask: np.ndarray, stroke: dict[str, Any], max_frac: float) -> int:
    """Draw the stroke segment by segment onto `mask`; stop before the one that overshoots.

    Returns how many points were kept. Drawing is a union, so the prefix rendered here equals
    the prefix rendered again from the kept points.
    """
    pts = stroke["points"]
    for i in range(1, len(pts)):
        trial = mask.copy()
        _draw_segment(trial, pts[i - 1], pts[i], stroke["width"])
        if mask_fraction(trial) > max_frac:
            return i
        mask[:] = trial
    return len(pts)


def draw_stroke_params(
    h: int,
    w: int,
    rng: np.random.Generator,
    min_frac: float,
    max_frac: float,
    max_tries: int = 200,
) -> dict[str, Any]:
    """Strokes until the covered fraction reaches a target drawn in [min_frac, max_frac].

    A stroke that would pass max_frac is cut short; one that overshoots on its first
    segment is dropped. Raises ValueError when the band cannot be met (a band too narrow
    for the stroke widths), which is a configuration error, not a bad image.
    """
    target = rng.uniform(min_frac, max_frac)
    mask = np.zeros((h, w), np.uint8)
    strokes: list[dict[str, Any]] = []
    for _ in range(max_tries):
        if mask_fraction(mask) >= target:
            return {"kind": "strokes", "strokes": strokes}
        stroke = _random_stroke(h, w, rng)
        kept = _fitting_prefix(mask, stroke, max_frac)
        if kept >= 2:
            strokes.append({"points": stroke["points"][:kept], "width": stroke["width"]})
    if mask_fraction(mask) >= min_frac:
        return {"kind": "strokes", "strokes": strokes}
    raise ValueError(f"no stroke mask covers {min_frac:.3f}-{max_frac:.3f} of {h}x{w}; widen it")


def stroke_mask(
    h: int, w: int, rng: np.random.Generator, min_frac: float = 0.05, max_frac: float = 0.4
) -> np.ndarray:
    return mask_from_params(h, w, draw_stroke_params(h, w, rng, min_frac, max_frac))


# --------------------------------------------------------------------------------------------
# Masks from recorded parameters
# --------------------------------------------------------------------------------------------


def mask_from_params(h: int, w: int, params: dict[str, Any]) -> np.ndarray:
    """Render the mask a `draw_*_params` call described; extra keys are ignored."""
    kind = params.get("kind")
    if kind == "rectangle":
        return _render_rectangle(h, w, params)
    if kind == "strokes":
        return _render_strokes(h, w, params["strokes"])
    raise ValueError(f"unknown mask kind {kind!r}; expected 'rectangle' or 'strokes'")
