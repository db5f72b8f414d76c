"""The mined_* makers through the `pairs` stage: the captions choose the task, pairs with
nothing to say wait for an MLLM, a broken partner is an error row."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.schema import SourceImage, Unit
from dataengine.synth.stage import Pairs, PairsParams

TASKS = {"mined_edit": 1.0, "mined_add": 1.0, "mined_remove": 1.0}
SCENE = "a red circle at the top left and a blue star at the center on a gray paper background"


def mined(caption: str | None, partner_caption: str | None, partner=None) -> SourceImage:
    rng = np.random.default_rng(len(caption or ""))
    partner = partner or SourceImage(
        id="b",
        group="g",
        image=rng.integers(0, 256, (60, 80, 3), np.uint8),
        caption=partner_caption,
    )
    meta = {"mined": {"similarity": 0.93, "source_id": "a", "target_id": partner.id}}
    return SourceImage(
        id=f"mined:a|{partner.id}|{caption}",
        group="g",
        caption=caption,
        image=rng.integers(0, 256, (48, 64, 3), np.uint8),
        meta={**meta, "partner": partner},
    )


def run(*sources: SourceImage):
    unit = Unit(id="0" * 16, split="train", index=0, sources=list(sources))
    unit = Pairs(PairsParams(tasks=TASKS, per_source=1), recipe="t", seed=1)(unit)
    return TemplateInstructions(recipe="t", seed=1)(unit).pairs


@pytest.mark.parametrize(
    ("after", "task", "category", "word"),
    [
        (SCENE.replace("blue star", "green star"), "mined_edit", "semantic_editing", "green star"),
        (
            SCENE.replace(" and a blue star at the center", ""),
            "mined_remove",
            "element_editing",
            "the blue star at the center",
        ),
        (
            SCENE.replace(" and a", ", a pink square at the bottom left and a"),
            "mined_add",
            "element_editing",
            "a pink square at the bottom left",
        ),
    ],
)
def test_the_captions_choose_the_task(after, task, category, word):
    [pair] = run(mined(SCENE, after))
    assert (pair.status, pair.task, pair.category) == ("ok", task, category)
    assert word in pair.instruction and "{image}" in pair.instruction
    assert pair.frames[0].image.shape == pair.target.shape == (48, 64, 3)  # partner resized
    assert pair.provenance["params"]["similarity"] == 0.93
    assert pair.caption == after


@pytest.mark.parametrize(("before", "after"), [(SCENE, SCENE), (None, SCENE), (SCENE, None)])
def test_pairs_with_nothing_to_say_wait_for_an_mllm(before, after):
    [pair] = run(mined(before, after))
    assert (pair.task, pair.status) == ("mined_edit", "needs_mllm_instruction")
    assert "MLLM" in pair.error and pair.target is None


def test_a_broken_partner_is_an_error_row():
    partner = SourceImage(id="b", group="g", status="truncated_image", error="cut short")
    [pair] = run(mined(SCENE, None, partner=partner))
    assert (pair.status, pair.task) == ("truncated_image", "mined_edit")
    assert "cut short" in pair.error


def test_plain_sources_are_left_to_other_makers():
    plain = SourceImage(id="p", group="p", image=np.zeros((32, 32, 3), np.uint8), caption=SCENE)
    [row] = run(plain)
    assert row.status == "no_eligible_task"
