"""Small sets of unit vectors with known structure."""

from __future__ import annotations

import numpy as np


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def blobs(n_blobs: int, per_blob: int, dim: int = 32, spread: float = 0.05, seed: int = 0):
    """Unit vectors in well separated blobs: (n_blobs * per_blob, dim) and each row's blob."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((n_blobs, dim)))
    label = np.repeat(np.arange(n_blobs), per_blob)
    x = unit(centres[label] + spread * rng.standard_normal((len(label), dim)))
    return x, label
