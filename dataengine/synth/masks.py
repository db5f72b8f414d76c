"""Mask helpers: grow an object's mask, box it, frame a border.

Masks are uint8 HxW with exactly two values, 0 and 255 (255 = region to edit), as in ops.py.
Every helper keeps them binary and is a pure function of its inputs, so a mask rebuilt from
recorded parameters equals the original bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

from dataengine.synth.ops import MASK_ON

# How an object's exact mask is grown into an inpainting hole. A hole the object's exact shape
# would leak the shape to the model; ACE grows it so the model must draw the outline itself.
GROW_KINDS = ("dilate", "hull", "box")


def binary(region: np.ndarray) -> np.ndarray:
    """A boolean (or any nonzero-means-on) HxW array as a 0/255 uint8 mask."""
    return (np.asarray(region) != 0).astype(np.uint8) * np.uint8(MASK_ON)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """The mask grown by `radius` pixels in every direction (a disc, not a square)."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    # Only the object's box, grown by the radius, can change: a large disc over the whole
    # frame costs milliseconds, over the box a fraction of that.
    top, left, bottom, right = bounding_box(mask)
    box = slice(max(0, top - radius), bottom + radius), slice(max(0, left - radius), right + radius)
    grown = np.zeros_like(mask)
    grown[box] = cv2.dilate(mask[box], disc)
    return grown


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The smallest convex region holding every on pixel of a non-empty mask."""
    points = cv2.findNonZero(mask)  # Nx1x2 (x, y), or None for an empty mask
    if points is None:
        raise ValueError("an empty mask has no convex hull")
    hull = np.zeros_like(mask)
    cv2.fillConvexPoly(hull, cv2.convexHull(points), MASK_ON, lineType=cv2.LINE_8)
    # Filling the hull of pixel centres covers them all; the union makes that a guarantee.
    return np.maximum(hull, mask)


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the on pixels, bottom and right exclusive."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("an empty mask has no bounding box")
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def box_mask(mask: np.ndarray, margin: int = 0) -> np.ndarray:
    """The bounding box of a non-empty mask, grown by `margin` and clipped to the image."""
    top, left, bottom, right = bounding_box(mask)
    box = np.zeros_like(mask)
    box[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin] = MASK_ON
    return box


def grow(mask: np.ndarray, kind: str, radius: int = 0) -> np.ndarray:
    """`mask` grown as GROW_KINDS names: dilated by `radius`, its convex hull, or its box."""
    if kind == "dilate":
        return dilate(mask, radius)
    if kind == "hull":
        return convex_hull(mask)
    if kind == "box":
        return box_mask(mask)
    raise ValueError(f"unknown grow kind {kind!r}; expected one of {GROW_KINDS}")


def border_mask(h: int, w: int, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """255 on the margins of an h x w image (the part an outpainting must invent), else 0."""
    if top + bottom >= h or left + right >= w or min(top, bottom, left, right) < 0:
        raise ValueError(f"margins {top, bottom, left, right} leave nothing of {w}x{h}")
    mask = np.full((h, w), MASK_ON, np.uint8)
    mask[top : h - bottom, left : w - right] = 0
    return mask
