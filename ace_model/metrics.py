"""Image metrics against the target, and the shapes world's edit-correctness read back from
the pixels. Images are uint8 HxWx3 of one size."""

from __future__ import annotations

import numpy as np

from dataengine.sources import shapes_world as sw


def l1(output: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute difference, on a 0..1 scale."""
    return float(np.abs(output.astype(np.float64) - target.astype(np.float64)).mean() / 255.0)


def psnr(output: np.ndarray, target: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(output, target):
        return 100.0  # identical: report a finite ceiling instead of infinity
    return float(peak_signal_noise_ratio(target, output, data_range=255))


def ssim(output: np.ndarray, target: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    side = min(output.shape[:2])
    window = min(7, side if side % 2 else side - 1)  # the window must fit the image
    return float(
        structural_similarity(target, output, channel_axis=2, data_range=255, win_size=window)
    )


def image_metrics(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    return {"l1": l1(output, target), "psnr": psnr(output, target), "ssim": ssim(output, target)}


# ============================================================================================
# Edit-aware: the changed region and the kept region, apart
# ============================================================================================

# A pixel is changed when a channel moves by more than this (of 255): JPEG's noise on an
# unchanged pixel stays well under it at the sink's quality (docs/FORMAT.md, masks).
CHANGE_THRESHOLD = 10
MIN_REGION = 0.002  # a region of fewer pixels (of the image) has nothing to say


def changed_region(
    edited: np.ndarray | None, mask: np.ndarray | None, mask_role: str, target: np.ndarray
) -> np.ndarray | None:
    """Where the edit is: the edited image's mask when it is the region to edit, else where
    the target differs from the edited image (bool HxW); None without an input to compare."""
    if mask is not None and mask_role == "edit":
        return mask > 127
    if edited is None or edited.shape != target.shape:
        return None
    moved = np.abs(target.astype(np.int16) - edited.astype(np.int16)).max(axis=2)
    import cv2

    changed = cv2.morphologyEx(  # isolated noise pixels are not an edit
        (moved > CHANGE_THRESHOLD).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
    )
    return changed.astype(bool)


def region_metrics(output: np.ndarray, target: np.ndarray, region: np.ndarray) -> dict | None:
    """L1 and PSNR over the pixels of `region` (and SSIM: its map averaged there)."""
    if region.mean() < MIN_REGION:
        return None
    a, b = output.astype(np.float64)[region], target.astype(np.float64)[region]
    error = float(((a - b) ** 2).mean())
    return {
        "l1": float(np.abs(a - b).mean() / 255.0),
        "psnr": 100.0 if error == 0 else float(10 * np.log10(255.0**2 / error)),
        "ssim": _ssim_inside(output, target, region),
    }


def _ssim_inside(output: np.ndarray, target: np.ndarray, region: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    side = min(output.shape[:2])
    window = min(7, side if side % 2 else side - 1)
    _, full = structural_similarity(
        target, output, channel_axis=2, data_range=255, win_size=window, full=True
    )
    return float(full.mean(axis=2)[region].mean())


def edit_aware(output: np.ndarray, target: np.ndarray, changed: np.ndarray | None) -> dict:
    """{"changed": metrics inside the edit, "kept": metrics outside it} (either None where
    the region is too small to say anything)."""
    if changed is None:
        return {"changed": None, "kept": None}
    return {
        "changed": region_metrics(output, target, changed),
        "kept": region_metrics(output, target, ~changed),
    }


# ============================================================================================
# Shapes world: is each cell what the target scene says?
# ============================================================================================

CELL_PROBE = 0.12  # side of the square read at a cell's centre, as a fraction of the cell


def read_cell(image: np.ndarray, scene: dict, cell: str) -> str:
    """The colour name at a cell's centre, or "empty" when the background colour is
    nearest. The centre of every shape, of every size, lies inside the shape."""
    h, w = image.shape[:2]
    sx, sy = w / scene["size"][0], h / scene["size"][1]
    cx, cy = sw.cell_center(scene, cell)
    half = max(0, round(CELL_PROBE * min(w, h) / 3 / 2))
    x, y = round(cx * sx - 0.5), round(cy * sy - 0.5)
    patch = image[max(0, y - half) : y + half + 1, max(0, x - half) : x + half + 1]
    colour = patch.reshape(-1, 3).astype(np.float64).mean(axis=0)
    palette = {**sw.COLORS, "empty": sw.BACKGROUND_COLORS[scene["background"]["color"]]}
    return min(palette, key=lambda name: float(np.sum((colour - palette[name]) ** 2)))


def expected_cells(scene: dict) -> dict[str, str]:
    placed = {o["cell"]: o["color"] for o in scene["objects"]}
    return {cell: placed.get(cell, "empty") for cell in sw.CELLS}


def edit_correctness(image: np.ndarray, scene: dict) -> float:
    """Fraction of the nine cells whose colour (or emptiness) matches the target scene."""
    expected = expected_cells(scene)
    hits = sum(read_cell(image, scene, cell) == want for cell, want in expected.items())
    return hits / len(expected)
