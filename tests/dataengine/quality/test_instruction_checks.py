"""Instruction checks: empty, wrong placeholders, stutter, a sample twice."""

from __future__ import annotations

from dataengine.quality.instruction_checks import duplicate_flags, instruction_scores
from tests.dataengine.quality.crafted import pair, scene


def test_an_empty_instruction_has_no_words():
    assert instruction_scores("", 1)["instruction_words"] == 0.0
    assert instruction_scores(None, 1)["instruction_words"] == 0.0
    assert instruction_scores("   ", 1)["instruction_words"] == 0.0
    assert instruction_scores("Make {image} grey.", 1)["instruction_words"] == 3.0


def test_placeholders_must_name_an_input_frame():
    def bad(text, inputs):
        return instruction_scores(text, inputs)["instruction_bad_placeholders"]

    assert bad("Put the cat of {image1} into {image}.", 2) == 0.0
    assert bad("Put the cat of {image1} into {image}.", 1) == 1.0  # there is no src1
    assert bad("Paint {image} {color}.", 1) == 1.0  # a template slot left unfilled
    assert bad("A photo of a red bus.", 0) == 0.0
    assert bad("A photo of {image}.", 0) == 1.0  # text_to_image has no frames
    assert bad("Blend {img}, {image x} and {} into {image}.", 1) == 3.0  # not frame names
    assert bad("Blend {image2} into {image}.", 3) == 0.0


def test_stutter_is_counted_but_quoted_text_is_not():
    def repeats(text):
        return instruction_scores(text, 1)["instruction_repeats"]

    assert repeats("Make the the sky in {image} blue.") == 1.0
    assert repeats("Remove the bird. Remove the bird.") == 1.0
    assert repeats('Write "H E L L O" on {image}.') == 0.0
    assert repeats('Write "bye bye" on {image}.') == 0.0
    assert repeats("Make the sky in {image} blue.") == 0.0
    assert repeats("Make the blurry image {image} crisp and clear.") == 0.0
    assert repeats("What would {image} look like in colour? Colour it in.") == 0.0


def test_the_same_sample_twice_in_a_unit_is_flagged_once():
    image, target = scene(1), scene(2)
    first = pair("a" * 32, image, target)
    copy = pair("b" * 32, image.copy(), target.copy())
    other = pair("c" * 32, image, target, instruction="Repaint the hole in {image}.")
    flags = duplicate_flags([copy, other, first])
    assert flags == {"a" * 32: 0.0, "b" * 32: 1.0, "c" * 32: 0.0}
