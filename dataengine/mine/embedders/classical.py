"""The classical image embedder: colour layout, colour, edge and texture statistics.

No weights, so it works anywhere and is the default. Four blocks, each centred and scaled
to unit length, so that a block's dot product is the Pearson correlation of two images'
statistics (unrelated images sit near 0, not near 1 as raw histograms would):

    layout    12x12 grid of mean CIELAB colour (432): where things are and what colour
    colour    a 32-bin histogram of each CIELAB channel, smoothed, square-rooted (96)
    edges     HOG of the slightly blurred image: 6 orientations, 8x8 cells, 2x2 blocks (1176)
    texture   uniform local binary patterns of the same, 8 neighbours at radius 1 (10)

Edges and texture look at a blurred image and histograms are smoothed because JPEG noise
on smooth or finely textured areas otherwise decides them: a re-encoded copy would look
less alike than an edited image.

The weights (0.4, 0.2, 0.3, 0.1) were chosen on the shapes world, where a scene's nearest
neighbour is of its own family 98% of the time; docs/MINING.md has the mined pairs' figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dataengine.mine.embedders.base import Embedder, unit_rows
from dataengine.schema import SourceImage

BLOCK_WEIGHTS = {"layout": 0.4, "colour": 0.2, "edges": 0.3, "texture": 0.1}
BLUR_SIGMA = 1.5  # px at the working size
COLOUR_BINS, COLOUR_SMOOTHING = 32, 1.5  # bins per channel; Gaussian sigma in bins


@dataclass
class ClassicalParams:
    side: int = 128  # images are resized to side x side before measuring


class ClassicalEmbedder(Embedder):
    kind = "classical"
    Params = ClassicalParams

    @classmethod
    def validate(cls, params: ClassicalParams) -> None:
        if not 64 <= params.side <= 512 or params.side % 16:
            raise ValueError(f"side: {params.side} must be a multiple of 16 in 64..512")

    def embed(self, sources: list[SourceImage]) -> np.ndarray:
        return unit_rows(np.stack([classical_vector(s.image, self.params.side) for s in sources]))


def classical_vector(image: np.ndarray, side: int = 128) -> np.ndarray:
    """(1714,) float32 unit vector of an RGB uint8 image."""
    small = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(cv2.GaussianBlur(small, (0, 0), BLUR_SIGMA), cv2.COLOR_RGB2GRAY)
    blocks = {
        "layout": _layout(small),
        "colour": _colour(small),
        "edges": _edges(gray, side),
        "texture": _texture(gray),
    }
    return np.concatenate([np.sqrt(BLOCK_WEIGHTS[n]) * _centred_unit(b) for n, b in blocks.items()])


def _layout(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    return cv2.resize(lab, (12, 12), interpolation=cv2.INTER_AREA)


def _colour(rgb: np.ndarray) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    hists = []
    for channel in range(3):
        hist = cv2.calcHist([lab], [channel], None, [COLOUR_BINS], [0, 256]).ravel()
        # Smoothing: a colour on a bin edge would jump bins with the least noise.
        hist = gaussian_filter1d(hist, COLOUR_SMOOTHING, mode="constant")
        hists.append(np.sqrt(hist / max(hist.sum(), 1.0)))  # Hellinger: small bins count too
    return np.concatenate(hists)


def _edges(gray: np.ndarray, side: int) -> np.ndarray:
    from skimage.feature import hog

    cell = side // 8
    return hog(gray, orientations=6, pixels_per_cell=(cell, cell), cells_per_block=(2, 2))


def _texture(gray: np.ndarray) -> np.ndarray:
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(gray, 8, 1, "uniform").astype(np.int64)  # values 0..9
    return np.sqrt(np.bincount(codes.ravel(), minlength=10) / codes.size)


def _centred_unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).ravel()
    v = v - v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm > 1e-8 else v  # a flat image: zero block, similar to nothing
