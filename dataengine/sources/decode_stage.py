"""Stage `decode`: encoded source bytes -> RGB pixels, bounded in size.

A file that cannot become a usable image (truncated, not an image, a decompression bomb,
too small...) keeps its row with the decoder's status and reason; the pair makers turn it
into error rows, so every input is accounted for in the index.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from dataengine.schema import SourceImage, Unit
from dataengine.sources.decode import ImageError, decode_image
from dataengine.stage import Stage


@dataclass
class DecodeParams:
    max_side: int = 768  # long side after decoding; larger images are downscaled
    min_side: int = 64  # smaller images become "too_small" rows
    max_pixels: int = 64_000_000  # refuse larger images before decoding (decompression bombs)
    draft: bool = True  # let libjpeg decode big JPEGs at a reduced scale first


class Decode(Stage):
    name = "decode"
    Params = DecodeParams
    requires = frozenset({"sources"})
    provides = frozenset({"images"})
    per_source = True

    @classmethod
    def validate(cls, params: DecodeParams) -> None:
        if params.min_side < 1 or params.max_side < params.min_side:
            raise ValueError(
                f"need 1 <= min_side <= max_side, got min_side={params.min_side}, "
                f"max_side={params.max_side}"
            )

    def process(self, unit: Unit) -> Unit:
        for source in unit.sources:
            if source.ok:
                self._decode(source)
        return unit

    def _decode(self, source: SourceImage) -> None:
        p = self.params
        if source.image is not None:  # generated sources come as pixels already
            source.image = fit_long_side(source.image, p.max_side)
            return
        try:
            decoded = decode_image(
                source.data,
                max_pixels=p.max_pixels,
                min_side=p.min_side,
                max_side=p.max_side,
                draft=p.draft,
            )
        except ImageError as exc:
            source.status, source.error = exc.kind, str(exc)
        else:
            source.image = decoded.image
            source.meta["decode"] = {
                "size": list(decoded.original_size),
                "format": decoded.format,
                "notes": decoded.notes,
            }
        source.data = None  # the pixels replace the bytes; keep units small between stages


def fit_long_side(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
