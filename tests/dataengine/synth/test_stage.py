"""The `pairs` stage: its bookkeeping (every source has at least one row, tasks drawn only
when there are more than per_source), and every registered task, through the real stages
and sink, gives valid samples.

Each family's own tests check its pixels; the every-task test checks what they share: the
`pairs` stage can run the task on photos and shapes-world scenes, its phrasings fill from
the slots the maker leaves, the placeholders name existing frames, and the shard passes
`validate`.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.corpus.validate import validate_output
from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.instruct.templates import TEMPLATES
from dataengine.registry import all_makers
from dataengine.schema import SourceImage, Unit
from dataengine.sinks.shard_writer import ShardWriter, write_run_info
from dataengine.sources.shapes_world import load_shape, shapes_refs
from dataengine.synth.stage import Pairs, PairsParams

MAKERS = all_makers()  # every family imported
MODEL_FREE = sorted(
    task
    for task, maker in MAKERS.items()
    if not maker.needs_model and not maker.mined  # mined: tests/.../mine
)


def photo(name: str, image: np.ndarray, caption: str) -> SourceImage:
    image = cv2.resize(image, (176, 144), interpolation=cv2.INTER_AREA)
    return SourceImage(id=f"photo:{name}", group=name, image=image, caption=caption)


@pytest.fixture(scope="module")
def sources() -> list[SourceImage]:
    shapes = [load_shape(ref) for ref in shapes_refs(2, 2, seed=3)]
    return [
        photo("astronaut", skimage.data.astronaut(), "an astronaut in a white suit"),
        photo("coffee", skimage.data.coffee(), "a cup of coffee on a saucer"),
        photo("chelsea", skimage.data.chelsea(), "a tabby cat"),
        *shapes,
    ]


def test_every_task_has_phrasings():
    for task in MAKERS:
        assert len(TEMPLATES.get(task, ())) >= 8, task


@pytest.mark.parametrize("task", MODEL_FREE)
def test_task_gives_valid_samples(task, sources, tmp_path):
    pairs = Pairs(PairsParams(tasks={task: 1.0}, per_source=1), recipe="every", seed=5)
    unit = Unit(id="0" * 16, split="train", index=0, sources=list(sources))
    unit = TemplateInstructions(recipe="every", seed=5)(pairs(unit))

    made = [p for p in unit.pairs if p.ok]
    assert made, {p.status: p.error for p in unit.pairs}
    for pair in made:
        assert pair.category == MAKERS[task].category
        assert pair.instruction and "$" not in pair.instruction, pair.instruction
        params = pair.provenance["params"]
        assert json.loads(json.dumps(params)) == params  # JSON-able: the pair can be remade
    ShardWriter(tmp_path).write(unit)
    write_run_info(tmp_path, {"recipe": "every"})
    report = validate_output(tmp_path)
    assert report.ok, report.problems
    assert report.samples == len(made)


# --------------------------------------------------------------------------------------------
# Bookkeeping
# --------------------------------------------------------------------------------------------


def test_a_source_no_task_can_use_still_gets_a_row():
    gray = np.full((96, 96, 3), 128, np.uint8)
    sources = [
        SourceImage(id="photo:gray", group="g", image=gray, caption=None),
        SourceImage(id="photo:bad", group="b", status="truncated_image", error="cut short"),
    ]
    stage = Pairs(PairsParams(tasks={"text_to_image": 1.0, "colorization": 1.0}), seed=1)
    unit = stage(Unit(id="0" * 16, split="train", index=0, sources=sources))
    rows = {p.provenance["source_ids"][0]: p for p in unit.pairs}
    assert rows["photo:gray"].status == "no_eligible_task"
    assert "caption" in rows["photo:gray"].error
    assert rows["photo:bad"].status == "truncated_image"
    assert len(unit.pairs) == 2


def test_tasks_are_drawn_only_when_there_are_more_than_per_source():
    """per_source at or above the eligible tasks takes them all, in order, without a draw;
    below it, the draw is seeded by the source, so it never depends on run order."""
    rng = np.random.default_rng(0)
    sources = [
        SourceImage(
            id=f"photo:{i}",
            group=str(i),
            image=rng.integers(0, 256, (64, 64, 3), np.uint8),
            caption="a photo",
        )
        for i in range(6)
    ]
    tasks = {"text_to_image": 1.0, "grayscale": 1.0, "colorization": 1.0}
    every = Pairs(PairsParams(tasks=tasks, per_source=5), seed=1)
    every.setup()
    assert {tuple(every.choose_tasks(s)) for s in sources} == {tuple(sorted(tasks))}
    two = Pairs(PairsParams(tasks=tasks, per_source=2), seed=1)
    two.setup()
    chosen = [two.choose_tasks(s) for s in sources]
    assert all(len(c) == 2 and c == sorted(c) for c in chosen)
    assert len({tuple(c) for c in chosen}) > 1  # the draw differs between sources
    assert chosen == [two.choose_tasks(s) for s in reversed(sources)][::-1]


def test_a_misspelt_task_gets_a_suggestion():
    suggestion = r"unknown task 'cany_extraction' \(did you mean 'canny_extraction'\?\); known "
    with pytest.raises(ValueError, match=suggestion):
        Pairs.validate(PairsParams(tasks={"cany_extraction": 1.0}))
