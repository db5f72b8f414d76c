"""A conversation's turns: what the model is shown, and the conversation as a sample."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ace_model.chat.conversation import HISTORY_TURNS, Conversation, Turn
from dataengine.corpus.validate import _check_sample
from dataengine.sinks.encode import decode_member
from dataengine.sinks.tars import samples_in_tar
from tests.builders import photo


def talk_of(turns: int) -> Conversation:
    talk = Conversation()
    talk.add_image(photo(0), "upload a.png")
    for t in range(turns):
        talk.add_turn(Turn(f"Edit {{image}} number {t}.", [t], None, t + 1, {"seed": t}))
        talk.add_image(photo(t + 1), f"turn {t + 1}")
    return talk


def test_history_is_the_last_turns_that_fit_one_frame():
    talk = talk_of(HISTORY_TURNS + 2)
    asked = talk.request("Make {image} brighter.", [len(talk.images) - 1], None)
    texts = [text for _, text in asked["history"]]
    assert texts == [f"Edit {{image}} number {t}." for t in range(2, HISTORY_TURNS + 2)]
    assert asked["images"][0] is talk.images[-1] and asked["masks"] == []


@pytest.mark.parametrize(
    ("instruction", "inputs", "message"),
    [
        ("Make {image} brighter.", [], "pick the image to edit first"),
        ("Make it brighter.", [0], "name the image to edit"),
        ("Put {image1} into {image}.", [0], "names {image1} but the turn has 1 image"),
        ("Make {image} brighter.", [9], "image #9 is not in this conversation"),
    ],
)
def test_requests_that_do_not_fit_are_refused(instruction, inputs, message):
    with pytest.raises(ValueError, match=message):
        talk_of(1).request(instruction, inputs, None)


def test_the_conversation_downloads_as_a_valid_multi_turn_sample():
    talk = talk_of(2)
    mask = np.zeros(talk.images[2].shape[:2], np.uint8)
    mask[10:40, 10:60] = 255
    talk.turns[-1].mask = mask
    key, data = talk.as_sample({"path": "run/checkpoint.pt", "step": 6})
    (sample,) = samples_in_tar(data)
    members = {k: v for k, v in sample.items() if k != "__key__"}
    assert _check_sample(key, members, "bench", decode=True) == []
    meta = json.loads(members["json"])
    assert [f["role"] for f in meta["frames"]] == ["history", "input"]
    assert meta["frames"][0]["instruction"] == "Edit {image} number 0."
    assert meta["instruction"] == "Edit {image} number 1." and meta["instruction_source"] == "human"
    assert np.array_equal(decode_member(members["src0.png"]), talk.images[0])
    assert np.array_equal(decode_member(members["src1.png"]), talk.images[1])
    assert np.array_equal(decode_member(members["mask1.png"]), mask)
    assert np.array_equal(decode_member(members["tgt.png"]), talk.images[2])
    assert meta["provenance"]["params"]["checkpoint"]["step"] == 6


def test_a_long_conversation_downloads_what_the_last_turn_showed_the_model():
    talk = talk_of(HISTORY_TURNS + 3)
    _, data = talk.as_sample({"path": "run/checkpoint.pt", "step": 6})
    (sample,) = samples_in_tar(data)
    frames = json.loads(sample["json"])["frames"]
    assert [f["role"] for f in frames] == ["history"] * HISTORY_TURNS + ["input"]
    assert [f["instruction"] for f in frames[:-1]] == [
        f"Edit {{image}} number {t}." for t in range(2, HISTORY_TURNS + 2)
    ]
