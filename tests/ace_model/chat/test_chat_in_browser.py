"""The chat page in a real browser (Selenium, Debian's chromium and chromium-driver): upload,
paint a mask, two turns (the second edits the first's result, with the first as history),
and the conversation downloaded as a sample."""

from __future__ import annotations

import contextlib
import io
import json
import urllib.request

import numpy as np
from PIL import Image

from dataengine.sinks.encode import decode_member
from dataengine.sinks.tars import samples_in_tar
from tests.browser import webdriver
from tests.builders import photo
from tools.serving import served

WAIT = 120


def chat_server(run):
    return served("model", "chat", "--ckpt", str(run), "--device", "cpu")


def wait_until(driver, test, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(lambda d: test(d), message=what)


def read_png(url: str) -> np.ndarray:
    with urllib.request.urlopen(url) as reply:
        return np.asarray(Image.open(io.BytesIO(reply.read())).convert("RGB"))


def test_two_turns_the_second_editing_the_first_result(chromium, micro_run, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    upload = tmp_path / "photo.png"
    Image.fromarray(photo(3, (96, 128))).save(upload)
    driver = webdriver(chromium)
    with chat_server(micro_run) as url, contextlib.closing(driver):
        driver.get(url)
        wait_until(driver, lambda d: "step" in d.find_element(By.ID, "model").text, "the model")
        driver.find_element(By.ID, "upload").send_keys(str(upload))
        wait_until(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#images .thumb")) == 1,
                   "the upload")  # fmt: skip
        canvas = driver.find_element(By.ID, "mask")
        wait_until(driver, lambda d: canvas.size["width"] > 0, "the mask canvas")
        ActionChains(driver).move_to_element_with_offset(canvas, -20, -10).click_and_hold()\
            .move_by_offset(40, 10).release().perform()  # fmt: skip
        turns = []
        for n, text in enumerate(("Convert {image} to grayscale.", "Make {image} brighter."), 1):
            steps = driver.find_element(By.ID, "steps")
            steps.clear()
            steps.send_keys("2")
            driver.find_element(By.ID, "instruction").send_keys(text)
            driver.find_element(By.ID, "send").click()
            done = lambda d, n=n: len(d.find_elements(By.CSS_SELECTOR, "#turns li")) == n  # noqa: E731
            wait_until(driver, done, f"turn {n}")
            turns.append(driver.find_elements(By.CSS_SELECTOR, "#turns li")[-1])
        first_output = int(turns[0].get_attribute("data-output"))
        second_input = turns[1].find_element(By.CSS_SELECTOR, "img").get_attribute("src")
        assert second_input.endswith(f"/images/{first_output}.png")
        assert "1 earlier turn(s) as history" in turns[1].text
        assert "0 earlier turn(s)" in turns[0].text
        href = driver.find_element(By.ID, "download").get_attribute("href")
        with urllib.request.urlopen(href) as reply:
            (sample,) = samples_in_tar(reply.read())
        images = href.rsplit("/", 1)[0] + "/images"
        uploaded, first = read_png(f"{images}/0.png"), read_png(f"{images}/{first_output}.png")
        second = read_png(f"{images}/{turns[1].get_attribute('data-output')}.png")

    meta = json.loads(sample["json"])
    assert [f["role"] for f in meta["frames"]] == ["history", "input"]
    assert meta["frames"][0]["instruction"] == "Convert {image} to grayscale."
    assert meta["instruction"] == "Make {image} brighter." and meta["task"] == "multi_turn_edit"
    assert np.array_equal(decode_member(sample["src0.png"]), uploaded)
    assert np.array_equal(decode_member(sample["src1.png"]), first)
    assert np.array_equal(decode_member(sample["tgt.png"]), second)
    assert second.shape == first.shape == uploaded.shape == (96, 128, 3)
    # The first turn had the painted mask (a stroke across the middle): outside it the result
    # keeps the upload's own pixels; inside, the model's.
    assert np.array_equal(first[:20, :20], uploaded[:20, :20])
    assert not np.array_equal(first[40:56, 50:78], uploaded[40:56, 50:78])
    assert meta["provenance"]["params"]["turns"][0]["steps"] == 2
