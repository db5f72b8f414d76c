import re

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.schema import SourceImage
from dataengine.synth.controllable import CannyToImage, Colorization
from dataengine.synth.low_level import CannyExtraction, Grayscale
from dataengine.synth.repainting import Inpainting

MAKERS = (CannyExtraction, Grayscale, CannyToImage, Colorization, Inpainting)
TASKS = tuple(maker.task for maker in MAKERS)
CAPTION = "an astronaut"


def test_every_task_has_at_least_eight_templates_naming_the_image():
    for task in TASKS:
        assert len(TEMPLATES[task]) >= 8, task
        assert len(set(TEMPLATES[task])) == len(TEMPLATES[task]), task
        for template in TEMPLATES[task]:
            assert "{image}" in template, template
            assert slot_names(template) <= {"caption"}, template


@pytest.mark.parametrize("task", ["colorization", "inpainting"])
def test_optional_caption_tasks_have_phrasings_with_and_without_it(task):
    uses = [("caption" in slot_names(t)) for t in TEMPLATES[task]]
    assert sum(uses) >= 6 and uses.count(False) >= 6


def check(text: str, task: str, index: int, slots: dict) -> None:
    assert "{image}" in text
    assert "$" not in text
    assert not re.search(r"\$\w|\$\{", text)
    if "caption" in slot_names(TEMPLATES[task][index]):
        assert f'"{slots["caption"]}"' in text


CASES = [(task, {"caption": CAPTION}) for task in TASKS] + [
    (task, {})
    for task in TASKS
    if task != "canny_to_image"  # it always has a caption
]


@pytest.mark.parametrize(("task", "slots"), CASES)
def test_rendering_fills_slots_and_spreads_over_templates(task, slots):
    used = set()
    for seed in range(200):
        text, index = render_instruction(task, slots, np.random.default_rng(seed))
        check(text, task, index, slots)
        assert slot_names(TEMPLATES[task][index]) <= set(slots)
        used.add(index)
    assert len(used) >= 6


def test_same_seed_same_instruction():
    a = render_instruction("inpainting", {"caption": CAPTION}, np.random.default_rng(7))
    b = render_instruction("inpainting", {"caption": CAPTION}, np.random.default_rng(7))
    assert a == b


def test_caption_templates_are_used_when_the_caption_is_there():
    texts = [
        render_instruction("colorization", {"caption": CAPTION}, np.random.default_rng(s))[0]
        for s in range(50)
    ]
    assert any(f'"{CAPTION}"' in t for t in texts)


def test_unfilled_slot_counts_as_absent():
    for seed in range(50):
        text, _ = render_instruction("colorization", {"caption": None}, np.random.default_rng(seed))
        assert "None" not in text and '"' not in text


def test_unknown_task_and_missing_required_slot_say_so():
    with pytest.raises(KeyError, match="no instruction templates for task 'sharpen'"):
        render_instruction("sharpen", {}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="canny_to_image"):
        render_instruction("canny_to_image", {}, np.random.default_rng(0))


def test_maker_slots_render_for_every_task():
    image = cv2.resize(skimage.data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    src = SourceImage(id="t", group="t", image=image, caption=CAPTION)
    for maker in MAKERS:
        made = maker().make(src, np.random.default_rng(0))
        text, index = render_instruction(maker.task, made.slots, np.random.default_rng(0))
        check(text, maker.task, index, made.slots)
