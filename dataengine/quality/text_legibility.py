"""Stage `text_legibility`: does OCR read the text a text task wrote, or no longer read it?

    - stage: text_legibility
      tasks: [text_render, text_removal]

rapidocr (PP-OCR detection and recognition, ONNX weights inside its wheel) reads the images.
The text a pair is about is `provenance.params.text`. For a task that writes text
(text_render) `text_legibility` is how well OCR reads it in the target; for one that removes
it (text_removal), how well it reads it in the input, and `text_remaining` how well it still
reads it in the target (0 = gone).

Where the params say where the text went (`left`, `top`, `font`, `size`, as the text makers
record them), OCR reads only that box and a margin around it: the question is whether that
text is legible there, and a photo's own lettering or texture elsewhere cannot answer it.
It is also far less OCR work than reading the whole image.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from dataengine.fonts import text_extent
from dataengine.quality.pixel_change import as_rgb, edited_frame
from dataengine.schema import Pair, Unit
from dataengine.stage import Resources, Stage

REMOVAL_TASKS = frozenset({"text_removal"})


@dataclass
class TextLegibilityParams:
    tasks: list[str] = field(default_factory=lambda: ["text_render", "text_removal"])
    max_side: int = 640  # OCR detection works at most at this long side: fast, still legible
    margin: float = 0.5  # around the text's box, in text heights, when the params place it
    threads: int = 1  # ONNX threads per copy; each worker holds its own copy


class TextLegibility(Stage):
    name = "text_legibility"
    Params = TextLegibilityParams
    requires = frozenset({"pairs"})
    provides = frozenset({"scores"})
    resources = Resources(holds_model=True, actors=0)  # a small ONNX model: one per worker

    @classmethod
    def validate(cls, params: TextLegibilityParams) -> None:
        from dataengine.registry import is_task

        for task in params.tasks:
            if not is_task(task):
                raise ValueError(f"tasks: {task!r} is not a task; e.g. text_render")
        if params.max_side < 32:
            raise ValueError(f"max_side is {params.max_side}; give at least 32 px")
        if params.margin < 0:
            raise ValueError(f"margin is {params.margin}; give 0 or more text heights")

    def setup(self) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise ImportError("text_legibility needs rapidocr: pip install rapidocr") from exc
        self.ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,  # rendered text is upright
                "Det.limit_type": "max",  # the default upscales small images to 736 px
                "Det.limit_side_len": self.params.max_side,
                "EngineConfig.onnxruntime.intra_op_num_threads": self.params.threads,
            }
        )

    def process(self, unit: Unit) -> Unit:
        for pair in unit.pairs:
            text = pair.provenance.get("params", {}).get("text")
            if pair.ok and pair.task in self.params.tasks and text:
                pair.scores.update(self.score(pair, text))
        return unit

    def score(self, pair: Pair, text: str) -> dict[str, float]:
        params = pair.provenance.get("params", {})
        box = text_region(params, pair.target.shape[:2], self.params.margin)
        frame = edited_frame(pair)
        if pair.task in REMOVAL_TASKS and frame is not None:
            return {
                "text_legibility": read_match(text, self.read(frame.image, box)),
                "text_remaining": read_match(text, self.read(pair.target, box)),
            }
        return {"text_legibility": read_match(text, self.read(pair.target, box))}

    def read(self, image: np.ndarray, box: tuple[int, ...] | None) -> list[str]:
        """The lines OCR reads in `box` (top, bottom, left, right) of `image`, or in all of it."""
        if box is not None:
            top, bottom, left, right = box
            image = image[top:bottom, left:right]
        result = self.ocr(np.ascontiguousarray(as_rgb(image)))
        return list(result.txts or [])


def text_region(params: dict, shape: tuple[int, int], margin: float) -> tuple[int, ...] | None:
    """(top, bottom, left, right) of the text the params placed, `margin` text heights
    around it and clipped to the image; None when the params do not place it or place it
    outside this image (then OCR reads the whole image)."""
    try:
        text, font, size = params["text"], params["font"], int(params["size"])
        left, top = int(params["left"]), int(params["top"])
        width, height = text_extent(text, font, size)
    except (KeyError, TypeError, ValueError, OSError):
        return None
    h, w = shape
    if left < 0 or top < 0 or left + width > w or top + height > h:
        return None
    pad = max(4, round(margin * height))
    return (
        max(0, top - pad),
        min(h, top + height + pad),
        max(0, left - pad),
        min(w, left + width + pad),
    )


def read_match(expected: str, lines: list[str]) -> float:
    """0..1: how closely the best-matching line (or all lines together) spells `expected`.
    Case and spaces are ignored: spaced capitals ("H E L L O") read either way."""
    want = _letters(expected)
    if not want:
        return 0.0
    candidates = [_letters(line) for line in lines] + [_letters("".join(lines))]
    return max(difflib.SequenceMatcher(None, want, got).ratio() for got in candidates)


def _letters(text: str) -> str:
    return "".join(text.split()).lower()
