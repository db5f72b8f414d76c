"""How much, and where, the target differs from the frame it edits.

An edit must stay in its mask: `change_outside_mask` is the fraction of pixels away from the
mask that changed visibly, the signal that catches an inpainting model repainting the whole
picture or a paste that moved the background. `l1`, `ssim` and `changed` say how big the edit
is overall (a no-op edit has l1 = 0; an edge map shares little structure with its photo).
Scores are taken on the raw pixels, before encoding, so JPEG noise plays no part.
"""

from __future__ import annotations

import cv2
import numpy as np

from dataengine.schema import Frame, Pair

CHANGE_LEVEL = 16  # of 255: above the rounding of colour conversions, below any visible edit
WORK_SIDE = 256  # SSIM on at most this long side: its value is stable across sizes, and fast
SSIM_WINDOW = 7  # skimage's default window: also the smallest side SSIM is taken on


def edited_frame(pair: Pair) -> Frame | None:
    """The frame the target is an edit of: the first masked input, else the first input."""
    inputs = [f for f in pair.frames if f.role == "input"]
    masked = [f for f in inputs if f.mask is not None]
    return (masked or inputs or [None])[0]


def pixel_change_scores(
    source: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray | None = None,
    target_grey: np.ndarray | None = None,
) -> dict[str, float]:
    """Scores of one edit. `source` is resized (and its mask with it) to the target's size.
    `target_grey`: the target's grey_at_work_size, when the caller has it already."""
    target = np.ascontiguousarray(as_rgb(target))
    source, mask = _to_size(np.ascontiguousarray(as_rgb(source)), mask, target.shape[:2])
    delta = cv2.absdiff(source, target)  # uint8 |a - b|, vectorised: 10x numpy's int16 path
    largest = cv2.max(cv2.max(delta[..., 0], delta[..., 1]), delta[..., 2])
    changed = largest > CHANGE_LEVEL
    scores = {"l1": float(np.mean(cv2.mean(delta)[:3]) / 255.0), "changed": float(changed.mean())}
    ssim = _ssim(source, target, target_grey)
    if ssim is not None:
        scores["ssim"] = ssim
    if mask is not None:
        scores.update(_mask_scores(changed, mask))
    return scores


def _mask_scores(changed: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    inside = mask > 127
    scores = {}
    if inside.any():
        scores["change_inside_mask"] = float(changed[inside].mean())
    # Blends feather a few pixels past the mask edge; only change beyond that ring is a leak.
    margin = max(2, round(0.01 * max(mask.shape)))
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    outside = cv2.dilate(inside.astype(np.uint8), kernel) == 0
    if outside.any():
        scores["change_outside_mask"] = float(changed[outside].mean())
    return scores


def _ssim(a: np.ndarray, b: np.ndarray, b_grey: np.ndarray | None = None) -> float | None:
    a, b = grey_at_work_size(a), grey_at_work_size(b) if b_grey is None else b_grey
    if min(a.shape) < SSIM_WINDOW:
        return None
    return structural_similarity(a, b)


def structural_similarity(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two grey images as scikit-image computes it by default (a 7x7 uniform
    window, sample covariance, K1 0.01, K2 0.03, the border of half a window left out),
    with OpenCV's box filter in float32: the same score to 1e-7 (a test holds it to
    skimage's), in about a third of the time, and SSIM was most of the scorers' time."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    mu_a, mu_b = _window_mean(a), _window_mean(b)
    n = SSIM_WINDOW * SSIM_WINDOW
    unbiased = n / (n - 1)
    var_a = unbiased * (_window_mean(a * a) - mu_a * mu_a)
    var_b = unbiased * (_window_mean(b * b) - mu_b * mu_b)
    cov = unbiased * (_window_mean(a * b) - mu_a * mu_b)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    )
    pad = (SSIM_WINDOW - 1) // 2
    return float(ssim[pad:-pad, pad:-pad].mean(dtype=np.float64))


def _window_mean(x: np.ndarray) -> np.ndarray:
    window = (SSIM_WINDOW, SSIM_WINDOW)
    return cv2.boxFilter(x, cv2.CV_32F, window, borderType=cv2.BORDER_REFLECT)


def grey_at_work_size(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    scale = WORK_SIDE / max(h, w)
    if scale >= 1:
        return grey
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def _to_size(image: np.ndarray, mask: np.ndarray | None, shape: tuple[int, int]):
    if image.shape[:2] == shape:
        return image, mask
    size = (shape[1], shape[0])
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if mask is not None:
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return image, mask


def as_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
