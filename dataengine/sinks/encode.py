"""Image encoding for the members of a sample. OpenCV (libjpeg-turbo, zlib) is deterministic for
a given build, which is what makes two runs of one recipe byte-identical."""

from __future__ import annotations

import cv2
import numpy as np


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} image as JPEG")
    return buf.tobytes()


def encode_png(image: np.ndarray, compression: int) -> bytes:
    """RGB (HxWx3) or single-channel (HxW, masks) uint8 to PNG."""
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, buf = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} image as PNG")
    return buf.tobytes()


def decode_member(data: bytes) -> np.ndarray:
    """Decode a member we wrote: RGB for jpg/colour png, HxW for masks."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ValueError("member is not a decodable image")
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB) if pixels.ndim == 3 else pixels
