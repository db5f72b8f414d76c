"""Hand-made pairs with known pixels, for scorer and selection tests."""

from __future__ import annotations

import numpy as np

from dataengine.schema import Frame, Pair, Unit


def scene(seed: int = 0, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A smooth picture with sharp-edged blocks: structure for SSIM, edges for sharpness."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([(xx * 2) % 256, (yy * 2) % 256, (xx + yy) % 256], -1).astype(np.uint8)
    for _ in range(6):
        top, left = rng.integers(0, h - 16), rng.integers(0, w - 16)
        image[top : top + 16, left : left + 16] = rng.integers(0, 256, 3)
    return image


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """255 inside (top, left, bottom, right), 0 elsewhere."""
    mask = np.zeros(size, np.uint8)
    top, left, bottom, right = box
    mask[top:bottom, left:right] = 255
    return mask


def pair(
    key: str,
    source: np.ndarray | None,
    target: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    instruction: str | None = "Fill the masked part of {image}.",
    task: str = "inpainting",
    category: str = "repainting",
    split: str = "train",
    caption: str | None = None,
    params: dict | None = None,
) -> Pair:
    frames = [] if source is None else [Frame(image=source, mask=mask)]
    return Pair(
        key=key,
        task=task,
        category=category,
        split=split,
        frames=frames,
        target=target,
        instruction=instruction,
        caption=caption,
        provenance={
            "recipe": "crafted",
            "stage": "test",
            "operator": "hand",
            "version": "1",
            "params": params or {},
            "seed": 0,
            "source_ids": [key],
            "parents": [],
            "model": None,
        },
    )


def unit(pairs: list[Pair], split: str = "train", index: int = 0) -> Unit:
    return Unit(id=f"crafted-{split}-{index}", split=split, index=index, pairs=pairs)
