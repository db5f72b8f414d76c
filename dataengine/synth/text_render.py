"""Text rendered onto images with the DejaVu fonts that ship inside matplotlib.

Pillow's FreeType renderer draws the glyphs' anti-aliased coverage; the text is then blended
in like any other layer (cutout.blend), so the image changes exactly where the coverage is
nonzero, and that region is returned as the text mask. Rendering is a pure function of
(text, font, size, colour, position): a pair remade from its params is identical.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dataengine.synth.cutout import Layer, blend

FONT_FILES = {
    "sans": "DejaVuSans.ttf",
    "sans bold": "DejaVuSans-Bold.ttf",
    "sans oblique": "DejaVuSans-Oblique.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif bold": "DejaVuSerif-Bold.ttf",
    "serif italic": "DejaVuSerif-Italic.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono bold": "DejaVuSansMono-Bold.ttf",
}


def font_path(name: str) -> Path:
    if name not in FONT_FILES:
        raise ValueError(f"unknown font {name!r}; known: {', '.join(FONT_FILES)}")
    import matplotlib  # only for the path of its bundled fonts

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILES[name]


@functools.lru_cache(maxsize=16)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    # Parsing a TTF takes about a millisecond, and a pair reuses its (font, size) a lot. Each
    # face holds about 350 KB of FreeType's memory, and a corpus meets hundreds of sizes
    # (145 in the default recipe at 10x its sources): a small cache keeps memory flat.
    return ImageFont.truetype(str(font_path(name)), size)


def text_extent(text: str, font: str, size: int) -> tuple[int, int]:
    """(width, height) in pixels of the ink of `text`."""
    left, top, right, bottom = load_font(font, size).getbbox(text)
    return right - left, bottom - top


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
