"""Text rendered onto images with the DejaVu fonts that ship inside matplotlib.

Pillow's FreeType renderer draws the glyphs' anti-aliased coverage; the text is then blended
in like any other layer (cutout.blend), so the image changes exactly where the coverage is
nonzero, and that region is returned as the text mask. Rendering is a pure function of
(text, font, size, colour, position): a pair remade from its params is identical.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from dataengine.fonts import load_font, text_extent
from dataengine.synth.cutout import Layer, blend


def fit_size(text: str, font: str, size: int, max_width: int) -> int:
    """The largest size up to `size` at which `text` is at most `max_width` wide (0: none)."""
    width, _ = text_extent(text, font, size)
    if width > max_width:
        size = int(size * max_width / width)  # widths grow about linearly with the size
    while size > 0 and text_extent(text, font, size)[0] > max_width:
        size -= 1  # hinting can make the linear guess a pixel too wide
    return size


def text_coverage(text: str, font: str, size: int) -> np.ndarray:
    """The ink of `text` as anti-aliased coverage, uint8 (height x width of text_extent)."""
    face = load_font(font, size)
    left, top, right, bottom = face.getbbox(text)
    canvas = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(canvas).text((-left, -top), text, fill=255, font=face)
    return np.asarray(canvas)


def text_layer(
    hw: tuple[int, int],
    text: str,
    font: str,
    size: int,
    color: tuple[int, int, int],
    left: int,
    top: int,
) -> Layer:
    """A full-size layer with the text's ink at (left, top); it must fit inside hw."""
    coverage = text_coverage(text, font, size)
    th, tw = coverage.shape
    h, w = hw
    if left < 0 or top < 0 or left + tw > w or top + th > h:
        raise ValueError(f"text {text!r} ({tw}x{th}) at ({left}, {top}) leaves the {w}x{h} image")
    alpha = np.zeros((h, w), np.uint8)
    alpha[top : top + th, left : left + tw] = coverage
    rgb = np.broadcast_to(np.array(color, np.uint8), (h, w, 3))  # one colour: a view, no copy
    return Layer(rgb=rgb, alpha=alpha)


def render_text(
    image: np.ndarray,
    text: str,
    font: str,
    size: int,
    color: tuple[int, int, int],
    left: int,
    top: int,
) -> tuple[np.ndarray, np.ndarray]:
    """`image` with the text drawn in, and the exact text mask (uint8 HxW, 0/255)."""
    layer = text_layer(image.shape[:2], text, font, size, color, left, top)
    return blend(image, layer), layer.mask
