"""The DejaVu fonts that ship inside matplotlib: where they are, and how big text is in them.
Shared by the text-rendering pair makers and the text-legibility scorer, which finds the
text a maker placed from the maker's recorded parameters."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont

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
