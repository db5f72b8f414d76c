"""Placeholders, which instruction each frame reads, and packing LCUs into a batch."""

from __future__ import annotations

import pytest
import torch

from ace_model.conditioning import ConditionError, pack, plain_text, text_plan
from ace_model.encoders import PixelCodec, token_slots
from tests.builders import lcu


def test_plain_text_marks_where_placeholders_stood():
    text, spans = plain_text("Paste {image1} into {image}, twice.")
    assert text == "Paste image into image, twice."
    assert spans == [(6, 11, 1), (17, 22, 0)]
    assert text[6:11] == text[17:22] == "image"


def test_token_slots_follow_character_offsets():
    offsets = [[0, 0], [0, 5], [6, 11], [12, 16], [17, 22], [22, 23], [0, 0]]
    slots = token_slots(offsets, [(6, 11, 1), (17, 22, 0)])
    assert slots.tolist() == [-1, -1, 1, -1, 0, -1, -1]


def test_real_tokenizer_places_the_indicator_on_the_placeholder_word(text_encoder):
    features, slots = text_encoder.encode("Put {image1} to the left of {image}.")
    tokens = text_encoder.tokenizer("Put image to the left of image.")["input_ids"]
    words = text_encoder.tokenizer.convert_ids_to_tokens(tokens)
    assert features.shape == (len(words), 384)
    named = {words[i]: [] for i in range(len(words))}
    for word, slot in zip(words, slots.tolist(), strict=True):
        named[word].append(slot)
    assert named["image"] == [1, 0] and named["put"] == [-1]


def test_text_encoding_is_the_same_bits_alone_or_after_others(text_encoder):
    """Exact resume needs a text's features not to depend on what was encoded before."""
    from ace_model.config import TextConfig
    from ace_model.encoders import TextEncoder

    text = "Make {image} look like a watercolour painting."
    first = text_encoder.encode(text)[0]
    fresh = TextEncoder(TextConfig(), cache=0)
    fresh.encode("Something else entirely, and rather longer than the first text.")
    assert torch.equal(fresh.encode(text)[0], first)


def test_history_frames_read_their_own_turn():
    sample = lcu(2, ["Turn {image} red.", "Make {image} bigger."], "Put {image1} on {image}.")
    plan = text_plan(sample)
    assert plan.texts == ["Turn {image} red.", "Make {image} bigger.", "Put {image1} on {image}."]
    assert plan.frame_segment == [0, 1, 2, 2, 2]  # two turns, two inputs, the target
    assert plan.names == [{0: 0}, {0: 1}, {0: 2, 1: 3}]  # {imageN}: the N-th current input


def test_a_placeholder_without_its_frame_is_refused_by_name():
    with pytest.raises(ConditionError, match=r"\{image2\}.*2 available"):
        text_plan(lcu(2, instruction="Blend {image}, {image1} and {image2}."))
    broken = lcu(1, ["x"])
    broken.frame_instructions[0] = None
    with pytest.raises(ConditionError, match="history frame 0 has no instruction"):
        text_plan(broken)


def test_pack_pads_frames_and_text(text_encoder):
    samples = [
        lcu(0, instruction="Draw a red circle.", seed=1),
        lcu(1, ["Turn {image} blue."], "Make {image} round.", seed=2),
    ]
    cond = pack(samples, (16, 16), text_encoder, PixelCodec())
    assert cond.frames.shape == (2, 2, 4, 16, 16)  # padded to two frames, RGB + mask
    assert cond.frame_valid.tolist() == [[False, False], [True, True]]
    assert cond.frame_pos.tolist() == [[0, 0, 0], [0, 1, 2]]
    assert cond.frame_role.tolist() == [[2, 2, 2], [0, 1, 2]]
    torch.testing.assert_close(cond.frames[1, 0, :3], samples[1].images[0])
    assert torch.all(cond.frames[1, :, 3] == 1)  # no mask: the whole image
    assert cond.frames[0].abs().sum() == 0
    lengths = (cond.text_segment >= 0).sum(dim=1).tolist()
    assert lengths[0] == len(text_encoder.encode("Draw a red circle.")[1])
    assert cond.text.shape[1] == max(lengths)


def test_pack_refuses_mixed_sizes(text_encoder):
    with pytest.raises(ValueError, match="one resolution bucket"):
        pack([lcu(1, size=(16, 16)), lcu(1, size=(16, 24))], (16, 16), text_encoder, PixelCodec())
