"""examples.png of the evaluation report: its rows and the labels over their columns."""

from __future__ import annotations

import numpy as np

from ace_model.report import Example, example_strip


def _white(h: int, w: int) -> np.ndarray:
    return np.full((h, w, 3), 255, np.uint8)


def _example(roles: list[str], h: int, w: int) -> Example:
    return Example(
        [_white(h, w) for _ in roles], roles, _white(h, w), _white(h, w), "Edit {image}."
    )


def test_each_row_labels_its_columns():
    """White tiles: any dark pixel over them is a label's."""
    strip = example_strip(
        {
            "inpainting": _example(["input"], 32, 32),
            "multi_turn": _example(["history", "input"], 32, 64),
        }
    )
    row_height = 16 + 128 + 18 + 4  # labels, tiles, caption, gap
    assert strip.shape[0] == 2 * row_height
    for row, widths in ((0, [128, 128, 128]), (1, [256, 256, 256, 256])):
        header = strip[row * row_height : row * row_height + 16]
        tiles = strip[row * row_height + 16 : row * row_height + 16 + 128]
        assert (tiles == 255).all()
        starts = np.cumsum([0, *[w + 2 for w in widths[:-1]]])
        starts[-2:] += 8  # the gap before the model's output
        for start, width in zip(starts, widths, strict=True):
            assert (header[:, start : start + width] < 128).any(), (row, start)
