"""The response cache and its key: (model, prompt, image hashes, options)."""

from __future__ import annotations

import pickle

import numpy as np

from dataengine.instruct.cache import ResponseCache
from dataengine.instruct.prompts import ChatRequest, describe_messages, image_part


def request(pixel: int = 0, caption: str = "a kite", temperature: float = 0.2) -> ChatRequest:
    image = np.full((40, 60, 3), pixel, np.uint8)
    messages = describe_messages("inpainting", [image_part(image, 32)], caption, False)
    return ChatRequest(messages, {"n": 1, "temperature": temperature, "seed": 3})


def test_answers_round_trip_across_instances(tmp_path):
    cache = ResponseCache(tmp_path)
    key = request().cache_key("m")
    assert cache.get(key) is None
    answer = {"texts": ["Fill {image}.", "Repair {ima"], "truncated": [False, True]}
    cache.put(key, "m", answer)
    cache.close()
    reopened = ResponseCache(tmp_path)
    assert reopened.get(key) == answer
    assert len(reopened) == 1


def test_the_key_changes_with_model_prompt_image_and_options():
    base = request().cache_key("m")
    assert request().cache_key("m") == base  # same inputs, same key on every run
    assert request().cache_key("other") != base
    assert request(caption="a boat").cache_key("m") != base
    assert request(pixel=1).cache_key("m") != base  # one grey level differs
    assert request(temperature=0.3).cache_key("m") != base
    extra = request()
    extra.extra_body = {"top_k": 5}
    assert extra.cache_key("m") != base


def test_the_key_hashes_images_instead_of_carrying_them():
    big = request()
    url = big.messages[1]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert len(big.cache_key("m")) == 64


def test_image_part_shrinks_to_max_side():
    import base64

    import cv2

    part = image_part(np.zeros((300, 100, 3), np.uint8), 60)
    data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (60, 20, 3)


def test_a_cache_pickles_closed_and_reopens_in_the_worker(tmp_path):
    cache = ResponseCache(tmp_path)
    cache.put("k", "m", {"texts": ["x"], "truncated": [False]})
    clone = pickle.loads(pickle.dumps(cache))
    assert clone.get("k") == {"texts": ["x"], "truncated": [False]}
