"""Baselines the model must beat on the bench split.

`identity` returns the edited image unchanged (the first input frame, {image}). `classical`
answers a task with the textbook OpenCV method for it where one exists (non-local-means
denoising, Telea inpainting under the mask, Canny edges...), with fixed settings: the pair
makers drew theirs at random, so the baseline does not know them. Tasks without a classical
method have no classical baseline. Images are uint8 HxWx3; masks uint8 HxW, 255 = edit.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np


def identity(frames: list[np.ndarray], masks: list[np.ndarray | None]) -> np.ndarray | None:
    """The edited image unchanged: the first input, the one the instruction calls {image}."""
    return frames[0] if frames else None


def _gray3(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def _edges(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(cv2.Canny(gray, 100, 200), cv2.COLOR_GRAY2RGB)


def _unsharp(image: np.ndarray) -> np.ndarray:
    return cv2.addWeighted(image, 1.8, cv2.GaussianBlur(image, (0, 0), 1.0), -0.8, 0)


def _clahe(image: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _equalize(image: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    hsv[:, :, 2] = cv2.equalizeHist(hsv[:, :, 2])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _pixelate(image: np.ndarray, blocks: int = 8) -> np.ndarray:
    h, w = image.shape[:2]
    small = cv2.resize(image, (blocks, max(1, round(blocks * h / w))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def _quantize(image: np.ndarray, colours: int = 6) -> np.ndarray:
    pixels = image.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)  # kmeans draws its first centres: fix them so reports are repeatable
    _, labels, centres = cv2.kmeans(pixels, colours, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return centres.astype(np.uint8)[labels.ravel()].reshape(image.shape)


def _single(op: Callable[[np.ndarray], np.ndarray]):
    def run(frames, masks):
        return op(frames[0])

    return run


def _inpaint(frames, masks):
    if masks[0] is None:
        return None
    return cv2.inpaint(frames[0], (masks[0] > 127).astype(np.uint8), 3, cv2.INPAINT_TELEA)


def _composite(frames, masks):
    """Paste the masked region of the second input into the first: exact compositing."""
    if len(frames) < 2 or masks[1] is None:
        return None
    alpha = (masks[1].astype(np.float32) / 255.0)[:, :, None]
    return np.rint(frames[0] * (1 - alpha) + frames[1] * alpha).astype(np.uint8)


def _denoise(image: np.ndarray) -> np.ndarray:
    return cv2.fastNlMeansDenoisingColored(image, None, 10, 10, 3, 7)


def _bilateral(image: np.ndarray) -> np.ndarray:
    return cv2.bilateralFilter(image, 5, 40, 5)


CLASSICAL: dict[str, tuple[str, Callable]] = {
    "denoise": ("cv2.fastNlMeansDenoisingColored", _single(_denoise)),
    "deblur": ("unsharp mask", _single(_unsharp)),
    "super_resolution": ("unsharp mask", _single(_unsharp)),
    "jpeg_artifact_removal": ("cv2.bilateralFilter", _single(_bilateral)),
    "dehaze": ("CLAHE on L", _single(_clahe)),
    "low_light_enhancement": ("histogram equalisation", _single(_equalize)),
    "grayscale": ("cv2.cvtColor gray", _single(_gray3)),
    "canny_extraction": ("cv2.Canny(100, 200)", _single(_edges)),
    "contour": ("cv2.Canny(100, 200)", _single(_edges)),
    "scribble": ("cv2.Canny(100, 200)", _single(_edges)),
    "doodle": ("cv2.Canny(100, 200)", _single(_edges)),
    "mosaic": ("pixelate 8 blocks", _single(_pixelate)),
    "segmentation": ("k-means colours", _single(_quantize)),
    "inpainting": ("cv2.inpaint Telea", _inpaint),
    "object_inpainting": ("cv2.inpaint Telea", _inpaint),
    "outpainting": ("cv2.inpaint Telea", _inpaint),
    "remove_object": ("cv2.inpaint Telea", _inpaint),
    "remove_object_photo": ("cv2.inpaint Telea", _inpaint),
    "text_removal": ("cv2.inpaint Telea", _inpaint),
    "merge_layers": ("alpha compositing", _composite),
}


def classical(
    task: str, frames: list[np.ndarray], masks: list[np.ndarray | None]
) -> tuple[str, np.ndarray | None]:
    """(method name, output), or ("", None) where the task has no classical method."""
    if task not in CLASSICAL or not frames:
        return "", None
    name, method = CLASSICAL[task]
    output = method(frames, masks)
    return (name, output) if output is not None else ("", None)
