"""text_legibility with rapidocr's real OCR weights, on pairs made by the real text makers."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.fonts import text_extent
from dataengine.quality.text_legibility import (
    TextLegibility,
    TextLegibilityParams,
    read_match,
    text_region,
)
from dataengine.registry import all_makers
from dataengine.schema import Pair, SourceImage
from tests.dataengine.quality.crafted import unit

MAKERS = all_makers()  # every family imported


@pytest.fixture(scope="module")
def reader():
    stage = TextLegibility(TextLegibilityParams())
    stage.setup()
    stage._ready = True
    return stage


def made_pair(task: str, seed: int) -> Pair:
    """A pair from the real maker on a plain, light photo (text on it is legible)."""
    yy, xx = np.mgrid[0:160, 0:240]
    image = np.stack([180 + xx // 8, 190 + yy // 8, 200 - xx // 16], -1).astype(np.uint8)
    made = MAKERS[task]().make(
        SourceImage(id="plain", group="plain", image=image), np.random.default_rng(seed)
    )
    return Pair(
        key=f"{seed:032x}",
        task=task,
        category=MAKERS[task].category,
        split="train",
        frames=made.frames,
        target=made.target,
        provenance={"params": made.params},
    )


def test_rendered_text_reads_back(reader):
    pair = made_pair("text_render", 2)
    scores = reader(unit([pair])).pairs[0].scores
    assert scores["text_legibility"] >= 0.8, pair.provenance["params"]["text"]


def test_a_target_without_the_text_is_illegible(reader):
    pair = made_pair("text_render", 2)
    pair.target = pair.frames[0].image  # the text never got written
    assert reader(unit([pair])).pairs[0].scores["text_legibility"] < 0.3


def test_removed_text_reads_in_the_input_and_not_in_the_target(reader):
    pair = made_pair("text_removal", 4)
    scores = reader(unit([pair])).pairs[0].scores
    assert scores["text_legibility"] >= 0.8
    assert scores["text_remaining"] < 0.3
    pair.target = pair.frames[0].image  # the text left in place
    assert reader(unit([pair])).pairs[0].scores["text_remaining"] >= 0.8


def test_only_the_texts_own_box_is_read(reader):
    """The same text written away from where the params put it does not count."""
    pair = made_pair("text_render", 2)
    params = pair.provenance["params"]
    width, height = text_extent(params["text"], params["font"], params["size"])
    top, left = params["top"], params["left"]
    written = pair.target[top : top + height, left : left + width].copy()
    moved = pair.frames[0].image.copy()
    moved[-height:, -width:] = written  # bottom right corner, outside the box's margin
    assert top + height + height // 2 < moved.shape[0] - height  # the test's own premise
    pair.target = moved
    assert reader(unit([pair])).pairs[0].scores["text_legibility"] < 0.3
    del params["left"]  # without a position, OCR reads the whole image and finds it
    assert reader(unit([pair])).pairs[0].scores["text_legibility"] >= 0.8


def test_text_region_is_the_box_with_a_margin_clipped_to_the_image():
    params = {"text": "MOON", "font": "sans", "size": 20, "left": 5, "top": 30}
    width, height = text_extent("MOON", "sans", 20)
    top, bottom, left, right = text_region(params, (200, 300), margin=0.5)
    pad = round(0.5 * height)
    assert (top, bottom) == (30 - pad, 30 + height + pad)
    assert (left, right) == (0, 5 + width + pad)  # clipped at the left edge
    assert text_region({**params, "left": 290}, (200, 300), 0.5) is None  # past the edge
    assert text_region({"text": "MOON"}, (200, 300), 0.5) is None  # no position


def test_other_tasks_and_failed_rows_are_left_alone(reader):
    other = made_pair("text_render", 5)
    other.task = "inpainting"
    failed = made_pair("text_render", 6).fail("too_small", "tiny")
    pairs = reader(unit([other, failed])).pairs
    assert pairs[0].scores == {} and pairs[1].scores == {}


def test_matching_ignores_case_and_spacing():
    assert read_match("H E L L O", ["hello"]) == 1.0
    assert read_match("Day 1", ["DAY1", "noise"]) == 1.0
    assert read_match("Good morning", ["Good", "morning"]) == 1.0  # read as two lines
    assert read_match("MOON", []) == 0.0
    assert 0 < read_match("MOON", ["MO0N"]) < 1


def test_unknown_tasks_are_refused():
    with pytest.raises(ValueError, match="'text_rendering' is not a task"):
        TextLegibility.validate(TextLegibilityParams(tasks=["text_rendering"]))
