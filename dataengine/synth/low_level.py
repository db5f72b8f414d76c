"""Low-level analysis: the photo in, a map computed from it out (ACE's "low_level_analysis").

Each maker splits into `draw` (spends the generator, returns JSON-able params) and `build`
(params in, pixels out), so `build(source, made.params)` remakes a pair exactly. The maps
that also serve controllable generation (controllable.py, map in and photo out) are
`MapMaker`s: their `render(photo, params)` is shared by both directions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np

from dataengine.schema import Frame, SourceImage
from dataengine.synth import filters, ops
from dataengine.synth.base import Made, PairError, PairMaker

# An edge map with fewer edge pixels than this is a near-blank image: nothing to learn.
MIN_EDGE_FRACTION = 0.002
MIN_SIDE = 32  # the smallest source the engine makes; maps of less say nothing
# An operator that visibly changes (by more than VISIBLE_CHANGE grey levels) fewer pixel
# values than this makes an identity pair: a flat photo survives blur, resizing and JPEG unchanged.
# Counting pixels rather than averaging keeps sparse changes, like blurred outlines of a
# few shapes on a smooth background, which are real pairs.
MIN_CHANGED_FRACTION = 0.002
VISIBLE_CHANGE = 4
# ACE's recipe pixelates "by 48-96"; read here as blocks of 48-96 px at ACE's ~1024 px
# working size, i.e. 1024/96 to 1024/48 blocks along the long side at any picture size.
MOSAIC_BLOCKS = (11, 21)


# --------------------------------------------------------------------------------------------
# Checks and draws shared with controllable.py and restoration.py
# --------------------------------------------------------------------------------------------


def draw_canny_params(rng: np.random.Generator) -> dict[str, Any]:
    """Thresholds spread like ControlNet's training maps: low in [50, 150], high 2-3x low."""
    low = int(rng.integers(50, 151))
    high = int(min(255, round(low * rng.uniform(2.0, 3.0))))
    return {"low": low, "high": high}


def checked_canny(photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """ops.canny, refusing maps too empty to be a useful pair."""
    edges = ops.canny(photo, **params)
    if ops.mask_fraction(edges[:, :, 0]) < MIN_EDGE_FRACTION:
        raise PairError("no_edges", f"canny {params} finds almost no edges in this image")
    return edges


def refuse_gray(photo: np.ndarray) -> None:
    """A photo that is already gray gives an identity (or meaningless) colour pair."""
    if ops.is_grayscale(photo):
        raise PairError("already_gray", "the source image has no colour")


def has_colour(source: SourceImage) -> bool:
    """For `accepts`: colour tasks skip grey photos (undecoded sources pass, to fail later)."""
    return source.image is None or not ops.is_grayscale(source.image)


def refuse_small(photo: np.ndarray) -> None:
    h, w = photo.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise PairError("too_small", f"{w}x{h} is under {MIN_SIDE} px on a side")


def refuse_unchanged(before: np.ndarray, after: np.ndarray, what: str) -> None:
    """An operator that leaves the photo (almost) as it was gives an identity pair."""
    visible = cv2.absdiff(after, before) > VISIBLE_CHANGE  # HxWx3, channels counted apiece
    changed = np.count_nonzero(visible) / visible.size
    if changed < MIN_CHANGED_FRACTION:
        raise PairError("no_change", f"{what} visibly changes {changed:.2%} of this image")


def refuse_blank_drawing(lines: np.ndarray, ink: int, what: str) -> None:
    """A line drawing (`ink` = line value) with almost no line pixels says nothing."""
    if float(np.mean(lines[:, :, 0] == ink)) < MIN_EDGE_FRACTION:
        raise PairError("no_lines", f"the {what} of this image has almost no lines")


def pixel_scale(photo: np.ndarray) -> float:
    """Sizes in pixels (blur, stroke width) are drawn for a 256 px short side and scaled by
    this, so a drawing looks alike at 64 px and at 512 px."""
    return float(np.clip(min(photo.shape[:2]) / 256, 0.5, 2.0))


def uniform(rng: np.random.Generator, low: float, high: float, digits: int = 3) -> float:
    """A plain float, rounded so that recorded params read well."""
    return round(float(rng.uniform(low, high)), digits)


def draw_seed(rng: np.random.Generator) -> int:
    """A seed for a filter's own generator (noise, jitter), recorded in the params."""
    return int(rng.integers(2**32))


# --------------------------------------------------------------------------------------------
# Map makers: photo in, map out
# --------------------------------------------------------------------------------------------


class MapMaker(PairMaker):
    """Photo in, map out. Subclasses give `draw` and `render`; `build` is shared."""

    category = "low_level_analysis"
    map_lossless: ClassVar[bool] = True  # flat maps and lines: png, not jpg

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        return {}

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        """The map of `photo`, or a PairError when it would say nothing."""
        raise NotImplementedError

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        target = self.render(source.image, params)
        return Made(
            frames=[Frame(image=source.image)],
            target=target,
            params=params,
            target_lossless=self.map_lossless,
        )


class CannyExtraction(MapMaker):
    task = "canny_extraction"
    operator = "cv2.Canny"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        return draw_canny_params(rng)

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return checked_canny(photo, params)


class Grayscale(PairMaker):
    task = "grayscale"
    category = "low_level_analysis"
    operator = "cv2.cvtColor(RGB2GRAY)"

    def accepts(self, source: SourceImage) -> bool:
        return has_colour(source)

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, {})  # nothing random: the conversion is fixed

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        refuse_gray(source.image)
        gray = ops.grayscale(source.image)
        return Made(frames=[Frame(image=source.image)], target=gray, params=params)


