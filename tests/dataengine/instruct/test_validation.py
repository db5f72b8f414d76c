"""Answer validation: what a model may and may not put in place of a template instruction."""

from __future__ import annotations

import pytest

from dataengine.instruct.prompts import guide_lines
from dataengine.instruct.validation import check_instruction, clean_answer, expectations_for

TEMPLATE = 'Add "a red kite" to {image}, next to {image1}.'
EXPECT = expectations_for(TEMPLATE, source=TEMPLATE, prompt_lines=guide_lines(False, False))


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ('Put "a red kite" into {image}, beside {image1}.', "ok"),
        ('  "Put "a red kite" into {image} near {image1}."  ', "ok"),
        ('Instruction: Place "a red kite" in {image} by {image1}.', "ok"),
        ("", "empty"),
        ("   ", "empty"),
        ("Hi", "too_short"),
        ('Put "a red kite" into {image} beside {image1}. ' * 20, "too_long"),
        ('Put "a red kite" into {image}\ufffd beside {image1}.', "garbled"),
        ('Put "a red kite" into {image}\x07 beside {image1}.', "garbled"),
        ('Put "a red kite" into {image} beside {image2}.', "bad_placeholder"),
        ('Put "a red kite" into {img} beside {image1}.', "bad_placeholder"),
        ('Put "a red kite" into {image} beside {image1}}.', "bad_placeholder"),
        ('Put "a red kite" into the picture beside {image1}.', "missing_placeholder"),
        ("Put a kite into {image} beside {image1}.", "changed_quote"),
        ('I\'m sorry, I cannot add "a red kite" to {image} or {image1}.', "refusal"),
        ('As an AI I will not add "a red kite" to {image} or {image1}.', "refusal"),
        (TEMPLATE, "unchanged"),
        (
            TEMPLATE.upper().replace("{IMAGE}", "{image}").replace("{IMAGE1}", "{image1}"),
            "changed_quote",
        ),
        (
            "Keep every placeholder such as {image} or {image1} exactly as written: each names "
            'an input image. "a red kite"',
            "prompt_copy",
        ),
    ],
)
def test_check_instruction_statuses(answer, status):
    assert check_instruction(answer, EXPECT).status == status


def test_rejection_reasons_name_the_problem():
    missing = check_instruction('Put "a red kite" into the sky of {image}.', EXPECT)
    assert missing.reason == "does not name {image1}"
    unknown = check_instruction('Put "a red kite" in {image}, {image1} and {image3}.', EXPECT)
    assert unknown.reason == "names {image3}, which the sample does not have"
    quote = check_instruction("Put a kite in {image} and {image1}.", EXPECT)
    assert quote.reason == 'lost the quoted text "a red kite"'


def test_expectations_come_from_the_template():
    expect = expectations_for('Draw "$x" in {image}. Then "b" with {image1}.')
    assert expect.placeholders == {"", "1"}  # frame numbers as written: "" is {image}
    assert expect.keep == ("$x", "b")
    assert expectations_for('Generate "a cat".').placeholders == frozenset()


def test_an_instruction_without_frames_must_not_name_one():
    expect = expectations_for('Generate an image of "a cat".')
    assert check_instruction('Paint "a cat", please.', expect).ok
    assert check_instruction('Paint "a cat" like {image}.', expect).status == "bad_placeholder"


def test_clean_answer_keeps_inner_quotes():
    assert clean_answer('"Add "a kite" to {image}."') == '"Add "a kite" to {image}."'
    assert clean_answer("'Make {image} brighter.'") == "Make {image} brighter."
    assert clean_answer("`Make {image} brighter.`\n") == "Make {image} brighter."


def test_placeholders_are_named_as_written():
    expect = expectations_for("Blend {image} with {image1}.")
    unknown = check_instruction("Blend {image} with {image01}.", expect)
    assert (unknown.status, unknown.reason) == (
        "bad_placeholder",
        "names {image01}, which the sample does not have",
    )
    missing = check_instruction("Blend the two pictures.", expect)
    assert missing.reason == "does not name {image}, {image1}"
