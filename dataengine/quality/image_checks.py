"""Checks of the target image alone: is it sharp, well exposed, big enough, not too thin."""

from __future__ import annotations

import cv2
import numpy as np

from dataengine.quality.pixel_change import as_rgb, grey_at_work_size

CLIP_LOW, CLIP_HIGH = 4, 251  # luma at or past these is crushed black / blown white


def image_check_scores(image: np.ndarray, grey: np.ndarray | None = None) -> dict[str, float]:
    """`grey`: the image's grey_at_work_size, when the caller has it already."""
    h, w = image.shape[:2]
    # At a fixed working size, so that one sharpness threshold fits every resolution.
    grey = grey_at_work_size(as_rgb(image)) if grey is None else grey
    return {
        "sharpness": float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        "exposure": float(grey.mean() / 255.0),
        "clipped": float(np.mean((grey <= CLIP_LOW) | (grey >= CLIP_HIGH))),
        "min_side": float(min(h, w)),
        "aspect": float(max(h, w) / max(1, min(h, w))),
    }
