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