class Mosaic(MapMaker):
    task = "mosaic"
    operator = "filters.mosaic"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        low, high = MOSAIC_BLOCKS
        return {"blocks": int(rng.integers(low, high + 1))}

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        refuse_small(photo)
        pixelated = filters.mosaic(photo, params["blocks"])
        refuse_unchanged(photo, pixelated, "the mosaic")
        return pixelated


class Degradation(MapMaker):
    """The ACE degradation chain (noise, downscale, JPEG, blur), in a random order."""

    task = "degradation"
    operator = "filters.degrade"
    map_lossless = False  # a degraded photo is still a photo

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        steps = [
            {"op": "noise", "sigma": uniform(rng, 10.0, 20.0)},
            {"op": "resize", "scale": uniform(rng, 0.5, 0.8)},
            {"op": "jpeg", "quality": int(rng.integers(50, 76))},
            {"op": "blur", "kernel": int(rng.choice([7, 9]))},
        ]
        order = rng.permutation(len(steps))
        return {"steps": [steps[i] for i in order], "noise_seed": draw_seed(rng)}

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        refuse_small(photo)
        degraded = filters.degrade(photo, params["steps"], params["noise_seed"])
        refuse_unchanged(photo, degraded, "the degradation")
        return degraded


class Segmentation(MapMaker):
    task = "segmentation"
    operator = "skimage.segmentation(felzenszwalb|slic)+mean colour"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        if rng.random() < 0.5:
            return {"method": "felzenszwalb", "detail": int(rng.integers(100, 401))}
        return {"method": "slic", "detail": int(rng.integers(50, 251))}

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        refuse_small(photo)
        regions = filters.segmentation_map(photo, params["method"], params["detail"])
        if filters.region_count(regions) < 2:
            raise PairError("no_regions", f"{params['method']} finds a single region")
        return regions


class Contour(MapMaker):
    task = "contour"
    operator = "filters.contour_map(median+DoG)"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scale = pixel_scale(source.image)
        return {
            "smooth": int(rng.choice([3, 5, 7])),
            "sigma": round(uniform(rng, 1.0, 1.8) * scale, 3),
            "strength": uniform(rng, 0.8, 1.4),
        }

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        refuse_small(photo)
        lines = filters.contour_map(photo, params["smooth"], params["sigma"], params["strength"])
        refuse_blank_drawing(lines, filters.BLACK, "contour")
        return lines


class Scribble(MapMaker):
    task = "scribble"
    operator = "filters.scribble_map(canny+dilate+jitter)"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scale = pixel_scale(source.image)
        return {
            "sigma": round(uniform(rng, 2.0, 4.0) * scale, 3),
            "thickness": max(2, round(rng.uniform(3.0, 6.0) * scale)),
            "jitter": uniform(rng, 0.004, 0.015, digits=4),
            "noise_seed": draw_seed(rng),
        }

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        refuse_small(photo)
        strokes = filters.scribble_map(
            photo, params["sigma"], params["thickness"], params["jitter"], params["noise_seed"]
        )
        refuse_blank_drawing(strokes, filters.WHITE, "scribble")
        return strokes


class Doodle(MapMaker):
    task = "doodle"
    operator = "filters.doodle_map(felzenszwalb borders)"

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        scale = pixel_scale(source.image)
        return {
            "scale": int(rng.integers(400, 701)),
            "thickness": max(2, round(rng.uniform(4.0, 8.0) * scale)),
            "smoothness": uniform(rng, 0.025, 0.04, digits=4),
        }

    def render(self, photo: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        refuse_small(photo)
        outline = filters.doodle_map(
            photo, params["scale"], params["thickness"], params["smoothness"]
        )
        refuse_blank_drawing(outline, filters.BLACK, "doodle")
        return outline
